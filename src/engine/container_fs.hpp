#pragma once
// A container's filesystem as `husk cp` sees it: a directory fd to resolve paths in.
//   running/paused: /proc/<init pid>/root, the container's own view (its volumes, bind mounts
//     and tmpfs included, read-only where the container has them read-only);
//   created/exited: the rootfs, with the container's volumes and bind mounts bound on it (and
//     the rootfs read-only for --read-only) in a private mount namespace of the calling
//     process, as the container would see them: Docker copies into the mounted volume too.
//     The namespace (and so every mount made) goes away with the process.
#include <string>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "engine/engine.hpp"

namespace husk::engine {

// May unshare the calling process's mount namespace (single-threaded callers only).
[[nodiscard]] Result<UniqueFd> open_container_fs(const Engine& engine, const std::string& id);

}  // namespace husk::engine
