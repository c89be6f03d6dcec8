// The systemd driver's pure half: slice/scope names as systemd forms them, and
// linux.resources as unit properties on v1 and v2. The D-Bus half runs against a real
// systemd in the VM test (tests/vm/systemd-cgroup.bats).
#include <gtest/gtest.h>

#include <string>

#include "runtime/cgroups_systemd.hpp"

namespace husk::runtime {
namespace {

std::string texts(const std::vector<UnitProperty>& props) {
    std::string out;
    for (const auto& p : props) out += (out.empty() ? "" : "|") + property_text(p);
    return out;
}

TEST(SystemdNames, ExpandSliceNestsByDash) {
    EXPECT_EQ(*expand_slice("system.slice"), "/system.slice");
    EXPECT_EQ(*expand_slice("a-b.slice"), "/a.slice/a-b.slice");
    EXPECT_EQ(*expand_slice("a-b-c.slice"), "/a.slice/a-b.slice/a-b-c.slice");
    EXPECT_EQ(*expand_slice("machine.slice"), "/machine.slice");
    EXPECT_EQ(*expand_slice("-.slice"), "");
}

TEST(SystemdNames, ExpandSliceRefusesWhatSystemdRefuses) {
    for (const char* bad : {"system", ".slice", "a--b.slice", "-a.slice", "a-.slice", "a/b.slice",
                            "a b.slice", "a@b.slice", "system.scope"}) {
        auto r = expand_slice(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_NE(r.error().what().find(bad), std::string::npos) << r.error().what();
    }
    EXPECT_NE(expand_slice("a--b.slice").error().what().find("separates nested slices"),
              std::string::npos);
    EXPECT_NE(expand_slice("husk").error().what().find("ends in \".slice\""), std::string::npos);
}

TEST(SystemdNames, ParseCgroupsPath) {
    auto p = parse_systemd_cgroups_path("", "ctr1");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->slice, "system.slice");
    EXPECT_EQ(p->unit(), "husk-ctr1.scope");
    EXPECT_EQ(*systemd_scope_cgroup(*p), "/system.slice/husk-ctr1.scope");

    p = parse_systemd_cgroups_path("user-1000.slice:docker:abc", "ctr1");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->unit(), "docker-abc.scope");
    EXPECT_EQ(*systemd_scope_cgroup(*p), "/user.slice/user-1000.slice/docker-abc.scope");

    // Empty fields: the default slice, the container id; no prefix means no dash.
    p = parse_systemd_cgroups_path(":husk:", "ctr1");
    ASSERT_TRUE(p);
    EXPECT_EQ(*systemd_scope_cgroup(*p), "/system.slice/husk-ctr1.scope");
    p = parse_systemd_cgroups_path("machine.slice::web", "ctr1");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->unit(), "web.scope");
}

TEST(SystemdNames, ParseRefusesBadPaths) {
    struct Case {
        const char* path;
        const char* says;
    } cases[] = {
        {"/husk/ctr", "\"slice:prefix:name\""},
        {"a:b", "\"slice:prefix:name\""},
        {"a:b:c:d", "\"slice:prefix:name\""},
        {"nope:husk:c", "ends in \".slice\""},
        {"a--b.slice:husk:c", "separates nested slices"},
        {"system.slice:hu/sk:c", "not a valid systemd unit name"},
        {"system.slice:husk:c d", "not a valid systemd unit name"},
        {"system.slice:husk:sub.slice", "is a slice"},
    };
    for (const auto& c : cases) {
        auto r = parse_systemd_cgroups_path(c.path, "ctr1");
        ASSERT_FALSE(r) << c.path;
        EXPECT_NE(r.error().what().find(c.says), std::string::npos)
            << c.path << ": " << r.error().what();
        EXPECT_NE(r.error().what().find("linux.cgroupsPath"), std::string::npos);
    }
    std::string long_name(300, 'x');
    EXPECT_FALSE(parse_systemd_cgroups_path("system.slice:husk:" + long_name, "c"));
}

TEST(SystemdProperties, Scope) {
    auto p = parse_systemd_cgroups_path("", "c1");
    auto props = scope_properties(*p, 4242, true);
    EXPECT_EQ(texts(props),
              "Description=husk container c1|Slice=system.slice|PIDs=4242|Delegate=yes|"
              "DefaultDependencies=no|MemoryAccounting=yes|CPUAccounting=yes|"
              "TasksAccounting=yes|IOAccounting=yes");
    EXPECT_TRUE(texts(scope_properties(*p, 1, false)).ends_with("|BlockIOAccounting=yes"));
    EXPECT_STREQ(property_signature(props[2].value), "au");
    EXPECT_STREQ(property_signature(props[3].value), "b");
}

TEST(SystemdProperties, V2Resources) {
    oci::Resources r;
    r.memory = oci::MemoryResources{};
    r.memory->limit = 33554432;
    r.memory->reservation = 16777216;
    r.memory->swap = 67108864;
    r.memory->swappiness = 10;  // no property: files only
    r.cpu = oci::CpuResources{};
    r.cpu->shares = 1024;
    r.cpu->quota = 50000;
    r.cpu->period = 100000;
    r.cpu->cpus = "0-1,3";
    r.cpu->mems = "0";
    r.pids_limit = 20;
    r.block_io = oci::BlockIoResources{};
    r.block_io->weight = 500;
    r.unified = {{"memory.high", "max"}, {"io.max", "8:0 rbps=1"}};
    auto props = resource_properties(r, true, "/nonexistent");
    ASSERT_TRUE(props) << props.error().what();
    EXPECT_EQ(texts(*props),
              "MemoryMax=33554432|MemoryLow=16777216|MemorySwapMax=33554432|CPUWeight=39|"
              "CPUQuotaPeriodUSec=100000|CPUQuotaPerSecUSec=500000|AllowedCPUs=0b|"
              "AllowedMemoryNodes=01|TasksMax=20|IOWeight=4950|MemoryHigh=infinity");
}

TEST(SystemdProperties, V1Resources) {
    oci::Resources r;
    r.memory = oci::MemoryResources{};
    r.memory->limit = -1;
    r.memory->reservation = 1000;  // v1: soft limit file only
    r.cpu = oci::CpuResources{};
    r.cpu->shares = 512;
    r.cpu->quota = 33333;  // rounded up to systemd's 10 ms steps
    r.cpu->cpus = "1";     // AllowedCPUs is v2 only
    r.pids_limit = -1;
    r.block_io = oci::BlockIoResources{};
    r.block_io->weight = 300;
    auto props = resource_properties(r, false, "/nonexistent");
    ASSERT_TRUE(props);
    EXPECT_EQ(texts(*props),
              "MemoryLimit=infinity|CPUShares=512|CPUQuotaPerSecUSec=340000|"
              "TasksMax=infinity|BlockIOWeight=300");
}

TEST(SystemdProperties, UnlimitedQuotaAndBadInput) {
    oci::Resources r;
    r.cpu = oci::CpuResources{};
    r.cpu->quota = -1;
    EXPECT_EQ(texts(*resource_properties(r, true, "/nonexistent")), "CPUQuotaPerSecUSec=infinity");
    r.cpu->cpus = "3-1";
    auto bad = resource_properties(r, true, "/nonexistent");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().what().find("linux.resources.cpu.cpus"), std::string::npos);
    // Swap without a memory limit cannot be converted on v2, as on cgroupfs.
    oci::Resources s;
    s.memory = oci::MemoryResources{};
    s.memory->swap = 1000;
    auto swap = resource_properties(s, true, "/nonexistent");
    ASSERT_FALSE(swap);
    EXPECT_NE(swap.error().what().find("linux.resources.memory.swap"), std::string::npos);
}

TEST(SystemdProperties, CpusetMask) {
    EXPECT_EQ(*cpuset_mask("0"), (std::vector<uint8_t>{0x01}));
    EXPECT_EQ(*cpuset_mask("0-2,9"), (std::vector<uint8_t>{0x07, 0x02}));
    EXPECT_FALSE(cpuset_mask("a"));
    EXPECT_FALSE(cpuset_mask("1-"));
    EXPECT_FALSE(cpuset_mask("99999"));
}

TEST(SystemdProperties, DevicesAllowListAfterDenyAll) {
    const std::string proc_devices =
        "Character devices:\n  1 mem\n  4 tty\n136 pts\n180 usb\n\nBlock devices:\n  8 sd\n";
    std::vector<oci::DeviceRule> rules = {
        {false, 'a', -1, -1, "rwm"}, {true, 'c', 10, 200, "rw"},  // a tun device
        {true, 'b', 8, -1, "r"},                                  // every sd disk: by class
        {true, 'c', -1, -1, "m"},                                 // mknod of any char device
        {true, 'c', 4, 64, "rw"},    {false, 'c', 4, 64, "rw"},   // taken back
        {true, 'c', 250, -1, "rw"},  // no driver for that major: nothing to allow
    };
    auto props = device_properties(rules, proc_devices);
    EXPECT_EQ(texts(props),
              "DevicePolicy=strict|DeviceAllow=/dev/char/10:200:rw block-sd:r char-*:m "
              // the defaults every container gets
              "/dev/char/1:3:rwm /dev/char/1:5:rwm /dev/char/1:7:rwm /dev/char/5:0:rwm "
              "/dev/char/1:8:rwm /dev/char/1:9:rwm /dev/char/5:2:rwm char-pts:rwm");
    EXPECT_STREQ(property_signature(props[1].value), "a(ss)");
}

TEST(SystemdProperties, DevicePropertiesAreTakenApart) {
    oci::Resources r;
    r.pids_limit = 5;
    r.devices = {{false, 'a', -1, -1, "rwm"}};
    auto props = *resource_properties(r, true, "/nonexistent");
    auto devices = take_device_properties(props);
    EXPECT_EQ(texts(props), "TasksMax=5");
    ASSERT_EQ(devices.size(), 2u);
    EXPECT_EQ(devices[0].name, "DevicePolicy");
    EXPECT_EQ(devices[1].name, "DeviceAllow");
}

TEST(SystemdProperties, DevicesThatSystemdCannotSayLeaveAuto) {
    // Allow all, or a black list: no DeviceAllow can express it.
    EXPECT_EQ(texts(device_properties({{true, 'a', -1, -1, "rwm"}}, "")), "DevicePolicy=auto");
    EXPECT_EQ(texts(device_properties({{false, 'c', 1, 11, "rwm"}}, "")), "DevicePolicy=auto");
}

}  // namespace
}  // namespace husk::runtime
