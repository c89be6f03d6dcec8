#pragma once
// What passes from the process that created and started a container to the container's
// monitor (docs/engine.md, "The monitor"): a report of how it went, and the fds of the
// container's stdio at fixed numbers.
#include <sys/types.h>

#include <array>
#include <string>
#include <string_view>
#include <utility>

#include "common/error.hpp"
#include "engine/rootless_net.hpp"

namespace husk::engine {

// The init's pid, the rootless network helper that was started (the monitor stops it later,
// also after a failure), or the error. It crosses an exec (an argument of husk-monitor) or
// a pipe (from the restart helper), so it is plain text.
struct CreateReport {
    // The monitor is to create the container itself (with the `husk` helper).
    static constexpr pid_t not_created = -1;
    pid_t pid = 0;  // 0 when it failed
    RootlessNet rootless_net;
    Error error;
};

// The container's stdio pipes (and a terminal's master) as husk-monitor finds them after its
// exec; a number not open means "none" (a tty container has no pipes, a container without
// -i no stdin). The monitor keeps the write ends for restarts. fd 3 is the sync socket.
struct MonitorFds {
    static constexpr int out_r_fd = 4, out_w_fd = 5, err_r_fd = 6, err_w_fd = 7, in_r_fd = 8,
                         in_w_fd = 9, master_fd = 10;
    int out_r = -1, out_w = -1, err_r = -1, err_w = -1, in_r = -1, in_w = -1, master = -1;

    // Each fd with the number it has in husk-monitor.
    std::array<std::pair<int*, int>, 7> slots() {
        return {{{&out_r, out_r_fd},
                 {&out_w, out_w_fd},
                 {&err_r, err_r_fd},
                 {&err_w, err_w_fd},
                 {&in_r, in_r_fd},
                 {&in_w, in_w_fd},
                 {&master, master_fd}}};
    }
};

std::string encode_create_report(const CreateReport& report);
// A report that cannot be read is a failure that says so.
CreateReport decode_create_report(std::string_view text);

}  // namespace husk::engine
