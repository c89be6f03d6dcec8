#pragma once
// The subset of Go's text/template that `docker ps/inspect --format` users write:
// {{.Field}}, {{.A.B}}, {{json .}}, {{json .Field}}, {{index .Labels "key"}},
// {{.Label "key"}}, {{upper .X}}, {{lower .X}}, {{join .List ","}}, and "\t"/"\n" escapes in
// the text. The data is JSON; a missing field renders as "<no value>", as Go does.
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace husk::engine {

[[nodiscard]] Result<std::string> render_template(const std::string& format,
                                                  const nlohmann::ordered_json& data);

}  // namespace husk::engine
