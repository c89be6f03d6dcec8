#pragma once
// `husk cp`: files between a container and the host, or a tar stream, with Docker's rules.
// Every path is a (root fd, path) pair: the path is resolved by the kernel inside that root
// (common/safe_path, RESOLVE_IN_ROOT), so a symlink in a container pointing at /etc/shadow or
// ../../.. resolves to the container's own file, never the host's. The trees are then walked
// and written with *at() calls on directory fds and O_NOFOLLOW single components. The host
// side is the same code with the host's "/" as the root.
#include <string>

#include "common/error.hpp"

namespace husk::engine {

struct CopyOptions {
    bool archive = false;      // -a: keep uid/gid (else the writer's: root)
    bool follow_link = false;  // -L: a symlink as the source's last component is followed
};

// SRC_PATH (in src_root) to DEST_PATH (in dest_root), as `docker cp` decides: a file onto a
// file or into a directory, a directory into a directory (or its contents with "SRC/."), a
// missing DEST created. `where_src`/`where_dest` name the sides in errors ("container x").
[[nodiscard]] Status copy_path(int src_root, const std::string& src, const std::string& where_src,
                               int dest_root, const std::string& dest,
                               const std::string& where_dest, const CopyOptions& options);
// SRC_PATH (in root) as a tar stream on out_fd: its basename at the top ("SRC/." puts only
// the contents).
[[nodiscard]] Status copy_to_tar(int root, const std::string& src, const std::string& where,
                                 int out_fd, const CopyOptions& options);
// A tar stream (plain or compressed) from in_fd, extracted into the directory DEST_PATH (in
// root). Entries that would land outside DEST_PATH are refused.
[[nodiscard]] Status extract_tar(int in_fd, int root, const std::string& dest,
                                 const std::string& where, const CopyOptions& options);

}  // namespace husk::engine
