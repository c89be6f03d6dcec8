#pragma once
// husk explain: what the kernel says a container is, read live from /proc, the cgroup
// filesystem and netlink (never from husk's own records), compared with what its config
// asked for. The same call serves `husk-runtime explain ID` (a bare OCI container found
// through the runtime's state root) and the engine's `husk explain CONTAINER`, which adds
// what only it knows (host-side veth, bridge, nft rules, published ports) through `extra`.
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "oci/runtime_spec.hpp"

namespace husk::explain {

// Another live container, to tell which namespaces a container shares with which.
struct Peer {
    std::string id;
    pid_t pid = 0;
    // Namespaces (proc names: "net", "ipc", ...) this peer joined from the target on
    // purpose (`--network container:TARGET`): sharing them is not a finding.
    std::vector<std::string> joined_from_target;
};

struct Target {
    std::string id;
    pid_t init_pid = 0;
    uint64_t init_start_time = 0;     // /proc/<pid>/stat field 22; 0: not checked
    std::string rootfs;               // the container's root on the host (bundle's root.path)
    std::optional<oci::Spec> config;  // what was asked for; absent: nothing to compare
    std::string config_source;        // where it came from, for messages
    std::vector<Peer> peers;
    // The engine's part, shown as is under "host" (see docs/explain.md, "The seam").
    nlohmann::json extra = nlohmann::json::object();
    std::string proc = "/proc";  // procfs to read (a fixture tree would go here)
};

// The report: one JSON object (the --json output) with sections namespaces, cgroup, root,
// mounts, security, network, processes, and findings (what does not match the config or
// looks wrong), each finding {"severity", "area", "message"}.
[[nodiscard]] Result<nlohmann::json> explain(const Target& target);

// The report for a terminal: one section per area, findings last.
std::string render_text(const nlohmann::json& report);

}  // namespace husk::explain
