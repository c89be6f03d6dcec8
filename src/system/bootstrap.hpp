#pragma once
// `husk system bootstrap`: what a distribution's init would have done, for a guest that has
// nothing (a microVM booted straight into husk). Each step looks first and acts only when
// the host is not already right, so it is idempotent and a no-op on a normal host.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "system/host.hpp"
#include "system/mountinfo.hpp"

namespace husk::system {

enum class StepState { done, already_ok, cannot };
const char* step_state_name(StepState state);

struct StepReport {
    std::string step;  // "mount proc on /proc"
    StepState state = StepState::already_ok;
    std::string detail;  // what was seen, or why it cannot be done
};

struct BootstrapOptions {
    bool network = false;  // also turn on ip_forward
};

// One pseudo-filesystem and where it belongs.
struct MountSpec {
    std::string target;
    std::string fs_type;
    std::vector<std::string> accepted;  // types that already count as right
    std::string source;
    unsigned long flags = 0;
    std::string data;
};
const std::vector<MountSpec>& base_mounts();

// What a mount step has to do, decided from the mount table alone (unit-tested on fixtures).
enum class MountAction { none, mount, remount_rw, blocked };
struct MountDecision {
    MountAction action = MountAction::none;
    std::string detail;
};
MountDecision decide_mount(const std::vector<MountEntry>& mounts, const MountSpec& spec,
                           bool want_rw = false);

// v1 hierarchies the kernel already has (from /proc/cgroups: hierarchy id -> controllers).
// A controller bound to a v1 hierarchy is unusable from cgroup2, so when such hierarchies
// exist but are not mounted here, they are what gets mounted (hybrid), not a bare cgroup2.
std::map<int, std::set<std::string>> kernel_v1_hierarchies(const std::string& proc_cgroups_text);

// The cgroup steps, decided from the view of the host: what to mount on /sys/fs/cgroup.
struct CgroupPlan {
    enum class Kind { none, mount_v2, mount_v1_hybrid, remount_rw } kind = Kind::none;
    std::vector<std::string> v1_groups;  // "cpu", "cpu,cpuacct": one per v1 mount
    std::string detail;
};
CgroupPlan plan_cgroup_mounts(const HostView& host, const std::vector<MountEntry>& mounts);

// Runs every step on the live host, in order, and reports each.
std::vector<StepReport> bootstrap(const BootstrapOptions& options);

}  // namespace husk::system
