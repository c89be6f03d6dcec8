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
// <dir>/work. vfs: a full copy of the layers into <dir>/rootfs, chosen where overlay
// cannot work (the store on overlayfs, no overlay in the kernel, a failed probe) or forced
// with {"driver": "vfs"} in <root>/storage.json or HUSK_STORAGE_DRIVER=vfs.
// While a container holds a rootfs, `husk rmi` refuses its image (unless forced).
#include <string>

#include "common/error.hpp"
#include "image/store.hpp"
#include "oci/image_spec.hpp"

namespace husk::image {

struct ResolvedImage {
    std::string id;  // "sha256:..." (the config digest)
    oci::ImageConfig config;
};

struct DriverChoice {
    std::string name;    // "overlay" or "vfs"
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
[[nodiscard]] Status unmount_rootfs(Store& store, const std::string& container_id);
[[nodiscard]] Status release_rootfs(Store& store, const std::string& container_id);

}  // namespace husk::image
