#pragma once
// `run`/`create --pull missing|always|never`: makes sure the image is in the store before
// the container is created, pulling it through src/image (the code `husk pull` runs).
#include <functional>
#include <string>

#include "common/error.hpp"

namespace husk::engine {

enum class PullPolicy { missing, always, never };

[[nodiscard]] Result<PullPolicy> parse_pull_policy(const std::string& text);
// missing: pull only when the store has no such image; always: pull (the registry's
// current image wins); never: fail when the store has none. `progress` gets docker's lines
// ("Unable to find image 'x' locally", each blob).
[[nodiscard]] Status ensure_image(const std::string& store_root, const std::string& image,
                                  PullPolicy policy,
                                  const std::function<void(const std::string&)>& progress);

}  // namespace husk::engine
