#include "runtime/features.hpp"

#include <linux/seccomp.h>
#include <sys/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/core.h>
#include <seccomp.h>
#include <nlohmann/json.hpp>

#include "oci/runtime_spec.hpp"
#include "oci/seccomp.hpp"
#include "runtime/lsm.hpp"
#include "runtime/mount_plan.hpp"

namespace husk::runtime {
namespace {

// A filter flag the kernel knows makes seccomp(2) fail on the NULL program (EFAULT); an
// unknown one fails on the flag (EINVAL). Nothing is installed either way.
bool kernel_supports_seccomp_flag(const std::string& name) {
    unsigned long flag =
        name == "SECCOMP_FILTER_FLAG_TSYNC"        ? SECCOMP_FILTER_FLAG_TSYNC
        : name == "SECCOMP_FILTER_FLAG_LOG"        ? SECCOMP_FILTER_FLAG_LOG
        : name == "SECCOMP_FILTER_FLAG_SPEC_ALLOW" ? SECCOMP_FILTER_FLAG_SPEC_ALLOW
        // Only valid together with a listener.
        : name == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"
            ? SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV | SECCOMP_FILTER_FLAG_NEW_LISTENER
            : 0;
    if (flag == 0) return false;
    return ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flag, nullptr) < 0 && errno == EFAULT;
}

std::vector<std::string> capability_names() {
    std::vector<std::string> names;
    for (int cap = 0; cap < static_cast<int>(cap_max_bits()); ++cap) {
        char* name = cap_to_name(static_cast<cap_value_t>(cap));
        if (name == nullptr) continue;
        std::string upper = name;
        cap_free(name);
        std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
        if (upper.starts_with("CAP_")) names.push_back(upper);
    }
    return names;
}

}  // namespace

std::string features_json() {
    using nlohmann::json;
    json namespaces = json::array();
    for (auto type :
         {oci::NamespaceType::cgroup, oci::NamespaceType::ipc, oci::NamespaceType::mount,
          oci::NamespaceType::network, oci::NamespaceType::pid, oci::NamespaceType::time,
          oci::NamespaceType::user, oci::NamespaceType::uts})
        namespaces.push_back(oci::namespace_type_name(type));

    auto seccomp = oci::seccomp_known_names();
    json supported_flags = json::array();
    for (const auto& flag : seccomp.flags)
        if (kernel_supports_seccomp_flag(flag)) supported_flags.push_back(flag);
    auto lsms = detect_lsms();

    json doc = {
        {"ociVersionMin", "1.0.0"},
        {"ociVersionMax", "1.2.0"},
        {"hooks",
         {"prestart", "createRuntime", "createContainer", "startContainer", "poststart",
          "poststop"}},
        {"mountOptions", known_mount_options()},
        {"linux",
         {{"namespaces", namespaces},
          {"capabilities", capability_names()},
          {"cgroup",
           {{"v1", true},
            {"v2", true},
            {"systemd", true},  // --systemd-cgroup (cgroups_systemd.hpp)
            {"systemdUser", false},
            {"rdma", false}}},
          {"seccomp",
           {{"enabled", true},
            {"actions", seccomp.actions},
            {"operators", seccomp.operators},
            {"archs", seccomp.architectures},
            {"knownFlags", seccomp.flags},
            {"supportedFlags", supported_flags}}},
          {"apparmor", {{"enabled", lsms.apparmor}}},
          {"selinux", {{"enabled", lsms.selinux}}},
          {"intelRdt", {{"enabled", false}}},
          {"mountExtensions", {{"idmap", {{"enabled", true}}}}}}},
        {"annotations", {{"io.github.husk.runtime.version", HUSK_VERSION}}},
    };
    return doc.dump(4);
}

std::string version_text() {
    const scmp_version* v = seccomp_version();
    return fmt::format("husk-runtime version {}\nspec: 1.2.0\nlibseccomp: {}.{}.{}", HUSK_VERSION,
                       v->major, v->minor, v->micro);
}

}  // namespace husk::runtime
