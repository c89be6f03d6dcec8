// Rootless mode's pure parts: /etc/subuid parsing, user namespace detection from a uid_map
// fixture, the own-id map rule, the cgroup decision and the --rootless flag.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "runtime/rootless.hpp"

namespace husk::runtime {
namespace {

class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/husk-rootless-test.XXXXXX";
        path_ = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    std::string file(const std::string& name, const std::string& text) const {
        std::string p = path_ + "/" + name;
        std::ofstream(p) << text;
        return p;
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

TEST(SubIdRangesTest, MatchesByNameOrIdAndSkipsBadLines) {
    TempDir dir;
    auto path = dir.file("subuid",
                         "# comment\nalice:100000:65536\nbob:200000:65536\n1000:300000:10\n"
                         "alice:notanumber:5\nalice:400000:0\nalice:500000:1000\n");
    auto ranges = read_subid_ranges(path, "alice", 1000);
    ASSERT_TRUE(ranges.has_value());
    ASSERT_EQ(ranges->size(), 3u);
    EXPECT_EQ((*ranges)[0].start, 100000u);
    EXPECT_EQ((*ranges)[0].count, 65536u);
    EXPECT_EQ((*ranges)[1].start, 300000u);  // by numeric id
    EXPECT_EQ((*ranges)[2].start, 500000u);
    auto none = read_subid_ranges(path, "carol", 1002);
    ASSERT_TRUE(none.has_value());
    EXPECT_TRUE(none->empty());
    auto missing = read_subid_ranges(dir.path() + "/absent", "alice", 1000);
    ASSERT_TRUE(missing.has_value());
    EXPECT_TRUE(missing->empty());
}

TEST(UserNamespaceTest, TheIdentityMapIsTheInitialNamespace) {
    TempDir dir;
    dir.file("uid_map", "         0          0 4294967295\n");
    EXPECT_FALSE(in_user_namespace(dir.path()));
    dir.file("uid_map", "         0       1000          1\n         1     100000      65536\n");
    EXPECT_TRUE(in_user_namespace(dir.path()));
    dir.file("uid_map", "");
    EXPECT_TRUE(in_user_namespace(dir.path()));
}

TEST(OwnIdMapTest, OnlyOneLineOfSizeOneWithTheCallersId) {
    EXPECT_TRUE(is_own_id_map({{0, 1000, 1}}, 1000));
    EXPECT_FALSE(is_own_id_map({{0, 1000, 2}}, 1000));
    EXPECT_FALSE(is_own_id_map({{0, 1001, 1}}, 1000));
    EXPECT_FALSE(is_own_id_map({{0, 1000, 1}, {1, 100000, 65536}}, 1000));
}

TEST(RootlessFlagTest, ThreeValues) {
    EXPECT_EQ(parse_rootless_flag("true").value(), true);
    EXPECT_EQ(parse_rootless_flag("false").value(), false);
    EXPECT_TRUE(parse_rootless_flag("auto").has_value());
    auto bad = parse_rootless_flag("yes");
    ASSERT_FALSE(bad.has_value());
    EXPECT_NE(bad.error().what().find("--rootless"), std::string::npos);
}

TEST(RootlessCgroupsTest, HybridAndV1HaveNone) {
    CgroupHost hybrid;
    hybrid.layout = CgroupLayout::hybrid;
    hybrid.hierarchies.push_back({"/sys/fs/cgroup/memory", "memory", false, "/"});
    std::string reason;
    auto out = rootless_cgroups(hybrid, reason);
    EXPECT_EQ(out.layout, CgroupLayout::none);
    EXPECT_TRUE(out.hierarchies.empty());
    EXPECT_NE(reason.find("hybrid"), std::string::npos);
}

TEST(RootlessCgroupsTest, AWritableV2DirectoryIsDelegated) {
    TempDir dir;
    std::filesystem::create_directories(dir.path() + "/user");
    dir.file("user/cgroup.procs", "");
    CgroupHost v2;
    v2.layout = CgroupLayout::unified;
    v2.hierarchies.push_back({dir.path(), "", true, "/user"});
    std::string reason;
    auto out = rootless_cgroups(v2, reason);
    if (::geteuid() == 0 || ::access((dir.path() + "/user").c_str(), W_OK) == 0) {
        EXPECT_EQ(out.layout, CgroupLayout::unified);
        ASSERT_EQ(out.hierarchies.size(), 1u);
        EXPECT_TRUE(reason.empty());
    }
    // Relative cgroupsPaths go to the top of the delegated subtree, never to the root.
    std::filesystem::create_directories(dir.path() + "/user/app/session");
    dir.file("user/app/cgroup.procs", "");
    dir.file("user/app/session/cgroup.procs", "");
    v2.hierarchies[0].own_path = "/user/app/session";
    out = rootless_cgroups(v2, reason);
    if (::geteuid() == 0) {
        ASSERT_EQ(out.hierarchies.size(), 1u);
        EXPECT_EQ(out.hierarchies[0].own_path, "/user");
    }
    v2.hierarchies[0].own_path = "/absent";
    out = rootless_cgroups(v2, reason);
    EXPECT_EQ(out.layout, CgroupLayout::none);
    EXPECT_NE(reason.find("not delegated"), std::string::npos);
}

}  // namespace
}  // namespace husk::runtime
