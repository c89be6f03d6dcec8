#pragma once
// linux.seccomp: compiled by libseccomp in the runtime (before the clone), cached as BPF by
// profile hash under <root>/@cache/seccomp/, and loaded by the init with seccomp(2) directly.
// The init never calls into libseccomp: it only hands the program to the kernel.
#include <linux/filter.h>

#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "oci/seccomp.hpp"

namespace husk::runtime {

struct SeccompProgram {
    std::vector<sock_filter> filter;
    unsigned int flags = 0;  // SECCOMP_FILTER_FLAG_* for seccomp(SECCOMP_SET_MODE_FILTER)
    bool from_cache = false;
};

// Every input the BPF depends on (the rules, libseccomp's version, the machine), as text.
// Listener path and metadata are not part of the program.
std::string seccomp_cache_identity(const oci::Seccomp& profile);
// The cache entry's file name: a 64-bit FNV-1a of the identity, in hex. Not a security
// boundary: the entry stores the whole identity and a hit must match it byte for byte.
std::string seccomp_cache_key(const oci::Seccomp& profile);

// Compiles `profile`, or reads the program from `cache_dir`/<key>.bpf when an earlier
// compile left it there. An empty cache_dir disables the cache.
[[nodiscard]] Result<SeccompProgram> prepare_seccomp(const oci::Seccomp& profile,
                                                     const std::string& cache_dir);
// Compiles without the cache (for tests and the cache itself).
[[nodiscard]] Result<std::vector<sock_filter>> compile_seccomp(const oci::Seccomp& profile);

// In the init: installs the filter. Returns the notify listener fd when the profile has
// SCMP_ACT_NOTIFY rules, an empty UniqueFd otherwise.
[[nodiscard]] Result<UniqueFd> load_seccomp(const SeccompProgram& program);

// Connects to `listener_path` and sends `listener_fd` (SCM_RIGHTS) with the container
// process state (runtime-spec "containerProcessState": ociVersion, fds, pid, metadata, state).
[[nodiscard]] Status send_seccomp_listener(const oci::Seccomp& profile, int listener_fd, pid_t pid,
                                           const std::string& state_json);

}  // namespace husk::runtime
