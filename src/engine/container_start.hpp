#pragma once
// Creating and starting a container's process, for its monitor. The first start runs in the
// monitor-to-be (a fork of `husk`, before it execs husk-monitor), restarts in a `husk`
// helper the monitor runs: either way the runtime's code never lives in the resident
// monitor. The init is a child of the calling process (the monitor, or reparented to it,
// a child subreaper, when the helper exits).
#include <string>

#include "engine/monitor_handoff.hpp"
#include "engine/record.hpp"
#include "engine/store.hpp"

namespace husk::engine {

// The container's stdio for this run (the init inherits them as fds 0-2; -1: /dev/null),
// or the socket the runtime sends a terminal's master to (tty containers).
struct ContainerStdio {
    int in = -1, out = -1, err = -1;
    std::string console_socket;
};

// Creates the container from <dir>/bundle, attaches its networks (or starts the rootless
// network helper) while nothing runs in it yet, and starts it. With tracing enabled
// (runtime::trace), writes the timeline to <dir>/trace.log. A failure leaves the cleanup
// (runtime state, networks, the helper in the report) to the monitor, which owns it.
CreateReport create_and_start(const ContainerStore& store, const ContainerRecord& record,
                              const ContainerStdio& stdio);

}  // namespace husk::engine
