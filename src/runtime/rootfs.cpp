#include "runtime/rootfs.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/safe_path.hpp"
#include "runtime/idmap.hpp"
#include "runtime/trace.hpp"

namespace husk::runtime {
namespace {

struct DefaultDevice {
    const char* path;
    unsigned major, minor;
};

// runtime-spec "Default Devices".
constexpr DefaultDevice kDefaultDevices[] = {
    {"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
    {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

struct DevLink {
    const char* target;
    const char* path;
};

constexpr DevLink kDevLinks[] = {
    {"/proc/self/fd", "/dev/fd"},       {"/proc/self/fd/0", "/dev/stdin"},
    {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"},
    {"/proc/kcore", "/dev/core"},
};

Status do_mount(const std::string& source, const std::string& target, const char* fstype,
                unsigned long flags, const std::string& data, const std::string& shown) {
    if (::mount(source.empty() ? nullptr : source.c_str(), target.c_str(), fstype, flags,
                data.empty() ? nullptr : data.c_str()) != 0)
        return fail_errno("mount {}{} on {}", source.empty() ? "(none)" : source,
                          fstype && *fstype ? fmt::format(" ({})", fstype) : "", shown);
    return {};
}

// The flags a remount must keep: in a user namespace the kernel refuses to drop the
// "locked" flags a mount was made with.
unsigned long locked_flags(const std::string& path) {
    struct statvfs sv {};
    if (::statvfs(path.c_str(), &sv) != 0) return 0;
    unsigned long out = 0;
    if (sv.f_flag & ST_NOSUID) out |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV) out |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC) out |= MS_NOEXEC;
    if (sv.f_flag & ST_RDONLY) out |= MS_RDONLY;
    if (sv.f_flag & ST_NOATIME) out |= MS_NOATIME;
    if (sv.f_flag & ST_NODIRATIME) out |= MS_NODIRATIME;
    if (sv.f_flag & ST_RELATIME) out |= MS_RELATIME;
    return out;
}

// Applies flags to an existing bind mount; retries with the locked flags kept.
Status remount_bind(const std::string& target, unsigned long flags, const std::string& shown) {
    if (::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | flags, nullptr) == 0)
        return {};
    if (errno == EPERM &&
        ::mount(nullptr, target.c_str(), nullptr,
                MS_REMOUNT | MS_BIND | flags | locked_flags(target), nullptr) == 0)
        return {};
    return fail_errno("remount {}", shown);
}

bool is_directory(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The destination, created inside the rootfs: a file for a bind of a file, else a directory.
Result<UniqueFd> make_target(int root_fd, const MountStep& step) {
    // procfs and sysfs on a symlink would let an image choose where the kernel's control
    // files appear (CVE-2019-19921 class): they go on ordinary directories only, as in runc.
    if (step.fstype == "proc" || step.fstype == "sysfs") {
        auto existing = open_in_root(root_fd, step.destination, O_PATH | O_NOFOLLOW);
        struct stat st {};
        if (existing && ::fstat(existing->get(), &st) == 0 && !S_ISDIR(st.st_mode))
            return fail(Error(ENOTDIR, fmt::format("{} must be mounted on an ordinary directory, "
                                                   "and {} in the rootfs is not one",
                                                   step.fstype, step.destination)));
    }
    if (step.bind && !is_directory(step.source))
        return make_file_in_root(root_fd, step.destination);
    return make_dirs_in_root(root_fd, step.destination);
}

Status apply_attributes(const std::string& target, const MountStep& step) {
    if (step.attr_set == 0 && step.attr_clr == 0) return {};
    struct mount_attr attr {};
    attr.attr_set = step.attr_set;
    attr.attr_clr = step.attr_clr;
    if (::mount_setattr(AT_FDCWD, target.c_str(), AT_RECURSIVE, &attr, sizeof attr) != 0)
        return fail_errno("set recursive attributes on {}", step.destination);
    return {};
}

// "cgroup": the container's own cgroup at the destination. v2: the cgroup2 filesystem
// (a cgroup namespace shows the container's directory as its root). v1 and hybrid: a tmpfs
// with each hierarchy's container directory bound under its name, as runc does.
Status mount_cgroup_tree(int root_fd, const MountStep& step, const std::string& target,
                         const std::vector<CgroupDir>& dirs) {
    unsigned long flags = step.flags & ~MS_RDONLY;
    bool only_v2 = dirs.size() == 1 && dirs[0].controllers.empty();
    if (only_v2 || step.fstype == "cgroup2") {
        auto mounted = do_mount("cgroup2", target, "cgroup2", step.flags, "", step.destination);
        // Rootless, under a /sys bound from the host, the host's cgroup2 is already on the
        // target (EBUSY: the same filesystem on the same mount point), and it is locked
        // there; or the namespace is not ours (EPERM). The container's own directory bound
        // instead shows the same tree (runc's fallback).
        int err = mounted ? 0 : mounted.error().errnum();
        if (!mounted && only_v2 && (err == EBUSY || err == EPERM)) {
            HUSK_TRY(
                do_mount(dirs[0].path, target, nullptr, MS_BIND | MS_REC, "", step.destination));
            return remount_bind(target, step.flags | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                step.destination);
        }
        return mounted;
    }
    HUSK_TRY(do_mount("tmpfs", target, "tmpfs", flags, "mode=755", step.destination));
    for (const auto& dir : dirs) {
        std::string name = dir.controllers.empty() ? "unified" : dir.controllers;
        if (name.starts_with("name=")) name = name.substr(5);
        auto sub = make_dirs_in_root(root_fd, step.destination + "/" + name);
        if (!sub) return fail(sub.error());
        std::string sub_target = fd_path(sub->get());
        HUSK_TRY(
            do_mount(dir.path, sub_target, nullptr, MS_BIND, "", step.destination + "/" + name));
        auto mounted = open_in_root(root_fd, step.destination + "/" + name, O_PATH);
        if (!mounted) return fail(mounted.error());
        HUSK_TRY(remount_bind(fd_path(mounted->get()),
                              step.flags | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                              step.destination + "/" + name));
    }
    if (step.flags & MS_RDONLY) {
        auto mounted = open_in_root(root_fd, step.destination, O_PATH);
        if (!mounted) return fail(mounted.error());
        HUSK_TRY(remount_bind(fd_path(mounted->get()), step.flags, step.destination));
    }
    return {};
}

Status mount_at(int root_fd, const MountStep& step, const std::string& target,
                const RootfsPlan& plan) {
    if (step.is_cgroup) {
        HUSK_TRY(mount_cgroup_tree(root_fd, step, target, plan.cgroup_dirs));
    } else if (step.tree_fd >= 0) {
        HUSK_TRY(attach_idmapped_tree(step, target));
    } else if (step.bind) {
        HUSK_TRY(do_mount(step.source, target, nullptr, MS_BIND | (step.recursive ? MS_REC : 0), "",
                          step.destination));
    } else {
        Status mounted = do_mount(step.source, target, step.fstype.c_str(), step.flags, step.data,
                                  step.destination);
        // sysfs needs a network namespace of its own; without one, bind the host's (runc does).
        if (!mounted && step.fstype == "sysfs" && mounted.error().errnum() == EPERM) {
            mounted = do_mount("/sys", target, nullptr, MS_BIND | MS_REC, "", step.destination);
            if (mounted) {
                auto again = open_in_root(root_fd, step.destination, O_PATH);
                if (!again) return fail(again.error());
                mounted = remount_bind(fd_path(again->get()), step.flags, step.destination);
            }
        }
        // devpts' gid= (the host's tty group) may be unmapped in a user namespace that maps
        // one id only: the kernel says EINVAL; the ptys then belong to the process's group
        // (runc retries the same way).
        if (!mounted && step.fstype == "devpts" && mounted.error().errnum() == EINVAL &&
            step.data.find("gid=") != std::string::npos) {
            std::string data;
            size_t start = 0;
            while (start <= step.data.size()) {
                size_t comma = step.data.find(',', start);
                std::string opt = step.data.substr(start, comma - start);
                if (!opt.starts_with("gid=") && !opt.empty())
                    data += (data.empty() ? "" : ",") + opt;
                if (comma == std::string::npos) break;
                start = comma + 1;
            }
            mounted = do_mount(step.source, target, step.fstype.c_str(), step.flags, data,
                               step.destination);
        }
        if (!mounted) return mounted;
    }

    // Flags and propagation apply to the new mount: reach it by a fresh lookup.
    bool after = step.needs_remount() || step.propagation != 0 || step.attr_set || step.attr_clr;
    if (!after) return {};
    auto mounted = open_in_root(root_fd, step.destination, O_PATH);
    if (!mounted) return fail(mounted.error());
    std::string mounted_path = fd_path(mounted->get());
    if (step.needs_remount()) HUSK_TRY(remount_bind(mounted_path, step.flags, step.destination));
    if (step.propagation != 0)
        HUSK_TRY(do_mount("", mounted_path, nullptr, step.propagation, "", step.destination));
    return apply_attributes(mounted_path, step);
}

Status mount_one(int root_fd, const MountStep& step, const RootfsPlan& plan) {
    struct stat st {};
    if (step.bind && ::stat(step.source.c_str(), &st) != 0)
        return fail_errno("mounts[{}].source {}", step.index, step.source);
    auto target_fd = make_target(root_fd, step);
    if (!target_fd) return fail(target_fd.error().wrap("mounts[{}].destination", step.index));
    HUSK_TRY_CTX(mount_at(root_fd, step, fd_path(target_fd->get()), plan), "mounts[{}] {}",
                 step.index, step.destination);
    return {};
}

Status make_device(int root_fd, const oci::Device& dev, bool bind_instead) {
    std::string path = clean_path(dev.path);
    size_t slash = path.rfind('/');
    auto parent = make_dirs_in_root(root_fd, slash == 0 ? "/" : path.substr(0, slash));
    if (!parent) return fail(parent.error());
    std::string name = path.substr(slash + 1);
    mode_t type = dev.type == 'b' ? S_IFBLK : dev.type == 'p' ? S_IFIFO : S_IFCHR;
    mode_t perm = dev.file_mode.value_or(0666) & 07777;

    if (bind_instead) {
        // No mknod in a user namespace: bind the host's node onto an empty file.
        auto file = make_file_in_root(root_fd, path);
        if (!file) return fail(file.error());
        return do_mount(path, fd_path(file->get()), nullptr, MS_BIND, "", path);
    }
    dev_t number = makedev(static_cast<unsigned>(dev.major), static_cast<unsigned>(dev.minor));
    if (::mknodat(parent->get(), name.c_str(), type | perm, number) != 0) {
        if (errno != EEXIST) return fail_errno("mknod {}", path);
        // Something is there already (an image's /dev): replace it unless it is this node.
        struct stat st {};
        if (::fstatat(parent->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            (st.st_mode & S_IFMT) != type || st.st_rdev != number) {
            if (::unlinkat(parent->get(), name.c_str(), 0) != 0)
                return fail_errno("replace {}", path);
            if (::mknodat(parent->get(), name.c_str(), type | perm, number) != 0)
                return fail_errno("mknod {}", path);
        }
    }
    // mknod applied the umask; set the mode and owner the config asked for.
    if (::fchmodat(parent->get(), name.c_str(), perm, 0) != 0) return fail_errno("chmod {}", path);
    if (::fchownat(parent->get(), name.c_str(), dev.uid.value_or(0), dev.gid.value_or(0),
                   AT_SYMLINK_NOFOLLOW) != 0)
        return fail_errno("chown {}", path);
    return {};
}

Status make_devices(int root_fd, const RootfsPlan& plan) {
    const auto& configured = plan.spec->linux.devices;
    for (const auto& d : kDefaultDevices) {
        bool overridden = false;
        for (const auto& c : configured) overridden |= clean_path(c.path) == d.path;
        if (overridden) continue;
        oci::Device dev;
        dev.path = d.path;
        dev.major = d.major;
        dev.minor = d.minor;
        HUSK_TRY(make_device(root_fd, dev, plan.bind_devices));
    }
    for (const auto& c : configured) HUSK_TRY(make_device(root_fd, c, plan.bind_devices));

    auto dev_dir = make_dirs_in_root(root_fd, "/dev");
    if (!dev_dir) return fail(dev_dir.error());
    for (const auto& link : kDevLinks) {
        const char* name = link.path + 5;  // after "/dev/"
        if (::symlinkat(link.target, dev_dir->get(), name) != 0 && errno != EEXIST)
            return fail_errno("symlink {}", link.path);
    }
    // /dev/ptmx points into the container's own devpts instance when it has one.
    auto pts = open_in_root(root_fd, "/dev/pts/ptmx", O_PATH | O_NOFOLLOW);
    if (pts) {
        ::unlinkat(dev_dir->get(), "ptmx", 0);
        if (::symlinkat("pts/ptmx", dev_dir->get(), "ptmx") != 0)
            return fail_errno("symlink /dev/ptmx");
    }
    return {};
}

unsigned long propagation_flags(const std::string& name) {
    if (name == "private") return MS_PRIVATE;
    if (name == "rprivate") return MS_PRIVATE | MS_REC;
    if (name == "shared") return MS_SHARED;
    if (name == "rshared") return MS_SHARED | MS_REC;
    if (name == "slave") return MS_SLAVE;
    if (name == "unbindable") return MS_UNBINDABLE;
    if (name == "runbindable") return MS_UNBINDABLE | MS_REC;
    return MS_SLAVE | MS_REC;  // "rslave" and the default, as runc
}

}  // namespace

Status prepare_rootfs(const RootfsPlan& plan) {
    const auto& spec = *plan.spec;
    // Nothing we mount may propagate back to the host. A shared root can stay shared in
    // the config's sense only after the pivot, where it no longer reaches the host.
    unsigned long propagation = propagation_flags(spec.linux.rootfs_propagation);
    unsigned long first = (propagation & MS_SHARED) ? (MS_SLAVE | MS_REC) : propagation;
    trace::Step t_bind("rootfs propagation, bind", "{}", plan.rootfs);
    HUSK_TRY_CTX(do_mount("", "/", nullptr, first, "", "/"), "set rootfs propagation");

    // pivot_root needs the new root to be a mount point: bind it onto itself.
    HUSK_TRY(do_mount(plan.rootfs, plan.rootfs, nullptr, MS_BIND | MS_REC, "", plan.rootfs));
    UniqueFd root_fd(::open(plan.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root_fd) return fail_errno("open rootfs {}", plan.rootfs);
    t_bind.done();

    for (const auto& step : plan.mounts) {
        trace::Step t("mount", "{} {} {} flags {:#x}{}", step.destination,
                      step.bind ? "bind" : step.fstype, step.source, step.flags,
                      step.data.empty() ? "" : " " + step.data);
        HUSK_TRY(mount_one(root_fd.get(), step, plan));
    }
    trace::Step t_dev("devices", "{}", plan.bind_devices ? "bind host nodes" : "mknod");
    HUSK_TRY_CTX(make_devices(root_fd.get(), plan), "create devices");
    t_dev.done();

    // The process's cwd is created if missing, as runc does.
    auto cwd = make_dirs_in_root(root_fd.get(), spec.process.cwd);
    if (!cwd) return fail(cwd.error().wrap("process.cwd"));
    return {};
}

Status enter_rootfs(const std::string& rootfs) {
    UniqueFd new_root(::open(rootfs.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!new_root) return fail_errno("open {}", rootfs);
    if (::fchdir(new_root.get()) != 0) return fail_errno("chdir {}", rootfs);

    // pivot_root(".", ".") stacks the old root under the new one; detach it right away.
    if (::syscall(SYS_pivot_root, ".", ".") == 0) {
        // The old root must not propagate the unmount to the host.
        if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0)
            return fail_errno("make the old root a slave");
        if (::umount2(".", MNT_DETACH) != 0) return fail_errno("detach the old root");
        if (::chdir("/") != 0) return fail_errno("chdir /");
        return {};
    }
    int pivot_errno = errno;
    // An initramfs root (what a bare microVM boots into) cannot be pivoted away from.
    struct statfs host_root {};
    bool ramfs = ::statfs("/", &host_root) == 0 &&
                 (host_root.f_type == RAMFS_MAGIC || host_root.f_type == TMPFS_MAGIC);
    if (pivot_errno != EINVAL || !ramfs) {
        errno = pivot_errno;
        return fail_errno("pivot_root into {}", rootfs);
    }
    if (::mount(rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr) != 0)
        return fail_errno("move {} to / (pivot_root is not possible on this root)", rootfs);
    if (::chroot(".") != 0) return fail_errno("chroot {}", rootfs);
    if (::chdir("/") != 0) return fail_errno("chdir /");
    return {};
}

// The source of every file mask. The container's /dev/null is only trusted once it is seen
// to be the null device through an fd that did not follow a symlink: an image or a process
// sharing the rootfs could have swapped it for a link to a procfs file, and the "mask" would
// then expose that file writable (the CVE-2025-31133 class).
Result<std::string> null_device_source(UniqueFd& holder) {
    holder.reset(::open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!holder) return fail_errno("open /dev/null in the container to mask with");
    struct stat st {};
    if (::fstat(holder.get(), &st) != 0) return fail_errno("stat /dev/null");
    if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
        return fail_invalid(
            "/dev/null in the container is not the null device (1:3); refusing "
            "to mask with it");
    // Mount the object we checked, not whatever the name points to by now.
    std::string via_fd = fd_path(holder.get());
    if (::access(via_fd.c_str(), F_OK) == 0) return via_fd;
    return std::string("/dev/null");  // no /proc in this container: checked just above
}

Status finish_rootfs(const oci::Spec& spec) {
    UniqueFd null_holder;
    std::string null_source;
    for (const auto& path : spec.linux.masked_paths) {
        struct stat st {};
        if (::lstat(path.c_str(), &st) != 0) {
            if (errno == ENOENT) continue;
            return fail_errno("linux.maskedPaths: {}", path);
        }
        // Resolution happens after the pivot: a symlink can only lead to another path of the
        // container's own tree, which is then masked too; a dangling one masks nothing.
        if (S_ISLNK(st.st_mode) && ::stat(path.c_str(), &st) != 0) {
            if (errno == ENOENT) continue;
            return fail_errno("linux.maskedPaths: {}", path);
        }
        if (S_ISDIR(st.st_mode)) {
            HUSK_TRY_CTX(do_mount("tmpfs", path, "tmpfs", MS_RDONLY, "", path),
                         "linux.maskedPaths");
        } else {
            if (null_source.empty()) {
                auto source = null_device_source(null_holder);
                if (!source) return fail(source.error().wrap("linux.maskedPaths: {}", path));
                null_source = std::move(*source);
            }
            HUSK_TRY_CTX(do_mount(null_source, path, nullptr, MS_BIND, "", path),
                         "linux.maskedPaths");
        }
    }
    for (const auto& path : spec.linux.readonly_paths) {
        if (::mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
            if (errno == ENOENT) continue;
            return fail_errno("linux.readonlyPaths: bind {}", path);
        }
        HUSK_TRY_CTX(remount_bind(path, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, path),
                     "linux.readonlyPaths");
    }
    if (spec.root.readonly) HUSK_TRY_CTX(remount_bind("/", MS_RDONLY, "/"), "root.readonly");

    // A shared rootfs propagation applies to the container's own tree only.
    unsigned long propagation = propagation_flags(spec.linux.rootfs_propagation);
    if (propagation & MS_SHARED)
        HUSK_TRY_CTX(do_mount("", "/", nullptr, propagation, "", "/"), "linux.rootfsPropagation");
    return {};
}

}  // namespace husk::runtime
