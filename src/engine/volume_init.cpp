#include "engine/volume_init.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "common/safe_path.hpp"
#include "engine/copy.hpp"
#include "engine/ids.hpp"
#include "engine/volumes.hpp"

namespace husk::engine {
namespace {

bool dir_is_empty(const std::string& path) {
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) return false;
    bool empty = true;
    while (auto* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") {
            empty = false;
            break;
        }
    }
    ::closedir(d);
    return empty;
}

// Copies what the rootfs has at `destination` into the (empty) volume, owners and modes
// kept, the volume's top directory taking the owner and mode of the image's.
Status copy_up(const std::string& rootfs, const std::string& destination,
               const std::string& data_dir) {
    UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return fail_errno("open rootfs {}", rootfs);
    auto src = open_in_root(root.get(), destination, O_RDONLY | O_DIRECTORY);
    if (!src) {
        int e = src.error().errnum();
        if (e == ENOENT || e == ENOTDIR) return {};  // nothing there (or a file): nothing to copy
        return fail(src.error());
    }
    if (!dir_is_empty(data_dir)) return {};
    UniqueFd data(::open(data_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!data) return fail_errno("open volume {}", data_dir);
    struct stat st {};
    if (::fstat(src->get(), &st) != 0) return fail_errno("stat {} in the rootfs", destination);
    if (::fchown(data.get(), st.st_uid, st.st_gid) != 0 ||
        ::fchmod(data.get(), st.st_mode & 07777) != 0)
        return fail_errno("set the owner of volume {}", data_dir);
    CopyOptions options;
    options.archive = true;
    return copy_path(root.get(), destination + "/.", "the image", data.get(), "/",
                     "volume " + data_dir, options);
}

}  // namespace

Status init_volumes(ContainerRecord& record, const oci::ImageConfig& image,
                    const std::string& volumes_root) {
    VolumeStore volumes(volumes_root);
    std::vector<std::string> made;
    auto undo = [&] {
        for (const auto& n : made) (void)volumes.remove(n);
        std::erase_if(record.mounts, [&](const MountRecord& m) {
            return std::find(made.begin(), made.end(), m.name) != made.end();
        });
    };
    for (const auto& path : image.config.volumes) {
        std::string dest = clean_path(path);
        bool covered = false;
        for (const auto& m : record.mounts) covered = covered || clean_path(m.destination) == dest;
        if (covered) continue;
        auto v = volumes.create(new_container_id(), {}, true);
        if (!v) {
            undo();
            return fail(v.error().wrap("VOLUME {} of the image", path));
        }
        made.push_back(v->name);
        MountRecord m;
        m.type = "volume";
        m.name = v->name;
        m.source = v->mountpoint;
        m.destination = dest;
        record.mounts.push_back(std::move(m));
    }
    for (const auto& m : record.mounts) {
        if (m.type != "volume" || m.no_copy) continue;
        auto v = volumes.get(m.name);
        if (!v) continue;
        if (auto st = copy_up(record.rootfs, m.destination, v->mountpoint); !st) {
            undo();
            return fail(
                st.error().wrap("copy {} of the image into volume {}", m.destination, m.name));
        }
    }
    return {};
}

void remove_anonymous_volumes(const ContainerRecord& record, const std::string& volumes_root) {
    VolumeStore volumes(volumes_root);
    for (const auto& m : record.mounts)
        if (m.type == "volume")
            if (auto v = volumes.get(m.name); v && v->anonymous) (void)volumes.remove(m.name);
}

}  // namespace husk::engine
