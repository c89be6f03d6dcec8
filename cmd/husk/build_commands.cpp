// `husk` build commands.
#include "cli.hpp"

namespace husk::cli {

void register_build_commands(CLI::App& app, Globals& globals) {
    (void)app;
    (void)globals;
}

}  // namespace husk::cli
