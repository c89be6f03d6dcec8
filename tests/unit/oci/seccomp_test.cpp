// linux.seccomp: every name the spec defines is read into its typed value, every wrong one
// is refused with the field path, and the default profile parses.
#include <gtest/gtest.h>

#include <string>

#include "oci/runtime_spec.hpp"
#include "oci/seccomp.hpp"

namespace husk::oci {
namespace {

Result<Seccomp> parse(const std::string& json) {
    return parse_seccomp_json(json);
}

void expect_error(const std::string& json, const std::string& error) {
    auto profile = parse(json);
    ASSERT_FALSE(profile.has_value()) << "accepted: " << json;
    EXPECT_NE(profile.error().message().find(error), std::string::npos)
        << "error: " << profile.error().message() << "\nexpected: " << error;
}

TEST(SeccompTest, ReadsEveryAction) {
    const std::pair<const char*, SeccompAction> cases[] = {
        {"SCMP_ACT_KILL", SeccompAction::kill_thread},
        {"SCMP_ACT_KILL_THREAD", SeccompAction::kill_thread},
        {"SCMP_ACT_KILL_PROCESS", SeccompAction::kill_process},
        {"SCMP_ACT_TRAP", SeccompAction::trap},
        {"SCMP_ACT_ERRNO", SeccompAction::errno_ret},
        {"SCMP_ACT_TRACE", SeccompAction::trace},
        {"SCMP_ACT_ALLOW", SeccompAction::allow},
        {"SCMP_ACT_LOG", SeccompAction::log},
    };
    for (const auto& [name, action] : cases) {
        auto profile = parse(std::string(R"({"defaultAction": ")") + name + R"("})");
        ASSERT_TRUE(profile.has_value()) << name << ": " << profile.error().message();
        EXPECT_EQ(profile->default_action, action) << name;
    }
    auto notify = parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/l.sock",
        "listenerMetadata": "m",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})");
    ASSERT_TRUE(notify.has_value()) << notify.error().message();
    EXPECT_EQ(notify->syscalls[0].action, SeccompAction::notify);
    EXPECT_TRUE(notify->uses_notify());
    EXPECT_EQ(notify->listener_metadata, "m");
}

TEST(SeccompTest, ReadsRulesArgsArchitecturesAndFlags) {
    auto profile = parse(R"({
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                  "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        "syscalls": [
            {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["keyctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"},
                      {"index": 1, "value": 5, "op": "SCMP_CMP_NE"},
                      {"index": 2, "value": 5, "op": "SCMP_CMP_LT"},
                      {"index": 3, "value": 5, "op": "SCMP_CMP_LE"},
                      {"index": 4, "value": 5, "op": "SCMP_CMP_EQ"},
                      {"index": 5, "value": 5, "op": "SCMP_CMP_GE"},
                      {"index": 5, "value": 5, "op": "SCMP_CMP_GT"}]}
        ]})");
    ASSERT_TRUE(profile.has_value()) << profile.error().message();
    EXPECT_EQ(profile->default_errno_ret, 38u);
    EXPECT_EQ(profile->architectures.size(), 2u);
    EXPECT_EQ(profile->flags.size(), 4u);
    ASSERT_EQ(profile->syscalls.size(), 3u);
    EXPECT_EQ(profile->syscalls[1].errno_ret, 13u);
    const auto& args = profile->syscalls[2].args;
    ASSERT_EQ(args.size(), 7u);
    EXPECT_EQ(args[0].op, SeccompOp::masked_eq);
    EXPECT_EQ(args[0].value, 2114060288u);
    EXPECT_EQ(args[6].op, SeccompOp::gt);
    EXPECT_FALSE(profile->uses_notify());
}

TEST(SeccompTest, RefusesWrongNamesWithTheirPath) {
    expect_error(R"({"defaultAction": "SCMP_ACT_NOPE"})",
                 "linux.seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_NOPE\"");
    expect_error(R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_VAX"]})",
                 "linux.seccomp.architectures[0]: unknown seccomp architecture");
    expect_error(R"({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_X"]})",
                 "linux.seccomp.flags[0]: unknown seccomp flag");
    expect_error(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"],
                     "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1,
                     "op": "SCMP_CMP_LIKE"}]}]})",
                 "linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator");
    expect_error(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"],
                     "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1,
                     "op": "SCMP_CMP_EQ"}]}]})",
                 "linux.seccomp.syscalls[0].args[0].index: 6 is out of range");
    expect_error(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [],
                     "action": "SCMP_ACT_ERRNO"}]})",
                 "linux.seccomp.syscalls[0].names: must not be empty");
    expect_error(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"]}]})",
                 "linux.seccomp.syscalls[0].action: required");
    expect_error(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"],
                     "action": "SCMP_ACT_ALLOW", "errnoRet": 1}]})",
                 "linux.seccomp.syscalls[0].errnoRet: only valid with SCMP_ACT_ERRNO");
    expect_error(R"({"defaultAction": "SCMP_ACT_KILL", "defaultErrnoRet": 1})",
                 "linux.seccomp.defaultErrnoRet: only valid with");
    expect_error(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000})",
                 "linux.seccomp.defaultErrnoRet: 70000 is out of range");
}

TEST(SeccompTest, NotifyNeedsAListenerAndCannotBeTheDefault) {
    expect_error(R"({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/l"})",
                 "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
    expect_error(R"({"defaultAction": "SCMP_ACT_ALLOW",
                     "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})",
                 "linux.seccomp.listenerPath: required when an action is SCMP_ACT_NOTIFY");
    expect_error(R"({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/l"})",
                 "linux.seccomp.listenerPath: set, but no syscall uses SCMP_ACT_NOTIFY");
    expect_error(R"({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "rel",
                     "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})",
                 "linux.seccomp.listenerPath: must be an absolute path");
    expect_error(R"({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/l",
                     "syscalls": [{"names": ["sendmsg"], "action": "SCMP_ACT_NOTIFY"}]})",
                 "linux.seccomp.syscalls[0].names[0]: SCMP_ACT_NOTIFY cannot be used for sendmsg");
}

TEST(SeccompTest, ConfigCarriesTheProfile) {
    auto spec = parse_config(R"({"ociVersion": "1.2.0", "root": {"path": "rootfs"},
        "process": {"user": {"uid": 0, "gid": 0}, "args": ["sh"], "cwd": "/"},
        "linux": {"namespaces": [{"type": "mount"}],
                  "seccomp": {"defaultAction": "SCMP_ACT_LOG"}}})");
    ASSERT_TRUE(spec.has_value()) << spec.error().message();
    ASSERT_TRUE(spec->linux.seccomp.has_value());
    EXPECT_EQ(spec->linux.seccomp->default_action, SeccompAction::log);
}

TEST(SeccompTest, DefaultProfileParsesAndDeniesByDefault) {
    auto profile = parse_seccomp_json(default_seccomp_profile_json(), "default profile");
    ASSERT_TRUE(profile.has_value()) << profile.error().message();
    EXPECT_EQ(profile->default_action, SeccompAction::errno_ret);
    EXPECT_EQ(profile->default_errno_ret, 1u);  // EPERM
    for (const auto& rule : profile->syscalls) {
        if (rule.action != SeccompAction::allow) continue;
        for (const char* denied : {"keyctl", "add_key", "request_key", "kexec_load", "mount",
                                   "umount2", "unshare", "setns", "bpf", "open_by_handle_at",
                                   "init_module", "reboot", "userfaultfd", "io_uring_setup"})
            for (const auto& name : rule.names) EXPECT_NE(name, denied);
    }
}

}  // namespace
}  // namespace husk::oci
