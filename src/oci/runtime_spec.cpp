#include "oci/runtime_spec.hpp"

#include <sched.h>
#include <sys/capability.h>
#include <sys/resource.h>

#include <algorithm>
#include <set>
#include <string_view>

#include "common/files.hpp"
#include "common/safe_path.hpp"
#include "oci/hooks_parse.hpp"
#include "oci/json_reader.hpp"
#include "oci/process_parse.hpp"
#include "oci/resources_parse.hpp"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace husk::oci {
namespace {

using detail::decode;
using detail::fail_at;
using detail::index_path;
using detail::Json;
using detail::member_path;
using detail::Node;
using detail::quote;
using detail::read_field;
using detail::read_required;

struct NamespaceInfo {
    NamespaceType type;
    const char* name;
    int clone_flag;
};

constexpr NamespaceInfo kNamespaces[] = {
    {NamespaceType::pid, "pid", CLONE_NEWPID},
    {NamespaceType::network, "network", CLONE_NEWNET},
    {NamespaceType::mount, "mount", CLONE_NEWNS},
    {NamespaceType::ipc, "ipc", CLONE_NEWIPC},
    {NamespaceType::uts, "uts", CLONE_NEWUTS},
    {NamespaceType::user, "user", CLONE_NEWUSER},
    {NamespaceType::cgroup, "cgroup", CLONE_NEWCGROUP},
    {NamespaceType::time, "time", CLONE_NEWTIME},
};

struct RlimitInfo {
    const char* name;
    int resource;
};

constexpr RlimitInfo kRlimits[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

// The kernel's limit on lines in uid_map/gid_map (UID_GID_MAP_MAX_EXTENTS).
constexpr size_t kMaxIdMappings = 340;

bool is_absolute(const std::string& path) {
    return !path.empty() && path[0] == '/';
}

Status require_absolute(const Node& node, const std::string& path) {
    if (!is_absolute(path)) return node.fail("must be an absolute path, got {}", quote(path));
    return {};
}

// Spec sections husk-runtime does not implement: refused by name rather than ignored, so a
// config never runs with less confinement than it asked for.
Status reject_unsupported(const Node& parent, std::string_view key) {
    auto child = parent.get(key);
    if (!child || detail::is_empty_value(child->value())) return {};
    return child->fail("not supported by husk-runtime yet");
}

// ---- process -------------------------------------------------------------------------

Status parse_user(const Node& node, User& user) {
    HUSK_TRY(node.expect_object());
    HUSK_TRY(read_required(node, "uid", user.uid));
    HUSK_TRY(read_required(node, "gid", user.gid));
    HUSK_TRY(read_field(node, "umask", user.umask));
    if (user.umask && *user.umask > 0777)
        return fail_at(member_path(node.path(), "umask"), "{:#o} is not a umask (maximum 0777)",
                       *user.umask);
    HUSK_TRY(read_field(node, "additionalGids", user.additional_gids));
    return {};
}

Status parse_capability_set(const Node& parent, std::string_view key, std::vector<int>& out) {
    auto set = parent.get(key);
    if (!set) return {};
    auto elements = set->elements();
    if (!elements) return fail(elements.error());
    for (const Node& element : *elements) {
        std::string name;
        HUSK_TRY(decode(element, name));
        // cap_from_name is case-insensitive, takes numbers and stops at the first character
        // that is not a letter or '_' ("CAP_CHOWN,x" is CAP_CHOWN): check the spelling here.
        bool spelled_ok = name.size() > 4 && name.starts_with("CAP_") &&
                          std::all_of(name.begin(), name.end(),
                                      [](char c) { return (c >= 'A' && c <= 'Z') || c == '_'; });
        cap_value_t value = 0;
        if (!spelled_ok || cap_from_name(name.c_str(), &value) != 0)
            return element.fail("unknown capability {}", quote(name));
        out.push_back(static_cast<int>(value));
    }
    return {};
}

Status parse_capabilities(const Node& node, Capabilities& caps) {
    HUSK_TRY(node.expect_object());
    HUSK_TRY(parse_capability_set(node, "bounding", caps.bounding));
    HUSK_TRY(parse_capability_set(node, "effective", caps.effective));
    HUSK_TRY(parse_capability_set(node, "inheritable", caps.inheritable));
    HUSK_TRY(parse_capability_set(node, "permitted", caps.permitted));
    HUSK_TRY(parse_capability_set(node, "ambient", caps.ambient));
    return {};
}

Status parse_rlimits(const Node& node, std::vector<Rlimit>& out) {
    auto elements = node.elements();
    if (!elements) return fail(elements.error());
    std::set<int> seen;
    for (const Node& element : *elements) {
        HUSK_TRY(element.expect_object());
        Rlimit limit;
        HUSK_TRY(read_required(element, "type", limit.type));
        auto known = std::find_if(std::begin(kRlimits), std::end(kRlimits),
                                  [&](const RlimitInfo& r) { return limit.type == r.name; });
        std::string type_path = member_path(element.path(), "type");
        if (known == std::end(kRlimits))
            return fail_at(type_path, "unknown rlimit type {}", quote(limit.type));
        limit.resource = known->resource;
        if (!seen.insert(limit.resource).second)
            return fail_at(type_path, "duplicate rlimit type {}", quote(limit.type));
        HUSK_TRY(read_required(element, "soft", limit.soft));
        HUSK_TRY(read_required(element, "hard", limit.hard));
        if (limit.soft > limit.hard)
            return element.fail("soft limit {} is greater than hard limit {}", limit.soft,
                                limit.hard);
        out.push_back(std::move(limit));
    }
    return {};
}

Status parse_env(const Node& node, std::vector<std::string>& out) {
    HUSK_TRY(decode(node, out));
    for (size_t i = 0; i < out.size(); ++i) {
        size_t eq = out[i].find('=');
        if (eq == std::string::npos || eq == 0)
            return fail_at(index_path(node.path(), i), "expected KEY=VALUE, got {}", quote(out[i]));
    }
    return {};
}

Status parse_process(const Node& root, Process& process) {
    auto node = root.require("process");
    if (!node) return fail(node.error());
    HUSK_TRY(node->expect_object());

    HUSK_TRY(read_field(*node, "terminal", process.terminal));
    if (auto size = node->get("consoleSize")) {
        HUSK_TRY(size->expect_object());
        ConsoleSize console;
        HUSK_TRY(read_required(*size, "height", console.height));
        HUSK_TRY(read_required(*size, "width", console.width));
        process.console_size = console;
    }

    auto user = node->require("user");
    if (!user) return fail(user.error());
    HUSK_TRY(parse_user(*user, process.user));

    auto args = node->require("args");
    if (!args) return fail(args.error());
    HUSK_TRY(decode(*args, process.args));
    if (process.args.empty()) return args->fail("must not be empty");
    if (process.args[0].empty()) return fail_at(index_path(args->path(), 0), "must not be empty");

    if (auto env = node->get("env")) HUSK_TRY(parse_env(*env, process.env));

    auto cwd = node->require("cwd");
    if (!cwd) return fail(cwd.error());
    HUSK_TRY(decode(*cwd, process.cwd));
    HUSK_TRY(require_absolute(*cwd, process.cwd));

    if (auto caps = node->get("capabilities")) {
        process.capabilities.emplace();
        HUSK_TRY(parse_capabilities(*caps, *process.capabilities));
    }
    if (auto rlimits = node->get("rlimits")) HUSK_TRY(parse_rlimits(*rlimits, process.rlimits));
    HUSK_TRY(read_field(*node, "noNewPrivileges", process.no_new_privileges));
    HUSK_TRY(read_field(*node, "oomScoreAdj", process.oom_score_adj));
    if (process.oom_score_adj && (*process.oom_score_adj < -1000 || *process.oom_score_adj > 1000))
        return fail_at("process.oomScoreAdj", "{} is out of range [-1000, 1000]",
                       *process.oom_score_adj);

    // Whether the kernel has the LSM is the runtime's check (runtime/lsm.cpp), not the parser's.
    HUSK_TRY(read_field(*node, "apparmorProfile", process.apparmor_profile));
    HUSK_TRY(read_field(*node, "selinuxLabel", process.selinux_label));
    HUSK_TRY(reject_unsupported(*node, "ioPriority"));
    HUSK_TRY(reject_unsupported(*node, "scheduler"));
    HUSK_TRY(reject_unsupported(*node, "execCPUAffinity"));
    return {};
}

// ---- root, mounts ----------------------------------------------------------------------

Status parse_root(const Node& document, Root& root) {
    auto node = document.require("root");
    if (!node) return fail(node.error());
    HUSK_TRY(node->expect_object());
    HUSK_TRY(read_required(*node, "path", root.path));
    if (root.path.empty()) return fail_at("root.path", "must not be empty");
    HUSK_TRY(read_field(*node, "readonly", root.readonly));
    return {};
}

Status parse_id_mappings(const Node& node, std::vector<IdMapping>& out);

Status parse_mounts(const Node& node, std::vector<Mount>& out) {
    auto elements = node.elements();
    if (!elements) return fail(elements.error());
    for (const Node& element : *elements) {
        HUSK_TRY(element.expect_object());
        Mount mount;
        auto destination = element.require("destination");
        if (!destination) return fail(destination.error());
        HUSK_TRY(decode(*destination, mount.destination));
        HUSK_TRY(require_absolute(*destination, mount.destination));
        if (clean_path(mount.destination) == "/")
            return destination->fail("cannot mount over the container's root \"/\"");
        HUSK_TRY(read_field(element, "type", mount.type));
        HUSK_TRY(read_field(element, "source", mount.source));
        HUSK_TRY(read_field(element, "options", mount.options));
        if (auto uids = element.get("uidMappings"))
            HUSK_TRY(parse_id_mappings(*uids, mount.uid_mappings));
        if (auto gids = element.get("gidMappings"))
            HUSK_TRY(parse_id_mappings(*gids, mount.gid_mappings));
        // One user namespace carries both maps: half of one cannot be built.
        if (mount.uid_mappings.empty() != mount.gid_mappings.empty())
            return element.fail("uidMappings and gidMappings must be set together");
        out.push_back(std::move(mount));
    }
    return {};
}

// ---- linux -----------------------------------------------------------------------------

Status parse_namespaces(const Node& node, std::vector<Namespace>& out) {
    auto elements = node.elements();
    if (!elements) return fail(elements.error());
    for (const Node& element : *elements) {
        HUSK_TRY(element.expect_object());
        std::string type;
        HUSK_TRY(read_required(element, "type", type));
        std::string type_path = member_path(element.path(), "type");
        auto known = std::find_if(std::begin(kNamespaces), std::end(kNamespaces),
                                  [&](const NamespaceInfo& ns) { return type == ns.name; });
        if (known == std::end(kNamespaces))
            return fail_at(type_path, "unknown namespace type {}", quote(type));
        for (const Namespace& previous : out)
            if (previous.type == known->type)
                return fail_at(type_path, "duplicate namespace type {}", quote(type));
        Namespace ns{known->type, {}};
        if (auto path = element.get("path")) {
            HUSK_TRY(decode(*path, ns.path));
            HUSK_TRY(require_absolute(*path, ns.path));
        }
        out.push_back(std::move(ns));
    }
    return {};
}

bool ranges_overlap(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size) {
    return a < b + b_size && b < a + a_size;
}

Status parse_id_mappings(const Node& node, std::vector<IdMapping>& out) {
    auto elements = node.elements();
    if (!elements) return fail(elements.error());
    if (elements->size() > kMaxIdMappings)
        return node.fail("{} mappings, the kernel takes at most {}", elements->size(),
                         kMaxIdMappings);
    constexpr uint64_t kIdSpace = uint64_t{1} << 32;
    for (const Node& element : *elements) {
        HUSK_TRY(element.expect_object());
        IdMapping mapping;
        HUSK_TRY(read_required(element, "containerID", mapping.container_id));
        HUSK_TRY(read_required(element, "hostID", mapping.host_id));
        HUSK_TRY(read_required(element, "size", mapping.size));
        if (mapping.size == 0) return fail_at(member_path(element.path(), "size"), "must not be 0");
        if (mapping.container_id + uint64_t{mapping.size} > kIdSpace ||
            mapping.host_id + uint64_t{mapping.size} > kIdSpace)
            return element.fail("range goes past id 4294967295");
        for (size_t i = 0; i < out.size(); ++i) {
            const IdMapping& other = out[i];
            if (ranges_overlap(mapping.container_id, mapping.size, other.container_id, other.size))
                return element.fail("containerID range overlaps {}", index_path(node.path(), i));
            if (ranges_overlap(mapping.host_id, mapping.size, other.host_id, other.size))
                return element.fail("hostID range overlaps {}", index_path(node.path(), i));
        }
        out.push_back(mapping);
    }
    return {};
}

Status parse_time_offsets(const Node& node, std::map<std::string, TimeOffset>& out) {
    auto members = node.members();
    if (!members) return fail(members.error());
    for (const auto& [clock, value] : *members) {
        if (clock != "monotonic" && clock != "boottime")
            return value.fail("unknown clock {} (expected \"monotonic\" or \"boottime\")",
                              quote(clock));
        HUSK_TRY(value.expect_object());
        TimeOffset offset;
        HUSK_TRY(read_field(value, "secs", offset.secs));
        HUSK_TRY(read_field(value, "nanosecs", offset.nanosecs));
        if (offset.nanosecs >= 1'000'000'000)
            return fail_at(member_path(value.path(), "nanosecs"),
                           "{} is not below one second (1000000000)", offset.nanosecs);
        out[clock] = offset;
    }
    return {};
}

Status parse_devices(const Node& node, std::vector<Device>& out) {
    auto elements = node.elements();
    if (!elements) return fail(elements.error());
    for (const Node& element : *elements) {
        HUSK_TRY(element.expect_object());
        Device device;
        auto path = element.require("path");
        if (!path) return fail(path.error());
        HUSK_TRY(decode(*path, device.path));
        HUSK_TRY(require_absolute(*path, device.path));
        std::string type;
        HUSK_TRY(read_required(element, "type", type));
        if (type != "c" && type != "b" && type != "u" && type != "p")
            return fail_at(member_path(element.path(), "type"),
                           "unknown device type {} (expected c, b, u or p)", quote(type));
        device.type = type[0];
        if (device.type == 'p') {
            HUSK_TRY(read_field(element, "major", device.major));
            HUSK_TRY(read_field(element, "minor", device.minor));
        } else {
            HUSK_TRY(read_required(element, "major", device.major));
            HUSK_TRY(read_required(element, "minor", device.minor));
        }
        HUSK_TRY(read_field(element, "fileMode", device.file_mode));
        HUSK_TRY(read_field(element, "uid", device.uid));
        HUSK_TRY(read_field(element, "gid", device.gid));
        out.push_back(std::move(device));
    }
    return {};
}

Status parse_sysctl(const Node& node, std::map<std::string, std::string>& out) {
    HUSK_TRY(decode(node, out));
    for (const auto& [key, value] : out) {
        std::string path = member_path(node.path(), key);
        if (key.empty()) return fail_at(path, "empty sysctl name");
        // The name becomes a path under /proc/sys: no separators of its own, no ".."
        // (an empty component between dots is caught with it).
        if (key.find('/') != std::string::npos)
            return fail_at(path, "sysctl names use '.', not '/'");
        if (key.front() == '.' || key.back() == '.' || key.find("..") != std::string::npos)
            return fail_at(path, "not a sysctl name");
    }
    return {};
}

Status parse_path_list(const Node& parent, std::string_view key, std::vector<std::string>& out) {
    auto node = parent.get(key);
    if (!node) return {};
    HUSK_TRY(decode(*node, out));
    for (size_t i = 0; i < out.size(); ++i)
        if (!is_absolute(out[i]))
            return fail_at(index_path(node->path(), i), "must be an absolute path, got {}",
                           quote(out[i]));
    return {};
}

Status parse_personality(const Node& node, Personality& personality) {
    HUSK_TRY(node.expect_object());
    HUSK_TRY(read_required(node, "domain", personality.domain));
    if (personality.domain != "LINUX" && personality.domain != "LINUX32")
        return fail_at(member_path(node.path(), "domain"),
                       "unknown personality domain {} (expected \"LINUX\" or \"LINUX32\")",
                       quote(personality.domain));
    HUSK_TRY(read_field(node, "flags", personality.flags));
    // The spec defines no flag values yet.
    if (!personality.flags.empty())
        return fail_at(index_path(member_path(node.path(), "flags"), 0),
                       "unknown personality flag {}", quote(personality.flags[0]));
    return {};
}

Status parse_linux(const Node& document, Linux& linux_config) {
    auto node = document.get("linux");
    if (!node) return {};
    HUSK_TRY(node->expect_object());

    if (auto ns = node->get("namespaces")) HUSK_TRY(parse_namespaces(*ns, linux_config.namespaces));
    if (auto uids = node->get("uidMappings"))
        HUSK_TRY(parse_id_mappings(*uids, linux_config.uid_mappings));
    if (auto gids = node->get("gidMappings"))
        HUSK_TRY(parse_id_mappings(*gids, linux_config.gid_mappings));
    if (auto offsets = node->get("timeOffsets"))
        HUSK_TRY(parse_time_offsets(*offsets, linux_config.time_offsets));
    if (auto devices = node->get("devices"))
        HUSK_TRY(parse_devices(*devices, linux_config.devices));
    HUSK_TRY(read_field(*node, "cgroupsPath", linux_config.cgroups_path));
    if (auto sysctl = node->get("sysctl")) HUSK_TRY(parse_sysctl(*sysctl, linux_config.sysctl));

    HUSK_TRY(read_field(*node, "rootfsPropagation", linux_config.rootfs_propagation));
    static constexpr std::string_view kPropagations[] = {"",        "private",    "rprivate",
                                                         "slave",   "rslave",     "shared",
                                                         "rshared", "unbindable", "runbindable"};
    if (std::find(std::begin(kPropagations), std::end(kPropagations),
                  linux_config.rootfs_propagation) == std::end(kPropagations))
        return fail_at("linux.rootfsPropagation", "unknown propagation {}",
                       quote(linux_config.rootfs_propagation));

    HUSK_TRY(parse_path_list(*node, "maskedPaths", linux_config.masked_paths));
    HUSK_TRY(parse_path_list(*node, "readonlyPaths", linux_config.readonly_paths));
    HUSK_TRY(read_field(*node, "mountLabel", linux_config.mount_label));
    if (auto personality = node->get("personality")) {
        linux_config.personality.emplace();
        HUSK_TRY(parse_personality(*personality, *linux_config.personality));
    }
    if (auto seccomp = node->get("seccomp"); seccomp && !detail::is_empty_value(seccomp->value())) {
        linux_config.seccomp.emplace();
        HUSK_TRY(detail::parse_seccomp(*seccomp, *linux_config.seccomp));
    }

    if (auto path = node->get("cgroupsPath"))
        HUSK_TRY(detail::validate_cgroups_path(*path, linux_config.cgroups_path));
    if (auto resources = node->get("resources"))
        HUSK_TRY(detail::parse_resources_node(*resources, linux_config.resources));
    for (const char* key : {"intelRdt", "memoryPolicy"}) HUSK_TRY(reject_unsupported(*node, key));
    // Here the keys are the settings: {"eth0": {}} asks to move eth0 into the container.
    if (auto devices = node->get("netDevices"); devices && !devices->value().empty())
        return devices->fail("not supported by husk-runtime yet");
    return {};
}

// ---- rules across sections -------------------------------------------------------------

// Sysctls that are per-namespace, the way runc allows them: anything else under /proc/sys
// is global, and writing it from a container would reconfigure the host.
Status check_sysctl_namespaces(const Spec& spec) {
    static constexpr std::string_view kIpcSysctls[] = {
        "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
        "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
    for (const auto& [key, value] : spec.linux.sysctl) {
        std::string path = member_path("linux.sysctl", key);
        bool ipc =
            key.starts_with("fs.mqueue.") ||
            std::find(std::begin(kIpcSysctls), std::end(kIpcSysctls), key) != std::end(kIpcSysctls);
        if (ipc) {
            if (!spec.has_namespace(NamespaceType::ipc))
                return fail_at(path, "requires an ipc namespace");
            continue;
        }
        if (key.starts_with("net.")) {
            if (!spec.has_namespace(NamespaceType::network))
                return fail_at(path, "requires a network namespace");
            continue;
        }
        if (key == "kernel.hostname")
            return fail_at(path, "conflicts with the \"hostname\" field; set that instead");
        if (key == "kernel.domainname") {
            if (!spec.has_namespace(NamespaceType::uts))
                return fail_at(path, "requires a uts namespace");
            continue;
        }
        return fail_at(path, "not namespaced: setting it would change the host");
    }
    return {};
}

Status check_cross_rules(const Spec& spec) {
    const Linux& lx = spec.linux;
    const Namespace* user_ns = spec.find_namespace(NamespaceType::user);
    if (!user_ns) {
        if (!lx.uid_mappings.empty())
            return fail_at("linux.uidMappings", "requires a user namespace");
        if (!lx.gid_mappings.empty())
            return fail_at("linux.gidMappings", "requires a user namespace");
    } else if (user_ns->path.empty()) {
        if (lx.uid_mappings.empty())
            return fail_at("linux.uidMappings", "required by a new user namespace");
        if (lx.gid_mappings.empty())
            return fail_at("linux.gidMappings", "required by a new user namespace");
    }

    if (!lx.time_offsets.empty()) {
        const Namespace* time_ns = spec.find_namespace(NamespaceType::time);
        if (!time_ns) return fail_at("linux.timeOffsets", "requires a time namespace");
        // Offsets can only be written before the first process enters the namespace.
        if (!time_ns->path.empty())
            return fail_at("linux.timeOffsets",
                           "cannot be set when joining an existing time namespace");
    }

    if (!spec.hostname.empty() && !spec.has_namespace(NamespaceType::uts))
        return fail_at("hostname", "requires a uts namespace");
    if (!spec.domainname.empty() && !spec.has_namespace(NamespaceType::uts))
        return fail_at("domainname", "requires a uts namespace");

    // Without a mount namespace these would change the host's mount table.
    if (!spec.has_namespace(NamespaceType::mount)) {
        if (!spec.mounts.empty()) return fail_at("mounts", "requires a mount namespace");
        if (!lx.masked_paths.empty())
            return fail_at("linux.maskedPaths", "requires a mount namespace");
        if (!lx.readonly_paths.empty())
            return fail_at("linux.readonlyPaths", "requires a mount namespace");
        if (!lx.rootfs_propagation.empty())
            return fail_at("linux.rootfsPropagation", "requires a mount namespace");
    }
    return check_sysctl_namespaces(spec);
}

Result<Spec> parse_document(const std::string& json_text, const std::string& source) {
    Json document;
    // nlohmann reports syntax errors (with their position) only as exceptions; they are
    // turned into an Error here and go no further.
    try {
        document = Json::parse(json_text);
    } catch (const Json::parse_error& e) {
        std::string_view what = e.what();
        if (auto bracket = what.find("] ");
            what.starts_with("[json.exception.") && bracket != std::string_view::npos)
            what.remove_prefix(bracket + 2);
        return fail_invalid("{}: {}", source, what);
    }
    if (!document.is_object()) return fail_invalid("{}: expected a JSON object", source);
    Node root(document, "");

    for (const char* platform : {"windows", "solaris", "vm", "zos"})
        if (root.get(platform)) return fail_at(platform, "not a Linux configuration");

    Spec spec;
    auto version = root.require("ociVersion");
    if (!version) return fail(version.error());
    HUSK_TRY(decode(*version, spec.oci_version));
    if (!spec.oci_version.starts_with("1.") || spec.oci_version.size() < 3)
        return version->fail("unsupported version {} (husk-runtime reads 1.x)",
                             quote(spec.oci_version));

    HUSK_TRY(parse_root(root, spec.root));
    HUSK_TRY(parse_process(root, spec.process));
    HUSK_TRY(read_field(root, "hostname", spec.hostname));
    HUSK_TRY(read_field(root, "domainname", spec.domainname));
    if (auto mounts = root.get("mounts")) HUSK_TRY(parse_mounts(*mounts, spec.mounts));
    HUSK_TRY(parse_linux(root, spec.linux));
    if (auto hooks = root.get("hooks")) HUSK_TRY(detail::parse_hooks_node(*hooks, spec.hooks));
    HUSK_TRY(read_field(root, "annotations", spec.annotations));
    if (spec.annotations.contains(""))
        return fail_at(member_path("annotations", ""), "empty annotation key");
    HUSK_TRY(check_cross_rules(spec));
    return spec;
}

}  // namespace

const Namespace* Spec::find_namespace(NamespaceType type) const {
    for (const Namespace& ns : linux.namespaces)
        if (ns.type == type) return &ns;
    return nullptr;
}

bool Spec::has_namespace(NamespaceType type) const {
    return find_namespace(type) != nullptr;
}

Status detail::parse_process_member(const Node& root, Process& process) {
    return parse_process(root, process);
}

Result<Spec> parse_config(const std::string& json_text) {
    return parse_document(json_text, "config.json");
}

Result<Spec> load_config(const std::string& bundle_dir) {
    std::string dir = bundle_dir;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    std::string path = dir + "/config.json";
    auto text = read_file(path);
    if (!text) return fail(text.error());
    auto spec = parse_document(*text, path);
    if (!spec && !spec.error().message().starts_with(path))
        return fail(spec.error().wrap("{}", path));
    return spec;
}

const char* namespace_type_name(NamespaceType type) {
    for (const NamespaceInfo& ns : kNamespaces)
        if (ns.type == type) return ns.name;
    return "unknown";
}

int namespace_clone_flag(NamespaceType type) {
    for (const NamespaceInfo& ns : kNamespaces)
        if (ns.type == type) return ns.clone_flag;
    return 0;
}

}  // namespace husk::oci
