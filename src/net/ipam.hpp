#pragma once
// Address management: picking a subnet nobody routes yet, and addresses inside one. Pure
// functions over what is in use; the store calls them under its lock, so two `husk`
// processes never hand out the same address.
#include <optional>
#include <set>
#include <vector>

#include "common/error.hpp"
#include "net/ipv4.hpp"

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

}  // namespace husk::net
