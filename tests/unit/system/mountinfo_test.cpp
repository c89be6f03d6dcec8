// The mount table model: parsing, octal escapes, and what is visible after over-mounts.
#include <gtest/gtest.h>

#include "system/mountinfo.hpp"

namespace husk::system {
namespace {

const char* const base =
    "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
    "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
    "23 27 0:22 / /sys rw,relatime - sysfs sysfs rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
    "24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,mode=755\n"
    "26 24 0:24 / /dev/pts rw,relatime - devpts devpts rw,mode=600\n";

TEST(Mountinfo, ParsesFields) {
    auto mounts = parse_mountinfo(base);
    ASSERT_EQ(mounts.size(), 8u);
    EXPECT_EQ(mounts[4].id, 35);
    EXPECT_EQ(mounts[4].parent, 31);
    EXPECT_EQ(mounts[4].mount_point, "/sys/fs/cgroup/memory");
    EXPECT_EQ(mounts[4].fs_type, "cgroup");
    EXPECT_EQ(mounts[4].super_options, "rw,memory");
    for (auto& m : mounts) EXPECT_TRUE(m.visible) << m.mount_point;
}

TEST(Mountinfo, DecodesOctalEscapes) {
    auto mounts = parse_mountinfo("30 1 0:40 / /mnt/with\\040space rw - tmpfs a\\134b rw\n");
    ASSERT_EQ(mounts.size(), 1u);
    EXPECT_EQ(mounts[0].mount_point, "/mnt/with space");
    EXPECT_EQ(mounts[0].source, "a\\b");
}

TEST(Mountinfo, SkipsMalformedLines) {
    auto mounts = parse_mountinfo("garbage\nx y z - a b c\n22 27 0:21 / /proc rw - proc proc rw\n");
    ASSERT_EQ(mounts.size(), 1u);
    EXPECT_EQ(mounts[0].mount_point, "/proc");
}

TEST(Mountinfo, TmpfsOverCgroupRootHidesEveryHierarchy) {
    auto mounts =
        parse_mountinfo(std::string(base) + "90 31 0:90 / /sys/fs/cgroup rw - tmpfs none rw\n");
    EXPECT_EQ(visible_mount_at(mounts, "/sys/fs/cgroup/memory"), nullptr);
    EXPECT_EQ(visible_mount_at(mounts, "/sys/fs/cgroup/unified"), nullptr);
    auto* top = visible_mount_at(mounts, "/sys/fs/cgroup");
    ASSERT_NE(top, nullptr);
    EXPECT_EQ(top->id, 90);
    // /sys itself is untouched.
    EXPECT_NE(visible_mount_at(mounts, "/sys"), nullptr);
}

TEST(Mountinfo, StackedMountIsTheVisibleOne) {
    auto mounts = parse_mountinfo(std::string(base) +
                                  "29 26 0:26 / /dev/pts rw - devpts devpts rw,mode=620\n");
    auto* pts = visible_mount_at(mounts, "/dev/pts");
    ASSERT_NE(pts, nullptr);
    EXPECT_EQ(pts->id, 29);
}

TEST(Mountinfo, StackOnAnAncestorKeepsChildrenOfTheTopVisible) {
    // A second /sys/fs/cgroup tmpfs stacked on the first, with its own hierarchy below it.
    auto mounts = parse_mountinfo(std::string(base) +
                                  "90 31 0:90 / /sys/fs/cgroup rw - tmpfs none rw\n"
                                  "91 90 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n");
    auto* v2 = visible_mount_at(mounts, "/sys/fs/cgroup/unified");
    ASSERT_NE(v2, nullptr);
    EXPECT_EQ(v2->id, 91);
    EXPECT_EQ(visible_mount_at(mounts, "/sys/fs/cgroup/memory"), nullptr);
}

TEST(Mountinfo, MountHoldingAndReadOnly) {
    auto mounts =
        parse_mountinfo(std::string(base) + "50 22 0:21 /sys /proc/sys ro,nosuid - proc proc rw\n");
    auto* m = mount_holding(mounts, "/proc/sys/net/ipv4/ip_forward");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->mount_point, "/proc/sys");
    EXPECT_TRUE(m->read_only());
    auto* p = mount_holding(mounts, "/proc/self/status");
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->mount_point, "/proc");
    EXPECT_FALSE(p->read_only());
    // A prefix that is not a path component does not count.
    EXPECT_EQ(mount_holding(mounts, "/procfoo")->mount_point, "/");
}

TEST(Mountinfo, SuperblockReadOnlyCounts) {
    auto mounts = parse_mountinfo("24 1 0:24 / /sys/fs/cgroup rw - cgroup2 cgroup2 ro\n");
    EXPECT_TRUE(mounts[0].read_only());
}

}  // namespace
}  // namespace husk::system
