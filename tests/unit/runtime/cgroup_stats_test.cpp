// events --stats from cgroup files: blkio (v1 throttle and CFQ files, v2 io.stat) and hugetlb
// (v1 and v2) in runc's shapes, read from fixture directories laid out as the kernel does.
#include <gtest/gtest.h>
#include <poll.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../common/test_dir.hpp"
#include "runtime/cgroup_control.hpp"
#include "runtime/oom_watch.hpp"

namespace husk::runtime {
namespace {

using husk::testing::spit;
using husk::testing::TempDir;
using nlohmann::json;

json entry(uint64_t major, uint64_t minor, const char* op, uint64_t value) {
    return {{"major", major}, {"minor", minor}, {"op", op}, {"value", value}};
}

TEST(CgroupStats, V1BlkioThrottleAndHugetlb) {
    TempDir dir;
    std::string blkio = dir.path() + "/blkio", huge = dir.path() + "/hugetlb";
    ::mkdir(blkio.c_str(), 0755);
    ::mkdir(huge.c_str(), 0755);
    // No CFQ/BFQ files (a modern kernel): the throttle layer's counters are used.
    spit(blkio + "/blkio.throttle.io_service_bytes_recursive",
         "254:0 Read 1048576\n254:0 Write 4096\n254:0 Sync 0\n254:0 Async 1052672\n"
         "254:0 Discard 0\n254:0 Total 1052672\nTotal 1052672\n");
    spit(blkio + "/blkio.throttle.io_serviced_recursive",
         "254:0 Read 16\n254:0 Write 1\nTotal 17\n");
    spit(huge + "/hugetlb.2MB.usage_in_bytes", "2097152\n");
    spit(huge + "/hugetlb.2MB.max_usage_in_bytes", "4194304\n");
    spit(huge + "/hugetlb.2MB.failcnt", "3\n");
    spit(huge + "/hugetlb.2MB.limit_in_bytes", "4194304\n");
    spit(huge + "/hugetlb.1GB.usage_in_bytes", "0\n");
    spit(huge + "/hugetlb.1GB.max_usage_in_bytes", "0\n");
    spit(huge + "/hugetlb.1GB.failcnt", "0\n");
    std::vector<CgroupDir> dirs = {{dir.path(), "blkio", blkio}, {dir.path(), "hugetlb", huge}};
    json stats = cgroup_stats(dirs);
    const json& bytes = stats["blkio"]["ioServiceBytesRecursive"];
    ASSERT_EQ(bytes.size(), 6u) << stats.dump();  // "Total" lines are left out
    EXPECT_EQ(bytes[0], entry(254, 0, "Read", 1048576));
    EXPECT_EQ(bytes[1], entry(254, 0, "Write", 4096));
    EXPECT_EQ(stats["blkio"]["ioServicedRecursive"],
              json::array({entry(254, 0, "Read", 16), entry(254, 0, "Write", 1)}));
    EXPECT_EQ(stats["hugetlb"]["2MB"],
              (json{{"usage", 2097152}, {"max", 4194304}, {"failcnt", 3}}));
    EXPECT_EQ(stats["hugetlb"]["1GB"], (json{{"usage", 0}, {"max", 0}, {"failcnt", 0}}));
}

TEST(CgroupStats, V1BlkioPrefersCfqFilesWhenTheyCount) {
    TempDir dir;
    spit(dir.path() + "/blkio.io_service_bytes_recursive", "8:0 Read 512\nTotal 512\n");
    spit(dir.path() + "/blkio.io_serviced_recursive", "8:0 Read 1\nTotal 1\n");
    spit(dir.path() + "/blkio.sectors_recursive", "8:0 1\n");
    spit(dir.path() + "/blkio.throttle.io_service_bytes_recursive", "8:0 Read 999\n");
    json stats = cgroup_stats({{dir.path(), "blkio", dir.path()}});
    EXPECT_EQ(stats["blkio"]["ioServiceBytesRecursive"], json::array({entry(8, 0, "Read", 512)}));
    EXPECT_TRUE(stats["blkio"].contains("ioTimeRecursive"));
}

TEST(CgroupStats, V2IoStatAndHugetlb) {
    TempDir dir;
    spit(dir.path() + "/io.stat",
         "254:0 rbytes=1048576 wbytes=8192 rios=16 wios=2 dbytes=0 dios=0\n"
         "8:16 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n");
    spit(dir.path() + "/hugetlb.2MB.current", "2097152\n");
    spit(dir.path() + "/hugetlb.2MB.events", "max 5\n");
    spit(dir.path() + "/hugetlb.2MB.max", "max\n");
    spit(dir.path() + "/hugetlb.2MB.rsvd.current", "0\n");  // not a page size of its own
    json stats = cgroup_stats({{dir.path(), "", dir.path()}});
    const json& bytes = stats["blkio"]["ioServiceBytesRecursive"];
    ASSERT_EQ(bytes.size(), 6u) << stats.dump();
    EXPECT_EQ(bytes[0], entry(254, 0, "Read", 1048576));
    EXPECT_EQ(bytes[1], entry(254, 0, "Write", 8192));
    EXPECT_EQ(bytes[2], entry(254, 0, "Discard", 0));
    EXPECT_EQ(bytes[3], entry(8, 16, "Read", 4096));
    EXPECT_EQ(stats["blkio"]["ioServicedRecursive"][0], entry(254, 0, "Read", 16));
    EXPECT_EQ(stats["hugetlb"], (json{{"2MB", {{"usage", 2097152}, {"failcnt", 5}}}}));
}

TEST(CgroupStats, OomKillCountFromV1AndV2) {
    TempDir v1, v2;
    spit(v1.path() + "/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
    EXPECT_EQ(oom_kill_count({{v1.path(), "memory", v1.path()}}), 2u);
    spit(v2.path() + "/memory.current", "4096\n");
    spit(v2.path() + "/memory.events", "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n");
    EXPECT_EQ(oom_kill_count({{v2.path(), "", v2.path()}}), 1u);
    EXPECT_EQ(oom_kill_count({}), 0u);
}

// v2: the kernel reports a change of memory.events as a file modification (cgroup-v2.rst),
// which is what the watch waits for; a fixture file modified by the test stands in for it.
TEST(OomWatch, V2WakesOnMemoryEventsAndCountsKills) {
    TempDir dir;
    spit(dir.path() + "/memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
    auto watch = OomWatch::open({{dir.path(), "", dir.path()}});
    ASSERT_TRUE(watch) << watch.error().message();
    pollfd pfd{watch->fd(), POLLIN, 0};
    EXPECT_EQ(::poll(&pfd, 1, 0), 0);
    EXPECT_EQ(watch->consume(), 0u);
    spit(dir.path() + "/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
    EXPECT_EQ(::poll(&pfd, 1, 1000), 1);
    EXPECT_EQ(watch->consume(), 1u);
    EXPECT_EQ(::poll(&pfd, 1, 0), 0);  // consumed
}

TEST(OomWatch, NoMemoryCgroupIsAnError) {
    TempDir dir;
    auto watch = OomWatch::open({{dir.path(), "pids", dir.path()}});
    ASSERT_FALSE(watch);
    EXPECT_NE(watch.error().message().find("no memory cgroup"), std::string::npos);
}

}  // namespace
}  // namespace husk::runtime
