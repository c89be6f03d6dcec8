// What parse_config and load_config produce from valid configs: values, defaults, ignored
// properties, and the namespace helpers.
#include <gtest/gtest.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/capability.h>
#include <sys/resource.h>

#include <cerrno>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "oci/runtime_spec.hpp"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace husk::oci {
namespace {

std::string read_data(const std::string& name) {
    std::ifstream in(std::string(HUSK_TEST_DATA_DIR) + "/" + name);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

Spec parse_ok(const std::string& text) {
    auto spec = parse_config(text);
    EXPECT_TRUE(spec.has_value()) << spec.error().message();
    return spec ? *spec : Spec{};
}

constexpr const char* kMinimal = R"({
    "ociVersion": "1.0.0",
    "root": {"path": "rootfs"},
    "process": {"user": {"uid": 0, "gid": 0}, "args": ["/bin/true"], "cwd": "/"}
})";

TEST(ParseConfigTest, MinimalConfigGetsDefaults) {
    Spec spec = parse_ok(kMinimal);
    EXPECT_EQ(spec.oci_version, "1.0.0");
    EXPECT_EQ(spec.root.path, "rootfs");
    EXPECT_FALSE(spec.root.readonly);
    EXPECT_EQ(spec.process.args, std::vector<std::string>{"/bin/true"});
    EXPECT_FALSE(spec.process.terminal);
    EXPECT_FALSE(spec.process.capabilities.has_value());
    EXPECT_FALSE(spec.process.user.umask.has_value());
    EXPECT_FALSE(spec.process.oom_score_adj.has_value());
    EXPECT_TRUE(spec.process.env.empty());
    EXPECT_TRUE(spec.mounts.empty());
    EXPECT_TRUE(spec.linux.namespaces.empty());
    EXPECT_FALSE(spec.has_namespace(NamespaceType::pid));
    EXPECT_TRUE(spec.hostname.empty());
    EXPECT_TRUE(spec.annotations.empty());
}

TEST(ParseConfigTest, FullConfig) {
    Spec spec = parse_ok(read_data("full_config.json"));
    EXPECT_EQ(spec.oci_version, "1.2.0");
    EXPECT_EQ(spec.root.path, "/var/lib/husk/containers/web/rootfs");
    EXPECT_FALSE(spec.root.readonly);
    EXPECT_EQ(spec.hostname, "web");
    EXPECT_EQ(spec.domainname, "example.org");

    const Process& p = spec.process;
    EXPECT_FALSE(p.terminal);
    ASSERT_TRUE(p.console_size.has_value());
    EXPECT_EQ(p.console_size->height, 24u);
    EXPECT_EQ(p.console_size->width, 80u);
    EXPECT_EQ(p.user.uid, 1000u);
    EXPECT_EQ(p.user.gid, 1000u);
    ASSERT_TRUE(p.user.umask.has_value());
    EXPECT_EQ(*p.user.umask, 022u);
    EXPECT_EQ(p.user.additional_gids, (std::vector<gid_t>{10, 1000, 4294967294u}));
    EXPECT_EQ(p.args, (std::vector<std::string>{"/usr/bin/nginx", "-g", "daemon off;"}));
    ASSERT_EQ(p.env.size(), 4u);
    EXPECT_EQ(p.env[2], "EMPTY=");
    EXPECT_EQ(p.env[3], "WITH_EQUALS=a=b");
    EXPECT_EQ(p.cwd, "/srv/www");
    EXPECT_TRUE(p.no_new_privileges);
    ASSERT_TRUE(p.oom_score_adj.has_value());
    EXPECT_EQ(*p.oom_score_adj, -999);

    ASSERT_TRUE(p.capabilities.has_value());
    EXPECT_EQ(p.capabilities->bounding.size(), 14u);
    EXPECT_EQ(p.capabilities->bounding.front(), CAP_CHOWN);
    EXPECT_EQ(p.capabilities->bounding.back(), CAP_AUDIT_WRITE);
    EXPECT_EQ(p.capabilities->effective, (std::vector<int>{CAP_CHOWN, CAP_NET_BIND_SERVICE}));
    EXPECT_TRUE(p.capabilities->inheritable.empty());
    EXPECT_EQ(p.capabilities->permitted, (std::vector<int>{CAP_CHOWN, CAP_NET_BIND_SERVICE}));
    EXPECT_EQ(p.capabilities->ambient, std::vector<int>{CAP_NET_BIND_SERVICE});

    ASSERT_EQ(p.rlimits.size(), 3u);
    EXPECT_EQ(p.rlimits[0].resource, RLIMIT_NOFILE);
    EXPECT_EQ(p.rlimits[0].type, "RLIMIT_NOFILE");
    EXPECT_EQ(p.rlimits[0].soft, 1024u);
    EXPECT_EQ(p.rlimits[0].hard, 1048576u);
    EXPECT_EQ(p.rlimits[1].resource, RLIMIT_CORE);
    EXPECT_EQ(p.rlimits[1].soft, std::numeric_limits<uint64_t>::max());
    EXPECT_EQ(p.rlimits[1].hard, RLIM_INFINITY);
    EXPECT_EQ(p.rlimits[2].resource, RLIMIT_NPROC);

    ASSERT_EQ(spec.mounts.size(), 9u);
    EXPECT_EQ(spec.mounts[0].destination, "/proc");
    EXPECT_EQ(spec.mounts[0].type, "proc");
    EXPECT_EQ(spec.mounts[0].source, "proc");
    EXPECT_EQ(spec.mounts[2].options,
              (std::vector<std::string>{"nosuid", "noexec", "newinstance", "ptmxmode=0666",
                                        "mode=0620", "gid=5"}));
    EXPECT_EQ(spec.mounts[7].source, "/var/lib/husk/containers/web/resolv.conf");
    EXPECT_EQ(spec.mounts[8].type, "");
    EXPECT_EQ(spec.mounts[8].options, (std::vector<std::string>{"bind", "ro"}));

    const Linux& lx = spec.linux;
    ASSERT_EQ(lx.namespaces.size(), 8u);
    EXPECT_EQ(lx.namespaces[0].type, NamespaceType::pid);
    EXPECT_TRUE(lx.namespaces[0].path.empty());
    for (NamespaceType type :
         {NamespaceType::pid, NamespaceType::network, NamespaceType::ipc, NamespaceType::uts,
          NamespaceType::mount, NamespaceType::cgroup, NamespaceType::user, NamespaceType::time})
        EXPECT_TRUE(spec.has_namespace(type)) << namespace_type_name(type);
    const Namespace* net = spec.find_namespace(NamespaceType::network);
    ASSERT_NE(net, nullptr);
    EXPECT_EQ(net->path, "/var/run/netns/web");
    EXPECT_EQ(net, &lx.namespaces[1]);

    ASSERT_EQ(lx.uid_mappings.size(), 2u);
    EXPECT_EQ(lx.uid_mappings[1].container_id, 1u);
    EXPECT_EQ(lx.uid_mappings[1].host_id, 100000u);
    EXPECT_EQ(lx.uid_mappings[1].size, 65536u);
    ASSERT_EQ(lx.gid_mappings.size(), 2u);
    EXPECT_EQ(lx.gid_mappings[0].host_id, 1000u);

    ASSERT_EQ(lx.time_offsets.size(), 2u);
    EXPECT_EQ(lx.time_offsets.at("monotonic").secs, -3600);
    EXPECT_EQ(lx.time_offsets.at("monotonic").nanosecs, 5u);
    EXPECT_EQ(lx.time_offsets.at("boottime").secs, 86400);
    EXPECT_EQ(lx.time_offsets.at("boottime").nanosecs, 0u);

    ASSERT_EQ(lx.devices.size(), 4u);
    EXPECT_EQ(lx.devices[0].path, "/dev/fuse");
    EXPECT_EQ(lx.devices[0].type, 'c');
    EXPECT_EQ(lx.devices[0].major, 10);
    EXPECT_EQ(lx.devices[0].minor, 229);
    ASSERT_TRUE(lx.devices[0].file_mode.has_value());
    EXPECT_EQ(*lx.devices[0].file_mode, 0666u);
    ASSERT_TRUE(lx.devices[0].uid.has_value());
    EXPECT_EQ(*lx.devices[0].uid, 0u);
    EXPECT_FALSE(lx.devices[1].file_mode.has_value());
    EXPECT_FALSE(lx.devices[1].gid.has_value());
    EXPECT_EQ(lx.devices[2].type, 'b');
    EXPECT_EQ(lx.devices[3].type, 'p');

    EXPECT_EQ(lx.cgroups_path, "/husk/web");
    ASSERT_EQ(lx.sysctl.size(), 5u);
    EXPECT_EQ(lx.sysctl.at("net.ipv4.ping_group_range"), "0 2147483647");
    EXPECT_EQ(lx.rootfs_propagation, "rslave");
    EXPECT_EQ(lx.masked_paths,
              (std::vector<std::string>{"/proc/acpi", "/proc/kcore", "/sys/firmware"}));
    EXPECT_EQ(lx.readonly_paths, (std::vector<std::string>{"/proc/bus", "/proc/sys"}));
    EXPECT_TRUE(lx.mount_label.empty());
    ASSERT_TRUE(lx.personality.has_value());
    EXPECT_EQ(lx.personality->domain, "LINUX32");
    EXPECT_TRUE(lx.personality->flags.empty());

    ASSERT_EQ(spec.annotations.size(), 2u);
    EXPECT_EQ(spec.annotations.at("org.opencontainers.image.ref.name"), "nginx:1.25");
}

TEST(ParseConfigTest, UnknownPropertiesAreIgnored) {
    Spec spec = parse_ok(R"({
        "ociVersion": "1.2.0",
        "org.example.top": {"nested": [1, 2]},
        "root": {"path": "rootfs", "org.example.root": 1},
        "process": {"user": {"uid": 0, "gid": 0, "username": "root", "x": false},
                    "args": ["sh"], "cwd": "/", "org.example.process": "yes",
                    "capabilities": {"bounding": ["CAP_KILL"], "extra": ["nonsense"]}},
        "mounts": [{"destination": "/tmp", "type": "tmpfs", "org.example.mount": null}],
        "linux": {"namespaces": [{"type": "mount", "org.example.ns": 3}],
                  "org.example.linux": {"seccomp": "not really"},
                  "rlimits": "wrong place, unknown here"},
        "annotations": {"org.example.key": "value"}
    })");
    EXPECT_EQ(spec.process.args, std::vector<std::string>{"sh"});
    ASSERT_TRUE(spec.process.capabilities.has_value());
    EXPECT_EQ(spec.process.capabilities->bounding, std::vector<int>{CAP_KILL});
    ASSERT_EQ(spec.mounts.size(), 1u);
    EXPECT_EQ(spec.mounts[0].destination, "/tmp");
    EXPECT_TRUE(spec.has_namespace(NamespaceType::mount));
    EXPECT_EQ(spec.annotations.at("org.example.key"), "value");
}

TEST(ParseConfigTest, EmptyUnsupportedSectionsAreAccepted) {
    // Written out but asking for nothing: as if absent.
    Spec spec = parse_ok(R"({
        "ociVersion": "1.2.0",
        "root": {"path": "rootfs"},
        "process": {"user": {"uid": 0, "gid": 0}, "args": ["sh"], "cwd": "/",
                    "terminal": false, "apparmorProfile": "", "selinuxLabel": "",
                    "scheduler": null, "ioPriority": {}},
        "hooks": {"prestart": [], "poststop": null},
        "linux": {"resources": {"devices": [], "memory": {}}, "seccomp": null,
                  "intelRdt": {}, "netDevices": {}, "mountLabel": "",
                  "rootfsPropagation": ""}
    })");
    EXPECT_FALSE(spec.process.terminal);
    EXPECT_TRUE(spec.linux.rootfs_propagation.empty());
}

TEST(ParseConfigTest, NullMeansUnset) {
    Spec spec = parse_ok(R"({
        "ociVersion": "1.2.0", "root": {"path": "rootfs", "readonly": null},
        "process": {"user": {"uid": 0, "gid": 0, "umask": null}, "args": ["sh"], "cwd": "/",
                    "env": null, "capabilities": null, "oomScoreAdj": null},
        "hostname": null, "mounts": null, "linux": null, "annotations": null
    })");
    EXPECT_FALSE(spec.root.readonly);
    EXPECT_FALSE(spec.process.user.umask.has_value());
    EXPECT_FALSE(spec.process.capabilities.has_value());
    EXPECT_FALSE(spec.process.oom_score_adj.has_value());
}

TEST(ParseConfigTest, JoinedUserNamespaceNeedsNoMappings) {
    Spec spec = parse_ok(R"({
        "ociVersion": "1.2.0", "root": {"path": "rootfs"},
        "process": {"user": {"uid": 0, "gid": 0}, "args": ["sh"], "cwd": "/"},
        "linux": {"namespaces": [{"type": "user", "path": "/proc/42/ns/user"},
                                 {"type": "mount", "path": "/proc/42/ns/mnt"}]}
    })");
    const Namespace* user = spec.find_namespace(NamespaceType::user);
    ASSERT_NE(user, nullptr);
    EXPECT_EQ(user->path, "/proc/42/ns/user");
    EXPECT_TRUE(spec.linux.uid_mappings.empty());
    EXPECT_EQ(spec.find_namespace(NamespaceType::pid), nullptr);
}

TEST(ParseConfigTest, LimitsAtTheEdges) {
    Spec spec = parse_ok(R"({
        "ociVersion": "1.2.0", "root": {"path": "rootfs"},
        "process": {"user": {"uid": 4294967295, "gid": 0, "umask": 511}, "args": ["sh"],
                    "cwd": "/", "oomScoreAdj": -1000,
                    "rlimits": [{"type": "RLIMIT_RTTIME", "soft": 0, "hard": 0}]},
        "linux": {"namespaces": [{"type": "user"}],
                  "uidMappings": [{"containerID": 0, "hostID": 0, "size": 4294967295}],
                  "gidMappings": [{"containerID": 4294967294, "hostID": 4294967294, "size": 1}]}
    })");
    EXPECT_EQ(spec.process.user.uid, 4294967295u);
    EXPECT_EQ(*spec.process.user.umask, 0777u);
    EXPECT_EQ(*spec.process.oom_score_adj, -1000);
    EXPECT_EQ(spec.process.rlimits[0].resource, RLIMIT_RTTIME);
    EXPECT_EQ(spec.linux.uid_mappings[0].size, 4294967295u);
}

TEST(ParseConfigTest, AllRlimitNamesMap) {
    const std::pair<const char*, int> names[] = {
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
    std::string rlimits;
    for (const auto& [name, value] : names) {
        if (!rlimits.empty()) rlimits += ",";
        rlimits += std::string(R"({"type": ")") + name + R"(", "soft": 1, "hard": 2})";
    }
    Spec spec = parse_ok(R"({"ociVersion": "1.2.0", "root": {"path": "r"},
        "process": {"user": {"uid": 0, "gid": 0}, "args": ["sh"], "cwd": "/",
                    "rlimits": [)" +
                         rlimits + "]}}");
    ASSERT_EQ(spec.process.rlimits.size(), std::size(names));
    for (size_t i = 0; i < std::size(names); ++i) {
        EXPECT_EQ(spec.process.rlimits[i].type, names[i].first);
        EXPECT_EQ(spec.process.rlimits[i].resource, names[i].second);
    }
}

TEST(ParseConfigTest, EveryCapabilityLibcapKnowsIsAccepted) {
    std::string list;
    for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
        char* name = cap_to_name(cap);
        ASSERT_NE(name, nullptr);
        std::string upper(name);
        cap_free(name);
        for (char& c : upper) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
        if (!list.empty()) list += ",";
        list += "\"" + upper + "\"";
    }
    Spec spec = parse_ok(R"({"ociVersion": "1.2.0", "root": {"path": "r"},
        "process": {"user": {"uid": 0, "gid": 0}, "args": ["sh"], "cwd": "/",
                    "capabilities": {"bounding": [)" +
                         list + "]}}}");
    ASSERT_TRUE(spec.process.capabilities.has_value());
    ASSERT_EQ(spec.process.capabilities->bounding.size(), size_t{CAP_LAST_CAP} + 1);
    for (int cap = 0; cap <= CAP_LAST_CAP; ++cap)
        EXPECT_EQ(spec.process.capabilities->bounding[cap], cap);
}

TEST(ParseConfigTest, NamespacedSysctlsAreAccepted) {
    Spec spec = parse_ok(R"({"ociVersion": "1.2.0", "root": {"path": "r"},
        "process": {"user": {"uid": 0, "gid": 0}, "args": ["sh"], "cwd": "/"},
        "linux": {"namespaces": [{"type": "network", "path": "/run/netns/x"}, {"type": "ipc"},
                                 {"type": "uts"}],
                  "sysctl": {"net.core.somaxconn": "1024", "kernel.sem": "250 32000 32 128",
                             "fs.mqueue.queues_max": "256", "kernel.domainname": "x"}}})");
    EXPECT_EQ(spec.linux.sysctl.size(), 4u);
    EXPECT_EQ(spec.linux.sysctl.at("kernel.sem"), "250 32000 32 128");
}

TEST(NamespaceTest, NamesAndCloneFlags) {
    const struct {
        NamespaceType type;
        const char* name;
        int flag;
    } expected[] = {
        {NamespaceType::pid, "pid", CLONE_NEWPID},
        {NamespaceType::network, "network", CLONE_NEWNET},
        {NamespaceType::mount, "mount", CLONE_NEWNS},
        {NamespaceType::ipc, "ipc", CLONE_NEWIPC},
        {NamespaceType::uts, "uts", CLONE_NEWUTS},
        {NamespaceType::user, "user", CLONE_NEWUSER},
        {NamespaceType::cgroup, "cgroup", CLONE_NEWCGROUP},
        {NamespaceType::time, "time", CLONE_NEWTIME},
    };
    for (const auto& e : expected) {
        EXPECT_STREQ(namespace_type_name(e.type), e.name);
        EXPECT_EQ(namespace_clone_flag(e.type), e.flag) << e.name;
    }
}

TEST(NamespaceTest, NamesRoundTripThroughTheParser) {
    std::string list;
    for (const char* name : {"pid", "network", "mount", "ipc", "uts", "cgroup", "time"}) {
        if (!list.empty()) list += ",";
        list += std::string(R"({"type": ")") + name + "\"}";
    }
    Spec spec = parse_ok(R"({"ociVersion": "1.2.0", "root": {"path": "r"},
        "process": {"user": {"uid": 0, "gid": 0}, "args": ["sh"], "cwd": "/"},
        "linux": {"namespaces": [)" +
                         list + "]}}");
    ASSERT_EQ(spec.linux.namespaces.size(), 7u);
    EXPECT_STREQ(namespace_type_name(spec.linux.namespaces[1].type), "network");
    EXPECT_STREQ(namespace_type_name(spec.linux.namespaces[6].type), "time");
}

class LoadConfigTest : public testing::Test {
protected:
    void SetUp() override {
        char templ[] = "/tmp/husk-oci-test-XXXXXX";
        ASSERT_NE(mkdtemp(templ), nullptr);
        dir_ = templ;
    }
    void TearDown() override {
        std::remove((dir_ + "/config.json").c_str());
        rmdir(dir_.c_str());
    }
    void write_config(const std::string& text) {
        std::ofstream out(dir_ + "/config.json");
        out << text;
    }
    std::string dir_;
};

TEST_F(LoadConfigTest, MissingFileReportsPathAndErrno) {
    auto spec = load_config(dir_);
    ASSERT_FALSE(spec.has_value());
    EXPECT_EQ(spec.error().errnum(), ENOENT);
    EXPECT_EQ(spec.error().what(), "open " + dir_ + "/config.json: No such file or directory");
}

TEST_F(LoadConfigTest, MissingBundleDirectory) {
    auto spec = load_config(dir_ + "/nope/");
    ASSERT_FALSE(spec.has_value());
    EXPECT_EQ(spec.error().what(), "open " + dir_ + "/nope/config.json: No such file or directory");
}

TEST_F(LoadConfigTest, LoadsAndParses) {
    write_config(read_data("full_config.json"));
    auto spec = load_config(dir_ + "/");
    ASSERT_TRUE(spec.has_value()) << spec.error().message();
    EXPECT_EQ(spec->hostname, "web");
}

TEST_F(LoadConfigTest, ErrorsNameTheFile) {
    write_config(R"({"ociVersion": "1.2.0", "root": {"path": "r"},
        "process": {"user": {"uid": 0, "gid": 0}, "args": [], "cwd": "/"}})");
    auto spec = load_config(dir_);
    ASSERT_FALSE(spec.has_value());
    EXPECT_EQ(spec.error().message(), dir_ + "/config.json: process.args: must not be empty");

    write_config("{ nope");
    spec = load_config(dir_);
    ASSERT_FALSE(spec.has_value());
    EXPECT_TRUE(spec.error().message().starts_with(dir_ + "/config.json: parse error at line 1"))
        << spec.error().message();
}

}  // namespace
}  // namespace husk::oci
