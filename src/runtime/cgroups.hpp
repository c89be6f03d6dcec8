#pragma once
// Where a container's processes are accounted: the host's cgroup layout, detected once, and
// the container's cgroup in it. This is the seam the resource-limits work builds on; today
// it creates, joins and removes the cgroup on every layout (v1, hybrid, v2, none).
#include <sys/types.h>

#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace husk::runtime {

enum class CgroupLayout { none, legacy, hybrid, unified };
const char* cgroup_layout_name(CgroupLayout layout);

// One mounted hierarchy: v1 (one or more controllers, or a named one) or the v2 tree.
struct CgroupHierarchy {
    std::string mount_point;  // /sys/fs/cgroup/memory
    std::string controllers;  // "memory", "cpu,cpuacct", "name=systemd", "" for v2
    bool unified = false;     // cgroup2
    std::string own_path;     // the caller's cgroup in it, from /proc/self/cgroup
};

struct CgroupHost {
    CgroupLayout layout = CgroupLayout::none;
    std::vector<CgroupHierarchy> hierarchies;
};

// Reads the layout from `proc_root`/self/mountinfo and /self/cgroup (a fixture tree in tests,
// "/proc" in production).
[[nodiscard]] Result<CgroupHost> detect_cgroups(const std::string& proc_root = "/proc");
// On a host with cgroup v1 hierarchies, the first write to any cgroup.procs after a quiet
// spell waits out an RCU grace period (the kernel's global cgroup_threadgroup_rwsem leaves its
// fast mode): ~10 ms here, on the path of every container start. This starts that wait now,
// from a short-lived process that moves itself into the cgroup it is already in (a no-op
// migration), so the container's own join, a few ms later, shares the grace period already
// under way instead of waiting a whole one. Once per process; does nothing on pure v2
// (CLONE_INTO_CGROUP takes no write lock) or when the write is not allowed.
void warm_up_cgroup_migration();
// Decides the cgroup path from linux.cgroupsPath as runc does: absolute paths are taken from
// each hierarchy's root, relative ones (and the default, "<id>") from the caller's cgroup.
std::string resolve_cgroup_path(const std::string& cgroups_path, const std::string& own_path,
                                const std::string& container_id);

// The container's directory in one hierarchy.
struct CgroupDir {
    std::string mount_point;  // /sys/fs/cgroup/memory
    std::string controllers;  // as in CgroupHierarchy
    std::string path;         // /sys/fs/cgroup/memory/husk/ctr
    std::string relative() const { return path.substr(mount_point.size()); }
};

// A container's cgroup: one directory per hierarchy.
class Cgroup {
public:
    // Creates the directories (parents too); `created` lists what did not exist before, so
    // that destroy removes only what this container made.
    [[nodiscard]] static Result<Cgroup> create(const CgroupHost& host,
                                               const std::string& cgroups_path,
                                               const std::string& container_id);
    // Rebuilds the handle from the paths recorded in the state file.
    static Cgroup from_dirs(std::vector<CgroupDir> dirs, std::vector<std::string> created);

    // Moves `pid` into every hierarchy; `skip_unified` when it was born there
    // (clone3 CLONE_INTO_CGROUP).
    [[nodiscard]] Status add_process(pid_t pid, bool skip_unified = false) const;
    // The container's v2 directory, for CLONE_INTO_CGROUP (invalid when there is none).
    UniqueFd open_unified() const;
    // Removes the directories this container created, deepest first.
    [[nodiscard]] Status destroy() const;

    const std::vector<CgroupDir>& dirs() const { return dirs_; }
    const std::vector<std::string>& created() const { return created_; }

private:
    std::vector<CgroupDir> dirs_;       // the container's directory in every hierarchy
    std::vector<std::string> created_;  // the directories create() made, parents first
};

}  // namespace husk::runtime
