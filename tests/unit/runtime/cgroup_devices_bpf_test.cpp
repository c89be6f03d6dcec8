// The v2 device program: rule text round trip and the program's shape. (Loading and attaching
// need root and a v2 cgroup: tests/integration/cgroups/devices-v2.bats.)
#include <gtest/gtest.h>

#include "runtime/cgroup_devices_bpf.hpp"

namespace husk::runtime {
namespace {

TEST(DeviceRuleTextTest, ParsesTheV1Syntax) {
    auto rule = parse_device_rule_text(true, "c 1:3 rw");
    ASSERT_TRUE(rule.has_value());
    EXPECT_TRUE(rule->allow);
    EXPECT_EQ(rule->type, 'c');
    EXPECT_EQ(rule->major, 1);
    EXPECT_EQ(rule->minor, 3);
    EXPECT_EQ(rule->access, "rw");
    auto any = parse_device_rule_text(false, "a *:* rwm");
    ASSERT_TRUE(any.has_value());
    EXPECT_EQ(any->major, -1);
    EXPECT_EQ(any->minor, -1);
    EXPECT_FALSE(parse_device_rule_text(true, "c 1 rw").has_value());
}

TEST(DeviceProgramTest, LastRuleFirstAndDefaultAllow) {
    // Prologue 6, "allow c 1:3 rw": type, 3 access, major, minor, return = 8, then "deny a
    // rwm" (no tests, 2) decides everything else: no default after it (it would be
    // unreachable, which the verifier refuses).
    auto program = device_program({{false, 'a', -1, -1, "rwm"}, {true, 'c', 1, 3, "rw"}});
    ASSERT_EQ(program.size(), 6u + 8u + 2u);
    // The allow rule is tested first; its type check skips its 8-instruction block.
    EXPECT_EQ(program[6].code, BPF_JMP | BPF_JNE | BPF_K);
    EXPECT_EQ(program[6].imm, BPF_DEVCG_DEV_CHAR);
    EXPECT_EQ(program[6].off, 7);
    EXPECT_EQ(program[12].imm, 1);  // return allow
    EXPECT_EQ(program[14].imm, 0);  // "deny all" returns 0
    EXPECT_EQ(program.back().code, BPF_JMP | BPF_EXIT);

    // Without a catch-all rule, no match means allowed (v1 under an allow-all parent).
    auto open = device_program({{false, 'c', 1, 1, "rwm"}});
    ASSERT_EQ(open.size(), 6u + 5u + 2u);
    EXPECT_EQ(open[open.size() - 2].imm, 1);
}

}  // namespace
}  // namespace husk::runtime
