#pragma once
// The container's mounts as a plan: config.json's mounts decoded into steps (flags, data,
// propagation, what to remount) in the parent, where a bad option is still an error with no
// side effect; the child then executes the steps in order (rootfs.cpp).
#include <string>
#include <vector>

#include "common/error.hpp"
#include "oci/runtime_spec.hpp"

namespace husk::runtime {

struct MountStep {
    size_t index = 0;           // mounts[index] in config.json, for messages
    std::string source;         // for binds: an absolute host path
    std::string destination;    // inside the rootfs, cleaned
    std::string fstype;         // "" for binds
    unsigned long flags = 0;    // MS_* for the first mount(2)
    unsigned long cleared = 0;  // MS_* the config clears explicitly ("rw", "suid", ...)
    std::string data;           // fs-specific options ("size=64m,mode=755")
    bool bind = false;
    bool recursive = false;           // rbind
    unsigned long propagation = 0;    // MS_SHARED, MS_PRIVATE, ... (with MS_REC for r*)
    unsigned long long attr_set = 0;  // MOUNT_ATTR_* applied recursively (rro, rnosuid...)
    unsigned long long attr_clr = 0;
    bool is_cgroup = false;  // type "cgroup"/"cgroup2": the container's own cgroup tree
    // Idmapped bind ("idmap", "ridmap" or mappings): the parent prepares a detached tree with
    // MOUNT_ATTR_IDMAP (idmap.cpp) and the init moves it into place.
    bool idmap = false;
    bool idmap_recursive = false;
    std::vector<oci::IdMapping> uid_mappings, gid_mappings;  // empty: the container's own
    int tree_fd = -1;  // the prepared tree, inherited by the init

    // A bind with flags beyond MS_BIND needs a remount to apply them.
    bool needs_remount() const;
};

// Decodes the options of every mount. Relative bind sources are taken from the bundle.
[[nodiscard]] Result<std::vector<MountStep>> plan_mounts(const oci::Spec& spec,
                                                         const std::string& bundle);
// Every mount option the plan understands (for `husk-runtime features`).
std::vector<std::string> known_mount_options();
// Decodes one option list (exposed for tests).
[[nodiscard]] Status decode_mount_options(const std::vector<std::string>& options, MountStep& step);

}  // namespace husk::runtime
