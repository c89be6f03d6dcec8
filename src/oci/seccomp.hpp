#pragma once
// linux.seccomp of runtime-spec 1.2 as typed values. Names (actions, operators, flags,
// architectures) are checked here, at parse time, so an error names the field; syscall names
// are not, because which ones exist depends on libseccomp and the architecture (the runtime
// skips unknown ones, as runc does).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace husk::oci {

enum class SeccompAction { kill_process, kill_thread, trap, errno_ret, trace, allow, log, notify };
enum class SeccompOp { ne, lt, le, eq, ge, gt, masked_eq };

struct SeccompArg {
    unsigned index = 0;  // 0..5
    uint64_t value = 0;
    uint64_t value_two = 0;  // SCMP_CMP_MASKED_EQ: value is the mask, valueTwo the datum
    SeccompOp op = SeccompOp::eq;
};

struct SeccompRule {
    std::vector<std::string> names;
    SeccompAction action = SeccompAction::allow;
    std::optional<uint32_t> errno_ret;
    std::vector<SeccompArg> args;
};

struct Seccomp {
    SeccompAction default_action = SeccompAction::allow;
    std::optional<uint32_t> default_errno_ret;
    std::vector<std::string> architectures;  // "SCMP_ARCH_X86_64", ...
    std::vector<std::string> flags;          // "SECCOMP_FILTER_FLAG_LOG", ...
    std::string listener_path;
    std::string listener_metadata;
    std::vector<SeccompRule> syscalls;

    bool uses_notify() const;
};

// Every name the parser accepts, for `husk-runtime features`.
struct SeccompNames {
    std::vector<std::string> actions, operators, architectures, flags;
};
SeccompNames seccomp_known_names();

const char* seccomp_action_name(SeccompAction action);
const char* seccomp_op_name(SeccompOp op);

// Parses a seccomp object on its own (a profile file such as the default one); errors are
// prefixed with `path`.
[[nodiscard]] Result<Seccomp> parse_seccomp_json(const std::string& json_text,
                                                 const std::string& path = "linux.seccomp");

// husk's default profile (profiles/seccomp-default.json, embedded at build time).
const std::string& default_seccomp_profile_json();

namespace detail {
class Node;
// The linux.seccomp member of config.json (runtime_spec.cpp calls it).
[[nodiscard]] Status parse_seccomp(const Node& node, Seccomp& out);
}  // namespace detail

}  // namespace husk::oci
