#pragma once
// Paths inside a container rootfs, resolved by the kernel as if the rootfs were "/":
// symlinks and ".." can never lead outside it (openat2 RESOLVE_IN_ROOT). Every path that
// comes from a config or an image goes through here before it is opened or mounted on.
#include <sys/types.h>

#include <string>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace husk {

// Opens `path` (absolute or relative, interpreted inside `root_fd`) with `flags`.
[[nodiscard]] Result<UniqueFd> open_in_root(int root_fd, const std::string& path, int flags,
                                            mode_t mode = 0);
// Creates every missing directory of `path` inside the root and returns an O_PATH fd of the
// last one. Existing symlinks along the way are followed, but only inside the root.
[[nodiscard]] Result<UniqueFd> make_dirs_in_root(int root_fd, const std::string& path,
                                                 mode_t mode = 0755);
// Makes sure `path` exists inside the root as a regular file (creating parents) and
// returns an O_PATH fd of it: the target for a bind mount of a file.
[[nodiscard]] Result<UniqueFd> make_file_in_root(int root_fd, const std::string& path,
                                                 mode_t mode = 0644);
// "/proc/self/fd/N": how a mount syscall is pointed at an fd rather than a path that could
// change under it.
std::string fd_path(int fd);
// Normalises a path lexically: collapses "//" and ".", resolves ".." without going above "/".
std::string clean_path(const std::string& path);

}  // namespace husk
