#pragma once
// The one seam between the engine and images: given what `run`/`create` was asked to run,
// produce the rootfs directory, the image's container defaults and how to undo it.
// Today: `--rootfs DIR` (podman's flag) only. When the image store lands, `husk run IMAGE`
// resolves the reference to {image id, ImageConfig} and calls prepare_rootfs() here.
#include <string>

#include "common/error.hpp"
#include "oci/image_spec.hpp"

namespace husk::engine {

struct RootfsRequest {
    std::string image;       // an image reference (unused until the image store lands)
    std::string rootfs_dir;  // --rootfs DIR
    std::string container_id;
    std::string container_dir;
};

struct PreparedRootfs {
    std::string image;     // what the record shows as Image
    std::string image_id;  // empty for --rootfs
    std::string path;      // the directory the bundle's root.path names
    std::string mount;     // a mount the engine made for it, unmounted at rm ("" = none)
    oci::ImageConfig config;
};

[[nodiscard]] Result<PreparedRootfs> prepare_rootfs(const RootfsRequest& request);
// Undoes prepare_rootfs for a container being removed (unmounts `mount` when set).
[[nodiscard]] Status release_rootfs(const std::string& container_id, const std::string& mount);

}  // namespace husk::engine
