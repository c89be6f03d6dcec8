#pragma once
// Shared between the container command files of `husk`.
#include <string>

#include "cli.hpp"
#include "common/unique_fd.hpp"
#include "engine/engine.hpp"

namespace husk::cli {

// Relays a monitor's attach stream to this terminal until the container exits; returns its
// exit code. Signals (INT, TERM, ...) are passed on to the container, as docker's sig-proxy.
int attach_stream(engine::Engine& eng, const std::string& id, UniqueFd conn, bool stdin_open,
                  bool tty, bool proxy_signals);
void register_run_commands(CLI::App& app, Globals& globals);
void register_exec_commands(CLI::App& app, Globals& globals);
void register_volume_commands(CLI::App& app, Globals& globals);
void register_cp_commands(CLI::App& app, Globals& globals);
void register_container_helpers(CLI::App& app, Globals& globals);

}  // namespace husk::cli
