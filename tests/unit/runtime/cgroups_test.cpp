// Cgroup layout detection from fixture proc trees (data/<case>/self/{mountinfo,cgroup}),
// cgroupsPath resolution, and the Cgroup handle over plain directories.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "../common/test_dir.hpp"
#include "runtime/cgroups.hpp"

namespace husk::runtime {
namespace {

using husk::testing::exists_nofollow;
using husk::testing::is_dir;
using husk::testing::slurp;
using husk::testing::spit;
using husk::testing::TempDir;

CgroupHost detect(const std::string& name) {
    auto host = detect_cgroups(std::string(HUSK_TEST_DATA_DIR) + "/" + name);
    EXPECT_TRUE(host.has_value()) << name << ": " << host.error().what();
    return host ? *host : CgroupHost{};
}

const CgroupHierarchy* find(const CgroupHost& host, const std::string& controllers,
                            bool unified = false) {
    for (auto& h : host.hierarchies)
        if (h.unified == unified && h.controllers == controllers) return &h;
    return nullptr;
}

TEST(CgroupLayoutName, Names) {
    EXPECT_STREQ(cgroup_layout_name(CgroupLayout::none), "none");
    EXPECT_STREQ(cgroup_layout_name(CgroupLayout::legacy), "v1");
    EXPECT_STREQ(cgroup_layout_name(CgroupLayout::hybrid), "hybrid");
    EXPECT_STREQ(cgroup_layout_name(CgroupLayout::unified), "v2");
}

TEST(DetectCgroups, Hybrid) {
    CgroupHost host = detect("hybrid");
    EXPECT_EQ(host.layout, CgroupLayout::hybrid);
    // Nine v1 hierarchies and the v2 tree; the sub-tree bind and the second memory mount
    // are not hierarchies of their own.
    ASSERT_EQ(host.hierarchies.size(), 10u);

    struct Want {
        const char* controllers;
        const char* mount;
        const char* own;
    };
    const Want v1[] = {
        {"cpu", "/sys/fs/cgroup/cpu", "/"},
        {"cpuacct", "/sys/fs/cgroup/cpuacct", "/"},
        {"cpuset", "/sys/fs/cgroup/cpuset", "/"},
        {"memory", "/sys/fs/cgroup/memory", "/process_api/742b2cbe7437f97f0d835c1823feaddf"},
        {"devices", "/sys/fs/cgroup/devices", "/"},
        {"freezer", "/sys/fs/cgroup/freezer", "/"},
        {"blkio", "/sys/fs/cgroup/blkio", "/"},
        {"pids", "/sys/fs/cgroup/pids", "/"},
        {"name=systemd", "/sys/fs/cgroup/systemd", "/user.slice/session-1.scope"},
    };
    for (size_t i = 0; i < std::size(v1); ++i) {
        SCOPED_TRACE(v1[i].controllers);
        const CgroupHierarchy& h = host.hierarchies[i];  // mountinfo order
        EXPECT_EQ(h.controllers, v1[i].controllers);
        EXPECT_EQ(h.mount_point, v1[i].mount);
        EXPECT_EQ(h.own_path, v1[i].own);
        EXPECT_FALSE(h.unified);
    }
    const CgroupHierarchy* v2 = find(host, "", true);
    ASSERT_NE(v2, nullptr);
    EXPECT_EQ(v2->mount_point, "/sys/fs/cgroup/unified");
    EXPECT_EQ(v2->own_path, "/");
}

TEST(DetectCgroups, PureV2) {
    CgroupHost host = detect("v2");
    EXPECT_EQ(host.layout, CgroupLayout::unified);
    ASSERT_EQ(host.hierarchies.size(), 1u);
    const CgroupHierarchy& h = host.hierarchies[0];
    EXPECT_TRUE(h.unified);
    EXPECT_EQ(h.controllers, "");
    EXPECT_EQ(h.mount_point, "/sys/fs/cgroup");
    EXPECT_EQ(h.own_path, "/user.slice/user-1000.slice/session-2.scope");
}

TEST(DetectCgroups, PureV1WithCoMountedControllers) {
    CgroupHost host = detect("v1");
    EXPECT_EQ(host.layout, CgroupLayout::legacy);
    ASSERT_EQ(host.hierarchies.size(), 5u);
    EXPECT_EQ(find(host, "", true), nullptr);

    const CgroupHierarchy* cpu = find(host, "cpu,cpuacct");
    ASSERT_NE(cpu, nullptr);
    EXPECT_EQ(cpu->mount_point, "/sys/fs/cgroup/cpu,cpuacct");
    EXPECT_EQ(cpu->own_path, "/user.slice");

    const CgroupHierarchy* net = find(host, "net_cls,net_prio");
    ASSERT_NE(net, nullptr);
    EXPECT_EQ(net->mount_point, "/sys/fs/cgroup/net_cls,net_prio");
    EXPECT_EQ(net->own_path, "/");

    // Super options other than controllers (xattr, release_agent=...) are not controllers.
    const CgroupHierarchy* systemd = find(host, "name=systemd");
    ASSERT_NE(systemd, nullptr);
    EXPECT_EQ(systemd->mount_point, "/sys/fs/cgroup/systemd");
    EXPECT_EQ(systemd->own_path, "/user.slice/user-1000.slice/session-3.scope");

    const CgroupHierarchy* memory = find(host, "memory");
    ASSERT_NE(memory, nullptr);
    EXPECT_EQ(memory->own_path, "/user.slice/user-1000.slice/session-3.scope");
    ASSERT_NE(find(host, "pids"), nullptr);
    EXPECT_EQ(find(host, "cpu"), nullptr);
    EXPECT_EQ(find(host, "cpuacct"), nullptr);
}

TEST(DetectCgroups, None) {
    CgroupHost host = detect("none");
    EXPECT_EQ(host.layout, CgroupLayout::none);
    EXPECT_TRUE(host.hierarchies.empty());
}

TEST(DetectCgroups, MissingProcTreeIsError) {
    auto host = detect_cgroups(std::string(HUSK_TEST_DATA_DIR) + "/no-such-case");
    ASSERT_FALSE(host.has_value());
    EXPECT_EQ(host.error().errnum(), ENOENT);
    EXPECT_NE(host.error().message().find("mountinfo"), std::string::npos);
}

TEST(DetectCgroups, OwnPathWithColons) {
    TempDir tmp;
    ASSERT_EQ(::mkdir((tmp / "self").c_str(), 0755), 0);
    spit(tmp / "self/mountinfo",
         "30 25 0:26 / /sys/fs/cgroup rw,relatime shared:4 - cgroup2 cgroup2 rw\n");
    spit(tmp / "self/cgroup", "0::/kubepods.slice/cri:containerd:abc\n");
    auto host = detect_cgroups(tmp.path());
    ASSERT_TRUE(host.has_value()) << host.error().what();
    ASSERT_EQ(host->hierarchies.size(), 1u);
    EXPECT_EQ(host->hierarchies[0].own_path, "/kubepods.slice/cri:containerd:abc");
}

TEST(DetectCgroups, ThisHost) {
    // Whatever the machine has, detection succeeds and the layout matches the hierarchies.
    auto host = detect_cgroups();
    ASSERT_TRUE(host.has_value()) << host.error().what();
    bool v1 = false, v2 = false;
    for (auto& h : host->hierarchies) {
        (h.unified ? v2 : v1) = true;
        EXPECT_FALSE(h.own_path.empty());
        EXPECT_EQ(h.own_path.front(), '/');
    }
    CgroupLayout want = v1 && v2 ? CgroupLayout::hybrid
                        : v1     ? CgroupLayout::legacy
                        : v2     ? CgroupLayout::unified
                                 : CgroupLayout::none;
    EXPECT_EQ(host->layout, want);
}

// --- resolve_cgroup_path ---------------------------------------------------------------

TEST(ResolveCgroupPath, Absolute) {
    EXPECT_EQ(resolve_cgroup_path("/husk/c1", "/user.slice", "id"), "/husk/c1");
    EXPECT_EQ(resolve_cgroup_path("/a//b/../c/", "/user.slice", "id"), "/a/c");
    EXPECT_EQ(resolve_cgroup_path("/../../x", "/user.slice", "id"), "/x");
}

TEST(ResolveCgroupPath, RelativeToOwnCgroup) {
    EXPECT_EQ(resolve_cgroup_path("husk/c1", "/user.slice", "id"), "/user.slice/husk/c1");
    EXPECT_EQ(resolve_cgroup_path("husk/c1", "/", "id"), "/husk/c1");
    EXPECT_EQ(resolve_cgroup_path("./x", "/a/b", "id"), "/a/b/x");
    EXPECT_EQ(resolve_cgroup_path("../../../../x", "/a", "id"), "/x");
}

TEST(ResolveCgroupPath, DefaultIsTheId) {
    EXPECT_EQ(resolve_cgroup_path("", "/user.slice", "ctr1"), "/user.slice/ctr1");
    EXPECT_EQ(resolve_cgroup_path("", "/", "ctr1"), "/ctr1");
}

// --- Cgroup over plain directories ---------------------------------------------------------

CgroupHost fake_host(const TempDir& tmp) {
    CgroupHost host;
    host.layout = CgroupLayout::hybrid;
    ::mkdir((tmp / "memory").c_str(), 0755);
    ::mkdir((tmp / "unified").c_str(), 0755);
    host.hierarchies.push_back({tmp / "memory", "memory", false, "/parent"});
    host.hierarchies.push_back({tmp / "unified", "", true, "/"});
    return host;
}

TEST(Cgroup, CreateMakesMissingLevelsAndDestroyRemovesOnlyThose) {
    TempDir tmp;
    CgroupHost host = fake_host(tmp);
    ASSERT_EQ(::mkdir((tmp / "memory/parent").c_str(), 0755), 0);
    spit(tmp / "memory/parent/keep", "");

    auto cg = Cgroup::create(host, "husk/c1", "c1");
    ASSERT_TRUE(cg.has_value()) << cg.error().what();
    ASSERT_EQ(cg->dirs().size(), 2u);
    EXPECT_EQ(cg->dirs()[0].path, tmp / "memory/parent/husk/c1");
    EXPECT_EQ(cg->dirs()[0].controllers, "memory");
    EXPECT_EQ(cg->dirs()[0].relative(), "/parent/husk/c1");
    EXPECT_EQ(cg->dirs()[1].path, tmp / "unified/husk/c1");
    EXPECT_EQ(cg->dirs()[1].controllers, "");
    EXPECT_EQ(cg->dirs()[1].relative(), "/husk/c1");
    EXPECT_TRUE(is_dir(tmp / "memory/parent/husk/c1"));
    EXPECT_TRUE(is_dir(tmp / "unified/husk/c1"));

    std::vector<std::string> created = {tmp / "memory/parent/husk", tmp / "memory/parent/husk/c1",
                                        tmp / "unified/husk", tmp / "unified/husk/c1"};
    EXPECT_EQ(cg->created(), created);

    // add_process writes the pid to every directory's cgroup.procs.
    spit(tmp / "memory/parent/husk/c1/cgroup.procs", "");
    spit(tmp / "unified/husk/c1/cgroup.procs", "");
    ASSERT_TRUE(cg->add_process(4242).has_value());
    EXPECT_EQ(slurp(tmp / "memory/parent/husk/c1/cgroup.procs"), "4242");
    EXPECT_EQ(slurp(tmp / "unified/husk/c1/cgroup.procs"), "4242");
    ::unlink((tmp / "memory/parent/husk/c1/cgroup.procs").c_str());
    ::unlink((tmp / "unified/husk/c1/cgroup.procs").c_str());

    ASSERT_TRUE(cg->destroy().has_value());
    EXPECT_FALSE(exists_nofollow(tmp / "memory/parent/husk"));
    EXPECT_FALSE(exists_nofollow(tmp / "unified/husk"));
    EXPECT_TRUE(is_dir(tmp / "memory/parent"));
    EXPECT_TRUE(exists_nofollow(tmp / "memory/parent/keep"));
}

TEST(Cgroup, ExistingDirectoriesAreNotRecordedAsCreated) {
    TempDir tmp;
    CgroupHost host = fake_host(tmp);
    ASSERT_EQ(::mkdir((tmp / "unified/shared").c_str(), 0755), 0);
    host.hierarchies.erase(host.hierarchies.begin());
    auto cg = Cgroup::create(host, "/shared/c2", "c2");
    ASSERT_TRUE(cg.has_value()) << cg.error().what();
    EXPECT_EQ(cg->created(), std::vector<std::string>{tmp / "unified/shared/c2"});
    ASSERT_TRUE(cg->destroy().has_value());
    EXPECT_TRUE(is_dir(tmp / "unified/shared"));
    EXPECT_FALSE(exists_nofollow(tmp / "unified/shared/c2"));
}

TEST(Cgroup, DefaultPathIsIdUnderOwnCgroup) {
    TempDir tmp;
    CgroupHost host = fake_host(tmp);
    ASSERT_EQ(::mkdir((tmp / "memory/parent").c_str(), 0755), 0);
    auto cg = Cgroup::create(host, "", "ctr");
    ASSERT_TRUE(cg.has_value()) << cg.error().what();
    EXPECT_EQ(cg->dirs()[0].path, tmp / "memory/parent/ctr");
    EXPECT_EQ(cg->dirs()[1].path, tmp / "unified/ctr");
    ASSERT_TRUE(cg->destroy().has_value());
}

TEST(Cgroup, RootCgroupIsRefused) {
    TempDir tmp;
    CgroupHost host = fake_host(tmp);
    auto cg = Cgroup::create(host, "/", "c");
    ASSERT_FALSE(cg.has_value());
    EXPECT_NE(cg.error().message().find("root cgroup"), std::string::npos);
    auto up = Cgroup::create(host, "/a/..", "c");
    EXPECT_FALSE(up.has_value());
}

TEST(Cgroup, FailureUndoesWhatWasCreated) {
    TempDir tmp;
    CgroupHost host = fake_host(tmp);
    // The second hierarchy's mount point is a file: creating in it fails, and the first
    // hierarchy's new directories are removed again.
    ASSERT_EQ(::rmdir((tmp / "unified").c_str()), 0);
    spit(tmp / "unified", "not a dir");
    ASSERT_EQ(::mkdir((tmp / "memory/parent").c_str(), 0755), 0);
    auto cg = Cgroup::create(host, "husk/c3", "c3");
    ASSERT_FALSE(cg.has_value());
    EXPECT_EQ(cg.error().errnum(), ENOTDIR);
    EXPECT_FALSE(exists_nofollow(tmp / "memory/parent/husk"));
    EXPECT_TRUE(is_dir(tmp / "memory/parent"));
}

TEST(Cgroup, FromDirsRoundTrip) {
    std::vector<CgroupDir> dirs = {{"/sys/fs/cgroup", "", "/sys/fs/cgroup/a/b"}};
    Cgroup cg = Cgroup::from_dirs(dirs, {"/sys/fs/cgroup/a/b"});
    ASSERT_EQ(cg.dirs().size(), 1u);
    EXPECT_EQ(cg.dirs()[0].relative(), "/a/b");
    EXPECT_EQ(cg.created(), std::vector<std::string>{"/sys/fs/cgroup/a/b"});
}

TEST(Cgroup, DestroyOfAlreadyRemovedIsFine) {
    TempDir tmp;
    Cgroup cg = Cgroup::from_dirs({}, {tmp / "gone/a", tmp / "gone/a/b"});
    EXPECT_TRUE(cg.destroy().has_value());
}

}  // namespace
}  // namespace husk::runtime
