// The config.json `husk-runtime spec` writes: runc's example spec, adjusted to what husk
// runs today (no terminal, no cgroup limits) and to a read-only busybox rootfs, confined by
// husk's default seccomp profile (profiles/seccomp-default.json).
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "oci/runtime_spec.hpp"

namespace husk::oci {
namespace {

using OrderedJson = nlohmann::ordered_json;

OrderedJson mount(const char* destination, const char* type, const char* source,
                  std::vector<std::string> options) {
    OrderedJson m = {{"destination", destination}, {"type", type}, {"source", source}};
    if (!options.empty()) m["options"] = std::move(options);
    return m;
}

OrderedJson default_mounts(bool rootless) {
    OrderedJson mounts = OrderedJson::array();
    mounts.push_back(mount("/proc", "proc", "proc", {}));
    mounts.push_back(
        mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
    // gid=5 is the tty group of the host; a rootless container has no mapping for it.
    std::vector<std::string> devpts = {"nosuid", "noexec", "newinstance", "ptmxmode=0666",
                                       "mode=0620"};
    if (!rootless) devpts.push_back("gid=5");
    mounts.push_back(mount("/dev/pts", "devpts", "devpts", devpts));
    mounts.push_back(mount("/dev/shm", "tmpfs", "shm",
                           {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
    mounts.push_back(mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
    // A user namespace without its own network namespace may not mount a fresh sysfs.
    if (rootless)
        mounts.push_back(
            mount("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"}));
    else
        mounts.push_back(mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
    mounts.push_back(mount("/sys/fs/cgroup", "cgroup", "cgroup",
                           {"nosuid", "noexec", "nodev", "relatime", "ro"}));
    return mounts;
}

OrderedJson default_linux(bool rootless) {
    OrderedJson linux_config = OrderedJson::object();
    if (rootless) {
        // Map the invoking user to root inside, as `runc spec --rootless` does.
        linux_config["uidMappings"] = {
            {{"containerID", 0}, {"hostID", static_cast<uint32_t>(geteuid())}, {"size", 1}}};
        linux_config["gidMappings"] = {
            {{"containerID", 0}, {"hostID", static_cast<uint32_t>(getegid())}, {"size", 1}}};
    }
    OrderedJson namespaces = OrderedJson::array();
    for (const char* type : {"pid", "network", "ipc", "uts", "mount", "cgroup"}) {
        if (rootless && std::string_view(type) == "network") continue;
        namespaces.push_back({{"type", type}});
    }
    if (rootless) namespaces.push_back({{"type", "user"}});
    linux_config["namespaces"] = std::move(namespaces);
    linux_config["maskedPaths"] = {"/proc/acpi",
                                   "/proc/asound",
                                   "/proc/kcore",
                                   "/proc/keys",
                                   "/proc/latency_stats",
                                   "/proc/timer_list",
                                   "/proc/timer_stats",
                                   "/proc/sched_debug",
                                   "/sys/firmware",
                                   "/proc/scsi",
                                   "/sys/devices/virtual/powercap",
                                   "/sys/devices/virtual/tpm"};
    linux_config["readonlyPaths"] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                     "/proc/sysrq-trigger"};
    // Embedded at build time; it was parsed by the unit tests, so a broken one never ships.
    linux_config["seccomp"] = OrderedJson::parse(default_seccomp_profile_json());
    return linux_config;
}

}  // namespace

OrderedJson default_config(bool rootless) {
    const std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
    OrderedJson config = {
        {"ociVersion", "1.2.0"},
        {"process",
         {
             {"terminal", false},
             {"user", {{"uid", 0}, {"gid", 0}}},
             {"args", {"sh"}},
             {"env",
              {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
             {"cwd", "/"},
             {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
             {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}},
             {"noNewPrivileges", true},
         }},
        {"root", {{"path", "rootfs"}, {"readonly", true}}},
        {"hostname", "husk"},
        {"mounts", default_mounts(rootless)},
        {"linux", default_linux(rootless)},
    };
    return config;
}

std::string default_config_json(bool rootless) {
    return default_config(rootless).dump(4) + "\n";
}

}  // namespace husk::oci
