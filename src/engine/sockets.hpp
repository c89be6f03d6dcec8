#pragma once
// Unix sockets under the container directory. Paths of sun_path are limited to 108 bytes;
// a deep --root would overflow that, so sockets are bound and connected through an O_PATH
// fd of their directory (/proc/self/fd/N/name), which has no such limit.
#include <string>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace husk::engine {

[[nodiscard]] Result<UniqueFd> listen_unix(const std::string& dir, const std::string& name);
[[nodiscard]] Result<UniqueFd> connect_unix(const std::string& dir, const std::string& name);
// Receives one message carrying an fd (SCM_RIGHTS).
[[nodiscard]] Result<UniqueFd> receive_fd(int socket_fd);

}  // namespace husk::engine
