#include "runtime/lsm.hpp"

#include <algorithm>
#include <sstream>

#include "common/files.hpp"

namespace husk::runtime {
namespace {

bool list_contains(const std::string& csv, const std::string& name) {
    std::stringstream in(csv);
    std::string item;
    while (std::getline(in, item, ','))
        if (item == name) return true;
    return false;
}

std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

}  // namespace

LsmSupport detect_lsms(const std::string& root) {
    LsmSupport out;
    if (auto list = read_file(root + "/sys/kernel/security/lsm")) {
        std::string active = trimmed(*list);
        out.apparmor = list_contains(active, "apparmor");
        out.selinux = list_contains(active, "selinux");
        out.evidence = fmt::format("/sys/kernel/security/lsm lists {:?}", active);
        return out;
    }
    auto enabled = read_file(root + "/sys/module/apparmor/parameters/enabled");
    out.apparmor = enabled && enabled->starts_with("Y");
    out.selinux = path_exists(root + "/sys/fs/selinux/enforce");
    out.evidence =
        "securityfs is not mounted at /sys/kernel/security; "
        "/sys/module/apparmor and /sys/fs/selinux tell";
    return out;
}

Status check_lsm_support(const oci::Spec& spec, const LsmSupport& lsms) {
    if (!spec.process.apparmor_profile.empty() && !lsms.apparmor)
        return fail_invalid(
            "process.apparmorProfile {:?}: AppArmor is not enabled in this "
            "kernel ({})",
            spec.process.apparmor_profile, lsms.evidence);
    if (!spec.process.selinux_label.empty() && !lsms.selinux)
        return fail_invalid(
            "process.selinuxLabel {:?}: SELinux is not enabled in this kernel "
            "({})",
            spec.process.selinux_label, lsms.evidence);
    if (!spec.linux.mount_label.empty() && !lsms.selinux)
        return fail_invalid("linux.mountLabel {:?}: SELinux is not enabled in this kernel ({})",
                            spec.linux.mount_label, lsms.evidence);
    return {};
}

void add_mount_label(std::vector<MountStep>& steps, const std::string& label) {
    if (label.empty()) return;
    for (auto& step : steps) {
        if (step.bind || step.is_cgroup || step.fstype == "proc" || step.fstype == "sysfs")
            continue;
        step.data += fmt::format("{}context=\"{}\"", step.data.empty() ? "" : ",", label);
    }
}

Status apply_exec_labels(const oci::Process& process) {
    if (!process.apparmor_profile.empty()) {
        // The AppArmor-specific attr directory exists where several LSMs are stacked; the
        // shared file is the older interface.
        std::string path = "/proc/thread-self/attr/apparmor/exec";
        if (!path_exists(path)) path = "/proc/thread-self/attr/exec";
        HUSK_TRY_CTX(write_file(path, "exec " + process.apparmor_profile),
                     "process.apparmorProfile {:?} (needs /proc mounted in the container)",
                     process.apparmor_profile);
    }
    if (!process.selinux_label.empty())
        HUSK_TRY_CTX(write_file("/proc/thread-self/attr/exec", process.selinux_label),
                     "process.selinuxLabel {:?} (needs /proc mounted in the container)",
                     process.selinux_label);
    return {};
}

}  // namespace husk::runtime
