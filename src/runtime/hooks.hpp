#pragma once
// Running config.json hooks (runtime-spec config.md "POSIX-platform Hooks"). Where each kind
// runs, in lifecycle order:
//   prestart, createRuntime  runtime namespaces, by `create` once the init has built the
//                            mounts and before its pivot_root
//   createContainer          the container's namespaces, by the init, right after those, still
//                            before pivot_root (so the path resolves as on the host)
//   startContainer           the container's namespaces and root, by the init after `start`,
//                            just before the exec of the process
//   poststart                runtime namespaces, by `start` (or `run`) once the process runs
//   poststop                 runtime namespaces, by `delete` once the container is gone
// Each hook gets the state JSON on stdin; a timeout kills it. A failure carries its output.
#include <string>
#include <vector>

#include "common/error.hpp"
#include "oci/hooks.hpp"

namespace husk::runtime {

// Runs `hooks` in order, stopping at the first failure; `kind` is the config's key
// ("createRuntime") and names the hook in errors: "hooks.createRuntime[1] /x: exit status 3: ...".
[[nodiscard]] Status run_hooks(const std::vector<oci::Hook>& hooks, const char* kind,
                               const std::string& state_json);

// A failure of these is a warning, not an error (the spec's rule for poststart/poststop).
void run_hooks_warn(const std::vector<oci::Hook>& hooks, const char* kind,
                    const std::string& state_json);

// The poststart/poststop hooks a container keeps in its state dir (written by create, so that
// start and delete do not depend on the bundle).
[[nodiscard]] Status save_hooks(const std::string& state_dir, const char* kind,
                                const std::vector<oci::Hook>& hooks);
// The saved hooks of `kind`; none when nothing was saved.
[[nodiscard]] Result<std::vector<oci::Hook>> load_hooks(const std::string& state_dir,
                                                        const char* kind);

}  // namespace husk::runtime
