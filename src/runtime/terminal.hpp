#pragma once
// process.terminal with --console-socket, as runc: the init opens a pty in the container's
// own devpts (after pivot_root), makes the slave its controlling terminal and stdio, and
// hands the master to the runtime over the sync socket; the runtime sends it on to the
// console socket (SCM_RIGHTS, the pty's name as the payload). The container never holds the
// console socket.
#include <string>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "oci/runtime_spec.hpp"

namespace husk::runtime {

// The runtime, before the clone: connects to --console-socket (so a bad path fails early).
[[nodiscard]] Result<UniqueFd> connect_console_socket(const std::string& path);
// The runtime: sends `master` to the connected console socket.
[[nodiscard]] Status send_console(int socket_fd, int master_fd, const std::string& name);

// The init, inside the container's root: opens /dev/ptmx, applies process.consoleSize, makes
// the slave the controlling terminal and fds 0-2. Returns the master (for the runtime).
[[nodiscard]] Result<UniqueFd> setup_console(const oci::Process& process);

}  // namespace husk::runtime
