#pragma once
// `husk-runtime features`: the runtime-spec features document (features.md), built from the
// same tables the parser and the runtime use, plus what this kernel answers, so it cannot
// claim more than husk does.
#include <string>

namespace husk::runtime {

std::string features_json();
// `--version`, in runc's shape (engines parse the first line and the spec line).
std::string version_text();

}  // namespace husk::runtime
