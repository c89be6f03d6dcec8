// A step's root filesystem: the stage's layers as overlay lowers, a fresh upper dir.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "build/steps.hpp"
#include "common/files.hpp"
#include "image/rootfs.hpp"

namespace husk::build::detail {

Result<Workspace> Workspace::open(const image::Store& store,
                                  const std::vector<std::string>& diff_ids, bool writable) {
    Workspace ws;
    ws.dir_ = store.temp_path("build");
    ws.rootfs_ = ws.dir_ + "/rootfs";
    if (::mkdir(ws.dir_.c_str(), 0700) != 0) return fail_errno("mkdir {}", ws.dir_);
    for (const char* sub : {"/rootfs", "/upper", "/work", "/empty"})
        if (::mkdir((ws.dir_ + sub).c_str(), 0755) != 0)
            return fail_errno("mkdir {}{}", ws.dir_, sub);
    std::vector<std::string> lowers;
    for (auto& chain : image::chain_ids(diff_ids)) lowers.push_back(store.layer_path(chain));
    std::reverse(lowers.begin(), lowers.end());
    // overlay needs a lower even for scratch, and two for a read-only mount.
    if (lowers.empty() || !writable) lowers.push_back(ws.dir_ + "/empty");
    if (lowers.size() == 1 && !writable) {
        // Nothing to mount: the empty dir is the read-only view.
        ws.rootfs_ = ws.dir_ + "/empty";
        return ws;
    }
    HUSK_TRY_CTX(image::mount_overlay(lowers, writable ? ws.dir_ + "/upper" : "",
                                      writable ? ws.dir_ + "/work" : "", ws.rootfs_),
                 "mount the build workspace");
    ws.mounted_ = true;
    return ws;
}

Workspace::Workspace(Workspace&& other) noexcept
    : dir_(std::move(other.dir_)), rootfs_(std::move(other.rootfs_)), mounted_(other.mounted_) {
    other.dir_.clear();
    other.mounted_ = false;
}

Workspace::~Workspace() {
    if (mounted_) ::umount2(rootfs_.c_str(), MNT_DETACH);
    if (!dir_.empty()) (void)remove_tree(dir_);
}

Result<UniqueFd> Workspace::open_rootfs() const {
    UniqueFd fd(::open(rootfs_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return fail_errno("open {}", rootfs_);
    return fd;
}

Status Workspace::unmount() {
    if (!mounted_) return {};
    if (::umount2(rootfs_.c_str(), 0) != 0 && ::umount2(rootfs_.c_str(), MNT_DETACH) != 0)
        return fail_errno("unmount {}", rootfs_);
    mounted_ = false;
    return {};
}

bool Workspace::changed() const {
    DIR* d = ::opendir(upper().c_str());
    if (d == nullptr) return false;
    bool any = false;
    while (auto* ent = ::readdir(d)) {
        std::string_view name = ent->d_name;
        if (name != "." && name != "..") {
            any = true;
            break;
        }
    }
    ::closedir(d);
    return any;
}

}  // namespace husk::build::detail
