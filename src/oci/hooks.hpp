#pragma once
// config.json `hooks` (runtime-spec config.md, POSIX-platform hooks): the commands a runtime
// runs around the container's lifecycle, and where each runs (see runtime/hooks.hpp).
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace husk::oci {

struct Hook {
    std::string path;  // absolute
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::optional<int> timeout;  // seconds, > 0
};

struct Hooks {
    std::vector<Hook> prestart;  // deprecated by the spec, still run (before createRuntime)
    std::vector<Hook> create_runtime;
    std::vector<Hook> create_container;
    std::vector<Hook> start_container;
    std::vector<Hook> poststart;
    std::vector<Hook> poststop;

    bool empty() const {
        return prestart.empty() && create_runtime.empty() && create_container.empty() &&
               start_container.empty() && poststart.empty() && poststop.empty();
    }
};

// The hooks object as JSON (the shape config.json has), for the state dir: start and delete
// run poststart/poststop from it without the bundle.
std::string hooks_json(const std::vector<Hook>& hooks);
[[nodiscard]] Result<std::vector<Hook>> parse_hook_list_json(const std::string& json_text,
                                                             const std::string& source);

}  // namespace husk::oci
