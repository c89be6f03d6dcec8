#pragma once
// Running without privileges over the host: as an ordinary user, or as root of a user
// namespace another process made (the engine's rootless namespace). What changes then: no
// cgroups unless a delegated v2 subtree is writable, devices bound instead of made, and id
// maps beyond the caller's own id written by the setuid helpers newuidmap/newgidmap.
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/cgroups.hpp"

namespace husk::runtime {

// True when this process is in a user namespace other than the initial one (its uid_map is
// not the identity map of all 2^32-1 ids). `proc_self` is /proc/self, a fixture in tests.
bool in_user_namespace(const std::string& proc_self = "/proc/self");
// runc's `--rootless auto`: not root, or root of a non-initial user namespace.
bool detect_rootless();
// Parses "auto", "true", "false" (the value of `--rootless`); errors name the flag.
[[nodiscard]] Result<bool> parse_rootless_flag(const std::string& value);

// One line of /etc/subuid or /etc/subgid that applies to a user.
struct SubIdRange {
    uint32_t start = 0, count = 0;
};
// The ranges of `user` (matched by name or by numeric id) in the file at `path` (absent:
// none).
[[nodiscard]] Result<std::vector<SubIdRange>> read_subid_ranges(const std::string& path,
                                                                const std::string& user,
                                                                uint32_t id);

// Whether the caller can write `mappings` into a child's map itself: one id, its own.
bool is_own_id_map(const std::vector<oci::IdMapping>& mappings, uint32_t own_id);

// Writes the child's uid_map and gid_map. As root of the namespace the caller is in, the
// files are written directly; an unprivileged caller writes a map of its own id directly
// (with setgroups denied) and anything larger through newuidmap/newgidmap, which check the
// ranges against /etc/subuid and /etc/subgid. Errors name the field, the helper and the range.
[[nodiscard]] Status write_id_maps(pid_t pid, const std::vector<oci::IdMapping>& uid_mappings,
                                   const std::vector<oci::IdMapping>& gid_mappings);

// Checked before any side effect: an unprivileged caller mapping more than its own id needs
// newuidmap/newgidmap and a range in /etc/subuid and /etc/subgid; the error names what is
// missing. Root (of any namespace) passes.
[[nodiscard]] Status check_id_maps(const std::vector<oci::IdMapping>& uid_mappings,
                                   const std::vector<oci::IdMapping>& gid_mappings);

// A per-user directory for runtime state: `$XDG_RUNTIME_DIR/<name>` when XDG_RUNTIME_DIR is
// set to a directory the caller owns, else `/tmp/<name>-<uid>`, made 0700 here and refused
// when it exists as a symlink, owned by someone else, or open to others (anyone can create
// names in /tmp first).
[[nodiscard]] Result<std::string> user_runtime_dir(const std::string& name);
// husk-runtime's default `--root` for an unprivileged caller (runc: $XDG_RUNTIME_DIR/runc).
[[nodiscard]] Result<std::string> rootless_runtime_root();

// The caller's user name (getpwuid), or its id as text when it has no passwd entry.
std::string current_user_name();

// The cgroups a rootless container may use: the caller's cgroup v2 tree when its own
// directory is delegated to it (a pure v2 host, the directory and its cgroup.procs
// writable), else none. Relative cgroupsPaths then resolve at the top of the delegated
// subtree (own_path is moved up while the parent is delegated too), since the caller's own
// cgroup holds processes and cannot enable controllers for children.
// `reason` says why there are none, for the error that refuses limits.
CgroupHost rootless_cgroups(const CgroupHost& host, std::string& reason);

}  // namespace husk::runtime
