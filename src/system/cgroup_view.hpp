#pragma once
// The host's cgroups as the doctor and the bootstrap need them: the runtime's layout
// detection, restricted to what is visible now, plus the v2 tree's delegation state at the
// caller's own cgroup.
#include <set>
#include <string>
#include <vector>

#include "system/host.hpp"
#include "system/mountinfo.hpp"

namespace husk::system {

struct CgroupViewHierarchy {
    std::string mount_point;  // "/sys/fs/cgroup/memory"
    std::string controllers;  // "memory", "" for v2
    bool unified = false;
    std::string own_path;    // this process's cgroup in it ("/")
    std::string own_dir;     // mount_point + own_path, as a path on the host
    bool read_only = false;  // the mount is read-only
    bool writable = true;    // own_dir accepts writes (access W_OK on the live host)
};

struct CgroupView {
    std::string layout = "none";  // none, v1, hybrid, v2
    std::string error;            // detection failed (no /proc)
    std::vector<CgroupViewHierarchy> hierarchies;
    std::vector<std::string> notes;  // hierarchies listed but hidden, and similar
    std::set<std::string> v1;        // controllers with a visible v1 hierarchy
    std::string v2_mount;
    std::string v2_own_path;
    std::string v2_own_dir;
    bool v2_read_only = false;
    std::set<std::string> v2_available;  // <own>/cgroup.controllers
    std::set<std::string> v2_enabled;    // <own>/cgroup.subtree_control
    int v2_own_processes = 0;            // lines in <own>/cgroup.procs
};

CgroupView read_cgroup_view(const HostView& host, const std::vector<MountEntry>& mounts);

// "cpu memory\n" -> {"cpu", "memory"}.
std::set<std::string> split_controllers(const std::string& text);

}  // namespace husk::system
