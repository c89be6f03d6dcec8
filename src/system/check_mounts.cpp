// The pseudo-filesystems a distribution's init mounts and husk relies on.
#include <algorithm>

#include "system/doctor.hpp"

namespace husk::system {
namespace {

struct Expected {
    const char* id;
    const char* path;
    std::vector<std::string> types;  // acceptable filesystem types
    Level missing;                   // how bad its absence is
    const char* why;
    const char* mount_cmd;
};

}  // namespace

void check_mounts(const Context& ctx, std::vector<CheckResult>& out) {
    const Expected expected[] = {
        {"mounts.proc",
         "/proc",
         {"proc"},
         Level::fail,
         "process, namespace and sysctl files",
         "mount -t proc -o nosuid,nodev,noexec proc /proc"},
        {"mounts.sys",
         "/sys",
         {"sysfs"},
         Level::fail,
         "cgroups, devices and kernel modules",
         "mount -t sysfs -o nosuid,nodev,noexec sysfs /sys"},
        {"mounts.dev",
         "/dev",
         {"devtmpfs", "tmpfs"},
         Level::fail,
         "device nodes (/dev/null, /dev/fuse, ...)",
         "mount -t devtmpfs -o nosuid,mode=0755 devtmpfs /dev"},
        {"mounts.devpts",
         "/dev/pts",
         {"devpts"},
         Level::warn,
         "terminals for `-t` containers",
         "mkdir -p /dev/pts && mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "
         "/dev/pts"},
        {"mounts.shm",
         "/dev/shm",
         {"tmpfs"},
         Level::warn,
         "POSIX shared memory (shm_open, sem_open)",
         "mkdir -p /dev/shm && mount -t tmpfs -o nosuid,nodev,mode=1777 shm /dev/shm"},
    };
    for (auto& e : expected) {
        CheckResult r;
        r.id = e.id;
        r.title = std::string(e.path) + " mounted";
        r.facts["path"] = e.path;
        if (!ctx.mountinfo_error.empty()) {
            r.level = Level::fail;
            r.summary = fmt::format("cannot read the mount table: {}", ctx.mountinfo_error);
            r.fix = "mount -t proc proc /proc   # or: husk system bootstrap";
            r.facts["mounted"] = false;
            out.push_back(std::move(r));
            continue;
        }
        const MountEntry* m = visible_mount_at(ctx.mounts, e.path);
        bool ok = m && std::find(e.types.begin(), e.types.end(), m->fs_type) != e.types.end();
        r.facts["mounted"] = ok;
        if (m) {
            r.facts["fs_type"] = m->fs_type;
            r.evidence.push_back(fmt::format("mountinfo: {} {} {} ({})", m->mount_point, m->fs_type,
                                             m->source, m->options));
        } else {
            r.evidence.push_back(
                fmt::format("mountinfo: nothing visible is mounted on {}", e.path));
        }
        if (ok && m->read_only() && std::string(e.path) != "/sys") {
            r.level = Level::warn;
            r.summary = fmt::format("{} is mounted read-only", m->fs_type);
            r.fix = fmt::format("mount -o remount,rw {}", e.path);
        } else if (ok) {
            r.summary = m->fs_type;
        } else {
            r.level = e.missing;
            r.summary = m ? fmt::format("{} is {}, expected {} ({})", e.path, m->fs_type,
                                        e.types.front(), e.why)
                          : fmt::format("not mounted: husk needs it for {}", e.why);
            r.fix = fmt::format("husk system bootstrap   # or: {}", e.mount_cmd);
        }
        out.push_back(std::move(r));
    }
}

}  // namespace husk::system
