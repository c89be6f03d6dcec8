// The bootstrap's decisions, from fixture mount tables: what it mounts, what it leaves, and
// which cgroup layout it sets up. (Acting on them needs a real mount namespace: the
// integration tests in tests/integration/system/ do that.)
#include <gtest/gtest.h>

#include "system/bootstrap.hpp"
#include "system/cgroup_view.hpp"

namespace husk::system {
namespace {

HostView fixture(const std::string& name) {
    HostView host;
    host.root = std::string(HUSK_TEST_DATA_DIR) + "/" + name;
    return host;
}

std::vector<MountEntry> mounts_of(const std::string& name) {
    auto m = read_mountinfo(fixture(name).path("/proc/self/mountinfo"));
    return m ? *m : std::vector<MountEntry>{};
}

const MountSpec& spec(const std::string& target) {
    for (auto& s : base_mounts())
        if (s.target == target) return s;
    throw std::runtime_error("no spec " + target);
}

TEST(Bootstrap, NothingToMountOnThisMachine) {
    auto mounts = mounts_of("hybrid");
    for (auto& s : base_mounts())
        EXPECT_EQ(decide_mount(mounts, s).action, MountAction::none) << s.target;
}

TEST(Bootstrap, BareGuestMountsEverything) {
    std::vector<MountEntry> none;
    for (auto& s : base_mounts()) {
        auto d = decide_mount(none, s);
        EXPECT_EQ(d.action, MountAction::mount) << s.target;
        EXPECT_EQ(d.detail, "nothing mounted on " + s.target);
    }
}

TEST(Bootstrap, HiddenMountIsMountedOver) {
    auto mounts = parse_mountinfo(
        "1 0 0:2 / / rw - rootfs rootfs rw\n"
        "20 1 0:19 / /proc rw - proc proc rw\n"
        "30 1 0:30 / /proc rw - tmpfs hide rw\n");
    auto d = decide_mount(mounts, spec("/proc"));
    EXPECT_EQ(d.action, MountAction::mount);
    EXPECT_EQ(d.detail, "/proc holds tmpfs, which hides what belongs there");
}

TEST(Bootstrap, DevAsTmpfsIsAccepted) {
    auto mounts = parse_mountinfo(
        "1 0 0:2 / / rw - rootfs rootfs rw\n"
        "23 1 0:5 / /dev rw - tmpfs dev rw\n");
    EXPECT_EQ(decide_mount(mounts, spec("/dev")).action, MountAction::none);
}

TEST(Bootstrap, ReadOnlyWhenWritableIsWanted) {
    auto mounts = mounts_of("degraded");
    EXPECT_EQ(decide_mount(mounts, spec("/dev/shm")).action, MountAction::none);
    EXPECT_EQ(decide_mount(mounts, spec("/dev/shm"), true).action, MountAction::remount_rw);
    EXPECT_EQ(decide_mount(mounts, spec("/dev/pts")).action, MountAction::mount);
}

TEST(Bootstrap, KernelV1Hierarchies) {
    auto v1 = kernel_v1_hierarchies(
        "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
        "cpuset\t3\t3\t1\ncpu\t1\t3\t1\ncpuacct\t1\t3\t1\nhugetlb\t0\t2\t1\nmemory\t4\t9\t0\n");
    ASSERT_EQ(v1.size(), 2u);  // memory is disabled (cgroup_disable=memory), hugetlb unbound
    EXPECT_EQ(v1[1], (std::set<std::string>{"cpu", "cpuacct"}));
    EXPECT_EQ(v1[3], (std::set<std::string>{"cpuset"}));
}

TEST(Bootstrap, CgroupPlanOnThisMachineIsNothing) {
    auto plan = plan_cgroup_mounts(fixture("hybrid"), mounts_of("hybrid"));
    EXPECT_EQ(plan.kind, CgroupPlan::Kind::none);
    EXPECT_EQ(plan.detail, "hybrid layout, writable");
}

TEST(Bootstrap, HiddenCgroupsOnAHybridKernelAreMountedAgainAsV1) {
    auto plan = plan_cgroup_mounts(fixture("cgroup-hidden"), mounts_of("cgroup-hidden"));
    EXPECT_EQ(plan.kind, CgroupPlan::Kind::mount_v1_hybrid);
    // One mount per hierarchy the kernel has bound (this machine: 8, cpu and cpuacct apart).
    EXPECT_EQ(plan.v1_groups.size(), 8u);
    EXPECT_NE(std::find(plan.v1_groups.begin(), plan.v1_groups.end(), "memory"),
              plan.v1_groups.end());
}

TEST(Bootstrap, NoCgroupsOnAV2KernelMountsCgroup2) {
    // The degraded guest with its cgroup2 mount removed: nothing bound to v1.
    auto mounts = mounts_of("degraded");
    std::erase_if(mounts, [](const MountEntry& m) { return m.fs_type == "cgroup2"; });
    auto plan = plan_cgroup_mounts(fixture("degraded"), mounts);
    EXPECT_EQ(plan.kind, CgroupPlan::Kind::mount_v2);
}

TEST(Bootstrap, ReadOnlyCgroup2IsRemounted) {
    auto mounts = mounts_of("degraded");
    for (auto& m : mounts)
        if (m.fs_type == "cgroup2") m.super_options = "ro";
    auto plan = plan_cgroup_mounts(fixture("degraded"), mounts);
    EXPECT_EQ(plan.kind, CgroupPlan::Kind::remount_rw);
    EXPECT_EQ(plan.detail, "/sys/fs/cgroup is read-only");
}

TEST(Bootstrap, StepStateNames) {
    EXPECT_STREQ(step_state_name(StepState::done), "done");
    EXPECT_STREQ(step_state_name(StepState::already_ok), "already ok");
    EXPECT_STREQ(step_state_name(StepState::cannot), "cannot");
}

}  // namespace
}  // namespace husk::system
