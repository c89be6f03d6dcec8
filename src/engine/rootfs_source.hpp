#pragma once
// The one seam between the engine and images: given what `run`/`create` was asked to run,
// produce the rootfs directory, the image's container defaults and how to undo it.
// `--rootfs DIR` (podman's flag) runs a directory as it is; an image reference goes through
// the image store (src/image): resolve_image, then prepare_rootfs mounts (overlay) or copies
// (vfs) its layers to <container_dir>/rootfs; release_rootfs gives it back at rm.
#include <string>

#include "common/error.hpp"
#include "oci/image_spec.hpp"

namespace husk::engine {

struct RootfsRequest {
    std::string store_root;  // --root: where the image store lives
    std::string image;       // an image reference
    std::string rootfs_dir;  // --rootfs DIR (then `image` is unused)
    std::string container_id;
    std::string container_dir;
};

struct PreparedRootfs {
    std::string image;     // what the record shows as Image
    std::string image_id;  // empty for --rootfs
    std::string path;      // the directory the bundle's root.path names
    oci::ImageConfig config;
};

[[nodiscard]] Result<PreparedRootfs> prepare_rootfs(const RootfsRequest& request);
// Undoes prepare_rootfs for a container being removed (nothing when the image store has no
// rootfs of it: --rootfs).
[[nodiscard]] Status release_rootfs(const std::string& store_root, const std::string& container_id);

}  // namespace husk::engine
