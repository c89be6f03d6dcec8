#pragma once
// Linux security modules: process.apparmorProfile, process.selinuxLabel and linux.mountLabel.
// Checked against the kernel's active LSMs before any side effect (a config asking for a
// confinement the kernel cannot give fails, naming the missing module, as runc does), and
// applied by the init just before the process runs.
#include <string>
#include <vector>

#include "common/error.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/mount_plan.hpp"

namespace husk::runtime {

struct LsmSupport {
    bool apparmor = false;
    bool selinux = false;
    std::string evidence;  // what the answer was read from, for messages
};

// Reads <root>/sys/kernel/security/lsm; without securityfs, the modules' own traces
// (/sys/module/apparmor/parameters/enabled, /sys/fs/selinux). `root` is "" on a live host.
LsmSupport detect_lsms(const std::string& root = "");

[[nodiscard]] Status check_lsm_support(const oci::Spec& spec, const LsmSupport& lsms);
// linux.mountLabel as the context= option of the mounts that take one (not binds, proc,
// sysfs or cgroups: they carry their own labels).
void add_mount_label(std::vector<MountStep>& steps, const std::string& label);
// In the init (after the pivot, /proc mounted): the labels the next execve takes on.
[[nodiscard]] Status apply_exec_labels(const oci::Process& process);

}  // namespace husk::runtime
