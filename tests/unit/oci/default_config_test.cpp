// The config `husk-runtime spec` writes must be one that husk-runtime itself accepts.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "oci/runtime_spec.hpp"

namespace husk::oci {
namespace {

using Json = nlohmann::json;

const Mount* find_mount(const Spec& spec, const std::string& destination) {
    for (const Mount& m : spec.mounts)
        if (m.destination == destination) return &m;
    return nullptr;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(DefaultConfigTest, RootfulParses) {
    std::string text = default_config_json(false);
    auto spec = parse_config(text);
    ASSERT_TRUE(spec.has_value()) << spec.error().message() << "\n" << text;

    EXPECT_EQ(spec->oci_version, "1.2.0");
    EXPECT_EQ(spec->root.path, "rootfs");
    EXPECT_TRUE(spec->root.readonly);
    EXPECT_EQ(spec->hostname, "husk");
    EXPECT_FALSE(spec->process.terminal);
    EXPECT_EQ(spec->process.args, std::vector<std::string>{"sh"});
    EXPECT_EQ(spec->process.cwd, "/");
    EXPECT_EQ(spec->process.user.uid, 0u);
    EXPECT_TRUE(spec->process.no_new_privileges);
    ASSERT_TRUE(spec->process.capabilities.has_value());
    EXPECT_EQ(spec->process.capabilities->bounding.size(), 3u);
    ASSERT_EQ(spec->process.rlimits.size(), 1u);
    EXPECT_EQ(spec->process.rlimits[0].type, "RLIMIT_NOFILE");
    EXPECT_EQ(spec->process.rlimits[0].soft, 1024u);

    for (NamespaceType type : {NamespaceType::pid, NamespaceType::network, NamespaceType::ipc,
                               NamespaceType::uts, NamespaceType::mount})
        EXPECT_TRUE(spec->has_namespace(type)) << namespace_type_name(type);
    EXPECT_FALSE(spec->has_namespace(NamespaceType::user));
    EXPECT_TRUE(spec->linux.uid_mappings.empty());

    const Mount* sys = find_mount(*spec, "/sys");
    ASSERT_NE(sys, nullptr);
    EXPECT_EQ(sys->type, "sysfs");
    const Mount* pts = find_mount(*spec, "/dev/pts");
    ASSERT_NE(pts, nullptr);
    EXPECT_TRUE(contains(pts->options, "gid=5"));
    ASSERT_NE(find_mount(*spec, "/proc"), nullptr);
    ASSERT_NE(find_mount(*spec, "/sys/fs/cgroup"), nullptr);
    EXPECT_TRUE(contains(spec->linux.masked_paths, "/proc/kcore"));
    EXPECT_TRUE(contains(spec->linux.readonly_paths, "/proc/sys"));
}

TEST(DefaultConfigTest, RootlessParses) {
    std::string text = default_config_json(true);
    auto spec = parse_config(text);
    ASSERT_TRUE(spec.has_value()) << spec.error().message() << "\n" << text;

    EXPECT_TRUE(spec->root.readonly);
    EXPECT_FALSE(spec->process.terminal);
    EXPECT_TRUE(spec->has_namespace(NamespaceType::user));
    EXPECT_FALSE(spec->has_namespace(NamespaceType::network));
    ASSERT_EQ(spec->linux.uid_mappings.size(), 1u);
    EXPECT_EQ(spec->linux.uid_mappings[0].container_id, 0u);
    EXPECT_EQ(spec->linux.uid_mappings[0].host_id, geteuid());
    EXPECT_EQ(spec->linux.uid_mappings[0].size, 1u);
    ASSERT_EQ(spec->linux.gid_mappings.size(), 1u);
    EXPECT_EQ(spec->linux.gid_mappings[0].host_id, getegid());

    const Mount* sys = find_mount(*spec, "/sys");
    ASSERT_NE(sys, nullptr);
    EXPECT_EQ(sys->source, "/sys");
    EXPECT_TRUE(contains(sys->options, "rbind"));
    const Mount* pts = find_mount(*spec, "/dev/pts");
    ASSERT_NE(pts, nullptr);
    EXPECT_FALSE(contains(pts->options, "gid=5"));
}

TEST(DefaultConfigTest, LeavesOutWhatHuskDoesNotImplement) {
    for (bool rootless : {false, true}) {
        Json config = Json::parse(default_config_json(rootless));
        EXPECT_FALSE(config["linux"].contains("resources"));
        EXPECT_TRUE(config["linux"].contains("seccomp"));
        EXPECT_FALSE(config.contains("hooks"));
        EXPECT_EQ(config["process"]["terminal"], false);
        EXPECT_EQ(config["root"], Json::parse(R"({"path": "rootfs", "readonly": true})"));
    }
}

TEST(DefaultConfigTest, PrettyPrintedWithFourSpaces) {
    std::string text = default_config_json(false);
    EXPECT_TRUE(text.starts_with("{\n    \"ociVersion\": \"1.2.0\",\n    \"process\": {\n        "))
        << text.substr(0, 80);
    EXPECT_EQ(text.find('\t'), std::string::npos);
    EXPECT_TRUE(text.ends_with("}\n"));
}

}  // namespace
}  // namespace husk::oci
