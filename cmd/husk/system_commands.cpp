// `husk doctor`, `husk system bootstrap` and `husk system init`: checking the host, making
// a bare guest ready, and being its PID 1.
#include <sys/ioctl.h>
#include <unistd.h>

#include <iostream>

#include "cli.hpp"
#include "system/bootstrap.hpp"
#include "system/doctor.hpp"
#include "system/init.hpp"

namespace husk::cli {
namespace {

struct DoctorArgs {
    bool json = false;
    bool verbose = false;
};

struct BootstrapArgs {
    bool network = false;
    bool json = false;
};

struct InitArgs {
    bool network = false;
    bool no_bootstrap = false;
    bool verbose = false;
    std::vector<std::string> command;
};

int run_doctor(const Globals& globals, const DoctorArgs& args) {
    system::HostView host;
    host.storage_dir = globals.root;
    system::LiveProbes probes;
    auto results = system::run_doctor(host, &probes);
    if (args.json)
        std::cout << system::doctor_json(results).dump(2) << "\n";
    else {
        bool tty = ::isatty(STDOUT_FILENO) == 1;
        struct winsize ws {};
        size_t width = 100;
        if (tty && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 60)
            width = ws.ws_col;
        std::cout << system::doctor_text(results, args.verbose, tty, width);
    }
    return system::doctor_exit_status(results);
}

int run_bootstrap(const BootstrapArgs& args) {
    auto steps = system::bootstrap({.network = args.network});
    int status = 0;
    nlohmann::json out = nlohmann::json::array();
    for (auto& s : steps) {
        if (s.state == system::StepState::cannot) status = 1;
        if (args.json)
            out.push_back({{"step", s.step},
                           {"state", system::step_state_name(s.state)},
                           {"detail", s.detail}});
        else
            std::cout << fmt::format("{:<11} {}: {}\n", system::step_state_name(s.state), s.step,
                                     s.detail);
    }
    if (args.json) std::cout << out.dump(2) << "\n";
    return status;
}

}  // namespace

void register_system_commands(CLI::App& app, Globals& globals) {
    auto doctor_args = std::make_shared<DoctorArgs>();
    auto* doctor = app.add_subcommand(
        "doctor",
        "check every assumption husk makes about this host (exit 0 ok, 1 warnings, 2 failures)");
    doctor->add_flag("--json", doctor_args->json, "machine-readable report");
    doctor->add_flag("--verbose", doctor_args->verbose, "evidence for passing checks too");
    doctor->callback(
        [&globals, doctor_args] { globals.exit_code = run_doctor(globals, *doctor_args); });

    auto* system = system_command(app);

    auto boot_args = std::make_shared<BootstrapArgs>();
    auto* boot = system->add_subcommand(
        "bootstrap",
        "mount /proc, /sys, /dev, cgroups and delegate controllers, as a distribution's init "
        "would (idempotent; exit 1 when a step cannot be done)");
    boot->add_flag("--network", boot_args->network, "also turn on net.ipv4.ip_forward");
    boot->add_flag("--json", boot_args->json, "machine-readable report");
    boot->callback([&globals, boot_args] { globals.exit_code = run_bootstrap(*boot_args); });

    auto init_args = std::make_shared<InitArgs>();
    auto* init = system->add_subcommand(
        "init",
        "run CMD under a minimal PID 1: bootstrap, forward signals, reap, exit with "
        "CMD's status (power off when the machine's PID 1)");
    init->add_flag("--network", init_args->network, "bootstrap with --network");
    init->add_flag("--no-bootstrap", init_args->no_bootstrap, "skip the bootstrap");
    init->add_flag("--verbose", init_args->verbose, "print every bootstrap step");
    init->add_option("command", init_args->command, "the command and its arguments (after --)")
        ->required();
    init->callback([&globals, init_args] {
        globals.exit_code =
            system::run_init(init_args->command, {.bootstrap = !init_args->no_bootstrap,
                                                  .network = init_args->network,
                                                  .verbose = init_args->verbose});
    });
}

}  // namespace husk::cli
