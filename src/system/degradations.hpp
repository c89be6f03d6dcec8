#pragma once
// The probes the engine and the image store call before relying on a kernel feature, and
// the one-time notice when they fall back. Each answer is computed once per process.
//
//   auto overlay = husk::system::overlay_usable(store_dir);
//   if (!overlay.available) {
//       husk::system::announce_degradation("overlay", overlay.reason + ": using vfs");
//       ... vfs ...
//   }
#include <string>

namespace husk::system {

struct Availability {
    bool available = false;
    std::string reason;  // empty when available: "mount overlay with upperdir on ...: ..."
};

// A real overlay mount (with a copy-up) in a temporary directory under `dir` (or its nearest
// existing ancestor), in a private mount namespace; the directory is removed again.
Availability overlay_usable(const std::string& dir);
// nf_tables with a NAT chain, masquerade and conntrack, loaded into a throwaway network
// namespace: what bridge networking needs.
Availability nftables_available();
// A bridge and a veth pair in a throwaway network namespace.
Availability veth_bridge_available();
// Whether `path` (a /proc/sys file) can be written here.
Availability sysctl_writable(const std::string& path);

// Logs "<feature> unavailable: <message>" as a warning the first time it is called for
// `feature` in this process; later calls are silent.
void announce_degradation(const std::string& feature, const std::string& message);

}  // namespace husk::system
