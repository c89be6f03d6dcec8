#pragma once
// The systemd cgroup driver's pure half: what a `slice:prefix:name` cgroupsPath names (the
// scope unit, its slice, the cgroup systemd will make for it) and linux.resources as unit
// properties. The D-Bus half (systemd_bus.hpp) sends them; the cgroup files the properties do
// not cover are written as on cgroupfs (cgroup_limits.hpp), into the scope's directories.
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/error.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/cgroups.hpp"

namespace husk::runtime {

// linux.cgroupsPath for the systemd driver, "slice:prefix:name" (runc's form).
struct SystemdCgroupPath {
    std::string slice;   // "system.slice"
    std::string prefix;  // "husk"
    std::string name;    // "<id>"

    // The transient scope: "<prefix>-<name>.scope" ("<name>.scope" without a prefix).
    std::string unit() const;
};

// Parses the path; empty means "system.slice:husk:<id>", an empty slice "system.slice", an
// empty name the container id. Fails naming the path for anything else than three fields or
// a bad slice or unit name, before anything is created.
[[nodiscard]] Result<SystemdCgroupPath> parse_systemd_cgroups_path(const std::string& path,
                                                                   const std::string& id);

// The cgroup of a slice, as systemd nests them: "a-b-c.slice" -> "/a.slice/a-b.slice/
// a-b-c.slice", "-.slice" (the root slice) -> "". Fails for a name systemd would refuse.
[[nodiscard]] Result<std::string> expand_slice(const std::string& slice);

// The cgroup systemd makes for the scope, relative to a hierarchy's root:
// "/system.slice/husk-ctr.scope".
[[nodiscard]] Result<std::string> systemd_scope_cgroup(const SystemdCgroupPath& path);

// One unit property for StartTransientUnit / SetUnitProperties: its D-Bus type follows from
// the value (t, s, b, au, ay, a(ss)).
using PropertyValue =
    std::variant<uint64_t, std::string, bool, std::vector<uint32_t>, std::vector<uint8_t>,
                 std::vector<std::pair<std::string, std::string>>>;
struct UnitProperty {
    std::string name;
    PropertyValue value;
};
// The D-Bus signature of a property's value ("t", "a(ss)").
const char* property_signature(const PropertyValue& value);
// "MemoryMax=33554432", for logs and tests.
std::string property_text(const UnitProperty& property);

inline constexpr uint64_t kSystemdInfinity = UINT64_MAX;

// The scope's own properties: description, slice, the init's pid, Delegate=yes (the
// runtime writes the files below the scope), accounting on, no default dependencies.
std::vector<UnitProperty> scope_properties(const SystemdCgroupPath& path, pid_t pid, bool v2);

// linux.resources as the unit properties systemd has for them (v2: MemoryMax, MemoryLow,
// MemorySwapMax, CPUWeight, CPUQuotaPerSecUSec, CPUQuotaPeriodUSec, AllowedCPUs,
// AllowedMemoryNodes, TasksMax, IOWeight, DevicePolicy/DeviceAllow; v1: MemoryLimit,
// CPUShares, BlockIOWeight and the cpu quota, tasks and device ones). What has no property
// (swappiness, burst, throttles, hugetlb, net_cls, most unified keys) is left to the files;
// the files are written for everything anyway, so a property only keeps systemd from
// resetting a value on its next reload. `proc_devices` is /proc/devices (device classes for
// wildcard rules).
[[nodiscard]] Result<std::vector<UnitProperty>> resource_properties(
    const oci::Resources& resources, bool v2, const std::string& proc_devices = "/proc/devices");

// The device rules (the config's, then the defaults every container gets) as DevicePolicy
// and DeviceAllow. Only an allow-list after "deny all" maps; anything else (allow all, a
// deny after an allow) leaves DevicePolicy=auto, and the runtime's own rules decide alone.
std::vector<UnitProperty> device_properties(const std::vector<oci::DeviceRule>& rules,
                                            const std::string& proc_devices_text);

// Removes DevicePolicy and DeviceAllow from `props` and returns them: like the device files,
// they go in after the init made the config's device nodes (a strict policy from the scope's
// start would refuse its mknod), through SetUnitProperties.
std::vector<UnitProperty> take_device_properties(std::vector<UnitProperty>& props);

// A cpuset list ("0-2,5") as systemd's AllowedCPUs byte mask (bit n of byte n/8).
[[nodiscard]] Result<std::vector<uint8_t>> cpuset_mask(const std::string& list);

// Whether systemd is PID 1 (sd_booted(3): /run/systemd/system exists), and the error for
// --systemd-cgroup when it is not.
bool systemd_booted(const std::string& run_dir = "/run/systemd/system");
Error systemd_not_booted_error();

}  // namespace husk::runtime
