// husk: a daemonless, Docker-like container engine. Argument parsing lives under cmd/husk/
// (the only place exceptions are used); every command is a call into the husk libraries.
#include <unistd.h>

#include <cstdlib>

#include "cli.hpp"
#include "command_groups.hpp"
#include "common/log.hpp"
#include "engine/rootless_ns.hpp"
#include "runtime/trace.hpp"

int main(int argc, char** argv) {
    using namespace husk::cli;
    const uint64_t started_ns = husk::runtime::trace::now_ns();
    // Never destroyed: tearing down its options at exit only cost time (docs/PERFORMANCE.md).
    // A static pointer keeps it reachable, so leak checkers do not report it.
    static auto* const app_storage =
        new CLI::App{"husk: containers built straight on the kernel's primitives, no daemon"};
    CLI::App& app = *app_storage;
    app.require_subcommand(1);
    Globals globals;
    globals.started_ns = started_ns;
    // An unprivileged user gets its own storage and state (docs/rootless.md).
    std::string userns_state;
    bool rootless = geteuid() != 0 && !husk::engine::already_in_user_namespace();
    if (rootless) {
        auto dirs = husk::engine::rootless_dirs();
        if (!dirs) return report(dirs.error());
        globals.root = dirs->root;
        globals.runroot = dirs->runroot;
        userns_state = dirs->runroot;
    }
    auto* version = add_global_options(app, globals);
    app.parse_complete_callback([&] {
        husk::log::configure("", husk::log::Format::text, globals.debug);
        if (rootless) {
            // Before any command runs, and while husk is still single-threaded (setns).
            if (auto entered = husk::engine::enter_rootless_namespace(userns_state); !entered)
                std::exit(report(entered.error()));
        }
    });

    // Only the area that owns the command word (command_groups.hpp).
    register_command_groups(
        app, globals,
        groups_for_args(app, version,
                        std::span<const char* const>(argv + (argc > 0), argc > 0 ? argc - 1 : 0)));

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e);
        return code == 0 ? 0 : exit_husk_error;
    }
    return globals.exit_code;
}
