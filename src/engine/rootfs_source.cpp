#include "engine/rootfs_source.hpp"

#include <sys/stat.h>

#include <climits>
#include <cstdlib>

#include "common/files.hpp"
#include "image/rootfs.hpp"
#include "image/store.hpp"

namespace husk::engine {

Result<PreparedRootfs> prepare_rootfs(const RootfsRequest& request) {
    PreparedRootfs out;
    if (request.rootfs_dir.empty()) {
        auto store = image::Store::open(request.store_root);
        if (!store) return fail(store.error());
        auto resolved = image::resolve_image(*store, request.image);
        if (!resolved) return fail(resolved.error());
        auto path =
            image::prepare_rootfs(*store, *resolved, request.container_id, request.container_dir);
        if (!path) return fail(path.error());
        out.image = request.image;
        out.image_id = resolved->id;
        out.path = *path;
        out.config = std::move(resolved->config);
        return out;
    }
    char resolved[PATH_MAX];
    if (::realpath(request.rootfs_dir.c_str(), resolved) == nullptr)
        return fail_errno("--rootfs {}", request.rootfs_dir);
    struct stat st {};
    if (::stat(resolved, &st) != 0 || !S_ISDIR(st.st_mode))
        return fail(Error(ENOTDIR, "--rootfs " + request.rootfs_dir));
    out.path = resolved;
    out.image = resolved;
    return out;
}

Status release_rootfs(const std::string& store_root, const std::string& container_id) {
    // The image store's entry decides, not the record: a create killed between preparing
    // the rootfs and saving the image id left a record without it.
    if (!path_exists(store_root + "/images.json")) return {};
    auto store = image::Store::open(store_root);
    if (!store) return fail(store.error());
    return image::release_rootfs(*store, container_id);
}

}  // namespace husk::engine
