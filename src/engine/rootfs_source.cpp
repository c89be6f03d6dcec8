#include "engine/rootfs_source.hpp"

#include <sys/mount.h>
#include <sys/stat.h>

#include <climits>
#include <cstdlib>

namespace husk::engine {

Result<PreparedRootfs> prepare_rootfs(const RootfsRequest& request) {
    PreparedRootfs out;
    if (request.rootfs_dir.empty())
        return fail_invalid(
            "image {:?}: the image store is not available yet: run a directory with --rootfs DIR",
            request.image);
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

Status release_rootfs(const std::string& container_id, const std::string& mount) {
    (void)container_id;
    if (!mount.empty() && ::umount2(mount.c_str(), MNT_DETACH) != 0 && errno != EINVAL &&
        errno != ENOENT)
        return fail_errno("unmount {}", mount);
    return {};
}

}  // namespace husk::engine
