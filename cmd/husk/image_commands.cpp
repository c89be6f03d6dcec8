// `husk` image commands.
#include "cli.hpp"

namespace husk::cli {

void register_image_commands(CLI::App& app, Globals& globals) {
    (void)app;
    (void)globals;
}

}  // namespace husk::cli
