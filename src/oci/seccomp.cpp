#include "oci/seccomp.hpp"

#include <algorithm>
#include <iterator>
#include <string_view>

#include "oci/json_reader.hpp"

namespace husk::oci {
namespace {

using detail::decode;
using detail::fail_at;
using detail::index_path;
using detail::Json;
using detail::member_path;
using detail::Node;
using detail::quote;
using detail::read_field;
using detail::read_required;

struct ActionInfo {
    const char* name;
    SeccompAction action;
};

// SCMP_ACT_KILL is the old name of KILL_THREAD; both are spec names.
constexpr ActionInfo kActions[] = {
    {"SCMP_ACT_KILL", SeccompAction::kill_thread},
    {"SCMP_ACT_KILL_PROCESS", SeccompAction::kill_process},
    {"SCMP_ACT_KILL_THREAD", SeccompAction::kill_thread},
    {"SCMP_ACT_TRAP", SeccompAction::trap},
    {"SCMP_ACT_ERRNO", SeccompAction::errno_ret},
    {"SCMP_ACT_TRACE", SeccompAction::trace},
    {"SCMP_ACT_ALLOW", SeccompAction::allow},
    {"SCMP_ACT_LOG", SeccompAction::log},
    {"SCMP_ACT_NOTIFY", SeccompAction::notify},
};

struct OpInfo {
    const char* name;
    SeccompOp op;
};

constexpr OpInfo kOps[] = {
    {"SCMP_CMP_NE", SeccompOp::ne},
    {"SCMP_CMP_LT", SeccompOp::lt},
    {"SCMP_CMP_LE", SeccompOp::le},
    {"SCMP_CMP_EQ", SeccompOp::eq},
    {"SCMP_CMP_GE", SeccompOp::ge},
    {"SCMP_CMP_GT", SeccompOp::gt},
    {"SCMP_CMP_MASKED_EQ", SeccompOp::masked_eq},
};

constexpr std::string_view kArchitectures[] = {
    "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",     "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",    "SCMP_ARCH_SH",       "SCMP_ARCH_SHEB",
};

constexpr std::string_view kFlags[] = {
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
};

// The seccomp(2) data field is 16 bits wide (SECCOMP_RET_DATA).
constexpr uint32_t kMaxErrno = 0xffff;

}  // namespace

SeccompNames seccomp_known_names() {
    SeccompNames names;
    for (const auto& a : kActions) names.actions.emplace_back(a.name);
    for (const auto& o : kOps) names.operators.emplace_back(o.name);
    for (auto arch : kArchitectures) names.architectures.emplace_back(arch);
    for (auto flag : kFlags) names.flags.emplace_back(flag);
    return names;
}

namespace {

Status parse_action(const Node& node, SeccompAction& out) {
    std::string name;
    HUSK_TRY(decode(node, name));
    auto known = std::find_if(std::begin(kActions), std::end(kActions),
                              [&](const ActionInfo& a) { return name == a.name; });
    if (known == std::end(kActions)) return node.fail("unknown seccomp action {}", quote(name));
    out = known->action;
    return {};
}

// errnoRet is meaningful for ERRNO (the errno) and TRACE (the tracer's message data) only.
Status parse_errno_ret(const Node& parent, std::string_view key, SeccompAction action,
                       std::optional<uint32_t>& out) {
    auto node = parent.get(key);
    if (!node) return {};
    uint32_t value = 0;
    HUSK_TRY(decode(*node, value));
    if (action != SeccompAction::errno_ret && action != SeccompAction::trace)
        return node->fail("only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not {}",
                          seccomp_action_name(action));
    if (value > kMaxErrno) return node->fail("{} is out of range (maximum {})", value, kMaxErrno);
    out = value;
    return {};
}

Status parse_name_list(const Node& parent, std::string_view key, std::vector<std::string>& out,
                       const std::string_view* known_begin, const std::string_view* known_end,
                       const char* what) {
    auto node = parent.get(key);
    if (!node) return {};
    HUSK_TRY(decode(*node, out));
    for (size_t i = 0; i < out.size(); ++i)
        if (std::find(known_begin, known_end, out[i]) == known_end)
            return fail_at(index_path(node->path(), i), "unknown seccomp {} {}", what,
                           quote(out[i]));
    return {};
}

Status parse_args(const Node& node, std::vector<SeccompArg>& out) {
    auto elements = node.elements();
    if (!elements) return fail(elements.error());
    for (const Node& element : *elements) {
        HUSK_TRY(element.expect_object());
        SeccompArg arg;
        HUSK_TRY(read_required(element, "index", arg.index));
        if (arg.index > 5)
            return fail_at(member_path(element.path(), "index"),
                           "{} is out of range (a syscall has arguments 0 to 5)", arg.index);
        HUSK_TRY(read_required(element, "value", arg.value));
        HUSK_TRY(read_field(element, "valueTwo", arg.value_two));
        auto op = element.require("op");
        if (!op) return fail(op.error());
        std::string name;
        HUSK_TRY(decode(*op, name));
        auto known = std::find_if(std::begin(kOps), std::end(kOps),
                                  [&](const OpInfo& o) { return name == o.name; });
        if (known == std::end(kOps)) return op->fail("unknown seccomp operator {}", quote(name));
        arg.op = known->op;
        out.push_back(arg);
    }
    return {};
}

Status parse_rules(const Node& node, std::vector<SeccompRule>& out) {
    auto elements = node.elements();
    if (!elements) return fail(elements.error());
    for (const Node& element : *elements) {
        HUSK_TRY(element.expect_object());
        SeccompRule rule;
        auto names = element.require("names");
        if (!names) return fail(names.error());
        HUSK_TRY(decode(*names, rule.names));
        if (rule.names.empty()) return names->fail("must not be empty");
        for (size_t i = 0; i < rule.names.size(); ++i)
            if (rule.names[i].empty())
                return fail_at(index_path(names->path(), i), "must not be empty");
        auto action = element.require("action");
        if (!action) return fail(action.error());
        HUSK_TRY(parse_action(*action, rule.action));
        HUSK_TRY(parse_errno_ret(element, "errnoRet", rule.action, rule.errno_ret));
        if (auto args = element.get("args")) HUSK_TRY(parse_args(*args, rule.args));
        // The init passes the listener fd to the runtime with sendmsg once the filter is
        // loaded: a notification on it would wait for a listener that never gets the fd.
        if (rule.action == SeccompAction::notify)
            for (size_t i = 0; i < rule.names.size(); ++i)
                if (rule.names[i] == "sendmsg")
                    return fail_at(index_path(names->path(), i),
                                   "SCMP_ACT_NOTIFY cannot be used for sendmsg (the runtime "
                                   "needs it to hand over the listener)");
        out.push_back(std::move(rule));
    }
    return {};
}

}  // namespace

bool Seccomp::uses_notify() const {
    if (default_action == SeccompAction::notify) return true;
    return std::any_of(syscalls.begin(), syscalls.end(),
                       [](const SeccompRule& r) { return r.action == SeccompAction::notify; });
}

const char* seccomp_action_name(SeccompAction action) {
    // The first spelling in the table wins except for kill_thread, named by its current name.
    if (action == SeccompAction::kill_thread) return "SCMP_ACT_KILL_THREAD";
    for (const ActionInfo& a : kActions)
        if (a.action == action) return a.name;
    return "unknown";
}

const char* seccomp_op_name(SeccompOp op) {
    for (const OpInfo& o : kOps)
        if (o.op == op) return o.name;
    return "unknown";
}

namespace detail {

Status parse_seccomp(const Node& node, Seccomp& out) {
    HUSK_TRY(node.expect_object());
    auto default_action = node.require("defaultAction");
    if (!default_action) return fail(default_action.error());
    HUSK_TRY(parse_action(*default_action, out.default_action));
    // Every syscall the init makes between loading and exec would wait for a listener that
    // does not have the fd yet.
    if (out.default_action == SeccompAction::notify)
        return default_action->fail("SCMP_ACT_NOTIFY cannot be the default action");
    HUSK_TRY(parse_errno_ret(node, "defaultErrnoRet", out.default_action, out.default_errno_ret));
    HUSK_TRY(parse_name_list(node, "architectures", out.architectures, std::begin(kArchitectures),
                             std::end(kArchitectures), "architecture"));
    HUSK_TRY(
        parse_name_list(node, "flags", out.flags, std::begin(kFlags), std::end(kFlags), "flag"));
    HUSK_TRY(read_field(node, "listenerPath", out.listener_path));
    HUSK_TRY(read_field(node, "listenerMetadata", out.listener_metadata));
    if (auto rules = node.get("syscalls")) HUSK_TRY(parse_rules(*rules, out.syscalls));

    std::string listener = member_path(node.path(), "listenerPath");
    if (out.uses_notify() && out.listener_path.empty())
        return fail_at(listener, "required when an action is SCMP_ACT_NOTIFY");
    if (!out.listener_path.empty()) {
        if (!out.uses_notify())
            return fail_at(listener, "set, but no syscall uses SCMP_ACT_NOTIFY");
        if (out.listener_path.front() != '/')
            return fail_at(listener, "must be an absolute path, got {}", quote(out.listener_path));
        // sockaddr_un.sun_path holds 107 characters and the NUL.
        if (out.listener_path.size() > 107)
            return fail_at(listener, "longer than a unix socket path can be (107 bytes)");
    }
    return {};
}

}  // namespace detail

Result<Seccomp> parse_seccomp_json(const std::string& json_text, const std::string& path) {
    Json document;
    try {
        document = Json::parse(json_text);
    } catch (const Json::parse_error& e) {
        return fail_invalid("{}: {}", path, e.what());
    }
    Seccomp out;
    HUSK_TRY(detail::parse_seccomp(Node(document, path), out));
    return out;
}

}  // namespace husk::oci
