#pragma once
// The snapshotter: what the engine calls to turn an image into a container's root
// filesystem, and to give it back.
//
//   auto store = Store::open(root);
//   auto image = resolve_image(*store, "busybox");            // {id, config}
//   auto path = prepare_rootfs(*store, image->id, cid, dir);  // mounted <dir>/rootfs
//   ... run the container on *path ...
//   unmount_rootfs(*store, cid);   // stopped: keep the writable layer (<dir>/upper)
//   release_rootfs(*store, cid);   // removed: unmount, delete upper/work/rootfs, forget
//
// overlay: the image's unpacked layers (layers/<chain>) as lowers, <dir>/upper and
// <dir>/work. fuse-overlayfs: the same dirs merged by a fuse-overlayfs process
// (fuse_overlay.hpp), chosen when the overlay probe fails and a fuse-overlayfs probe mount
// works. vfs: a full copy of the layers into <dir>/rootfs, chosen where neither works (the
// store on overlayfs, no overlay in the kernel, failed probes). Any of them can be forced
// with {"driver": "vfs"} in <root>/storage.json or HUSK_STORAGE_DRIVER=vfs;
// HUSK_NATIVE_OVERLAY=0 makes the overlay probe count as failed.
// While a container holds a rootfs, `husk rmi` refuses its image (unless forced).
#include <string>
#include <vector>

#include "common/error.hpp"
#include "image/store.hpp"
#include "oci/image_spec.hpp"

namespace husk::image {

struct ResolvedImage {
    std::string id;  // "sha256:..." (the config digest)
    oci::ImageConfig config;
};

struct DriverChoice {
    std::string name;    // "overlay", "fuse-overlayfs" or "vfs"
    std::string reason;  // why, for `husk info`
};

[[nodiscard]] Result<ResolvedImage> resolve_image(const Store& store, const std::string& reference);
// Decides (and caches in <root>/driver.json) which driver the store uses.
DriverChoice choose_driver(const Store& store);
// Mounts (overlay) or copies (vfs) the image's layers to <container_dir>/rootfs and records
// that the container uses the image. Preparing again after unmount_rootfs reuses the upper.
[[nodiscard]] Result<std::string> prepare_rootfs(Store& store, const std::string& image_id,
                                                 const std::string& container_id,
                                                 const std::string& container_dir);
// The same for an image resolve_image found: images.json is read once more, under its lock,
// to record the container's use (and to fail if the image was removed meanwhile).
[[nodiscard]] Result<std::string> prepare_rootfs(Store& store, const ResolvedImage& image,
                                                 const std::string& container_id,
                                                 const std::string& container_dir);
[[nodiscard]] Status unmount_rootfs(Store& store, const std::string& container_id);
[[nodiscard]] Status release_rootfs(Store& store, const std::string& container_id);
// Mounts an overlay of `lowers_top_first` (+ upper/work when upper is not empty) on target.
[[nodiscard]] Status mount_overlay(const std::vector<std::string>& lowers_top_first,
                                   const std::string& upper, const std::string& work,
                                   const std::string& target);

}  // namespace husk::image
