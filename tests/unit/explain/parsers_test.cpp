#include <gtest/gtest.h>

#include "common/files.hpp"
#include "explain/mountinfo.hpp"
#include "explain/proc_parse.hpp"

namespace husk::explain {
namespace {

std::string fixture(const std::string& name) {
    auto text = read_file(std::string(HUSK_TEST_DATA_DIR) + "/" + name);
    EXPECT_TRUE(text.has_value()) << name;
    return text ? *text : "";
}

TEST(Status, FieldsAndIds) {
    auto s = parse_status(fixture("status.txt"));
    EXPECT_EQ(s["Name"], "sh");
    EXPECT_EQ(s["Seccomp"], "2");
    EXPECT_EQ(s["Seccomp_filters"], "1");
    EXPECT_EQ(s["NoNewPrivs"], "1");
    EXPECT_EQ(s["Groups"], "");
    EXPECT_EQ(parse_id_list(s["NSpid"]), (std::vector<long>{4242, 1}));
    EXPECT_EQ(parse_id_list(s["Uid"]), (std::vector<long>{0, 0, 0, 0}));
}

TEST(Capabilities, DockerDefaultMaskDecodes) {
    auto s = parse_status(fixture("status.txt"));
    auto mask = parse_cap_mask(s["CapEff"]);
    ASSERT_TRUE(mask);
    EXPECT_EQ(*mask, 0xa80425fbULL);
    auto names = cap_names(*mask);
    EXPECT_EQ(names,
              (std::vector<std::string>{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
                                        "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
                                        "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT",
                                        "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP"}));
    EXPECT_TRUE(cap_names(0).empty());
    EXPECT_EQ(cap_from_name("CAP_SYS_ADMIN"), 21);
    EXPECT_EQ(cap_from_name("cap_net_raw"), 13);
    EXPECT_EQ(cap_from_name("CAP_NOPE"), -1);
    EXPECT_FALSE(parse_cap_mask("zz"));
    EXPECT_FALSE(parse_cap_mask(""));
}

TEST(Capabilities, BitsLibcapDoesNotNameStayNumbered) {
    auto names = cap_names(uint64_t{1} << 63);
    ASSERT_EQ(names.size(), 1u);
    EXPECT_EQ(names[0], "cap_63");
}

TEST(Limits, FixedColumns) {
    auto rows = parse_limits(fixture("limits.txt"));
    ASSERT_EQ(rows.size(), 16u);
    EXPECT_EQ(rows[7].name, "Max open files");
    EXPECT_EQ(rows[7].soft, "1024");
    EXPECT_EQ(rows[7].hard, "4096");
    EXPECT_EQ(rows[7].units, "files");
    EXPECT_EQ(rows[3].soft, "8388608");
    EXPECT_EQ(rows[3].hard, "unlimited");
    EXPECT_EQ(rows[13].name, "Max nice priority");
    EXPECT_EQ(rows[13].units, "");
    EXPECT_TRUE(parse_limits("").empty());
}

TEST(IdMap, Rows) {
    auto rows = parse_id_map(fixture("uid_map.txt"));
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].inside, 0u);
    EXPECT_EQ(rows[0].outside, 100000u);
    EXPECT_EQ(rows[0].count, 65536u);
    EXPECT_TRUE(parse_id_map("1 2\n").empty());
}

TEST(ProcCgroup, V1NamedAndV2) {
    auto lines = parse_proc_cgroup(fixture("cgroup.txt"));
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(lines[1].controllers, "cpu,cpuacct");
    EXPECT_EQ(lines[2].controllers, "name=systemd");
    EXPECT_EQ(lines[3].hierarchy_id, "0");
    EXPECT_EQ(lines[3].controllers, "");
    EXPECT_EQ(lines[3].path, "/husk/ctr");
}

TEST(CgroupValues, EventsAndLimits) {
    auto ev = parse_flat_keyed(fixture("memory.events"));
    EXPECT_EQ(ev["oom_kill"], "1");
    EXPECT_EQ(ev["max"], "17");
    EXPECT_EQ(parse_cgroup_limit("max\n"), std::nullopt);
    EXPECT_EQ(parse_cgroup_limit("9223372036854771712"), std::nullopt);  // v1 "unlimited"
    EXPECT_EQ(parse_cgroup_limit("67108864\n"), 67108864);
    EXPECT_EQ(parse_cgroup_limit("-1"), std::nullopt);
}

TEST(Mountinfo, ParsesAndUnescapes) {
    auto m = parse_mountinfo(fixture("mountinfo.txt"));
    ASSERT_EQ(m.size(), 10u);
    EXPECT_EQ(m[0].id, 812);
    EXPECT_EQ(m[0].parent, 640);
    EXPECT_EQ(m[0].mount_point, "/");
    EXPECT_TRUE(m[0].read_only());
    EXPECT_EQ(m[0].optional, "master:1");
    EXPECT_EQ(m[5].root, "/srv/data dir");
    EXPECT_EQ(m[5].fstype, "ext4");
    EXPECT_FALSE(m[5].read_only());
    EXPECT_TRUE(m[1].has_option("noexec"));
    EXPECT_FALSE(m[1].has_option("exec"));
    auto opts = m[6].super_option_map();
    EXPECT_EQ(opts["lowerdir"], "/l/one:/l/two");
    EXPECT_EQ(opts["upperdir"], "/u/up");
}

TEST(Mountinfo, HostSourceOfABind) {
    auto host = parse_mountinfo(fixture("host_mountinfo.txt"));
    auto m = parse_mountinfo(fixture("mountinfo.txt"));
    EXPECT_EQ(host_source(m[0], host), "/tmp/husk-bats.x/rootfs");
    EXPECT_EQ(host_source(m[5], host), "/srv/data dir");
    EXPECT_EQ(host_source(m[2], host), "");  // the container's own tmpfs
}

TEST(Mountinfo, TreeClassifies) {
    auto host = parse_mountinfo(fixture("host_mountinfo.txt"));
    auto tree =
        mount_tree(parse_mountinfo(fixture("mountinfo.txt")), host, "/tmp/husk-bats.x/rootfs");
    ASSERT_EQ(tree.size(), 10u);
    // Depth-first: / then /proc and its children, then /dev and its children, ...
    std::vector<std::string> order;
    for (auto& n : tree) order.push_back(n.entry.mount_point + "@" + std::to_string(n.depth));
    EXPECT_EQ(order, (std::vector<std::string>{"/@0", "/proc@1", "/proc/kcore@2", "/proc/acpi@2",
                                               "/proc/sys@2", "/dev@1", "/dev/pts@2", "/dev/shm@2",
                                               "/data@1", "/merged@1"}));
    auto find = [&](const std::string& p) -> const MountNode& {
        for (auto& n : tree)
            if (n.entry.mount_point == p) return n;
        throw std::runtime_error(p);
    };
    EXPECT_TRUE(find("/").read_only);
    EXPECT_FALSE(find("/").host_bind);  // the rootfs itself
    EXPECT_TRUE(find("/proc/kcore").masked);
    EXPECT_TRUE(find("/proc/acpi").masked);
    EXPECT_FALSE(find("/proc/sys").masked);
    EXPECT_TRUE(find("/proc/sys").read_only);
    EXPECT_FALSE(find("/dev").masked);
    EXPECT_TRUE(find("/data").host_bind);
    EXPECT_EQ(find("/data").host_path, "/srv/data dir");
    EXPECT_EQ(find("/merged").overlay_lower, (std::vector<std::string>{"/l/one", "/l/two"}));
    EXPECT_EQ(find("/merged").overlay_upper, "/u/up");
    EXPECT_FALSE(find("/merged").host_bind);
}

}  // namespace
}  // namespace husk::explain
