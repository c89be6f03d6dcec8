// husk: a daemonless, Docker-like container engine. Argument parsing lives under cmd/husk/
// (the only place exceptions are used); every command is a call into the husk libraries.
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "cli.hpp"
#include "common/log.hpp"
#include "engine/rootless_ns.hpp"

namespace husk::cli {

int report(const Error& error) {
    std::cerr << "husk: " << error.what() << "\n";
    return exit_husk_error;
}

int finish(const Status& status) {
    return status ? 0 : report(status.error());
}

}  // namespace husk::cli

int main(int argc, char** argv) {
    using namespace husk::cli;
    CLI::App app{"husk: containers built straight on the kernel's primitives, no daemon"};
    app.set_version_flag("-v,--version", "husk version " HUSK_VERSION);
    app.require_subcommand(1);
    Globals globals;
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
    app.add_option("--root", globals.root, "storage root (images, containers, volumes)")
        ->capture_default_str();
    app.add_option("--runroot", globals.runroot, "runtime state root")->capture_default_str();
    app.add_flag("-D,--debug", globals.debug, "log each step with its timing");
    app.add_option("-l,--log-level", globals.log_level, "debug, info, warn or error")
        ->capture_default_str();
    app.parse_complete_callback([&] {
        husk::log::configure("", husk::log::Format::text, globals.debug);
        if (rootless) {
            // Before any command runs, and while husk is still single-threaded (setns).
            if (auto entered = husk::engine::enter_rootless_namespace(userns_state); !entered)
                std::exit(report(entered.error()));
        }
    });

    register_container_commands(app, globals);
    register_image_commands(app, globals);
    register_network_commands(app, globals);
    register_system_commands(app, globals);
    register_build_commands(app, globals);
    register_explain_command(app, globals);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e);
        return code == 0 ? 0 : exit_husk_error;
    }
    return globals.exit_code;
}
