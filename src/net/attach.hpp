#pragma once
// The API the engine calls. `husk run` makes the container's network namespace (the
// runtime's clone), then calls attach() once per network before the container's process
// starts, writes Attachment::resolv_conf and ::hosts into the container (or passes
// hosts_path and lets attach() keep it current), and calls detach() when the container
// stops. Every call takes the store lock; every failure undoes what it did.
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "net/network.hpp"

namespace husk::net {

struct AttachOptions {
    std::string network = "bridge";
    std::string container_id;
    std::string netns;                 // /proc/PID/ns/net, /run/netns/NAME, or a bind mount of one
    std::optional<Ipv4> ip;            // --ip
    std::vector<std::string> publish;  // -p specs, as typed
    std::string hostname;
    std::vector<std::string> aliases;  // --network-alias
    // Optional: the host path of the file the engine bind-mounts at /etc/hosts. attach()
    // writes it, and rewrites it in place (the bind mount pins the inode) whenever a peer on
    // a user network comes or goes: live name resolution without a DNS server.
    std::string hosts_path;
    std::optional<Ipv6> ip6;               // --ip6, on a dual-stack network
    std::vector<std::string> extra_hosts;  // --add-host NAME:IP, kept in the hosts file
};

struct Attachment {
    std::string network;
    std::string container_id;
    std::string ifname;  // inside the container
    Ipv4 ip;
    int prefix = 0;
    Ipv4 gateway;
    Mac mac{};
    std::vector<PortBinding> ports;            // with the host ports actually chosen
    std::string resolv_conf;                   // content for /etc/resolv.conf
    std::string hosts;                         // content for /etc/hosts
    std::vector<std::string> sysctls_changed;  // "net.ipv4.ip_forward=1 (was 0)"
    // Dual-stack networks only: the container's IPv6 address and default gateway.
    std::optional<Ipv6> ip6;
    int prefix6 = 0;
    std::optional<Ipv6> gateway6;
};

struct CreateOptions {
    std::string name;
    std::string subnet, gateway, ip_range;  // empty: chosen
    bool internal = false;
    // Dual-stack: an IPv6 subnet too (subnet6, or a ULA /64 chosen when empty).
    bool ipv6 = false;
    std::string subnet6, gateway6;
};

// All take the store root (globals.root).
[[nodiscard]] Result<Attachment> attach(const std::string& root, const AttachOptions& options);
// Detaches the container from `network`, or from every network when it is empty. Detaching
// a container that is not attached is an error naming it. With background_cleanup() on,
// the host veth is deleted after the call returns (background.hpp).
[[nodiscard]] Status detach(const std::string& root, const std::string& container_id,
                            const std::string& network = "");
[[nodiscard]] Result<Network> create_network(const std::string& root, const CreateOptions& o);
// The default network `bridge`, created on first use.
[[nodiscard]] Result<Network> ensure_default_network(const std::string& root);
[[nodiscard]] Status remove_network(const std::string& root, const std::string& name);
[[nodiscard]] Result<std::vector<Network>> list_networks(const std::string& root);
[[nodiscard]] Result<Network> inspect_network(const std::string& root, const std::string& name);
// Drops endpoints whose container namespace is gone (its veth died with it), removes
// unused user networks, links with this store's prefix that no record names, and rewrites
// the firewall table. Returns what it removed, one line each.
[[nodiscard]] Result<std::vector<std::string>> prune(const std::string& root);
// The nft table name of the store at `root` (for inspection and tests).
[[nodiscard]] Result<std::string> firewall_table(const std::string& root);

}  // namespace husk::net
