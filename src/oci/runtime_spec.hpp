#pragma once
// The runtime-spec 1.2 (Linux) configuration as typed structs: what husk-runtime reads from
// a bundle's config.json. Parsing validates everything before any side effect; spec fields
// husk does not implement are rejected by name (parse_config), unknown properties are
// ignored as the spec requires.
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/error.hpp"
#include "oci/hooks.hpp"
#include "oci/seccomp.hpp"

namespace husk::oci {

struct User {
    uid_t uid = 0;
    gid_t gid = 0;
    std::optional<mode_t> umask;
    std::vector<gid_t> additional_gids;
};

struct Rlimit {
    int resource = 0;  // RLIMIT_* value, mapped from "RLIMIT_NOFILE" etc.
    std::string type;  // as written, for messages
    uint64_t soft = 0;
    uint64_t hard = 0;
};

// Capability sets as numbers (CAP_* values); names were checked at parse time.
struct Capabilities {
    std::vector<int> bounding, effective, inheritable, permitted, ambient;
};

struct ConsoleSize {
    unsigned height = 0, width = 0;
};

struct Process {
    bool terminal = false;
    std::optional<ConsoleSize> console_size;
    User user;
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string cwd = "/";
    std::optional<Capabilities> capabilities;
    std::vector<Rlimit> rlimits;
    bool no_new_privileges = false;
    std::optional<int> oom_score_adj;
    std::string apparmor_profile;
    std::string selinux_label;
};

struct Root {
    std::string path;  // as written in config.json
    bool readonly = false;
};

struct IdMapping {
    uint32_t container_id = 0, host_id = 0, size = 0;
};

struct Mount {
    std::string destination;
    std::string type;  // "" means bind when options say bind/rbind
    std::string source;
    std::vector<std::string> options;  // as written; decoded by the runtime's mount plan
    // An idmapped bind: ids on the source as the container sees them ("idmap"/"ridmap").
    std::vector<IdMapping> uid_mappings, gid_mappings;
};

enum class NamespaceType { pid, network, mount, ipc, uts, user, cgroup, time };

struct Namespace {
    NamespaceType type;
    std::string path;  // empty: create a new one
};

struct Device {
    std::string path;
    char type = 'c';  // 'c', 'b', 'u' or 'p'
    int64_t major = 0, minor = 0;
    std::optional<mode_t> file_mode;
    std::optional<uid_t> uid;
    std::optional<gid_t> gid;
};

struct TimeOffset {
    int64_t secs = 0;
    uint32_t nanosecs = 0;
};

struct Personality {
    std::string domain;  // "LINUX" or "LINUX32"
    std::vector<std::string> flags;
};

// linux.resources, validated (see resources.cpp). Optional fields are "leave as is"; the
// runtime maps each to the files of the host's cgroup layout.
struct DeviceRule {
    bool allow = false;
    char type = 'a';                 // 'a', 'c' or 'b'
    int64_t major = -1, minor = -1;  // -1: any
    std::string access = "rwm";
};

struct MemoryResources {
    std::optional<int64_t> limit;        // bytes, -1 unlimited
    std::optional<int64_t> reservation;  // bytes, -1 unlimited
    std::optional<int64_t> swap;         // memory + swap (v1 semantics), -1 unlimited
    std::optional<uint64_t> swappiness;  // 0..100
    std::optional<bool> disable_oom_killer;
};

struct CpuResources {
    std::optional<uint64_t> shares;  // v1 shares, 2..262144
    std::optional<int64_t> quota;    // us per period, -1 unlimited
    std::optional<uint64_t> period;  // us
    std::optional<uint64_t> burst;   // us
    std::string cpus;                // cpuset list, "" leaves it
    std::string mems;
    std::optional<int64_t> idle;  // 0 or 1
};

struct WeightDevice {
    int64_t major = 0, minor = 0;
    uint16_t weight = 0;
};

struct ThrottleDevice {
    int64_t major = 0, minor = 0;
    uint64_t rate = 0;
};

struct BlockIoResources {
    std::optional<uint16_t> weight;  // 10..1000
    std::vector<WeightDevice> weight_devices;
    std::vector<ThrottleDevice> read_bps, write_bps, read_iops, write_iops;
};

struct HugepageLimit {
    std::string page_size;  // "2MB", "1GB"
    uint64_t limit = 0;
};

struct NetworkResources {
    std::optional<uint32_t> class_id;
    std::vector<std::pair<std::string, uint32_t>> priorities;  // interface, priority
};

struct Resources {
    std::vector<DeviceRule> devices;
    std::optional<MemoryResources> memory;
    std::optional<CpuResources> cpu;
    std::optional<int64_t> pids_limit;  // -1 unlimited
    std::optional<BlockIoResources> block_io;
    std::vector<HugepageLimit> hugepage_limits;
    std::optional<NetworkResources> network;
    std::map<std::string, std::string> unified;  // v2 file -> value

    // True when nothing is asked for: no cgroup file would be written.
    bool empty() const;
};

struct Linux {
    std::vector<Namespace> namespaces;
    std::vector<IdMapping> uid_mappings, gid_mappings;
    std::map<std::string, TimeOffset> time_offsets;  // "monotonic", "boottime"
    std::vector<Device> devices;
    std::string cgroups_path;
    Resources resources;
    std::map<std::string, std::string> sysctl;
    std::string rootfs_propagation;  // "", "private", "rprivate", "slave", ...
    std::vector<std::string> masked_paths;
    std::vector<std::string> readonly_paths;
    std::string mount_label;
    std::optional<Personality> personality;
    std::optional<Seccomp> seccomp;  // absent or {}: no filter
};

struct Spec {
    std::string oci_version;
    Root root;
    Process process;
    std::string hostname;
    std::string domainname;
    std::vector<Mount> mounts;
    Linux linux;
    Hooks hooks;
    std::map<std::string, std::string> annotations;

    bool has_namespace(NamespaceType type) const;
    const Namespace* find_namespace(NamespaceType type) const;
};

// Parses and validates a config.json document. Errors name the field: "process.args: must
// not be empty", "linux.namespaces[2].type: unknown namespace type \"foo\"",
// "linux.seccomp: not supported by husk-runtime yet".
[[nodiscard]] Result<Spec> parse_config(const std::string& json_text);
// Parses a linux.resources object on its own, as `update --resources` reads it; errors are
// prefixed with `source`.
[[nodiscard]] Result<Resources> parse_resources(const std::string& json_text,
                                                const std::string& source);
// Reads <bundle>/config.json and parses it.
[[nodiscard]] Result<Spec> load_config(const std::string& bundle_dir);
// The default config.json that `husk-runtime spec` writes (as runc spec: sh in a busybox-
// style rootfs, the usual namespaces, mounts, masked and readonly paths).
std::string default_config_json(bool rootless);
// The same as a JSON document, for the engine and the builder to edit (no text round trip
// of the seccomp profile on every create).
nlohmann::ordered_json default_config(bool rootless);

const char* namespace_type_name(NamespaceType type);
int namespace_clone_flag(NamespaceType type);

}  // namespace husk::oci
