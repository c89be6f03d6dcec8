// The seccomp compiler and its BPF cache: same profile, same key; a second prepare reads the
// cache; a corrupt entry is compiled again.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

#include "common/files.hpp"
#include "oci/seccomp.hpp"
#include "runtime/seccomp.hpp"

namespace husk::runtime {
namespace {

oci::Seccomp profile(const char* json) {
    auto parsed = oci::parse_seccomp_json(json);
    EXPECT_TRUE(parsed.has_value()) << parsed.error().message();
    return parsed.value_or(oci::Seccomp{});
}

class SeccompCacheTest : public testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/husk-seccomp-test.XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { (void)remove_tree(dir_); }
    std::string dir_;
};

TEST(SeccompCompileTest, KeyFollowsTheRulesNotTheListener) {
    auto a = profile(R"({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["keyctl"], "action": "SCMP_ACT_ERRNO"}]})");
    auto b = a;
    b.listener_metadata = "other";
    EXPECT_EQ(seccomp_cache_key(a), seccomp_cache_key(b));
    b.syscalls[0].errno_ret = 13;
    EXPECT_NE(seccomp_cache_key(a), seccomp_cache_key(b));
    EXPECT_EQ(seccomp_cache_key(a).size(), 16u);
}

TEST(SeccompCompileTest, CompilesEveryActionAndOperator) {
    auto p = profile(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
          {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
          {"names": ["getpid"], "action": "SCMP_ACT_LOG"},
          {"names": ["kill"], "action": "SCMP_ACT_KILL"},
          {"names": ["tkill"], "action": "SCMP_ACT_KILL_PROCESS"},
          {"names": ["keyctl"], "action": "SCMP_ACT_TRAP"},
          {"names": ["ptrace"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
          {"names": ["no_such_syscall_anywhere"], "action": "SCMP_ACT_ALLOW"},
          {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
           "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                    {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
          {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
           "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"},
                    {"index": 1, "value": 1, "op": "SCMP_CMP_NE"},
                    {"index": 2, "value": 1, "op": "SCMP_CMP_LT"},
                    {"index": 3, "value": 1, "op": "SCMP_CMP_LE"},
                    {"index": 4, "value": 1, "op": "SCMP_CMP_GE"},
                    {"index": 5, "value": 1, "op": "SCMP_CMP_GT"}]},
          {"names": ["write"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
        ]})");
    auto bpf = compile_seccomp(p);
    ASSERT_TRUE(bpf.has_value()) << bpf.error().what();
    EXPECT_GT(bpf->size(), 10u);
}

TEST(SeccompCompileTest, DefaultProfileCompiles) {
    auto p = oci::parse_seccomp_json(oci::default_seccomp_profile_json());
    ASSERT_TRUE(p.has_value());
    auto bpf = compile_seccomp(*p);
    ASSERT_TRUE(bpf.has_value()) << bpf.error().what();
    EXPECT_LE(bpf->size(), 4096u);
}

TEST_F(SeccompCacheTest, SecondPrepareReadsTheCache) {
    auto p = profile(R"({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["keyctl"], "action": "SCMP_ACT_ERRNO"}]})");
    auto first = prepare_seccomp(p, dir_ + "/cache");
    ASSERT_TRUE(first.has_value()) << first.error().what();
    EXPECT_FALSE(first->from_cache);
    std::string entry = dir_ + "/cache/" + seccomp_cache_key(p) + ".bpf";
    EXPECT_TRUE(path_exists(entry));
    auto second = prepare_seccomp(p, dir_ + "/cache");
    ASSERT_TRUE(second.has_value());
    EXPECT_TRUE(second->from_cache);
    ASSERT_EQ(first->filter.size(), second->filter.size());
    for (size_t i = 0; i < first->filter.size(); ++i) {
        EXPECT_EQ(first->filter[i].code, second->filter[i].code);
        EXPECT_EQ(first->filter[i].k, second->filter[i].k);
    }
    // A torn or foreign entry is not trusted: compiled again and replaced.
    ASSERT_TRUE(write_file_atomic(entry, "garbage"));
    auto third = prepare_seccomp(p, dir_ + "/cache");
    ASSERT_TRUE(third.has_value());
    EXPECT_FALSE(third->from_cache);
    EXPECT_EQ(third->filter.size(), first->filter.size());
    // A truncated program: the same.
    auto bytes = read_file(entry);
    ASSERT_TRUE(bytes.has_value());
    ASSERT_TRUE(write_file_atomic(entry, bytes->substr(0, bytes->size() - 3)));
    auto truncated = prepare_seccomp(p, dir_ + "/cache");
    ASSERT_TRUE(truncated.has_value());
    EXPECT_FALSE(truncated->from_cache);
    // An entry of another profile under this name (a file-name hash collision): never loaded.
    std::string foreign = *bytes;
    foreign.replace(foreign.find("keyctl"), 6, "kexec_");
    ASSERT_TRUE(write_file_atomic(entry, foreign));
    auto fourth = prepare_seccomp(p, dir_ + "/cache");
    ASSERT_TRUE(fourth.has_value());
    EXPECT_FALSE(fourth->from_cache);
    auto fifth = prepare_seccomp(p, dir_ + "/cache");
    ASSERT_TRUE(fifth.has_value());
    EXPECT_TRUE(fifth->from_cache);
}

TEST_F(SeccompCacheTest, NotifyAddsTheListenerFlag) {
    auto p = profile(R"({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/x",
        "flags": ["SECCOMP_FILTER_FLAG_TSYNC"],
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})");
    auto program = prepare_seccomp(p, "");
    ASSERT_TRUE(program.has_value()) << program.error().what();
    EXPECT_NE(program->flags & (1U << 3), 0u);  // NEW_LISTENER
    EXPECT_NE(program->flags & (1U << 4), 0u);  // TSYNC_ESRCH, required with TSYNC
}

}  // namespace
}  // namespace husk::runtime
