#include "image/rootfs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <map>

#include <nlohmann/json.hpp>

#include "common/files.hpp"
#include "common/scope_exit.hpp"
#include "common/unique_fd.hpp"
#include "image/fuse_overlay.hpp"
#include "image/overlay_xattr.hpp"

namespace husk::image {
namespace {

using Json = nlohmann::json;

std::vector<std::string> layer_dirs(const Store& store, const oci::ImageConfig& config) {
    std::vector<std::string> out;
    for (auto& chain : chain_ids(config.diff_ids)) out.push_back(store.layer_path(chain));
    return out;
}

Status copy_xattrs(int src, int dst, const std::string& shown) {
    char names[8192];
    ssize_t n = ::flistxattr(src, names, sizeof names);
    if (n < 0) return errno == ENOTSUP ? Status{} : fail_errno("list xattrs of {}", shown);
    for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(strlen(names + i)) + 1) {
        std::string_view name = names + i;
        if (is_overlay_xattr(name)) continue;
        char value[65536];
        ssize_t len = ::fgetxattr(src, names + i, value, sizeof value);
        if (len < 0) continue;
        if (::fsetxattr(dst, names + i, value, static_cast<size_t>(len), 0) != 0 &&
            errno != ENOTSUP)
            return fail_errno("set xattr {} on {}", name, shown);
    }
    return {};
}

// Applies one layer onto a vfs rootfs: whiteouts delete, opaque directories are emptied,
// hardlinks inside the layer stay hardlinks. Every step is relative to directory fds with
// O_NOFOLLOW: a symlink in the rootfs is never followed.
class LayerCopier {
public:
    Status copy_dir(int src, int dst, const std::string& shown) {
        DIR* d = ::fdopendir(::fcntl(src, F_DUPFD_CLOEXEC, 0));
        if (d == nullptr) return fail_errno("read {}", shown);
        Status result;
        while (auto* ent = ::readdir(d)) {
            std::string name = ent->d_name;
            if (name == "." || name == "..") continue;
            result = copy_entry(src, dst, name, shown + "/" + name);
            if (!result) break;
        }
        ::closedir(d);
        return result;
    }

private:
    Status remove_at(int dst, const std::string& name) {
        struct stat st {};
        if (::fstatat(dst, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return {};
        if (S_ISDIR(st.st_mode)) return remove_tree(fd_path_of(dst) + "/" + name);
        if (::unlinkat(dst, name.c_str(), 0) != 0) return fail_errno("remove {}", name);
        return {};
    }
    static std::string fd_path_of(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

    Status copy_entry(int src, int dst, const std::string& name, const std::string& shown) {
        struct stat st {};
        if (::fstatat(src, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
            return fail_errno("stat {}", shown);
        if (S_ISCHR(st.st_mode) && st.st_rdev == 0) return remove_at(dst, name);  // whiteout
        struct stat dst_st {};
        bool exists = ::fstatat(dst, name.c_str(), &dst_st, AT_SYMLINK_NOFOLLOW) == 0;
        if (S_ISDIR(st.st_mode)) {
            UniqueFd sdir(
                ::openat(src, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!sdir) return fail_errno("open {}", shown);
            char opaque[2];
            bool is_opaque =
                ::fgetxattr(sdir.get(), overlay_opaque_xattr(), opaque, 2) == 1 && opaque[0] == 'y';
            if (exists && (!S_ISDIR(dst_st.st_mode) || is_opaque)) {
                HUSK_TRY(remove_at(dst, name));
                exists = false;
            }
            if (!exists && ::mkdirat(dst, name.c_str(), 0700) != 0)
                return fail_errno("mkdir {}", shown);
            UniqueFd ddir(
                ::openat(dst, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!ddir) return fail_errno("open {}", shown);
            HUSK_TRY(copy_dir(sdir.get(), ddir.get(), shown));
            if (::fchown(ddir.get(), st.st_uid, st.st_gid) != 0)
                return fail_errno("chown {}", shown);
            if (::fchmod(ddir.get(), st.st_mode & 07777) != 0) return fail_errno("chmod {}", shown);
            HUSK_TRY(copy_xattrs(sdir.get(), ddir.get(), shown));
            struct timespec times[2] = {st.st_atim, st.st_mtim};
            ::futimens(ddir.get(), times);
            return {};
        }
        if (exists) HUSK_TRY(remove_at(dst, name));
        if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
            auto it = links_.find({st.st_dev, st.st_ino});
            if (it != links_.end()) {
                if (::linkat(it->second.first, it->second.second.c_str(), dst, name.c_str(), 0) ==
                    0)
                    return {};
            }
        }
        if (S_ISREG(st.st_mode)) {
            UniqueFd in(::openat(src, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
            if (!in) return fail_errno("open {}", shown);
            UniqueFd out(::openat(dst, name.c_str(),
                                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
            if (!out) return fail_errno("create {}", shown);
            off_t left = st.st_size;
            while (left > 0) {
                ssize_t n = ::copy_file_range(in.get(), nullptr, out.get(), nullptr,
                                              static_cast<size_t>(left), 0);
                if (n < 0) return fail_errno("copy {}", shown);
                if (n == 0) break;
                left -= n;
            }
            if (::fchown(out.get(), st.st_uid, st.st_gid) != 0)
                return fail_errno("chown {}", shown);
            if (::fchmod(out.get(), st.st_mode & 07777) != 0) return fail_errno("chmod {}", shown);
            HUSK_TRY(copy_xattrs(in.get(), out.get(), shown));
            struct timespec times[2] = {st.st_atim, st.st_mtim};
            ::futimens(out.get(), times);
            if (st.st_nlink > 1) {
                dst_dirs_.emplace_back(::fcntl(dst, F_DUPFD_CLOEXEC, 0));
                links_[{st.st_dev, st.st_ino}] = {dst_dirs_.back().get(), name};
            }
            return {};
        }
        if (S_ISLNK(st.st_mode)) {
            std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
            ssize_t n = ::readlinkat(src, name.c_str(), target.data(), target.size());
            if (n < 0) return fail_errno("readlink {}", shown);
            target.resize(static_cast<size_t>(n));
            if (::symlinkat(target.c_str(), dst, name.c_str()) != 0)
                return fail_errno("symlink {}", shown);
        } else {
            if (::mknodat(dst, name.c_str(), st.st_mode, st.st_rdev) != 0)
                return fail_errno("mknod {}", shown);
        }
        if (::fchownat(dst, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0)
            return fail_errno("chown {}", shown);
        struct timespec times[2] = {st.st_atim, st.st_mtim};
        ::utimensat(dst, name.c_str(), times, AT_SYMLINK_NOFOLLOW);
        return {};
    }

    std::map<std::pair<dev_t, ino_t>, std::pair<int, std::string>> links_;
    std::vector<UniqueFd> dst_dirs_;
};

Result<bool> probe_overlay(const Store& store, std::string& why) {
    // Makes the native probe count as failed, to exercise (and test) the fallbacks.
    if (const char* off = std::getenv("HUSK_NATIVE_OVERLAY"); off != nullptr && *off == '0') {
        why = "the native overlay probe is disabled by HUSK_NATIVE_OVERLAY=0";
        return false;
    }
    std::string dir = store.temp_path("probe");
    HUSK_TRY(make_dirs(dir + "/l"));
    HUSK_TRY(make_dirs(dir + "/u"));
    HUSK_TRY(make_dirs(dir + "/w"));
    HUSK_TRY(make_dirs(dir + "/m"));
    auto cleanup = ScopeExit([&] { (void)remove_tree(dir); });
    auto mounted = mount_overlay({dir + "/l"}, dir + "/u", dir + "/w", dir + "/m");
    if (!mounted) {
        why = "an overlay mount failed: " + mounted.error().what();
        return false;
    }
    ::umount2((dir + "/m").c_str(), MNT_DETACH);
    return true;
}

// The same probe with fuse-overlayfs: a real mount (and its process) made and taken down.
Result<bool> probe_fuse_overlay(const Store& store, std::string& why) {
    auto binary = fuse_overlay_binary();
    if (!binary) {
        why = binary.error().what();
        return false;
    }
    std::string dir = store.temp_path("probe");
    for (const char* sub : {"/l", "/u", "/w", "/m"}) HUSK_TRY(make_dirs(dir + sub));
    auto cleanup = ScopeExit([&] { (void)remove_tree(dir); });
    FuseOverlayFiles files{dir + "/pid", dir + "/log"};
    auto mounted =
        mount_fuse_overlay(*binary, {dir + "/l"}, dir + "/u", dir + "/w", dir + "/m", files);
    if (!mounted) {
        why = mounted.error().what();
        return false;
    }
    HUSK_TRY(unmount_fuse_overlay(dir + "/m", files));
    why = *binary;
    return true;
}

FuseOverlayFiles fuse_files(const std::string& container_dir) {
    return {container_dir + "/fuse-overlayfs.pid", container_dir + "/fuse-overlayfs.log"};
}

}  // namespace

// Mounts an overlay with the new mount API: one "lowerdir+" per layer, so the page-size
// limit of mount(2)'s option string never applies. Falls back to mount(2) with lower paths
// relative to layers/ (the caller's cwd) on kernels before 6.8.
Status mount_overlay(const std::vector<std::string>& lowers_top_first, const std::string& upper,
                     const std::string& work, const std::string& target) {
    UniqueFd fs(::fsopen("overlay", FSOPEN_CLOEXEC));
    if (fs) {
        bool ok = true;
        for (auto& l : lowers_top_first)
            if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "lowerdir+", l.c_str(), 0) != 0) {
                ok = false;
                break;
            }
        if (ok) {
            // Root of a user namespace keeps overlay's xattrs under user.* (see
            // overlay_xattr.hpp).
            if (rootless_store() &&
                ::fsconfig(fs.get(), FSCONFIG_SET_FLAG, "userxattr", nullptr, 0) != 0)
                return fail_errno("overlay on {}: userxattr", target);
            if ((!upper.empty() &&
                 (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "upperdir", upper.c_str(), 0) != 0 ||
                  ::fsconfig(fs.get(), FSCONFIG_SET_STRING, "workdir", work.c_str(), 0) != 0)) ||
                ::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
                return fail_errno("overlay on {}", target);
            UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, 0));
            if (!mnt) return fail_errno("overlay on {}: fsmount", target);
            if (::move_mount(mnt.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
                return fail_errno("overlay on {}: move_mount", target);
            return {};
        }
    }
    // mount(2): lowers named relative to their common directory keep the option short.
    std::string parent = lowers_top_first.front().substr(0, lowers_top_first.front().rfind('/'));
    std::string opts = "lowerdir=";
    for (size_t i = 0; i < lowers_top_first.size(); ++i) {
        if (i) opts += ":";
        opts += lowers_top_first[i].substr(parent.size() + 1);
    }
    if (!upper.empty()) opts += ",upperdir=" + upper + ",workdir=" + work;
    if (rootless_store()) opts += ",userxattr";
    if (opts.size() >= static_cast<size_t>(::getpagesize()))
        return fail_invalid("overlay on {}: {} layers do not fit the mount options", target,
                            lowers_top_first.size());
    UniqueFd cwd(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (::chdir(parent.c_str()) != 0) return fail_errno("chdir {}", parent);
    int r = ::mount("overlay", target.c_str(), "overlay", 0, opts.c_str());
    int saved = errno;
    if (cwd) (void)::fchdir(cwd.get());
    errno = saved;
    if (r != 0) return fail_errno("overlay on {}", target);
    return {};
}

Result<ResolvedImage> resolve_image(const Store& store, const std::string& reference) {
    auto db = store.load_db();
    if (!db) return fail(db.error());
    auto rec = store.find_image(*db, reference);
    if (!rec) return fail(rec.error());
    auto config = store.config_of(*rec);
    if (!config) return fail(config.error());
    return ResolvedImage{rec->id, std::move(*config)};
}

DriverChoice choose_driver(const Store& store) {
    if (const char* env = std::getenv("HUSK_STORAGE_DRIVER"); env != nullptr && *env != '\0')
        return {env, "set by HUSK_STORAGE_DRIVER"};
    if (auto text = read_file(store.root() + "/storage.json"); text) {
        Json doc = Json::parse(*text, nullptr, false);
        if (doc.is_object() && doc.contains("driver") && doc["driver"].is_string())
            return {doc["driver"].get<std::string>(), "set in " + store.root() + "/storage.json"};
    }
    std::string cache = store.root() + "/driver.json";
    if (auto text = read_file(cache); text) {
        Json doc = Json::parse(*text, nullptr, false);
        if (doc.is_object() && doc.contains("driver") && doc.contains("reason"))
            return {doc["driver"].get<std::string>(), doc["reason"].get<std::string>()};
    }
    DriverChoice choice;
    struct statfs sfs {};
    if (::statfs(store.root().c_str(), &sfs) == 0 && sfs.f_type == OVERLAYFS_SUPER_MAGIC) {
        choice = {"vfs",
                  "the storage root is on overlayfs, which cannot hold an overlay's upper dir"};
    } else {
        std::string why;
        auto ok = probe_overlay(store, why);
        if (ok && *ok) {
            choice = {"overlay", "an overlay mount on the storage root works"};
        } else {
            if (!ok) why = ok.error().what();
            std::string fuse_why;
            auto fuse = probe_fuse_overlay(store, fuse_why);
            if (fuse && *fuse)
                choice = {"fuse-overlayfs",
                          why + "; a fuse-overlayfs mount (" + fuse_why + ") works"};
            else
                choice = {"vfs",
                          why + "; fuse-overlayfs: " + (fuse ? fuse_why : fuse.error().what())};
        }
    }
    (void)write_file_atomic(cache, Json{{"driver", choice.name}, {"reason", choice.reason}}.dump());
    return choice;
}

Result<std::string> prepare_rootfs(Store& store, const std::string& image_id,
                                   const std::string& container_id,
                                   const std::string& container_dir) {
    auto image = resolve_image(store, image_id);
    if (!image) return fail(image.error());
    return prepare_rootfs(store, *image, container_id, container_dir);
}

Result<std::string> prepare_rootfs(Store& store, const ResolvedImage& image,
                                   const std::string& container_id,
                                   const std::string& container_dir) {
    auto layers = layer_dirs(store, image.config);
    for (auto& l : layers)
        if (!path_exists(l)) return fail_invalid("image {}: layer {} is not unpacked", image.id, l);
    DriverChoice driver = choose_driver(store);
    if (driver.name != "overlay" && driver.name != "vfs" && driver.name != "fuse-overlayfs")
        return fail_invalid("unknown storage driver {:?} ({})", driver.name, driver.reason);
    std::string rootfs = container_dir + "/rootfs";
    HUSK_TRY(make_dirs(container_dir, 0700));
    // Recorded first: an image is never garbage collected under a container being prepared.
    // Not synced to disk: a use lost with a power cut is found again from the container's
    // record (users_of in `rmi` reads both), and an unsynced write costs nothing per run.
    HUSK_TRY(store.update_db(
        [&](Db& d) -> Status {
            if (!d.images.contains(image.id))
                return fail(Error(ENOENT, fmt::format("image {} was removed", image.id)));
            d.containers[container_id] = ContainerUse{image.id, container_dir, driver.name};
            return {};
        },
        Durability::survive_crash));
    std::string fuse_binary;
    if (driver.name == "fuse-overlayfs") {
        auto binary = fuse_overlay_binary();
        if (!binary) return fail(binary.error().wrap("storage driver fuse-overlayfs"));
        fuse_binary = *binary;
    }
    if (driver.name != "vfs") {
        HUSK_TRY(make_dirs(container_dir + "/upper", 0755));
        HUSK_TRY(make_dirs(container_dir + "/work", 0700));
        HUSK_TRY(make_dirs(rootfs, 0755));
        std::vector<std::string> lowers(layers.rbegin(), layers.rend());
        if (lowers.empty()) {
            HUSK_TRY(make_dirs(container_dir + "/empty", 0755));
            lowers.push_back(container_dir + "/empty");
        }
        if (!fuse_binary.empty()) {
            HUSK_TRY(mount_fuse_overlay(fuse_binary, lowers, container_dir + "/upper",
                                        container_dir + "/work", rootfs,
                                        fuse_files(container_dir)));
            return rootfs;
        }
        HUSK_TRY(mount_overlay(lowers, container_dir + "/upper", container_dir + "/work", rootfs));
        return rootfs;
    }
    if (path_exists(rootfs)) return rootfs;  // renamed into place only when complete
    // vfs: copied into a temp dir next to the rootfs and renamed when complete.
    std::string tmp = container_dir + "/rootfs.tmp";
    HUSK_TRY(remove_tree(tmp));
    HUSK_TRY(remove_tree(rootfs));
    if (::mkdir(tmp.c_str(), 0755) != 0) return fail_errno("mkdir {}", tmp);
    auto cleanup = ScopeExit([&] { (void)remove_tree(tmp); });
    UniqueFd dst(::open(tmp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dst) return fail_errno("open {}", tmp);
    for (auto& l : layers) {
        UniqueFd src(::open(l.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!src) return fail_errno("open {}", l);
        LayerCopier copier;
        HUSK_TRY(copier.copy_dir(src.get(), dst.get(), l));
    }
    if (::rename(tmp.c_str(), rootfs.c_str()) != 0)
        return fail_errno("rename {} to {}", tmp, rootfs);
    cleanup.dismiss();
    return rootfs;
}

Status unmount_rootfs(Store& store, const std::string& container_id) {
    auto db = store.load_db();
    if (!db) return fail(db.error());
    auto it = db->containers.find(container_id);
    if (it == db->containers.end())
        return fail(Error(ENOENT, fmt::format("container {} holds no rootfs", container_id)));
    if (it->second.driver == "overlay") {
        std::string rootfs = it->second.dir + "/rootfs";
        if (::umount2(rootfs.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
            return fail_errno("unmount {}", rootfs);
    }
    if (it->second.driver == "fuse-overlayfs")
        return unmount_fuse_overlay(it->second.dir + "/rootfs", fuse_files(it->second.dir));
    return {};
}

Status release_rootfs(Store& store, const std::string& container_id) {
    auto db = store.load_db();
    if (!db) return fail(db.error());
    auto it = db->containers.find(container_id);
    if (it == db->containers.end()) return {};
    HUSK_TRY(unmount_rootfs(store, container_id));
    for (const char* sub :
         {"/rootfs", "/rootfs.tmp", "/upper", "/work", "/empty", "/fuse-overlayfs.log"})
        HUSK_TRY(remove_tree(it->second.dir + sub));
    return store.update_db(
        [&](Db& d) -> Status {
            d.containers.erase(container_id);
            return {};
        },
        Durability::survive_crash);
}

}  // namespace husk::image
