// Container ids, the state store under a temp root, the state JSON, process start times.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../common/test_dir.hpp"
#include "runtime/state.hpp"

namespace husk::runtime {
namespace {

using husk::testing::exists_nofollow;
using husk::testing::is_dir;
using husk::testing::slurp;
using husk::testing::spit;
using husk::testing::TempDir;
using nlohmann::json;

// --- validate_container_id --------------------------------------------------------------

TEST(ValidateContainerId, Accepted) {
    for (const std::string& id :
         std::vector<std::string>{"a", "abc", "A1", "a-b_c.d+e", "1234567890", "..a", "a..",
                                  "my.container", std::string(1024, 'x')}) {
        auto st = validate_container_id(id);
        EXPECT_TRUE(st.has_value()) << id.substr(0, 40) << ": " << st.error().what();
    }
}

TEST(ValidateContainerId, Rejected) {
    for (const std::string& id :
         std::vector<std::string>{"", ".", "..", "a/b", "/abs", "../x", "a b", "a\nb", "a:b", "a*",
                                  "ü", "a\\b", std::string("a\0b", 3), std::string(1025, 'x')}) {
        auto st = validate_container_id(id);
        EXPECT_FALSE(st.has_value()) << '"' << id.substr(0, 40) << '"';
        if (!st) {
            EXPECT_EQ(st.error().errnum(), 0);
        }
    }
}

// --- status names and state JSON ----------------------------------------------------------

TEST(StatusName, Strings) {
    EXPECT_STREQ(status_name(ContainerStatus::creating), "creating");
    EXPECT_STREQ(status_name(ContainerStatus::created), "created");
    EXPECT_STREQ(status_name(ContainerStatus::running), "running");
    EXPECT_STREQ(status_name(ContainerStatus::stopped), "stopped");
    EXPECT_STREQ(status_name(ContainerStatus::paused), "paused");
}

ContainerState sample_state(const std::string& id = "c1") {
    ContainerState s;
    s.id = id;
    s.pid = 4321;
    s.init_start_time = 987654321;
    s.bundle = "/bundles/" + id;
    s.rootfs = "/bundles/" + id + "/rootfs";
    s.created = "2024-05-06T07:08:09.123456789Z";
    s.owner = "root";
    s.annotations = {{"org.example/key", "value"}, {"other", "with \"quotes\" and\nnewline"}};
    s.cgroup_dirs = {{"/sys/fs/cgroup/memory", "memory", "/sys/fs/cgroup/memory/husk/" + id},
                     {"/sys/fs/cgroup/unified", "", "/sys/fs/cgroup/unified/husk/" + id}};
    s.cgroup_created = {"/sys/fs/cgroup/memory/husk/" + id, "/sys/fs/cgroup/unified/husk/" + id};
    return s;
}

TEST(StateJson, Fields) {
    ContainerState s = sample_state();
    for (auto status : {ContainerStatus::creating, ContainerStatus::created,
                        ContainerStatus::running, ContainerStatus::paused}) {
        json j = json::parse(state_json(s, status));
        EXPECT_EQ(j.at("ociVersion"), kOciVersion);
        EXPECT_EQ(j.at("id"), "c1");
        EXPECT_EQ(j.at("pid"), 4321);
        EXPECT_EQ(j.at("status"), status_name(status));
        EXPECT_EQ(j.at("bundle"), "/bundles/c1");
        EXPECT_EQ(j.at("rootfs"), "/bundles/c1/rootfs");
        EXPECT_EQ(j.at("created"), "2024-05-06T07:08:09.123456789Z");
        EXPECT_EQ(j.at("owner"), "root");
        EXPECT_EQ(j.at("annotations").at("org.example/key"), "value");
        EXPECT_EQ(j.at("annotations").at("other"), "with \"quotes\" and\nnewline");
        // Internal bookkeeping does not leak into the public state.
        EXPECT_FALSE(j.contains("initStartTime"));
        EXPECT_FALSE(j.contains("cgroups"));
    }
}

TEST(StateJson, PidZeroWhenStopped) {
    json j = json::parse(state_json(sample_state(), ContainerStatus::stopped));
    EXPECT_EQ(j.at("pid"), 0);
    EXPECT_EQ(j.at("status"), "stopped");
}

TEST(StateJson, NoAnnotationsKeyWhenEmpty) {
    ContainerState s = sample_state();
    s.annotations.clear();
    json j = json::parse(state_json(s, ContainerStatus::running));
    EXPECT_FALSE(j.contains("annotations"));
}

// --- process_start_time -----------------------------------------------------------------

uint64_t stat_field_22(pid_t pid) {
    std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
    auto close = stat.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream in(stat.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 22; ++i) in >> field;
    return std::strtoull(field.c_str(), nullptr, 10);
}

TEST(ProcessStartTime, Self) {
    uint64_t t = process_start_time(::getpid());
    EXPECT_GT(t, 0u);
    EXPECT_EQ(t, stat_field_22(::getpid()));
    EXPECT_EQ(process_start_time(::getpid()), t) << "stable";
}

TEST(ProcessStartTime, NoSuchProcess) {
    EXPECT_EQ(process_start_time(0), 0u);
    EXPECT_EQ(process_start_time(-1), 0u);
    EXPECT_EQ(process_start_time(2147483647), 0u);
}

TEST(ProcessStartTime, ReapedChildIsZero) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) ::_exit(0);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_EQ(process_start_time(child), 0u);
}

TEST(ProcessStartTime, ZombieIsZero) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) ::_exit(0);
    // Wait until it is a zombie, without reaping it.
    siginfo_t info{};
    ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
    EXPECT_EQ(process_start_time(child), 0u);
    ::waitpid(child, nullptr, 0);
}

TEST(ProcessStartTime, CommandNameWithSpacesAndParens) {
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::prctl(PR_SET_NAME, "a) b ) (c", 0, 0, 0);
        char c = 'x';
        (void)!::write(ready[1], &c, 1);
        ::pause();
        ::_exit(0);
    }
    ::close(ready[1]);
    char c;
    ASSERT_EQ(::read(ready[0], &c, 1), 1);
    ::close(ready[0]);
    uint64_t t = process_start_time(child);
    uint64_t want = stat_field_22(child);
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    EXPECT_GT(t, 0u);
    EXPECT_EQ(t, want);
}

// --- StateStore -------------------------------------------------------------------------

class Store : public ::testing::Test {
protected:
    TempDir tmp_{"husk-unit-state"};
    std::string root_ = tmp_ / "run/husk";  // not there yet: reserve makes it
    StateStore store_{root_};
};

TEST_F(Store, Paths) {
    EXPECT_EQ(store_.root(), root_);
    EXPECT_EQ(store_.dir("c1"), root_ + "/c1");
    EXPECT_EQ(store_.fifo_path("c1"), root_ + "/c1/exec.fifo");
}

TEST_F(Store, SaveLoadRoundTrip) {
    ContainerState s = sample_state();
    ASSERT_TRUE(store_.reserve(s.id).has_value());
    EXPECT_TRUE(is_dir(root_ + "/c1"));
    auto saved = store_.save(s);
    ASSERT_TRUE(saved.has_value()) << saved.error().what();

    struct stat st {};
    ASSERT_EQ(::stat((root_ + "/c1/state.json").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    // Only state.json: the atomic write left no temp file.
    EXPECT_EQ(husk::testing::entry_count(root_ + "/c1"), 1u);

    auto loaded = store_.load("c1");
    ASSERT_TRUE(loaded.has_value()) << loaded.error().what();
    const ContainerState& l = *loaded;
    EXPECT_EQ(l.id, s.id);
    EXPECT_EQ(l.pid, s.pid);
    EXPECT_EQ(l.init_start_time, s.init_start_time);
    EXPECT_EQ(l.bundle, s.bundle);
    EXPECT_EQ(l.rootfs, s.rootfs);
    EXPECT_EQ(l.created, s.created);
    EXPECT_EQ(l.owner, s.owner);
    EXPECT_EQ(l.annotations, s.annotations);
    ASSERT_EQ(l.cgroup_dirs.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(l.cgroup_dirs[i].mount_point, s.cgroup_dirs[i].mount_point);
        EXPECT_EQ(l.cgroup_dirs[i].controllers, s.cgroup_dirs[i].controllers);
        EXPECT_EQ(l.cgroup_dirs[i].path, s.cgroup_dirs[i].path);
    }
    EXPECT_EQ(l.cgroup_created, s.cgroup_created);
}

TEST_F(Store, SaveOverwrites) {
    ContainerState s = sample_state();
    ASSERT_TRUE(store_.reserve(s.id).has_value());
    ASSERT_TRUE(store_.save(s).has_value());
    s.pid = 77;
    s.annotations.clear();
    s.cgroup_dirs.clear();
    s.cgroup_created.clear();
    ASSERT_TRUE(store_.save(s).has_value());
    auto l = store_.load(s.id);
    ASSERT_TRUE(l.has_value()) << l.error().what();
    EXPECT_EQ(l->pid, 77);
    EXPECT_TRUE(l->annotations.empty());
    EXPECT_TRUE(l->cgroup_dirs.empty());
}

TEST_F(Store, ReserveTwiceIsEexist) {
    ASSERT_TRUE(store_.reserve("dup").has_value());
    auto again = store_.reserve("dup");
    ASSERT_FALSE(again.has_value());
    EXPECT_EQ(again.error().errnum(), EEXIST);
    EXPECT_NE(again.error().message().find("dup"), std::string::npos);
}

TEST_F(Store, LoadMissingIdDoesNotExist) {
    auto l = store_.load("ghost");
    ASSERT_FALSE(l.has_value());
    EXPECT_EQ(l.error().errnum(), ENOENT);
    EXPECT_NE(l.error().message().find("does not exist"), std::string::npos) << l.error().message();
    EXPECT_NE(l.error().message().find("ghost"), std::string::npos);

    // Reserved but never saved: also not there yet.
    ASSERT_TRUE(store_.reserve("half").has_value());
    auto h = store_.load("half");
    ASSERT_FALSE(h.has_value());
    EXPECT_NE(h.error().message().find("does not exist"), std::string::npos);
}

TEST_F(Store, LoadInvalidIdRejectedBeforeTouchingFiles) {
    // A state file reachable through "../": load must refuse the id, not read it.
    ASSERT_TRUE(store_.reserve("c1").has_value());
    ASSERT_TRUE(store_.save(sample_state("c1")).has_value());
    auto l = store_.load("../husk/c1");
    ASSERT_FALSE(l.has_value());
    EXPECT_EQ(l.error().errnum(), 0);
}

TEST_F(Store, LoadCorruptState) {
    ASSERT_TRUE(store_.reserve("bad").has_value());
    spit(store_.dir("bad") + "/state.json", "{not json");
    auto l = store_.load("bad");
    ASSERT_FALSE(l.has_value());
    EXPECT_NE(l.error().message().find("not valid JSON"), std::string::npos);

    spit(store_.dir("bad") + "/state.json", R"({"id": "bad"})");
    auto missing = store_.load("bad");
    ASSERT_FALSE(missing.has_value());
    EXPECT_NE(missing.error().message().find("state.json"), std::string::npos);

    spit(store_.dir("bad") + "/state.json", "[1,2]");
    EXPECT_FALSE(store_.load("bad").has_value());
}

TEST_F(Store, ListSortedSkippingIncomplete) {
    EXPECT_TRUE(store_.list().has_value()) << "a missing root is an empty list";
    EXPECT_TRUE(store_.list()->empty());
    for (const char* id : {"zeta", "alpha", "mid"}) {
        ASSERT_TRUE(store_.reserve(id).has_value());
        ASSERT_TRUE(store_.save(sample_state(id)).has_value());
    }
    ASSERT_TRUE(store_.reserve("reserved-only").has_value());
    ASSERT_TRUE(store_.reserve("corrupt").has_value());
    spit(store_.dir("corrupt") + "/state.json", "garbage");

    auto all = store_.list();
    ASSERT_TRUE(all.has_value()) << all.error().what();
    std::vector<std::string> ids;
    for (auto& s : *all) ids.push_back(s.id);
    EXPECT_EQ(ids, (std::vector<std::string>{"alpha", "mid", "zeta"}));
}

TEST_F(Store, RemoveDeletesTheRecord) {
    ASSERT_TRUE(store_.reserve("c1").has_value());
    ASSERT_TRUE(store_.save(sample_state("c1")).has_value());
    ASSERT_EQ(::mkfifo(store_.fifo_path("c1").c_str(), 0600), 0);
    ASSERT_TRUE(store_.remove("c1").has_value());
    EXPECT_FALSE(exists_nofollow(store_.dir("c1")));
    EXPECT_TRUE(is_dir(root_));
    EXPECT_FALSE(store_.load("c1").has_value());
}

TEST_F(Store, LockIsExclusive) {
    ASSERT_TRUE(store_.reserve("c1").has_value());
    auto held = store_.lock("c1");
    ASSERT_TRUE(held.has_value()) << held.error().what();
    // Another open file description cannot take the lock while it is held.
    int other = ::open(store_.dir("c1").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(other, 0);
    EXPECT_EQ(::flock(other, LOCK_EX | LOCK_NB), -1);
    EXPECT_EQ(errno, EWOULDBLOCK);
    held->reset();
    EXPECT_EQ(::flock(other, LOCK_EX | LOCK_NB), 0);
    ::close(other);
}

TEST_F(Store, LockMissingDoesNotExist) {
    auto l = store_.lock("ghost");
    ASSERT_FALSE(l.has_value());
    EXPECT_EQ(l.error().errnum(), ENOENT);
    EXPECT_NE(l.error().message().find("does not exist"), std::string::npos);
}

TEST_F(Store, StatusFromTheKernel) {
    ContainerState s = sample_state("me");
    s.cgroup_dirs.clear();
    ASSERT_TRUE(store_.reserve(s.id).has_value());

    s.pid = 0;
    EXPECT_EQ(store_.status(s), ContainerStatus::stopped);

    // This test process stands in for the container's init.
    s.pid = ::getpid();
    s.init_start_time = process_start_time(s.pid);
    EXPECT_EQ(store_.status(s), ContainerStatus::running);

    ASSERT_EQ(::mkfifo(store_.fifo_path(s.id).c_str(), 0600), 0);
    EXPECT_EQ(store_.status(s), ContainerStatus::created);
    ::unlink(store_.fifo_path(s.id).c_str());

    // A reused pid: same number, other start time.
    s.init_start_time += 1;
    EXPECT_EQ(store_.status(s), ContainerStatus::stopped);
}

TEST_F(Store, StatusPausedWhenFrozen) {
    ContainerState s = sample_state("frozen");
    s.pid = ::getpid();
    s.init_start_time = process_start_time(s.pid);
    ASSERT_TRUE(store_.reserve(s.id).has_value());
    std::string freezer = tmp_ / "freezer";
    ASSERT_EQ(::mkdir(freezer.c_str(), 0755), 0);
    s.cgroup_dirs = {{tmp_.path(), "freezer", freezer}};
    spit(freezer + "/freezer.state", "THAWED\n");
    EXPECT_EQ(store_.status(s), ContainerStatus::running);
    spit(freezer + "/freezer.state", "FROZEN\n");
    EXPECT_EQ(store_.status(s), ContainerStatus::paused);
}

}  // namespace
}  // namespace husk::runtime
