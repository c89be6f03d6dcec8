// cgroups: the layout, whether husk can write there, which controllers a container's cgroup
// can use, whether processes block delegation ("no internal processes"), and systemd.
#include <unistd.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "common/files.hpp"
#include "runtime/cgroups.hpp"
#include "system/cgroup_view.hpp"
#include "system/doctor.hpp"

namespace husk::system {
namespace {

std::string join(const std::set<std::string>& items, const char* sep = " ") {
    std::string out;
    for (auto& i : items) out += (out.empty() ? "" : sep) + i;
    return out;
}

const std::set<std::string> essential = {"cpu", "memory", "pids"};

}  // namespace

void check_cgroups(const Context& ctx, std::vector<CheckResult>& out) {
    CgroupView view = read_cgroup_view(ctx.host, ctx.mounts);

    CheckResult layout;
    layout.id = "cgroups.layout";
    layout.title = "cgroup layout";
    layout.facts["layout"] = view.layout;
    layout.facts["hierarchies"] = nlohmann::json::array();
    for (auto& e : view.notes) layout.evidence.push_back(e);
    for (auto& h : view.hierarchies) {
        layout.facts["hierarchies"].push_back({{"mount_point", h.mount_point},
                                               {"version", h.unified ? 2 : 1},
                                               {"controllers", h.controllers},
                                               {"own_path", h.own_path},
                                               {"read_only", h.read_only}});
        layout.evidence.push_back(fmt::format("{} {}{} (this process: {})", h.mount_point,
                                              h.unified ? "cgroup2" : "cgroup ",
                                              h.unified ? "" : h.controllers, h.own_path));
    }
    if (!view.error.empty()) {
        layout.level = Level::fail;
        layout.summary = view.error;
        layout.fix = "husk system bootstrap   # mounts /proc";
        out.push_back(std::move(layout));
        return;
    }
    if (view.layout == "none") {
        layout.level = Level::warn;
        layout.summary =
            "no cgroup filesystem: containers run without a cgroup and every "
            "resource limit is refused";
        layout.fix =
            "husk system bootstrap   # or: mount -t cgroup2 -o nsdelegate cgroup2 "
            "/sys/fs/cgroup";
    } else if (view.layout == "hybrid") {
        layout.summary = fmt::format(
            "hybrid: v1 controllers {}; cgroup2 at {} ({})", join(view.v1), view.v2_mount,
            view.v2_available.empty() ? "no controllers" : join(view.v2_available));
    } else if (view.layout == "v1") {
        layout.summary = fmt::format("v1 (deprecated upstream): controllers {}", join(view.v1));
    } else {
        layout.summary = fmt::format("v2 (unified) at {}", view.v2_mount);
    }
    out.push_back(std::move(layout));

    CheckResult writable;
    writable.id = "cgroups.writable";
    writable.title = "cgroups writable";
    std::vector<std::string> read_only;
    for (auto& h : view.hierarchies) {
        if (h.read_only) read_only.push_back(h.mount_point);
        writable.evidence.push_back(fmt::format("{}: {}", h.own_dir,
                                                h.read_only  ? "read-only mount"
                                                : h.writable ? "writable"
                                                             : "not writable (access W_OK)"));
        if (!h.read_only && !h.writable) read_only.push_back(h.own_dir);
    }
    writable.facts["read_only"] = read_only;
    if (view.hierarchies.empty()) {
        writable.summary = "no cgroup filesystem (see cgroup layout)";
    } else if (read_only.empty()) {
        writable.summary = "every hierarchy is writable";
    } else {
        writable.level = Level::warn;
        writable.summary = fmt::format("read-only: {}: husk cannot create a container's cgroup",
                                       fmt::join(read_only, ", "));
        std::string fix = "husk system bootstrap   # or:";
        for (auto& p : read_only) fix += fmt::format("\nmount -o remount,rw {}", p);
        writable.fix = fix;
    }
    writable.facts["writable"] = read_only.empty() && !view.hierarchies.empty();
    out.push_back(std::move(writable));

    // Which controllers a container's cgroup (a child of ours) can use.
    CheckResult controllers;
    controllers.id = "cgroups.controllers";
    controllers.title = "cgroup controllers";
    std::set<std::string> usable = view.v1;
    usable.insert(view.v2_enabled.begin(), view.v2_enabled.end());
    std::set<std::string> not_enabled;
    for (auto& c : view.v2_available)
        if (!view.v2_enabled.contains(c) && !view.v1.contains(c)) not_enabled.insert(c);
    std::set<std::string> missing;
    for (auto& c : essential)
        if (!usable.contains(c)) missing.insert(c);
    controllers.facts["usable"] = usable;
    controllers.facts["v2_available"] = view.v2_available;
    controllers.facts["v2_enabled"] = view.v2_enabled;
    controllers.facts["v2_not_enabled"] = not_enabled;
    if (!view.v1.empty())
        controllers.evidence.push_back(fmt::format("v1 hierarchies: {}", join(view.v1)));
    if (!view.v2_mount.empty()) {
        controllers.evidence.push_back(
            fmt::format("{}/cgroup.controllers: {}", view.v2_own_dir, join(view.v2_available)));
        controllers.evidence.push_back(
            fmt::format("{}/cgroup.subtree_control: {}", view.v2_own_dir, join(view.v2_enabled)));
    }
    if (view.hierarchies.empty()) {
        controllers.summary = "no cgroup filesystem (see cgroup layout)";
    } else if (!missing.empty()) {
        controllers.level = Level::warn;
        controllers.summary = fmt::format(
            "{} not usable by a container's cgroup: limits on them are refused", join(missing));
        std::set<std::string> enable;
        for (auto& c : missing)
            if (view.v2_available.contains(c)) enable.insert(c);
        if (!enable.empty()) {
            std::string plus;
            for (auto& c : enable) plus += (plus.empty() ? "+" : " +") + c;
            controllers.fix = fmt::format(
                "husk system bootstrap   # or: echo '{}' > {}/"
                "cgroup.subtree_control",
                plus, view.v2_own_dir);
        } else {
            controllers.fix =
                "the kernel offers no such controller here: boot with it "
                "enabled (CONFIG_MEMCG, CONFIG_CGROUP_PIDS, CONFIG_CGROUP_SCHED; "
                "not disabled by cgroup_disable=)";
        }
    } else {
        controllers.summary = fmt::format("usable: {}", join(usable));
        if (!not_enabled.empty())
            controllers.summary +=
                fmt::format(" (v2 offers {} but does not delegate it)", join(not_enabled));
    }
    out.push_back(std::move(controllers));

    CheckResult delegation;
    delegation.id = "cgroups.delegation";
    delegation.title = "cgroup delegation";
    delegation.facts["own_path"] = view.v2_own_path;
    delegation.facts["processes"] = view.v2_own_processes;
    if (view.v2_mount.empty()) {
        delegation.summary = "no cgroup v2 tree: nothing to delegate";
    } else if (view.v2_own_path == "/") {
        delegation.summary =
            "husk runs in the root cgroup, which may enable controllers while "
            "it holds processes";
    } else if (view.v2_own_processes > 0 && !not_enabled.empty()) {
        delegation.level = Level::warn;
        delegation.summary = fmt::format(
            "{} processes in {} keep {} from being enabled for children (cgroup v2 \"no "
            "internal processes\")",
            view.v2_own_processes, view.v2_own_path, join(not_enabled));
        delegation.evidence.push_back(
            fmt::format("{}/cgroup.procs: {} processes", view.v2_own_dir, view.v2_own_processes));
        delegation.fix = fmt::format(
            "husk system bootstrap   # or: mkdir {0}/husk-host && for p in $(cat "
            "{0}/cgroup.procs); do echo $p > {0}/husk-host/cgroup.procs; done",
            view.v2_own_dir);
    } else {
        delegation.summary = fmt::format("nothing in {} blocks delegation", view.v2_own_path);
    }
    out.push_back(std::move(delegation));

    CheckResult systemd;
    systemd.id = "cgroups.systemd";
    systemd.title = "systemd";
    auto comm = read_file(ctx.host.path("/proc/1/comm"));
    std::string pid1 = comm ? comm->substr(0, comm->find('\n')) : "";
    bool running = pid1 == "systemd" || path_exists(ctx.host.path("/run/systemd/system"));
    systemd.facts["running"] = running;
    systemd.facts["pid1"] = pid1;
    systemd.evidence.push_back(fmt::format("/proc/1/comm: {}", comm ? pid1 : comm.error().what()));
    systemd.summary = running ? "running: containers' cgroups are still made by husk directly "
                                "(cgroupfs), under its own cgroup"
                              : fmt::format(
                                    "not running (PID 1 is {}): husk manages cgroups "
                                    "itself (cgroupfs driver)",
                                    pid1.empty() ? "unknown" : pid1);
    out.push_back(std::move(systemd));
}

}  // namespace husk::system
