// The resource plan per layout (v1, v2, hybrid as on the Firecracker host, none) and the
// documented v1 <-> v2 conversions. Plans are pure; the writer is checked against a fixture
// tree of plain files, so no cgroup is touched.
#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <algorithm>

#include <filesystem>
#include <fstream>
#include <string>

#include "runtime/cgroup_limits.hpp"

namespace husk::runtime {
namespace {

CgroupCaps hybrid_caps() {
    // This machine: every v1 controller but hugetlb, which is the v2 tree's only one.
    CgroupCaps caps;
    caps.layout = CgroupLayout::hybrid;
    caps.v1 = {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids"};
    caps.v2 = {"hugetlb"};
    caps.v2_mount = "/sys/fs/cgroup/unified";
    return caps;
}

CgroupCaps v2_caps() {
    CgroupCaps caps;
    caps.layout = CgroupLayout::unified;
    caps.v2 = {"cpuset", "cpu", "io", "memory", "hugetlb", "pids"};
    caps.v2_mount = "/sys/fs/cgroup";
    return caps;
}

// file=value of every planned write (first alternative), "v2:" marking the v2 tree.
std::vector<std::string> summary(const std::vector<CgroupWrite>& writes) {
    std::vector<std::string> out;
    for (const auto& w : writes)
        out.push_back((w.v2 ? "v2:" : "") + w.alternatives.front().first + "=" +
                      w.alternatives.front().second);
    return out;
}

oci::Resources sample() {
    oci::Resources r;
    r.memory.emplace();
    r.memory->limit = 64 << 20;
    r.memory->swap = 128 << 20;
    r.memory->reservation = 32 << 20;
    r.cpu.emplace();
    r.cpu->shares = 1024;
    r.cpu->quota = 50000;
    r.cpu->period = 100000;
    r.cpu->cpus = "0";
    r.pids_limit = 20;
    r.hugepage_limits.push_back({"2MB", 4 << 20});
    return r;
}

TEST(CgroupConversionTest, SharesToWeight) {
    EXPECT_EQ(cpu_shares_to_weight(0), 0u);
    EXPECT_EQ(cpu_shares_to_weight(2), 1u);
    EXPECT_EQ(cpu_shares_to_weight(1024), 39u);  // runc's value for the default share
    EXPECT_EQ(cpu_shares_to_weight(262144), 10000u);
    EXPECT_EQ(cpu_shares_to_weight(1), 1u);  // clamped to the kernel's range
}

TEST(CgroupConversionTest, BlkioWeightToIoWeight) {
    EXPECT_EQ(blkio_weight_to_io_weight(10), 1u);
    EXPECT_EQ(blkio_weight_to_io_weight(500), 4950u);
    EXPECT_EQ(blkio_weight_to_io_weight(1000), 10000u);
}

TEST(CgroupConversionTest, SwapIsMemoryPlusSwapOnV1) {
    EXPECT_EQ(v2_swap_max(64, 128).value(), "64");
    EXPECT_EQ(v2_swap_max(64, -1).value(), "max");
    EXPECT_EQ(v2_swap_max(64, 64).value(), "0");
    EXPECT_FALSE(v2_swap_max(std::nullopt, 128).has_value());
    EXPECT_FALSE(v2_swap_max(-1, 128).has_value());
    EXPECT_FALSE(v2_swap_max(128, 64).has_value());
}

TEST(CgroupPlanTest, HybridUsesV1ControllersAndV2ForHugetlb) {
    auto plan = plan_resources(hybrid_caps(), sample());
    ASSERT_TRUE(plan.has_value()) << plan.error().message();
    EXPECT_EQ(summary(*plan), (std::vector<std::string>{
                                  "memory.limit_in_bytes=67108864",
                                  "memory.memsw.limit_in_bytes=134217728",
                                  "memory.soft_limit_in_bytes=33554432",
                                  "cpu.shares=1024",
                                  "cpu.cfs_period_us=100000",
                                  "cpu.cfs_quota_us=50000",
                                  "cpuset.cpus=0",
                                  "pids.max=20",
                                  "v2:hugetlb.2MB.max=4194304",
                              }));
}

TEST(CgroupPlanTest, V2ConvertsToV2Files) {
    auto plan = plan_resources(v2_caps(), sample());
    ASSERT_TRUE(plan.has_value()) << plan.error().message();
    EXPECT_EQ(summary(*plan), (std::vector<std::string>{
                                  "v2:memory.max=67108864",
                                  "v2:memory.swap.max=67108864",
                                  "v2:memory.low=33554432",
                                  "v2:cpu.weight=39",
                                  "v2:cpu.max=50000 100000",
                                  "v2:cpuset.cpus=0",
                                  "v2:pids.max=20",
                                  "v2:hugetlb.2MB.max=4194304",
                              }));
}

TEST(CgroupPlanTest, UnlimitedValues) {
    oci::Resources r;
    r.memory.emplace();
    r.memory->limit = -1;
    r.cpu.emplace();
    r.cpu->quota = -1;
    r.pids_limit = -1;
    auto v1 = plan_resources(hybrid_caps(), r);
    ASSERT_TRUE(v1.has_value());
    EXPECT_EQ(summary(*v1), (std::vector<std::string>{"memory.limit_in_bytes=-1",
                                                      "cpu.cfs_quota_us=-1", "pids.max=max"}));
    auto v2 = plan_resources(v2_caps(), r);
    ASSERT_TRUE(v2.has_value());
    EXPECT_EQ(summary(*v2),
              (std::vector<std::string>{"v2:memory.max=max", "v2:cpu.max=max", "v2:pids.max=max"}));
}

TEST(CgroupPlanTest, DeviceRulesOnV1AppendTheDefaults) {
    oci::Resources r;
    r.devices.push_back({false, 'a', -1, -1, "rwm"});
    r.devices.push_back({true, 'c', 10, -1, "rw"});
    auto plan = plan_resources(hybrid_caps(), r);
    ASSERT_TRUE(plan.has_value());
    auto s = summary(*plan);
    ASSERT_GE(s.size(), 3u);
    EXPECT_EQ(s[0], "devices.deny=a *:* rwm");
    EXPECT_EQ(s[1], "devices.allow=c 10:* rw");
    EXPECT_EQ(s[2], "devices.allow=c 1:3 rwm");  // /dev/null
    EXPECT_EQ(s.back(), "devices.allow=c 136:* rwm");
}

TEST(CgroupPlanTest, DefaultDevicesTheConfigAllowsAreNotWrittenTwice) {
    oci::Resources r;
    r.devices.push_back({false, 'a', -1, -1, "rwm"});
    r.devices.push_back({true, 'c', 1, 3, "rwm"});    // /dev/null, as Docker's list has it
    r.devices.push_back({true, 'c', 5, 0, "rwm"});    // /dev/tty ...
    r.devices.push_back({false, 'c', 5, -1, "rwm"});  // ... then every c 5:* denied again
    auto plan = plan_resources(hybrid_caps(), r);
    ASSERT_TRUE(plan.has_value());
    auto s = summary(*plan);
    EXPECT_EQ(std::count(s.begin(), s.end(), "devices.allow=c 1:3 rwm"), 1);
    // A deny after the config's allow: the default allow is written again, after it.
    EXPECT_EQ(std::count(s.begin(), s.end(), "devices.allow=c 5:0 rwm"), 2);
    EXPECT_EQ(s.back(), "devices.allow=c 136:* rwm");
}

TEST(CgroupPlanTest, DeviceRulesOnPureV2GoToTheEbpfProgram) {
    oci::Resources r;
    r.devices.push_back({false, 'a', -1, -1, "rwm"});
    auto plan = plan_resources(v2_caps(), r);
    ASSERT_TRUE(plan.has_value()) << plan.error().message();
    auto s = summary(*plan);
    EXPECT_EQ(s.front(), "v2:devices.deny=a *:* rwm");
    EXPECT_EQ(s.back(), "v2:devices.allow=c 136:* rwm");
}

TEST(CgroupPlanTest, NoneLayoutRefusesAnyLimitButAllowsNone) {
    CgroupCaps none;
    EXPECT_TRUE(plan_resources(none, oci::Resources{}).value().empty());
    oci::Resources r;
    r.memory.emplace();
    r.memory->limit = 1 << 20;
    auto plan = plan_resources(none, r);
    ASSERT_FALSE(plan.has_value());
    EXPECT_NE(plan.error().message().find("linux.resources: no cgroup filesystem is mounted"),
              std::string::npos)
        << plan.error().message();
    EXPECT_NE(plan.error().message().find("mount -t cgroup2 none /sys/fs/cgroup"),
              std::string::npos);
}

TEST(CgroupPlanTest, MissingControllersAreNamed) {
    oci::Resources r;
    r.network.emplace();
    r.network->class_id = 0x100001;
    auto plan = plan_resources(hybrid_caps(), r);
    ASSERT_FALSE(plan.has_value());
    EXPECT_NE(plan.error().message().find(
                  "linux.resources.network.classID: the net_cls controller is not mounted"),
              std::string::npos)
        << plan.error().message();

    auto v2 = plan_resources(v2_caps(), r);
    ASSERT_FALSE(v2.has_value());
    EXPECT_NE(v2.error().message().find("net_cls controller is not available in the cgroup v2"),
              std::string::npos)
        << v2.error().message();
}

TEST(CgroupPlanTest, V1OnlySettingsOnV2AreRefused) {
    oci::Resources r;
    r.memory.emplace();
    r.memory->disable_oom_killer = true;
    auto plan = plan_resources(v2_caps(), r);
    ASSERT_FALSE(plan.has_value());
    EXPECT_NE(plan.error().message().find("memory.disableOOMKiller: has no cgroup v2 equivalent"),
              std::string::npos)
        << plan.error().message();
    EXPECT_TRUE(plan_resources(hybrid_caps(), r).has_value());
}

TEST(CgroupPlanTest, UnifiedKeysNeedTheV2Controller) {
    oci::Resources r;
    r.unified["memory.high"] = "1000000";
    auto hybrid = plan_resources(hybrid_caps(), r);
    ASSERT_FALSE(hybrid.has_value());
    EXPECT_NE(hybrid.error().message().find(
                  "linux.resources.unified[\"memory.high\"]: the memory controller is not in "
                  "the cgroup v2 tree at /sys/fs/cgroup/unified (cgroup.controllers: hugetlb); "
                  "it is a v1 controller here"),
              std::string::npos)
        << hybrid.error().message();
    auto v2 = plan_resources(v2_caps(), r);
    ASSERT_TRUE(v2.has_value());
    EXPECT_EQ(summary(*v2), (std::vector<std::string>{"v2:memory.high=1000000"}));
    r.unified = {{"hugetlb.2MB.max", "0"}};
    EXPECT_TRUE(plan_resources(hybrid_caps(), r).has_value());
}

TEST(CgroupPlanTest, BlockIoOnV2ScalesWeightsAndUsesIoMax) {
    oci::Resources r;
    r.block_io.emplace();
    r.block_io->weight = 500;
    r.block_io->read_bps.push_back({8, 0, 1048576});
    auto plan = plan_resources(v2_caps(), r);
    ASSERT_TRUE(plan.has_value()) << plan.error().message();
    ASSERT_EQ(plan->size(), 2u);
    EXPECT_EQ((*plan)[0].alternatives[1],
              (std::pair<std::string, std::string>{"io.weight", "default 4950"}));
    EXPECT_EQ((*plan)[1].alternatives[0],
              (std::pair<std::string, std::string>{"io.max", "8:0 rbps=1048576"}));
}

// A fixture cgroup tree of plain files: what the writer does with it.
class CgroupWriteTest : public testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/husk-cgroup-unit.XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        root_ = tmpl;
        std::filesystem::create_directories(root_ + "/memory/ctr");
        std::filesystem::create_directories(root_ + "/unified/parent/ctr");
        touch(root_ + "/memory/ctr/memory.limit_in_bytes");
        touch(root_ + "/unified/cgroup.subtree_control");
        touch(root_ + "/unified/parent/cgroup.subtree_control");
        touch(root_ + "/unified/parent/ctr/hugetlb.2MB.max");
        dirs_ = {{root_ + "/memory", "memory", root_ + "/memory/ctr"},
                 {root_ + "/unified", "", root_ + "/unified/parent/ctr"}};
    }
    void TearDown() override { std::filesystem::remove_all(root_); }

    static void touch(const std::string& path) { std::ofstream(path) << ""; }
    static std::string slurp(const std::string& path) {
        std::ifstream in(path);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

    std::string root_;
    std::vector<CgroupDir> dirs_;
};

TEST_F(CgroupWriteTest, WritesIntoTheControllersDirectory) {
    std::vector<CgroupWrite> writes = {
        {"linux.resources.memory.limit", "memory", false, {{"memory.limit_in_bytes", "1048576"}}}};
    ASSERT_TRUE(apply_cgroup_writes(dirs_, {}, writes).has_value());
    EXPECT_EQ(slurp(root_ + "/memory/ctr/memory.limit_in_bytes"), "1048576");
}

TEST_F(CgroupWriteTest, MissingFileIsNamed) {
    std::vector<CgroupWrite> writes = {
        {"linux.resources.memory.swap", "memory", false, {{"memory.memsw.limit_in_bytes", "1"}}}};
    auto st = apply_cgroup_writes(dirs_, {}, writes);
    ASSERT_FALSE(st.has_value());
    EXPECT_NE(st.error().message().find("linux.resources.memory.swap: " + root_ +
                                        "/memory/ctr/memory.memsw.limit_in_bytes does not exist"),
              std::string::npos)
        << st.error().message();
}

TEST_F(CgroupWriteTest, V2ControllersAreEnabledOnlyInLevelsWeCreated) {
    std::vector<CgroupWrite> writes = {
        {"linux.resources.hugepageLimits[0]", "hugetlb", true, {{"hugetlb.2MB.max", "0"}}}};
    // The parent existed before: husk refuses to change it, and says how to.
    auto st = apply_cgroup_writes(dirs_, {}, writes);
    ASSERT_FALSE(st.has_value());
    EXPECT_NE(st.error().message().find("the hugetlb controller is not enabled for the children "
                                        "of " +
                                        root_ + "/unified"),
              std::string::npos)
        << st.error().message();
    EXPECT_EQ(slurp(root_ + "/unified/cgroup.subtree_control"), "");

    // The root delegates it; the parent is ours: enabled there, then written.
    std::ofstream(root_ + "/unified/cgroup.subtree_control") << "hugetlb\n";
    ASSERT_TRUE(apply_cgroup_writes(dirs_, {root_ + "/unified/parent"}, writes).has_value());
    EXPECT_EQ(slurp(root_ + "/unified/parent/cgroup.subtree_control"), "+hugetlb");
    EXPECT_EQ(slurp(root_ + "/unified/parent/ctr/hugetlb.2MB.max"), "0");
}

TEST_F(CgroupWriteTest, CapsFromRecordedDirs) {
    // The container's directory has only what its creation delegated; an update may add a
    // limit of any controller the tree offers.
    std::ofstream(root_ + "/unified/parent/ctr/cgroup.controllers") << "hugetlb\n";
    std::ofstream(root_ + "/unified/cgroup.controllers") << "cpu hugetlb\n";
    CgroupCaps caps = cgroup_caps(dirs_);
    EXPECT_EQ(caps.layout, CgroupLayout::hybrid);
    EXPECT_TRUE(caps.v1.contains("memory"));
    EXPECT_TRUE(caps.v2.contains("hugetlb"));
    EXPECT_TRUE(caps.v2.contains("cpu"));
}

TEST_F(CgroupWriteTest, AParentHoldingProcessesIsNamedWithTheRule) {
    std::vector<CgroupWrite> writes = {
        {"linux.resources.hugepageLimits[0]", "hugetlb", true, {{"hugetlb.2MB.max", "0"}}}};
    std::ofstream(root_ + "/unified/cgroup.subtree_control") << "hugetlb\n";
    // Not created by us, and not the root (it has cgroup.type), with a process in it.
    std::ofstream(root_ + "/unified/parent/cgroup.type") << "domain\n";
    std::ofstream(root_ + "/unified/parent/cgroup.procs") << "4242\n";
    auto st = apply_cgroup_writes(dirs_, {}, writes);
    ASSERT_FALSE(st.has_value());
    EXPECT_NE(st.error().message().find(root_ + "/unified/parent holds processes of its own"),
              std::string::npos)
        << st.error().message();
    EXPECT_NE(st.error().message().find("\"no internal processes\" rule"), std::string::npos)
        << st.error().message();
    EXPECT_EQ(slurp(root_ + "/unified/parent/cgroup.subtree_control"), "");
}

}  // namespace
}  // namespace husk::runtime
