#pragma once
// The OCI runtime config (bundle/config.json) generated from a container record: Docker's
// defaults (capabilities, masked and read-only paths, the default seccomp profile, rlimits a
// host without CAP_SYS_RESOURCE can grant) with the record's flags applied on top.
#include <string>

#include "common/error.hpp"
#include "engine/record.hpp"

namespace husk::engine {

struct SpecPaths {
    std::string volumes_root;  // <root>/volumes
    std::string init_binary;   // the reaper bind-mounted at /dev/init for --init
    std::string container_dir;   // <root>/containers/<id>: hosts, resolv.conf, hostname
    std::string containers_dir;  // <root>/containers
    // --network container:<id>: that container's /proc/<pid>/ns/net (known at start only)
    std::string joined_netns;
};

[[nodiscard]] Result<std::string> build_spec(const ContainerRecord& record, const SpecPaths& paths);
// Docker's default capability set, as "CAP_X" names.
const std::vector<std::string>& default_capabilities();
// "uid[:gid]" or "name[:group]" looked up in the rootfs's /etc/passwd and /etc/group
// (resolved inside the rootfs). Returns {uid, gid}.
[[nodiscard]] Result<std::pair<uint32_t, uint32_t>> resolve_user(const std::string& rootfs,
                                                                 const std::string& user);

}  // namespace husk::engine
