#pragma once
// Device rules on cgroup v2: there is no devices.allow file, the kernel asks an eBPF program
// of type BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup. The rules are compiled here
// with v1's semantics (the last matching rule decides; no match: allowed, as under a parent
// that allows everything), so a config means the same on both versions.
#include <linux/bpf.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace husk::runtime {

struct DeviceAccessRule {
    bool allow = false;
    char type = 'a';  // 'a', 'c', 'b'
    int64_t major = -1, minor = -1;
    std::string access = "rwm";
};

// "c 1:3 rwm" / "a *:* rwm" (the v1 file syntax) back into a rule.
[[nodiscard]] Result<DeviceAccessRule> parse_device_rule_text(bool allow, const std::string& text);

// The program for `rules`, in order.
std::vector<bpf_insn> device_program(const std::vector<DeviceAccessRule>& rules);

// Loads the program and attaches it to the v2 cgroup directory `dir` (BPF_F_ALLOW_MULTI, so
// programs of the cgroups above still apply), replacing the programs attached to `dir`
// before (update). The kernel keeps it while the cgroup exists.
[[nodiscard]] Status attach_device_program(const std::string& dir,
                                           const std::vector<DeviceAccessRule>& rules);

}  // namespace husk::runtime
