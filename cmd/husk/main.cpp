// husk: a daemonless, Docker-like container engine. Argument parsing lives under cmd/husk/
// (the only place exceptions are used); every command is a call into the husk libraries.
#include <unistd.h>

#include <iostream>

#include "cli.hpp"
#include "common/log.hpp"

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
    if (geteuid() != 0) {
        // Rootless defaults (XDG dirs) arrive with the rootless issue; until then say so.
        globals.root.clear();
        globals.runroot.clear();
    }
    app.add_option("--root", globals.root, "storage root (images, containers, volumes)")
        ->capture_default_str();
    app.add_option("--runroot", globals.runroot, "runtime state root")->capture_default_str();
    app.add_flag("-D,--debug", globals.debug, "log each step with its timing");
    app.add_option("-l,--log-level", globals.log_level, "debug, info, warn or error")
        ->capture_default_str();
    app.parse_complete_callback([&] {
        husk::log::configure("", husk::log::Format::text, globals.debug);
        if (globals.root.empty() || globals.runroot.empty())
            throw CLI::ValidationError("--root",
                                       "husk runs as root for now: pass --root and --runroot");
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
