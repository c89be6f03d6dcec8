#pragma once
// The container's init: the child the runtime clones into the new namespaces. It builds the
// container around itself, reports ready, waits for start, and execs the user process.
#include <utility>
#include <vector>

#include "oci/runtime_spec.hpp"
#include "runtime/rootfs.hpp"
#include "runtime/seccomp.hpp"

namespace husk::runtime {

struct InitArgs {
    const oci::Spec* spec = nullptr;
    RootfsPlan rootfs;
    int sync_fd = -1;
    int fifo_fd = -1;  // create: blocks on it until start; run: -1, start comes over sync_fd
    // Namespaces to join, already opened by the parent (user first); pid is joined by the
    // parent itself, since it applies to the children of the caller.
    std::vector<std::pair<oci::NamespaceType, int>> join;
    // The parent's fds that must not live on in the init (the state lock: the init would
    // hold it for as long as it lives).
    std::vector<int> close_fds;
    bool new_cgroup_ns = false;
    // An unprivileged runtime writes the maps through /proc/<init>: non-dumpable only after.
    bool dumpable_until_go = false;
    bool new_time_ns = false;
    const SeccompProgram* seccomp = nullptr;  // compiled by the parent; null: no filter
    // The config has prestart/createRuntime/createContainer/startContainer hooks: stop for
    // them between the mounts and pivot_root (hooks.hpp has the order).
    bool hooks = false;
    bool console = false;  // process.terminal: open a pty, send its master (terminal.hpp)
};

// Never returns: execs the container process, or reports the error and exits.
[[noreturn]] void run_init(const InitArgs& args);

}  // namespace husk::runtime
