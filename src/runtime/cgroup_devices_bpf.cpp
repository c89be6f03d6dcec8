#include "runtime/cgroup_devices_bpf.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <sstream>

#include "common/unique_fd.hpp"

namespace husk::runtime {
namespace {

// Registers: r1 = context, r2 = device type, r3 = requested access, r4 = major, r5 = minor.
bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}
bpf_insn load_u32(uint8_t dst, int16_t off) {
    return insn(BPF_LDX | BPF_W | BPF_MEM, dst, BPF_REG_1, off, 0);
}
bpf_insn alu32_imm(uint8_t op, uint8_t dst, int32_t imm) {
    return insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}
bpf_insn mov32_reg(uint8_t dst, uint8_t src) {
    return insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0);
}
bpf_insn jump_imm(uint8_t op, uint8_t dst, int32_t imm, int16_t off) {
    return insn(BPF_JMP | op | BPF_K, dst, 0, off, imm);
}
bpf_insn mov64_imm(uint8_t dst, int32_t imm) {
    return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
bpf_insn exit_insn() {
    return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

int32_t access_bits(const std::string& access) {
    int32_t bits = 0;
    for (char c : access) {
        if (c == 'm') bits |= BPF_DEVCG_ACC_MKNOD;
        if (c == 'r') bits |= BPF_DEVCG_ACC_READ;
        if (c == 'w') bits |= BPF_DEVCG_ACC_WRITE;
    }
    return bits;
}

constexpr int32_t kAllAccess = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;

// One rule: every test that fails jumps past the block's end; all passing, it returns.
std::vector<bpf_insn> rule_block(const DeviceAccessRule& rule) {
    std::vector<bpf_insn> tests;
    if (rule.type != 'a')
        tests.push_back(jump_imm(BPF_JNE, BPF_REG_2,
                                 rule.type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK, 0));
    int32_t bits = access_bits(rule.access);
    if (rule.allow && bits != kAllAccess) {
        // Allowed only when every requested access is in the rule.
        tests.push_back(mov32_reg(BPF_REG_1, BPF_REG_3));
        tests.push_back(alu32_imm(BPF_AND, BPF_REG_1, ~bits & kAllAccess));
        tests.push_back(jump_imm(BPF_JNE, BPF_REG_1, 0, 0));
    } else if (!rule.allow && bits != kAllAccess) {
        // Denied when any requested access is in the rule.
        tests.push_back(mov32_reg(BPF_REG_1, BPF_REG_3));
        tests.push_back(alu32_imm(BPF_AND, BPF_REG_1, bits));
        tests.push_back(jump_imm(BPF_JEQ, BPF_REG_1, 0, 0));
    }
    if (rule.type != 'a' && rule.major >= 0)
        tests.push_back(jump_imm(BPF_JNE, BPF_REG_4, static_cast<int32_t>(rule.major), 0));
    if (rule.type != 'a' && rule.minor >= 0)
        tests.push_back(jump_imm(BPF_JNE, BPF_REG_5, static_cast<int32_t>(rule.minor), 0));
    tests.push_back(mov64_imm(BPF_REG_0, rule.allow ? 1 : 0));
    tests.push_back(exit_insn());
    // Jumps land on the first instruction after the block.
    for (size_t i = 0; i < tests.size(); ++i)
        if (BPF_CLASS(tests[i].code) == BPF_JMP && BPF_OP(tests[i].code) != BPF_EXIT)
            tests[i].off = static_cast<int16_t>(tests.size() - i - 1);
    return tests;
}

}  // namespace

Result<DeviceAccessRule> parse_device_rule_text(bool allow, const std::string& text) {
    DeviceAccessRule rule;
    rule.allow = allow;
    std::istringstream in(text);
    std::string type, numbers;
    in >> type >> numbers >> rule.access;
    auto colon = numbers.find(':');
    if (type.size() != 1 || colon == std::string::npos || rule.access.empty())
        return fail_invalid("not a device rule: {:?}", text);
    rule.type = type[0];
    auto number = [](const std::string& s) -> int64_t {
        return s == "*" ? -1 : std::strtoll(s.c_str(), nullptr, 10);
    };
    rule.major = number(numbers.substr(0, colon));
    rule.minor = number(numbers.substr(colon + 1));
    return rule;
}

std::vector<bpf_insn> device_program(const std::vector<DeviceAccessRule>& rules) {
    std::vector<bpf_insn> program = {
        load_u32(BPF_REG_2, 0), alu32_imm(BPF_AND, BPF_REG_2, 0xffff),
        load_u32(BPF_REG_3, 0), alu32_imm(BPF_RSH, BPF_REG_3, 16),
        load_u32(BPF_REG_4, 4), load_u32(BPF_REG_5, 8),
    };
    // The last matching rule decides, as v1 applies them in turn: test from the end.
    // A rule without tests ("a *:* rwm") always decides: what follows it could never run,
    // and the verifier refuses unreachable instructions.
    for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
        auto block = rule_block(*it);
        program.insert(program.end(), block.begin(), block.end());
        if (block.size() == 2) return program;
    }
    program.push_back(mov64_imm(BPF_REG_0, 1));
    program.push_back(exit_insn());
    return program;
}

Status attach_device_program(const std::string& dir, const std::vector<DeviceAccessRule>& rules) {
    auto program = device_program(rules);
    auto load = [&](char* log, uint32_t log_size) {
        union bpf_attr attr;
        std::memset(&attr, 0, sizeof attr);
        attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        attr.insns = reinterpret_cast<uintptr_t>(program.data());
        attr.insn_cnt = static_cast<uint32_t>(program.size());
        attr.license = reinterpret_cast<uintptr_t>("Apache");
        attr.log_buf = reinterpret_cast<uintptr_t>(log);
        attr.log_size = log_size;
        attr.log_level = log ? 1 : 0;
        return static_cast<int>(::syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr));
    };
    int prog = load(nullptr, 0);
    if (prog < 0) {
        // Again with the verifier's log, for the error.
        int saved = errno;
        std::string log(65536, '\0');
        (void)load(log.data(), static_cast<uint32_t>(log.size()));
        log.resize(std::strlen(log.c_str()));
        errno = saved;
        return fail_errno("load the eBPF device program ({} instructions){}{}", program.size(),
                          log.empty() ? "" : ": verifier: ", log);
    }
    UniqueFd prog_fd(prog);
    UniqueFd cgroup(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!cgroup) return fail_errno("open cgroup {}", dir);
    // Programs attached to this cgroup before (an update's previous rules): replaced, since
    // with BPF_F_ALLOW_MULTI every attached program must allow an access.
    std::vector<uint32_t> previous(64);
    union bpf_attr query;
    std::memset(&query, 0, sizeof query);
    query.query.target_fd = static_cast<uint32_t>(cgroup.get());
    query.query.attach_type = BPF_CGROUP_DEVICE;
    query.query.prog_ids = reinterpret_cast<uintptr_t>(previous.data());
    query.query.prog_cnt = static_cast<uint32_t>(previous.size());
    if (::syscall(SYS_bpf, BPF_PROG_QUERY, &query, sizeof query) != 0)
        return fail_errno("query the eBPF device programs of {}", dir);
    previous.resize(query.query.prog_cnt);

    union bpf_attr attach;
    std::memset(&attach, 0, sizeof attach);
    attach.target_fd = static_cast<uint32_t>(cgroup.get());
    attach.attach_bpf_fd = static_cast<uint32_t>(prog_fd.get());
    attach.attach_type = BPF_CGROUP_DEVICE;
    attach.attach_flags = BPF_F_ALLOW_MULTI;
    if (::syscall(SYS_bpf, BPF_PROG_ATTACH, &attach, sizeof attach) != 0)
        return fail_errno("attach the eBPF device program to {}", dir);
    for (uint32_t id : previous) {
        union bpf_attr get;
        std::memset(&get, 0, sizeof get);
        get.prog_id = id;
        UniqueFd old(static_cast<int>(::syscall(SYS_bpf, BPF_PROG_GET_FD_BY_ID, &get, sizeof get)));
        if (!old) return fail_errno("open the previous eBPF device program {} of {}", id, dir);
        union bpf_attr detach;
        std::memset(&detach, 0, sizeof detach);
        detach.target_fd = static_cast<uint32_t>(cgroup.get());
        detach.attach_bpf_fd = static_cast<uint32_t>(old.get());
        detach.attach_type = BPF_CGROUP_DEVICE;
        if (::syscall(SYS_bpf, BPF_PROG_DETACH, &detach, sizeof detach) != 0)
            return fail_errno("detach the previous eBPF device program {} of {}", id, dir);
    }
    return {};
}

}  // namespace husk::runtime
