#pragma once
// The container process's own attributes, applied by its init just before exec:
// rlimits, OOM score, personality, identity (groups, gid, uid) with capabilities around the
// switch, umask, no_new_privs, and the executable found on the container's PATH.
#include <string>

#include "common/error.hpp"
#include "oci/runtime_spec.hpp"

namespace husk::runtime {

[[nodiscard]] Status apply_rlimits(const oci::Process& process);
[[nodiscard]] Status apply_oom_score_adj(const oci::Process& process);
[[nodiscard]] Status apply_personality(const oci::Linux& linux_config);
// Groups, gid, uid and capabilities, in the order that keeps the capabilities asked for.
[[nodiscard]] Status apply_identity(const oci::Process& process);
// The path execve gets for args[0]: as written when it holds a '/', else the first match on
// PATH from the process's env (the container's PATH, not the runtime's).
[[nodiscard]] Result<std::string> find_executable(const oci::Process& process);
// Empties the signal mask and turns ignored signals back to default: execve keeps both, and
// a container must not inherit what its caller (a shell's `trap '' HUP`, nohup, an engine)
// blocked or ignored. Called before the seccomp filter, which may forbid rt_sigaction.
void reset_signal_state();

}  // namespace husk::runtime
