#pragma once
// Passing a file descriptor over a unix socket (SCM_RIGHTS), as the runtime does for the
// sync channel, the console socket and the seccomp listener.
#include <cstddef>

#include "common/error.hpp"

namespace husk {

// Sends `length` bytes and, when `fd` >= 0, the fd with them, in one sendmsg (retried on
// EINTR, no SIGPIPE). The error carries errno; callers add what was being sent to whom.
[[nodiscard]] Status send_with_fd(int socket_fd, const void* data, size_t length, int fd);

}  // namespace husk
