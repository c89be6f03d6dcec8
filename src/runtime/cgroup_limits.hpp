#pragma once
// linux.resources onto a container's cgroup. Two steps, as the mount plan does it: a pure
// plan (which file of which hierarchy gets which value; every "this host cannot do that"
// found before anything is written) and one place that writes it. The plan picks, per
// controller, the v1 hierarchy when one is mounted and the v2 tree otherwise, so one code
// path serves v1, v2 and hybrid hosts (this machine: v1 controllers, hugetlb only on v2).
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/cgroups.hpp"

namespace husk::runtime {

// What the host offers for limits.
struct CgroupCaps {
    CgroupLayout layout = CgroupLayout::none;
    std::set<std::string> v1;  // controllers with a mounted v1 hierarchy
    std::set<std::string> v2;  // controllers listed in the v2 tree's cgroup.controllers
    std::string v2_mount;      // "" without a v2 tree
};

// From a detected host: reads <v2 mount>/cgroup.controllers.
CgroupCaps cgroup_caps(const CgroupHost& host);
// From a container's recorded directories (update, stats): reads the v2 dir's
// cgroup.controllers.
CgroupCaps cgroup_caps(const std::vector<CgroupDir>& dirs);

// One value for one cgroup file. `alternatives` are tried in order, the first file that
// exists is written (blkio.weight vs blkio.bfq.weight, which depends on the I/O scheduler).
struct CgroupWrite {
    std::string field;       // "linux.resources.memory.limit": for errors
    std::string controller;  // "memory"
    bool v2 = false;         // in the v2 tree rather than a v1 hierarchy
    std::vector<std::pair<std::string, std::string>> alternatives;  // file, value
};

// The writes that implement `resources` on a host with `caps`; fails naming the field and
// what the host lacks ("... the net_cls controller is not mounted ...").
[[nodiscard]] Result<std::vector<CgroupWrite>> plan_resources(
    const CgroupCaps& caps, const oci::Resources& resources,
    const std::string& prefix = "linux.resources");

// Writes the plan into the container's directories. v2 controllers are enabled in
// cgroup.subtree_control of the levels the container created (`created`); levels that existed
// before must already delegate them (husk does not reconfigure cgroups it does not own).
[[nodiscard]] Status apply_cgroup_writes(const std::vector<CgroupDir>& dirs,
                                         const std::vector<std::string>& created,
                                         const std::vector<CgroupWrite>& writes);

// Removes the device rules from `writes` and returns them: they go in after the init made
// the config's device nodes (mknod needs the "m" access a "deny all" takes away), as runc
// orders it; every other limit holds from the start.
std::vector<CgroupWrite> take_device_writes(std::vector<CgroupWrite>& writes);

// The device rules every container gets after its config's (when it has any).
std::vector<oci::DeviceRule> default_device_rules();

// The documented v1 -> v2 conversions (as runc, crun and the kernel's cgroup-v2 docs do).
// cpu.shares [2, 262144] -> cpu.weight [1, 10000]; 0 stays 0 (unset).
uint64_t cpu_shares_to_weight(uint64_t shares);
// blkio.weight [10, 1000] -> io.weight [1, 10000].
uint64_t blkio_weight_to_io_weight(uint64_t weight);
// v1 memory+swap limit -> v2 memory.swap.max (swap alone): "max", or swap - limit.
[[nodiscard]] Result<std::string> v2_swap_max(std::optional<int64_t> limit, int64_t swap);

}  // namespace husk::runtime
