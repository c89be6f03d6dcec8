// Every validation rule of parse_config, one small config each: a JSON merge patch (RFC 7386,
// null deletes a member) over a minimal valid config, and a substring of the expected error.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "oci/runtime_spec.hpp"

namespace husk::oci {
namespace {

using Json = nlohmann::json;

constexpr const char* kBase = R"({
    "ociVersion": "1.2.0",
    "root": {"path": "rootfs"},
    "process": {"user": {"uid": 0, "gid": 0}, "args": ["sh"], "cwd": "/"},
    "hostname": "box",
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
    "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"},
                             {"type": "ipc"}, {"type": "network"}]}
})";

// The base config with only the namespaces listed (as a JSON array text).
std::string namespaces(const char* list) {
    return std::string(R"({"linux": {"namespaces": )") + list + "}}";
}

std::string patched(const std::string& patch) {
    Json config = Json::parse(kBase);
    config.merge_patch(Json::parse(patch));
    return config.dump();
}

struct ErrorCase {
    const char* name;
    std::string patch;
    const char* error;
};

std::ostream& operator<<(std::ostream& out, const ErrorCase& c) {
    return out << c.name;
}

class ConfigErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigErrorTest, RejectsWithFieldPath) {
    const ErrorCase& c = GetParam();
    auto spec = parse_config(patched(c.patch));
    ASSERT_FALSE(spec.has_value()) << "accepted: " << c.patch;
    EXPECT_EQ(spec.error().errnum(), 0);
    EXPECT_NE(spec.error().message().find(c.error), std::string::npos)
        << "error: " << spec.error().message() << "\nexpected: " << c.error;
}

const ErrorCase kErrorCases[] = {
    // ociVersion, root
    {"version_missing", R"({"ociVersion": null})", "ociVersion: required"},
    {"version_2", R"({"ociVersion": "2.0.0"})", "ociVersion: unsupported version \"2.0.0\""},
    {"version_0", R"({"ociVersion": "0.9"})", "ociVersion: unsupported version"},
    {"version_type", R"({"ociVersion": 1})", "ociVersion: expected a string"},
    {"root_missing", R"({"root": null})", "root: required"},
    {"root_type", R"({"root": "rootfs"})", "root: expected an object"},
    {"root_path_missing", R"({"root": {"path": null, "readonly": true}})", "root.path: required"},
    {"root_path_empty", R"({"root": {"path": ""}})", "root.path: must not be empty"},
    {"root_readonly_type", R"({"root": {"readonly": "yes"}})", "root.readonly: expected a boolean"},
    // process
    {"process_missing", R"({"process": null})", "process: required"},
    {"process_type", R"({"process": []})", "process: expected an object"},
    {"args_missing", R"({"process": {"args": null}})", "process.args: required"},
    {"args_empty", R"({"process": {"args": []}})", "process.args: must not be empty"},
    {"args_first_empty", R"({"process": {"args": [""]}})", "process.args[0]: must not be empty"},
    {"args_type", R"({"process": {"args": "sh"}})", "process.args: expected an array"},
    {"args_element_type", R"({"process": {"args": ["sh", 1]}})",
     "process.args[1]: expected a string"},
    {"args_nul", R"({"process": {"args": ["a\u0000b"]}})",
     "process.args[0]: must not contain a NUL byte"},
    {"cwd_missing", R"({"process": {"cwd": null}})", "process.cwd: required"},
    {"cwd_relative", R"({"process": {"cwd": "tmp"}})",
     "process.cwd: must be an absolute path, got \"tmp\""},
    {"env_no_equals", R"({"process": {"env": ["PATH=/bin", "FOO"]}})",
     "process.env[1]: expected KEY=VALUE, got \"FOO\""},
    {"env_empty_key", R"({"process": {"env": ["=x"]}})", "process.env[0]: expected KEY=VALUE"},
    {"env_type", R"({"process": {"env": {"A": "b"}}})", "process.env: expected an array"},
    {"user_missing", R"({"process": {"user": null}})", "process.user: required"},
    {"uid_missing", R"({"process": {"user": {"uid": null}}})", "process.user.uid: required"},
    {"gid_missing", R"({"process": {"user": {"gid": null}}})", "process.user.gid: required"},
    {"uid_negative", R"({"process": {"user": {"uid": -1}}})",
     "process.user.uid: expected an unsigned integer"},
    {"uid_string", R"({"process": {"user": {"uid": "0"}}})",
     "process.user.uid: expected an unsigned integer"},
    {"uid_float", R"({"process": {"user": {"uid": 1.5}}})",
     "process.user.uid: expected an unsigned integer"},
    {"uid_range", R"({"process": {"user": {"uid": 4294967296}}})",
     "process.user.uid: 4294967296 is out of range"},
    {"umask_range", R"({"process": {"user": {"umask": 1023}}})",
     "process.user.umask: 01777 is not a umask"},
    {"additional_gids", R"({"process": {"user": {"additionalGids": [10, -1]}}})",
     "process.user.additionalGids[1]: expected an unsigned integer"},
    {"terminal_type", R"({"process": {"terminal": "no"}})", "process.terminal: expected a boolean"},
    {"console_size", R"({"process": {"consoleSize": {"height": 10}}})",
     "process.consoleSize.width: required"},
    {"no_new_privs_type", R"({"process": {"noNewPrivileges": "true"}})",
     "process.noNewPrivileges: expected a boolean"},
    // capabilities
    {"cap_unknown", R"({"process": {"capabilities": {"bounding": ["CAP_CHOWN", "CAP_FOO"]}}})",
     "process.capabilities.bounding[1]: unknown capability \"CAP_FOO\""},
    {"cap_no_prefix", R"({"process": {"capabilities": {"effective": ["CHOWN"]}}})",
     "process.capabilities.effective[0]: unknown capability \"CHOWN\""},
    {"cap_lower_case", R"({"process": {"capabilities": {"ambient": ["cap_chown"]}}})",
     "process.capabilities.ambient[0]: unknown capability \"cap_chown\""},
    {"cap_two_in_one", R"({"process": {"capabilities": {"permitted": ["CAP_CHOWN,CAP_KILL"]}}})",
     "process.capabilities.permitted[0]: unknown capability"},
    {"cap_number", R"({"process": {"capabilities": {"inheritable": ["CAP_12"]}}})",
     "process.capabilities.inheritable[0]: unknown capability \"CAP_12\""},
    {"cap_type", R"({"process": {"capabilities": ["CAP_CHOWN"]}})",
     "process.capabilities: expected an object"},
    // rlimits
    {"rlimit_unknown",
     R"({"process": {"rlimits": [{"type": "RLIMIT_FOO", "soft": 1, "hard": 1}]}})",
     "process.rlimits[0].type: unknown rlimit type \"RLIMIT_FOO\""},
    {"rlimit_duplicate",
     R"({"process": {"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1, "hard": 1},
                                 {"type": "RLIMIT_NOFILE", "soft": 2, "hard": 2}]}})",
     "process.rlimits[1].type: duplicate rlimit type \"RLIMIT_NOFILE\""},
    {"rlimit_soft_above_hard",
     R"({"process": {"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 2048, "hard": 1024}]}})",
     "process.rlimits[0]: soft limit 2048 is greater than hard limit 1024"},
    {"rlimit_hard_missing", R"({"process": {"rlimits": [{"type": "RLIMIT_CORE", "soft": 0}]}})",
     "process.rlimits[0].hard: required"},
    {"rlimit_soft_type",
     R"({"process": {"rlimits": [{"type": "RLIMIT_CORE", "soft": "0", "hard": 0}]}})",
     "process.rlimits[0].soft: expected an unsigned integer"},
    // oomScoreAdj
    {"oom_high", R"({"process": {"oomScoreAdj": 1001}})",
     "process.oomScoreAdj: 1001 is out of range"},
    {"oom_low", R"({"process": {"oomScoreAdj": -1001}})",
     "process.oomScoreAdj: -1001 is out of range"},
    {"oom_type", R"({"process": {"oomScoreAdj": "5"}})",
     "process.oomScoreAdj: expected an integer"},
    // process features husk does not implement
    {"apparmor", R"({"process": {"apparmorProfile": 5}})",
     "process.apparmorProfile: expected a string"},
    {"selinux", R"({"process": {"selinuxLabel": ["x"]}})",
     "process.selinuxLabel: expected a string"},
    {"io_priority", R"({"process": {"ioPriority": {"class": "IOPRIO_CLASS_RT", "priority": 1}}})",
     "process.ioPriority: not supported by husk-runtime yet"},
    {"scheduler", R"({"process": {"scheduler": {"policy": "SCHED_FIFO", "priority": 1}}})",
     "process.scheduler: not supported by husk-runtime yet"},
    {"exec_cpu_affinity", R"({"process": {"execCPUAffinity": {"initial": "0"}}})",
     "process.execCPUAffinity: not supported by husk-runtime yet"},
    // sections husk does not implement
    {"hooks_relative", R"({"hooks": {"prestart": [{"path": "bin/true"}]}})",
     "hooks.prestart[0].path: must be an absolute path"},
    {"hooks_no_path", R"({"hooks": {"poststop": [{"args": ["x"]}]}})",
     "hooks.poststop[0].path: required"},
    {"hooks_timeout", R"({"hooks": {"createRuntime": [{"path": "/x", "timeout": 0}]}})",
     "hooks.createRuntime[0].timeout: must be greater than zero"},
    {"hooks_env", R"({"hooks": {"startContainer": [{"path": "/x", "env": ["NOEQ"]}]}})",
     "hooks.startContainer[0].env[0]: expected KEY=VALUE"},
    {"seccomp_no_default", R"({"linux": {"seccomp": {"flags": ["SECCOMP_FILTER_FLAG_LOG"]}}})",
     "linux.seccomp.defaultAction: required"},
    {"resources_rdma", R"({"linux": {"resources": {"rdma": {"mlx5_1": {"hcaHandles": 3}}}}})",
     "linux.resources.rdma: not supported by husk-runtime"},
    {"intel_rdt", R"({"linux": {"intelRdt": {"closID": "guaranteed"}}})",
     "linux.intelRdt: not supported by husk-runtime yet"},
    {"memory_policy", R"({"linux": {"memoryPolicy": {"mode": "MPOL_BIND", "nodes": "0"}}})",
     "linux.memoryPolicy: not supported by husk-runtime yet"},
    {"net_devices", R"({"linux": {"netDevices": {"eth0": {}}}})",
     "linux.netDevices: not supported by husk-runtime yet"},
    {"mount_label", R"({"linux": {"mountLabel": true}})", "linux.mountLabel: expected a string"},
    {"windows", R"({"windows": {"layerFolders": []}})", "windows: not a Linux configuration"},
    {"solaris", R"({"solaris": {}})", "solaris: not a Linux configuration"},
    {"vm", R"({"vm": {"kernel": {"path": "/vmlinuz"}}})", "vm: not a Linux configuration"},
    {"zos", R"({"zos": {}})", "zos: not a Linux configuration"},
    // mounts
    {"mounts_type", R"({"mounts": {"destination": "/x"}})", "mounts: expected an array"},
    {"mount_relative", R"({"mounts": [{"destination": "/a"}, {"destination": "proc"}]})",
     "mounts[1].destination: must be an absolute path, got \"proc\""},
    {"mount_root", R"({"mounts": [{"destination": "/"}]})",
     "mounts[0].destination: cannot mount over the container's root"},
    {"mount_root_unclean", R"({"mounts": [{"destination": "//./"}]})",
     "mounts[0].destination: cannot mount over the container's root"},
    {"mount_destination_missing", R"({"mounts": [{"destination": "/a"}, {"source": "tmpfs"}]})",
     "mounts[1].destination: required"},
    {"mount_options_type", R"({"mounts": [{"destination": "/a", "options": "ro"}]})",
     "mounts[0].options: expected an array"},
    {"mount_uid_mappings",
     R"({"mounts": [{"destination": "/a", "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}]})",
     "mounts[0]: uidMappings and gidMappings must be set together"},
    {"mount_gid_mappings",
     R"({"mounts": [{"destination": "/a", "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}]})",
     "mounts[0]: uidMappings and gidMappings must be set together"},
    {"mounts_without_mount_ns", namespaces(R"([{"type": "uts"}])"),
     "mounts: requires a mount namespace"},
    // namespaces
    {"linux_type", R"({"linux": "yes"})", "linux: expected an object"},
    {"namespace_unknown", namespaces(R"([{"type": "pid"}, {"type": "mount"}, {"type": "foo"}])"),
     "linux.namespaces[2].type: unknown namespace type \"foo\""},
    {"namespace_duplicate", namespaces(R"([{"type": "pid"}, {"type": "pid"}])"),
     "linux.namespaces[1].type: duplicate namespace type \"pid\""},
    {"namespace_path_relative", namespaces(R"([{"type": "network", "path": "proc/1/ns/net"}])"),
     "linux.namespaces[0].path: must be an absolute path"},
    {"namespace_type_missing", namespaces(R"([{"path": "/proc/1/ns/net"}])"),
     "linux.namespaces[0].type: required"},
    {"namespaces_type", namespaces(R"({"pid": {}})"), "linux.namespaces: expected an array"},
    // user namespace and id mappings
    {"uid_mappings_without_userns",
     R"({"linux": {"uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}})",
     "linux.uidMappings: requires a user namespace"},
    {"gid_mappings_without_userns",
     R"({"linux": {"gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}})",
     "linux.gidMappings: requires a user namespace"},
    {"new_userns_without_uid_mappings",
     R"({"linux": {"namespaces": [{"type": "mount"}, {"type": "uts"}, {"type": "user"}],
                   "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}})",
     "linux.uidMappings: required by a new user namespace"},
    {"new_userns_without_gid_mappings",
     R"({"linux": {"namespaces": [{"type": "mount"}, {"type": "uts"}, {"type": "user"}],
                   "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}})",
     "linux.gidMappings: required by a new user namespace"},
    {"mapping_size_zero",
     R"({"linux": {"uidMappings": [{"containerID": 0, "hostID": 1, "size": 0}]}})",
     "linux.uidMappings[0].size: must not be 0"},
    {"mapping_host_missing", R"({"linux": {"gidMappings": [{"containerID": 0, "size": 1}]}})",
     "linux.gidMappings[0].hostID: required"},
    {"mapping_overflow",
     R"({"linux": {"uidMappings": [{"containerID": 4294967295, "hostID": 1, "size": 2}]}})",
     "linux.uidMappings[0]: range goes past id 4294967295"},
    {"mapping_overlap",
     R"({"linux": {"uidMappings": [{"containerID": 0, "hostID": 1000, "size": 10},
                                   {"containerID": 5, "hostID": 5000, "size": 10}]}})",
     "linux.uidMappings[1]: containerID range overlaps linux.uidMappings[0]"},
    // time namespace
    {"time_offsets_without_timens", R"({"linux": {"timeOffsets": {"monotonic": {"secs": 1}}}})",
     "linux.timeOffsets: requires a time namespace"},
    {"time_offsets_clock",
     R"({"linux": {"namespaces": [{"type": "mount"}, {"type": "uts"}, {"type": "time"}],
                   "timeOffsets": {"realtime": {"secs": 1}}}})",
     "linux.timeOffsets.realtime: unknown clock \"realtime\""},
    {"time_offsets_nanosecs",
     R"({"linux": {"namespaces": [{"type": "mount"}, {"type": "uts"}, {"type": "time"}],
                   "timeOffsets": {"boottime": {"nanosecs": 1000000000}}}})",
     "linux.timeOffsets.boottime.nanosecs: 1000000000 is not below one second"},
    {"time_offsets_joined_timens",
     R"({"linux": {"namespaces": [{"type": "mount"}, {"type": "uts"},
                                  {"type": "time", "path": "/proc/1/ns/time"}],
                   "timeOffsets": {"boottime": {"secs": 5}}}})",
     "linux.timeOffsets: cannot be set when joining an existing time namespace"},
    // hostname, domainname
    {"hostname_without_uts", namespaces(R"([{"type": "mount"}])"),
     "hostname: requires a uts namespace"},
    {"domainname_without_uts",
     R"({"hostname": null, "domainname": "example.org", "linux": {"namespaces": [{"type": "mount"}]}})",
     "domainname: requires a uts namespace"},
    {"hostname_type", R"({"hostname": 5})", "hostname: expected a string"},
    // devices
    {"device_relative",
     R"({"linux": {"devices": [{"path": "dev/null", "type": "c", "major": 1, "minor": 3}]}})",
     "linux.devices[0].path: must be an absolute path"},
    {"device_type",
     R"({"linux": {"devices": [{"path": "/dev/x", "type": "x", "major": 1, "minor": 3}]}})",
     "linux.devices[0].type: unknown device type \"x\""},
    {"device_type_missing",
     R"({"linux": {"devices": [{"path": "/dev/x", "major": 1, "minor": 3}]}})",
     "linux.devices[0].type: required"},
    {"device_major_missing",
     R"({"linux": {"devices": [{"path": "/dev/x", "type": "c", "minor": 3}]}})",
     "linux.devices[0].major: required"},
    {"device_minor_missing",
     R"({"linux": {"devices": [{"path": "/dev/x", "type": "u", "major": 3}]}})",
     "linux.devices[0].minor: required"},
    {"device_block_major_missing", R"({"linux": {"devices": [{"path": "/dev/sda", "type": "b"}]}})",
     "linux.devices[0].major: required"},
    {"device_uid_type", R"({"linux": {"devices": [{"path": "/dev/x", "type": "p", "uid": -5}]}})",
     "linux.devices[0].uid: expected an unsigned integer"},
    // sysctl
    {"sysctl_empty_key", R"({"linux": {"sysctl": {"": "1"}}})",
     "linux.sysctl[\"\"]: empty sysctl name"},
    {"sysctl_slash", R"({"linux": {"sysctl": {"net/ipv4/ip_forward": "1"}}})",
     "linux.sysctl[\"net/ipv4/ip_forward\"]: sysctl names use '.', not '/'"},
    {"sysctl_dotdot", R"({"linux": {"sysctl": {"net..ipv4": "1"}}})",
     "linux.sysctl[\"net..ipv4\"]: not a sysctl name"},
    {"sysctl_only_dots", R"({"linux": {"sysctl": {"..": "1"}}})",
     "linux.sysctl[\"..\"]: not a sysctl name"},
    {"sysctl_value_type", R"({"linux": {"sysctl": {"net.ipv4.ip_forward": 1}}})",
     "linux.sysctl[\"net.ipv4.ip_forward\"]: expected a string"},
    {"sysctl_host_wide", R"({"linux": {"sysctl": {"vm.swappiness": "10"}}})",
     "linux.sysctl[\"vm.swappiness\"]: not namespaced"},
    {"sysctl_net_without_netns",
     R"({"linux": {"namespaces": [{"type": "mount"}, {"type": "uts"}],
                   "sysctl": {"net.ipv4.ip_forward": "1"}}})",
     "linux.sysctl[\"net.ipv4.ip_forward\"]: requires a network namespace"},
    {"sysctl_ipc_without_ipcns",
     R"({"linux": {"namespaces": [{"type": "mount"}, {"type": "uts"}],
                   "sysctl": {"kernel.shmmax": "1"}}})",
     "linux.sysctl[\"kernel.shmmax\"]: requires an ipc namespace"},
    {"sysctl_hostname", R"({"linux": {"sysctl": {"kernel.hostname": "x"}}})",
     "linux.sysctl[\"kernel.hostname\"]: conflicts with the \"hostname\" field"},
    // rootfsPropagation, personality, masked and readonly paths
    {"propagation", R"({"linux": {"rootfsPropagation": "bogus"}})",
     "linux.rootfsPropagation: unknown propagation \"bogus\""},
    {"propagation_without_mount_ns",
     R"({"mounts": null, "linux": {"namespaces": [{"type": "uts"}], "rootfsPropagation": "private"}})",
     "linux.rootfsPropagation: requires a mount namespace"},
    {"personality_domain", R"({"linux": {"personality": {"domain": "LINUX64"}}})",
     "linux.personality.domain: unknown personality domain \"LINUX64\""},
    {"personality_domain_missing", R"({"linux": {"personality": {"flags": []}}})",
     "linux.personality.domain: required"},
    {"personality_flags", R"({"linux": {"personality": {"domain": "LINUX", "flags": ["X"]}}})",
     "linux.personality.flags[0]: unknown personality flag \"X\""},
    {"masked_relative", R"({"linux": {"maskedPaths": ["proc/kcore"]}})",
     "linux.maskedPaths[0]: must be an absolute path"},
    {"readonly_relative", R"({"linux": {"readonlyPaths": ["/proc/sys", "proc/bus"]}})",
     "linux.readonlyPaths[1]: must be an absolute path"},
    {"masked_without_mount_ns",
     R"({"mounts": null, "linux": {"namespaces": [{"type": "uts"}], "maskedPaths": ["/proc/kcore"]}})",
     "linux.maskedPaths: requires a mount namespace"},
    {"readonly_without_mount_ns",
     R"({"mounts": null, "linux": {"namespaces": [{"type": "uts"}], "readonlyPaths": ["/proc/sys"]}})",
     "linux.readonlyPaths: requires a mount namespace"},
    {"cgroups_path_type", R"({"linux": {"cgroupsPath": 5}})",
     "linux.cgroupsPath: expected a string"},
    // annotations
    {"annotations_type", R"({"annotations": ["a"]})", "annotations: expected an object"},
    {"annotation_value_type", R"({"annotations": {"org.example.n": 1}})",
     "annotations[\"org.example.n\"]: expected a string"},
    {"annotation_empty_key", R"({"annotations": {"": "x"}})",
     "annotations[\"\"]: empty annotation key"},
};

INSTANTIATE_TEST_SUITE_P(Rules, ConfigErrorTest, testing::ValuesIn(kErrorCases),
                         [](const testing::TestParamInfo<ErrorCase>& info) {
                             return std::string(info.param.name);
                         });

TEST(ConfigErrorTest, BaseConfigIsValid) {
    auto spec = parse_config(kBase);
    ASSERT_TRUE(spec.has_value()) << spec.error().message();
}

TEST(ConfigSyntaxTest, SyntaxErrorNamesFileAndPosition) {
    auto spec = parse_config("{\n  \"ociVersion\": \"1.2.0\",\n  x\n}");
    ASSERT_FALSE(spec.has_value());
    const std::string& message = spec.error().message();
    EXPECT_TRUE(message.starts_with("config.json: parse error at line 3, column 3")) << message;
    EXPECT_EQ(message.find("[json.exception"), std::string::npos) << message;
}

TEST(ConfigSyntaxTest, EmptyAndTruncatedInput) {
    for (const char* text : {"", "{", "{\"ociVersion\": \"1.2.0\""}) {
        auto spec = parse_config(text);
        ASSERT_FALSE(spec.has_value()) << text;
        EXPECT_TRUE(spec.error().message().starts_with("config.json: parse error"))
            << spec.error().message();
    }
}

TEST(ConfigSyntaxTest, TopLevelMustBeAnObject) {
    for (const char* text : {"[]", "\"config\"", "42", "null"}) {
        auto spec = parse_config(text);
        ASSERT_FALSE(spec.has_value()) << text;
        EXPECT_EQ(spec.error().message(), "config.json: expected a JSON object");
    }
}

TEST(ConfigSyntaxTest, InvalidUtf8IsASyntaxError) {
    std::string text = R"({"ociVersion": "1.2.0", "hostname": ")" + std::string("\xff") + R"("})";
    auto spec = parse_config(text);
    ASSERT_FALSE(spec.has_value());
    EXPECT_TRUE(spec.error().message().starts_with("config.json: parse error"));
}

}  // namespace
}  // namespace husk::oci
