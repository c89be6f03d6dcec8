#pragma once
// Everything the container's init does to the filesystem, in the order it must happen:
//   prepare_rootfs   propagation, the rootfs bind, config mounts, devices, the cwd
//   enter_rootfs     pivot_root (MS_MOVE + chroot where the root is initramfs)
//   finish_rootfs    masked paths, readonly paths, the read-only root
// Runs in the child, inside its new mount namespace: nothing here touches the host's mounts.
#include <string>
#include <vector>

#include "common/error.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/cgroups.hpp"
#include "runtime/mount_plan.hpp"

namespace husk::runtime {

struct RootfsPlan {
    const oci::Spec* spec = nullptr;
    std::string rootfs;  // absolute host path of root.path
    std::vector<MountStep> mounts;
    std::vector<CgroupDir> cgroup_dirs;  // the container's cgroup, for "cgroup" mounts
    bool user_namespace = false;         // a new user namespace
    bool bind_devices = false;           // mknod is not allowed: devices are bind-mounted
};

[[nodiscard]] Status prepare_rootfs(const RootfsPlan& plan);
[[nodiscard]] Status enter_rootfs(const std::string& rootfs);
[[nodiscard]] Status finish_rootfs(const oci::Spec& spec);

}  // namespace husk::runtime
