#pragma once
// Address management: picking a subnet nobody routes yet, and addresses inside one. Pure
// functions over what is in use; the store calls them under its lock, so two `husk`
// processes never hand out the same address.
#include <optional>
#include <set>
#include <vector>

#include "common/error.hpp"
#include "net/ipv4.hpp"
#include "net/ipv6.hpp"

namespace husk::net {

struct Pool {
    Subnet subnet;
    Ipv4 gateway;
    std::optional<Subnet> range;  // addresses are handed out only from here (--ip-range)
};

// The candidates for networks created without --subnet, in order: 172.17-31.0.0/16 then
// 10.89-127.0.0.0/16 (10.88 is podman's default). Never anything on the host's routes.
std::vector<Subnet> default_subnet_candidates();
// The first candidate that overlaps none of `in_use` (host routes + other networks).
[[nodiscard]] Result<Subnet> choose_subnet(const std::vector<Subnet>& in_use);
// Checks --subnet/--gateway/--ip-range against each other and `in_use`; fills the gateway
// (first host address) when it was not given.
[[nodiscard]] Result<Pool> make_pool(const Subnet& subnet, std::optional<Ipv4> gateway,
                                     std::optional<Subnet> range,
                                     const std::vector<Subnet>& in_use);
// The lowest free address of the pool (never the network, broadcast or gateway address), or
// `requested` when it is in the subnet and free.
[[nodiscard]] Result<Ipv4> allocate(const Pool& pool, const std::set<Ipv4>& used,
                                    std::optional<Ipv4> requested);

// IPv6 (dual-stack networks). Without --subnet a ULA /64 (RFC 4193: fd00::/8 and a 40-bit
// global id, here derived from `seed`, the network's random id) that overlaps none of
// `in_use` (host routes and addresses, other networks).
[[nodiscard]] Result<Subnet6> choose_subnet6(const std::string& seed,
                                             const std::vector<Subnet6>& in_use);
struct Pool6 {
    Subnet6 subnet;
    Ipv6 gateway;
};
// Checks an IPv6 subnet (/48 to /120) and gateway; the gateway defaults to ::1 of the subnet.
[[nodiscard]] Result<Pool6> make_pool6(const Subnet6& subnet, std::optional<Ipv6> gateway,
                                       const std::vector<Subnet6>& in_use);
// The lowest free address from ::2 of the subnet, or `requested` when usable and free.
[[nodiscard]] Result<Ipv6> allocate6(const Pool6& pool, const std::set<Ipv6>& used,
                                     std::optional<Ipv6> requested);

}  // namespace husk::net
