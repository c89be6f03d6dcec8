#pragma once
// What the network store keeps: a network and the containers attached to it. Serialised as
// JSON under <root>/networks/<name>.json.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/error.hpp"
#include "net/ipv4.hpp"
#include "net/ipv6.hpp"
#include "net/netlink.hpp"
#include "net/port_spec.hpp"

namespace husk::net {

struct Endpoint {
    std::string container_id;
    Ipv4 ip;
    Mac mac{};
    std::string host_veth;  // the host end; the pair dies with the container's namespace
    std::string ifname;     // the container end (eth0, eth1, ...)
    std::string netns;      // informational: the path given at attach time
    std::string hostname;
    std::vector<std::string> aliases;
    std::vector<PortBinding> ports;
    std::string hosts_path;  // the container's /etc/hosts on the host, kept up to date
    std::vector<std::string> extra_hosts;  // --add-host NAME:IP lines kept in that file
    std::optional<Ipv6> ip6;               // on dual-stack networks
};

struct Network {
    std::string name;
    std::string id;
    std::string bridge;
    Subnet subnet;
    Ipv4 gateway;
    std::optional<Subnet> ip_range;
    bool internal = false;
    std::string created;                        // RFC 3339
    std::map<std::string, Endpoint> endpoints;  // by container id
    // Dual-stack networks (`create --ipv6`): the IPv6 subnet and the bridge's address in it.
    std::optional<Subnet6> subnet6;
    Ipv6 gateway6;
};

nlohmann::json to_json(const Network& network);
nlohmann::json port_json(const PortBinding& port);
[[nodiscard]] Result<Network> network_from_json(const nlohmann::json& j);

// Docker's rule for names: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 64 characters.
[[nodiscard]] Status check_network_name(const std::string& name);
[[nodiscard]] Status check_container_id(const std::string& id);

// The MAC for an address: 02:48 (locally administered) and the four address bytes, so a
// reused address gets the same MAC and neighbours' caches stay right.
Mac mac_for(Ipv4 ip);

}  // namespace husk::net
