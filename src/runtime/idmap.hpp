#pragma once
// Idmapped bind mounts (mounts[].uidMappings/gidMappings, options "idmap"/"ridmap"). The
// kernel takes MOUNT_ATTR_IDMAP only from a caller privileged over the source filesystem's
// user namespace (the host's), which the init in its own user namespace is not: the runtime
// builds each idmapped tree before the clone (open_tree + mount_setattr with the fd of a
// throwaway user namespace holding the mappings) and the init moves it into place.
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "runtime/mount_plan.hpp"

namespace husk::runtime {

// The text of /proc/PID/{uid,gid}_map for `mappings`: one "container host size" line each.
std::string id_map_text(const std::vector<oci::IdMapping>& mappings);

// Prepares every idmap step: sets its tree_fd to a detached, idmapped tree. The returned
// owners keep the fds open; the init inherits them through the clone.
[[nodiscard]] Result<std::vector<UniqueFd>> prepare_idmapped_mounts(std::vector<MountStep>& steps);

// In the init: attaches the step's prepared tree at `target`.
[[nodiscard]] Status attach_idmapped_tree(const MountStep& step, const std::string& target);

}  // namespace husk::runtime
