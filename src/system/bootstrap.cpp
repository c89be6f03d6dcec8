#include "system/bootstrap.hpp"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <sstream>

#include "common/files.hpp"
#include "common/unique_fd.hpp"
#include "system/cgroup_view.hpp"
#include "system/network_probe.hpp"

namespace husk::system {
namespace {

constexpr const char* cgroup_root = "/sys/fs/cgroup";
constexpr unsigned long pseudo_flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;

std::vector<MountEntry> current_mounts() {
    auto mounts = read_mountinfo("/proc/self/mountinfo");
    return mounts ? *mounts : std::vector<MountEntry>{};
}

StepReport mount_step(const std::string& name, const std::string& source, const std::string& target,
                      const std::string& type, unsigned long flags, const std::string& data) {
    if (auto st = make_dirs(target); !st) return {name, StepState::cannot, st.error().what()};
    if (::mount(source.c_str(), target.c_str(), type.c_str(), flags,
                data.empty() ? nullptr : data.c_str()) != 0)
        return {name, StepState::cannot,
                fmt::format("mount -t {} {} {}: {}", type, source, target, strerror(errno))};
    return {name, StepState::done, fmt::format("mounted {} on {}", type, target)};
}

std::vector<std::string> option_list(const std::string& options) {
    std::vector<std::string> out;
    std::istringstream in(options);
    std::string o;
    while (std::getline(in, o, ',')) out.push_back(o);
    return out;
}

// Clears a read-only flag where it is set: on the mount (a bind remount that keeps its other
// flags) and on the superblock (a remount that passes the existing options back, since a
// remount without them would reset options such as cgroup2's nsdelegate host-wide).
StepReport remount_rw_step(const MountEntry& m) {
    std::string name = fmt::format("remount {} read-write", m.mount_point);
    auto mount_opts = option_list(m.options);
    auto has = [&](const char* o) {
        return std::find(mount_opts.begin(), mount_opts.end(), o) != mount_opts.end();
    };
    if (has("ro")) {
        unsigned long flags = MS_REMOUNT | MS_BIND;
        if (has("nosuid")) flags |= MS_NOSUID;
        if (has("nodev")) flags |= MS_NODEV;
        if (has("noexec")) flags |= MS_NOEXEC;
        if (has("noatime")) flags |= MS_NOATIME;
        if (has("nodiratime")) flags |= MS_NODIRATIME;
        if (has("relatime")) flags |= MS_RELATIME;
        if (::mount(nullptr, m.mount_point.c_str(), nullptr, flags, nullptr) != 0)
            return {name, StepState::cannot,
                    fmt::format("mount -o remount,bind,rw {}: {}", m.mount_point, strerror(errno))};
    }
    auto super_opts = option_list(m.super_options);
    if (std::find(super_opts.begin(), super_opts.end(), "ro") != super_opts.end()) {
        std::string data;
        for (auto& o : super_opts)
            if (o != "ro" && o != "rw") data += (data.empty() ? "" : ",") + o;
        if (::mount(nullptr, m.mount_point.c_str(), nullptr, MS_REMOUNT,
                    data.empty() ? nullptr : data.c_str()) != 0)
            return {name, StepState::cannot,
                    fmt::format("mount -o remount,rw {}: {}", m.mount_point, strerror(errno))};
    }
    return {name, StepState::done,
            fmt::format("{} ({}) is now read-write", m.mount_point, m.fs_type)};
}

// Moves every process of `dir` into `dir`/husk-host, repeating while new ones appear.
Status move_to_leaf(const std::string& dir, int& moved) {
    std::string leaf = dir + "/husk-host";
    if (::mkdir(leaf.c_str(), 0755) != 0 && errno != EEXIST)
        return fail_errno("create cgroup {}", leaf);
    for (int pass = 0; pass < 5; ++pass) {
        auto procs = read_file(dir + "/cgroup.procs");
        if (!procs) return fail(procs.error());
        std::istringstream in(*procs);
        std::string pid;
        bool any = false;
        while (in >> pid) {
            any = true;
            auto st = write_file(leaf + "/cgroup.procs", pid);
            if (st) {
                ++moved;
            } else if (st.error().errnum() != ESRCH) {
                return fail(st.error().wrap("move process {} into {}", pid, leaf));
            }
        }
        if (!any) return {};
    }
    return fail_invalid("{}/cgroup.procs keeps gaining processes", dir);
}

StepReport delegate_step(const HostView& host, const std::vector<MountEntry>& mounts) {
    const std::string name = "enable cgroup v2 controllers for containers";
    CgroupView view = read_cgroup_view(host, mounts);
    if (view.layout == "none") return {name, StepState::cannot, "no cgroup filesystem is mounted"};
    if (view.layout != "v2")
        return {name, StepState::already_ok,
                fmt::format("{} layout: controllers come from their v1 hierarchies; the v2 tree "
                            "is left as it is",
                            view.layout)};
    auto comm = read_file("/proc/1/comm");
    if ((comm && comm->starts_with("systemd")) || path_exists("/run/systemd/system"))
        return {name, StepState::already_ok,
                "systemd owns the cgroup tree (ask it to delegate: Delegate=yes)"};
    std::set<std::string> wanted;
    for (auto& c : view.v2_available)
        if (!view.v2_enabled.contains(c)) wanted.insert(c);
    std::string enabled;
    for (auto& c : view.v2_enabled) enabled += (enabled.empty() ? "" : " ") + c;
    if (wanted.empty())
        return {name, StepState::already_ok,
                fmt::format("{}/cgroup.subtree_control: {}", view.v2_own_dir,
                            enabled.empty() ? "(the tree offers no controllers)" : enabled)};
    std::string detail;
    if (view.v2_own_path != "/" && view.v2_own_processes > 0) {
        // "No internal processes": a non-root cgroup with processes cannot hand controllers
        // to children, so its processes move to a leaf first (systemd's init.scope).
        int moved = 0;
        if (auto st = move_to_leaf(view.v2_own_dir, moved); !st)
            return {name, StepState::cannot, st.error().what()};
        detail = fmt::format("moved {} processes into {}/husk-host; ", moved, view.v2_own_dir);
    }
    std::vector<std::string> done, refused;
    for (auto& c : wanted) {
        if (write_file(view.v2_own_dir + "/cgroup.subtree_control", "+" + c))
            done.push_back(c);
        else
            refused.push_back(fmt::format("{} ({})", c, strerror(errno)));
    }
    detail += fmt::format("enabled in {}/cgroup.subtree_control: {}", view.v2_own_dir,
                          done.empty() ? "none" : fmt::format("{}", fmt::join(done, " ")));
    if (!refused.empty()) {
        detail += fmt::format("; refused: {}", fmt::join(refused, ", "));
        return {name, StepState::cannot, detail};
    }
    return {name, StepState::done, detail};
}

std::vector<StepReport> cgroup_steps(const HostView& host) {
    std::vector<StepReport> out;
    auto mounts = current_mounts();
    CgroupPlan plan = plan_cgroup_mounts(host, mounts);
    switch (plan.kind) {
        case CgroupPlan::Kind::none:
            out.push_back({"mount cgroups", StepState::already_ok, plan.detail});
            break;
        case CgroupPlan::Kind::remount_rw:
            for (auto& m : mounts)
                if (m.visible && (m.fs_type == "cgroup2" || m.fs_type == "cgroup") && m.read_only())
                    out.push_back(remount_rw_step(m));
            break;
        case CgroupPlan::Kind::mount_v2: {
            auto r = mount_step("mount cgroup2 on /sys/fs/cgroup", "cgroup2", cgroup_root,
                                "cgroup2", pseudo_flags, "nsdelegate");
            // nsdelegate is refused outside the initial user namespace.
            if (r.state == StepState::cannot)
                r = mount_step("mount cgroup2 on /sys/fs/cgroup", "cgroup2", cgroup_root, "cgroup2",
                               pseudo_flags, "");
            out.push_back(r);
            break;
        }
        case CgroupPlan::Kind::mount_v1_hybrid: {
            const MountEntry* base = visible_mount_at(mounts, cgroup_root);
            if (!base || base->fs_type != "tmpfs")
                out.push_back(mount_step("mount tmpfs on /sys/fs/cgroup", "tmpfs", cgroup_root,
                                         "tmpfs", pseudo_flags, "mode=755"));
            for (auto& group : plan.v1_groups)
                out.push_back(mount_step(
                    fmt::format("mount cgroup ({}) on /sys/fs/cgroup/{}", group, group), "cgroup",
                    std::string(cgroup_root) + "/" + group, "cgroup", pseudo_flags, group));
            out.push_back(mount_step("mount cgroup2 on /sys/fs/cgroup/unified", "cgroup2",
                                     std::string(cgroup_root) + "/unified", "cgroup2", pseudo_flags,
                                     ""));
            break;
        }
    }
    out.push_back(delegate_step(host, current_mounts()));
    return out;
}

// A distribution's init brings the loopback interface up; without it nothing on this host
// reaches 127.0.0.1 (a port published there included).
StepReport loopback_step() {
    const std::string name = "bring up lo";
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) return {name, StepState::cannot, fmt::format("socket: {}", strerror(errno))};
    struct ifreq ifr {};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (::ioctl(fd.get(), SIOCGIFFLAGS, &ifr) != 0)
        return {name, StepState::cannot, fmt::format("read the flags of lo: {}", strerror(errno))};
    if (ifr.ifr_flags & IFF_UP) return {name, StepState::already_ok, "lo is up"};
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (::ioctl(fd.get(), SIOCSIFFLAGS, &ifr) != 0)
        return {name, StepState::cannot, fmt::format("set lo up: {}", strerror(errno))};
    return {name, StepState::done, "lo was down"};
}

StepReport dev_symlink_step(const std::string& link, const std::string& target) {
    std::string name = fmt::format("link {} -> {}", link, target);
    struct stat st {};
    if (::lstat(link.c_str(), &st) == 0) return {name, StepState::already_ok, "present"};
    if (::symlink(target.c_str(), link.c_str()) != 0)
        return {name, StepState::cannot, fmt::format("symlink {}: {}", link, strerror(errno))};
    return {name, StepState::done, "created"};
}

}  // namespace

const char* step_state_name(StepState state) {
    switch (state) {
        case StepState::done:
            return "done";
        case StepState::already_ok:
            return "already ok";
        case StepState::cannot:
            return "cannot";
    }
    return "cannot";
}

const std::vector<MountSpec>& base_mounts() {
    static const std::vector<MountSpec> specs = {
        {"/proc", "proc", {"proc"}, "proc", pseudo_flags, ""},
        {"/sys", "sysfs", {"sysfs"}, "sysfs", pseudo_flags, ""},
        {"/dev", "devtmpfs", {"devtmpfs", "tmpfs"}, "devtmpfs", MS_NOSUID, "mode=0755"},
        {"/dev/pts",
         "devpts",
         {"devpts"},
         "devpts",
         MS_NOSUID | MS_NOEXEC,
         "newinstance,ptmxmode=0666,mode=0620,gid=5"},
        {"/dev/shm", "tmpfs", {"tmpfs"}, "shm", MS_NOSUID | MS_NODEV, "mode=1777"},
    };
    return specs;
}

MountDecision decide_mount(const std::vector<MountEntry>& mounts, const MountSpec& spec,
                           bool want_rw) {
    const MountEntry* m = visible_mount_at(mounts, spec.target);
    if (m &&
        std::find(spec.accepted.begin(), spec.accepted.end(), m->fs_type) != spec.accepted.end()) {
        if (want_rw && m->read_only())
            return {MountAction::remount_rw,
                    fmt::format("{} on {} is read-only", m->fs_type, spec.target)};
        return {MountAction::none, fmt::format("{} on {}", m->fs_type, spec.target)};
    }
    if (m)
        return {MountAction::mount, fmt::format("{} holds {}, which hides what belongs there",
                                                spec.target, m->fs_type)};
    return {MountAction::mount, fmt::format("nothing mounted on {}", spec.target)};
}

std::map<int, std::set<std::string>> kernel_v1_hierarchies(const std::string& text) {
    std::map<int, std::set<std::string>> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with("#")) continue;
        std::istringstream fields(line);
        std::string name;
        int hierarchy = 0, count = 0, enabled = 0;
        if (!(fields >> name >> hierarchy >> count >> enabled)) continue;
        if (hierarchy > 0 && enabled) out[hierarchy].insert(name);
    }
    return out;
}

CgroupPlan plan_cgroup_mounts(const HostView& host, const std::vector<MountEntry>& mounts) {
    CgroupPlan plan;
    CgroupView view = read_cgroup_view(host, mounts);
    if (!view.error.empty()) {
        plan.detail = view.error;
        return plan;
    }
    if (view.layout != "none") {
        for (auto& h : view.hierarchies)
            if (h.read_only) {
                plan.kind = CgroupPlan::Kind::remount_rw;
                plan.detail = fmt::format("{} is read-only", h.mount_point);
                return plan;
            }
        plan.detail = fmt::format("{} layout, writable", view.layout);
        return plan;
    }
    auto text = read_file(host.path("/proc/cgroups"));
    auto v1 = kernel_v1_hierarchies(text ? *text : "");
    if (v1.empty()) {
        plan.kind = CgroupPlan::Kind::mount_v2;
        plan.detail = "no cgroup filesystem; no controller is bound to a v1 hierarchy";
        return plan;
    }
    plan.kind = CgroupPlan::Kind::mount_v1_hybrid;
    for (auto& [id, names] : v1) {
        std::string group;
        for (auto& n : names) group += (group.empty() ? "" : ",") + n;
        plan.v1_groups.push_back(group);
    }
    plan.detail =
        "the kernel already binds controllers to v1 hierarchies (/proc/cgroups): "
        "they are mounted again, with cgroup2 beside them";
    return plan;
}

std::vector<StepReport> bootstrap(const BootstrapOptions& options) {
    std::vector<StepReport> out;
    HostView host;
    for (auto& spec : base_mounts()) {
        // Read again each time: /proc may have just appeared, /dev may have been replaced.
        auto mounts = current_mounts();
        std::string name = fmt::format("mount {} on {}", spec.fs_type, spec.target);
        if (mounts.empty() && spec.target != "/proc") {
            out.push_back({name, StepState::cannot, "no /proc/self/mountinfo to look at"});
            continue;
        }
        MountDecision d = decide_mount(mounts, spec);
        if (d.action == MountAction::none) {
            out.push_back({name, StepState::already_ok, d.detail});
            continue;
        }
        out.push_back(
            mount_step(name, spec.source, spec.target, spec.fs_type, spec.flags, spec.data));
        if (out.back().state == StepState::done) out.back().detail += " (" + d.detail + ")";
    }
    for (auto& [link, target] :
         std::vector<std::pair<std::string, std::string>>{{"/dev/fd", "/proc/self/fd"},
                                                          {"/dev/stdin", "/proc/self/fd/0"},
                                                          {"/dev/stdout", "/proc/self/fd/1"},
                                                          {"/dev/stderr", "/proc/self/fd/2"}})
        out.push_back(dev_symlink_step(link, target));
    for (auto& r : cgroup_steps(host)) out.push_back(std::move(r));
    out.push_back(loopback_step());

    if (options.network) {
        const std::string path = "/proc/sys/net/ipv4/ip_forward";
        auto s = read_sysctl(host, current_mounts(), path);
        std::string name = "net.ipv4.ip_forward = 1";
        if (s.value == "1") {
            out.push_back({name, StepState::already_ok, "ip_forward is 1"});
        } else if (!s.writable) {
            out.push_back({name, StepState::cannot, s.reason});
        } else if (auto st = write_file(path, "1"); !st) {
            out.push_back({name, StepState::cannot, st.error().what()});
        } else {
            out.push_back({name, StepState::done, "was " + s.value});
        }
    }
    return out;
}

}  // namespace husk::system
