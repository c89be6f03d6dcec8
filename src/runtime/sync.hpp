#pragma once
// The parent <-> container-init channel (a SOCK_SEQPACKET pair): one message per step, so
// that an error in the init's setup reaches the caller with its errno and context instead
// of an exit status.
#include <cstdint>
#include <string>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace husk::runtime {

enum class SyncType : uint32_t {
    go = 1,             // parent -> init: id maps written; set up the container
    ready = 2,          // init -> parent: set up, waiting for start
    error = 3,          // init -> parent: setup failed (errno + message)
    start = 4,          // parent -> init (run only): exec the process now
    cgroup_joined = 5,  // parent -> init: the init is in every hierarchy of its cgroup
    hooks = 6,          // init -> parent: mounts made; run prestart and createRuntime hooks
    hooks_done = 7,     // parent -> init: they ran (fd: the state JSON, for the init's hooks)
    console = 8,        // init -> parent: fd: the pty master for --console-socket
};

struct SyncMessage {
    SyncType type = SyncType::error;
    int errnum = 0;
    std::string text;
    UniqueFd fd;  // passed along with the message (ready: the seccomp listener)
};

[[nodiscard]] Status sync_send(int fd, SyncType type, const Error* error = nullptr,
                               int pass_fd = -1);
// Blocks for the next message; a closed peer is an error naming what was expected.
[[nodiscard]] Result<SyncMessage> sync_receive(int fd);

}  // namespace husk::runtime
