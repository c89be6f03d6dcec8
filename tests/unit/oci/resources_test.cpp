// linux.resources and linux.cgroupsPath: what is read, and every rule that rejects input
// before a cgroup is touched (with the field's path in the error).
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
    "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}
})";

std::string with_linux(const std::string& linux_patch) {
    Json config = Json::parse(kBase);
    config.merge_patch(Json::parse(R"({"linux": )" + linux_patch + "}"));
    return config.dump();
}

TEST(ResourcesParseTest, ReadsEverySection) {
    auto spec = parse_config(with_linux(R"({
        "cgroupsPath": "/husk/ctr",
        "resources": {
            "devices": [{"allow": false, "access": "rwm"},
                        {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}],
            "memory": {"limit": 67108864, "reservation": 33554432, "swap": 134217728,
                       "swappiness": 10, "disableOOMKiller": true, "useHierarchy": true},
            "cpu": {"shares": 512, "quota": 50000, "period": 100000, "burst": 10000,
                    "cpus": "0-1", "mems": "0", "idle": 1},
            "pids": {"limit": 20},
            "blockIO": {"weight": 500,
                        "weightDevice": [{"major": 8, "minor": 0, "weight": 100}],
                        "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                        "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 100}]},
            "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
            "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 5}]},
            "unified": {"memory.high": "50000000", "hugetlb.2MB.max": "0"}
        }})"));
    ASSERT_TRUE(spec.has_value()) << spec.error().message();
    const Resources& r = spec->linux.resources;
    EXPECT_EQ(spec->linux.cgroups_path, "/husk/ctr");
    ASSERT_EQ(r.devices.size(), 2u);
    EXPECT_FALSE(r.devices[0].allow);
    EXPECT_EQ(r.devices[0].type, 'a');
    EXPECT_EQ(r.devices[0].major, -1);
    EXPECT_EQ(r.devices[1].type, 'c');
    EXPECT_EQ(r.devices[1].minor, 3);
    EXPECT_EQ(r.devices[1].access, "rw");
    ASSERT_TRUE(r.memory);
    EXPECT_EQ(r.memory->limit, 67108864);
    EXPECT_EQ(r.memory->reservation, 33554432);
    EXPECT_EQ(r.memory->swap, 134217728);
    EXPECT_EQ(r.memory->swappiness, 10u);
    EXPECT_EQ(r.memory->disable_oom_killer, true);
    ASSERT_TRUE(r.cpu);
    EXPECT_EQ(r.cpu->shares, 512u);
    EXPECT_EQ(r.cpu->quota, 50000);
    EXPECT_EQ(r.cpu->period, 100000u);
    EXPECT_EQ(r.cpu->burst, 10000u);
    EXPECT_EQ(r.cpu->cpus, "0-1");
    EXPECT_EQ(r.cpu->idle, 1);
    EXPECT_EQ(r.pids_limit, 20);
    ASSERT_TRUE(r.block_io);
    EXPECT_EQ(r.block_io->weight, 500);
    ASSERT_EQ(r.block_io->weight_devices.size(), 1u);
    EXPECT_EQ(r.block_io->weight_devices[0].weight, 100);
    ASSERT_EQ(r.block_io->read_bps.size(), 1u);
    EXPECT_EQ(r.block_io->read_bps[0].rate, 1048576u);
    ASSERT_EQ(r.block_io->write_iops.size(), 1u);
    ASSERT_EQ(r.hugepage_limits.size(), 1u);
    EXPECT_EQ(r.hugepage_limits[0].page_size, "2MB");
    ASSERT_TRUE(r.network);
    EXPECT_EQ(r.network->class_id, 1048577u);
    ASSERT_EQ(r.network->priorities.size(), 1u);
    EXPECT_EQ(r.network->priorities[0].first, "eth0");
    EXPECT_EQ(r.unified.at("memory.high"), "50000000");
    EXPECT_FALSE(r.empty());
}

TEST(ResourcesParseTest, ZeroMeansUnsetAsRuncReadsIt) {
    auto spec = parse_config(with_linux(
        R"({"resources": {"memory": {"limit": 0, "swap": 0}, "cpu": {"shares": 0, "quota": 0},
                          "pids": {"limit": 0}, "blockIO": {"weight": 0}}})"));
    ASSERT_TRUE(spec.has_value()) << spec.error().message();
    EXPECT_FALSE(spec->linux.resources.memory->limit);
    EXPECT_FALSE(spec->linux.resources.pids_limit);
    EXPECT_TRUE(spec->linux.resources.empty());
}

TEST(ResourcesParseTest, UnlimitedIsMinusOne) {
    auto spec = parse_config(with_linux(
        R"({"resources": {"memory": {"limit": -1, "swap": -1}, "cpu": {"quota": -1},
                          "pids": {"limit": -1}}})"));
    ASSERT_TRUE(spec.has_value()) << spec.error().message();
    EXPECT_EQ(spec->linux.resources.memory->limit, -1);
    EXPECT_EQ(spec->linux.resources.cpu->quota, -1);
    EXPECT_EQ(spec->linux.resources.pids_limit, -1);
}

TEST(ResourcesParseTest, StandaloneResourcesForUpdate) {
    auto r = parse_resources(R"({"memory": {"limit": 1048576}, "pids": {"limit": 5}})", "-");
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(r->memory->limit, 1048576);
    auto bad = parse_resources(R"({"pids": {"limit": -5}})", "update.json");
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().message(),
              "update.json: resources.pids.limit: -5 is negative (use -1 for unlimited)");
    EXPECT_FALSE(parse_resources("{", "x").has_value());
}

// The systemd form is the runtime's to check: it knows whether --systemd-cgroup was given
// (tests/unit/runtime/cgroups_systemd_test.cpp).
TEST(ResourcesParseTest, KeepsASystemdSlicePath) {
    auto spec = parse_config(with_linux(R"({"cgroupsPath": "system.slice:husk:ctr"})"));
    ASSERT_TRUE(spec.has_value()) << spec.error().message();
    EXPECT_EQ(spec->linux.cgroups_path, "system.slice:husk:ctr");
}

struct ErrorCase {
    const char* name;
    const char* linux_patch;
    const char* error;
};

std::ostream& operator<<(std::ostream& out, const ErrorCase& c) {
    return out << c.name;
}

class ResourcesErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(ResourcesErrorTest, RejectsWithFieldPath) {
    const ErrorCase& c = GetParam();
    auto spec = parse_config(with_linux(c.linux_patch));
    ASSERT_FALSE(spec.has_value()) << "accepted: " << c.linux_patch;
    EXPECT_NE(spec.error().message().find(c.error), std::string::npos)
        << "error: " << spec.error().message() << "\nexpected: " << c.error;
}

const ErrorCase kErrorCases[] = {
    {"path_dotdot", R"({"cgroupsPath": "/husk/../../escape"})",
     "linux.cgroupsPath: \"/husk/../../escape\" contains \"..\""},
    {"path_dotdot_relative", R"({"cgroupsPath": ".."})", "contains \"..\""},
    {"not_object", R"({"resources": []})", "linux.resources: expected an object"},
    {"memory_negative", R"({"resources": {"memory": {"limit": -2}}})",
     "linux.resources.memory.limit: -2 is negative (use -1 for unlimited)"},
    {"memory_tiny", R"({"resources": {"memory": {"limit": 100}}})",
     "linux.resources.memory.limit: 100 bytes is below one page"},
    {"memory_not_int", R"({"resources": {"memory": {"limit": "1g"}}})",
     "linux.resources.memory.limit: expected an integer"},
    {"memory_huge", R"({"resources": {"memory": {"limit": 18446744073709551615}}})",
     "linux.resources.memory.limit: 18446744073709551615 is out of range"},
    {"swap_below_limit", R"({"resources": {"memory": {"limit": 67108864, "swap": 4096}}})",
     "linux.resources.memory.swap: 4096 is below memory.limit 67108864"},
    {"swappiness", R"({"resources": {"memory": {"swappiness": 101}}})",
     "linux.resources.memory.swappiness: 101 is out of range [0, 100]"},
    {"kernel_memory", R"({"resources": {"memory": {"kernel": 1048576}}})",
     "linux.resources.memory.kernel: not supported by husk-runtime"},
    {"use_hierarchy_false", R"({"resources": {"memory": {"useHierarchy": false}}})",
     "linux.resources.memory.useHierarchy: false is not supported"},
    {"shares_low", R"({"resources": {"cpu": {"shares": 1}}})",
     "linux.resources.cpu.shares: 1 is out of range [2, 262144]"},
    {"quota_low", R"({"resources": {"cpu": {"quota": 500}}})",
     "linux.resources.cpu.quota: 500 us is out of range"},
    {"quota_negative", R"({"resources": {"cpu": {"quota": -5}}})",
     "linux.resources.cpu.quota: -5 us is out of range"},
    {"period_high", R"({"resources": {"cpu": {"period": 2000000}}})",
     "linux.resources.cpu.period: 2000000 us is out of range [1000, 1000000]"},
    {"burst_above_quota", R"({"resources": {"cpu": {"quota": 10000, "burst": 20000}}})",
     "linux.resources.cpu.burst: 20000 us is above the quota"},
    {"cpus_syntax", R"({"resources": {"cpu": {"cpus": "0-,3"}}})",
     "linux.resources.cpu.cpus: \"0-,3\" is not a cpu/node list"},
    {"idle", R"({"resources": {"cpu": {"idle": 2}}})", "linux.resources.cpu.idle: 2 is out of"},
    {"realtime", R"({"resources": {"cpu": {"realtimeRuntime": 1000}}})",
     "linux.resources.cpu.realtimeRuntime: not supported by husk-runtime"},
    {"pids_negative", R"({"resources": {"pids": {"limit": -7}}})",
     "linux.resources.pids.limit: -7 is negative"},
    {"pids_missing", R"({"resources": {"pids": {}}})", "linux.resources.pids.limit: required"},
    {"blkio_weight", R"({"resources": {"blockIO": {"weight": 5}}})",
     "linux.resources.blockIO.weight: 5 is out of range [10, 1000]"},
    {"blkio_leaf", R"({"resources": {"blockIO": {"leafWeight": 500}}})",
     "linux.resources.blockIO.leafWeight: not supported"},
    {"blkio_device_major",
     R"({"resources": {"blockIO": {"throttleReadBpsDevice": [{"major": 5000, "minor": 0, "rate": 1}]}}})",
     "linux.resources.blockIO.throttleReadBpsDevice[0].major: 5000 is not a device major number"},
    {"blkio_weight_device_missing_weight",
     R"({"resources": {"blockIO": {"weightDevice": [{"major": 8, "minor": 0}]}}})",
     "linux.resources.blockIO.weightDevice[0].weight: required"},
    {"hugepage_size", R"({"resources": {"hugepageLimits": [{"pageSize": "2M", "limit": 1}]}})",
     "linux.resources.hugepageLimits[0].pageSize: \"2M\" is not a page size"},
    {"net_prio_name",
     R"({"resources": {"network": {"priorities": [{"name": "eth0 9", "priority": 1}]}}})",
     "linux.resources.network.priorities[0].name: \"eth0 9\" is not a network interface name"},
    {"unified_unknown", R"({"resources": {"unified": {"memory.bogus": "1"}}})",
     "linux.resources.unified[\"memory.bogus\"]: unknown cgroup v2 file \"memory.bogus\""},
    {"unified_core_file", R"({"resources": {"unified": {"cgroup.procs": "1"}}})",
     "unknown cgroup v2 file \"cgroup.procs\""},
    {"unified_path", R"({"resources": {"unified": {"../memory.max": "1"}}})",
     "unknown cgroup v2 file"},
    {"unified_newline", R"({"resources": {"unified": {"memory.max": "1\nmax"}}})",
     "is not a single-line value"},
    {"device_type", R"({"resources": {"devices": [{"allow": true, "type": "p"}]}})",
     "linux.resources.devices[0].type: unknown device type \"p\" (expected a, c or b)"},
    {"device_access", R"({"resources": {"devices": [{"allow": true, "access": "rx"}]}})",
     "linux.resources.devices[0].access: \"rx\" is not a device access"},
    {"device_access_twice", R"({"resources": {"devices": [{"allow": true, "access": "rr"}]}})",
     "is not a device access"},
    {"device_major", R"({"resources": {"devices": [{"allow": true, "type": "c", "major": 4096}]}})",
     "linux.resources.devices[0].major: 4096 is not a device major number (0 to 4095, or -1"},
    {"device_minor", R"({"resources": {"devices": [{"allow": true, "type": "c", "minor": -3}]}})",
     "linux.resources.devices[0].minor: -3 is not a device minor number"},
    {"device_allow_missing", R"({"resources": {"devices": [{"type": "c"}]}})",
     "linux.resources.devices[0].allow: required"},
    {"rdma", R"({"resources": {"rdma": {"mlx5_1": {"hcaHandles": 3}}}})",
     "linux.resources.rdma: not supported"},
};

INSTANTIATE_TEST_SUITE_P(Rules, ResourcesErrorTest, testing::ValuesIn(kErrorCases),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace husk::oci
