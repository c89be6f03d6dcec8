#pragma once
// What every `husk` command shares: the global options, and how a command reports its result.
// Each command area registers its verbs in its own file (container_commands.cpp,
// image_commands.cpp, ...); main.cpp only wires them together.
#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "common/error.hpp"

namespace husk::cli {

// Docker's convention: 125 when husk itself fails, else the container's status.
inline constexpr int exit_husk_error = 125;

struct Globals {
    std::string root = "/var/lib/husk";  // images, containers, volumes, networks
    std::string runroot = "/run/husk";   // runtime state: gone after a reboot, as it should be
    bool debug = false;
    std::string log_level = "warn";
    int exit_code = 0;        // set by the command that ran
    uint64_t started_ns = 0;  // CLOCK_MONOTONIC at main: where `run --debug`'s timeline starts
};

// Prints "husk: <error>" on stderr and returns 125.
int report(const Error& error);
// 0 when `status` succeeded, else report().
int finish(const Status& status);

// `husk system`, shared by the system and image areas: found if another area registered it,
// created otherwise, so neither depends on the order of registration.
inline CLI::App* system_command(CLI::App& app) {
    auto found =
        app.get_subcommands([](const CLI::App* sub) { return sub->get_name() == "system"; });
    if (!found.empty()) return found.front();
    auto* system = app.add_subcommand("system", "the host husk runs on");
    system->require_subcommand(1);
    return system;
}

// The container commands; `run`, `create`, `start` and `attach` only `with_run` (they alone
// build about a hundred options). register_run_group registers just those four.
void register_container_commands(CLI::App& app, Globals& globals, bool with_run);
void register_run_group(CLI::App& app, Globals& globals);
void register_image_commands(CLI::App& app, Globals& globals);
void register_network_commands(CLI::App& app, Globals& globals);
void register_system_commands(CLI::App& app, Globals& globals);
void register_build_commands(CLI::App& app, Globals& globals);
void register_explain_command(CLI::App& app, Globals& globals);

}  // namespace husk::cli
