#pragma once
// Where husk finds its other binaries (husk-monitor, husk-net, husk-runtime, husk-init, and
// husk itself): the path in $ENV when set, else next to the running executable, so a build
// directory and an installed prefix both work without configuration.
#include <string>

namespace husk::engine {

std::string sibling_binary(const char* env, const char* name);

}  // namespace husk::engine
