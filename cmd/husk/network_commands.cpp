// `husk` network commands.
#include "cli.hpp"

namespace husk::cli {

void register_network_commands(CLI::App& app, Globals& globals) {
    (void)app;
    (void)globals;
}

}  // namespace husk::cli
