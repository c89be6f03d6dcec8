#pragma once
// A container's network as the host has it, read live (for `husk explain`): per network,
// the host end of its veth (up or not, which bridge it is a port of, hairpin, counters),
// and the rules of the store's nft table that name its address (DNAT of its published
// ports, the forward accepts). Problems it can see (a veth that is gone or on the wrong
// bridge, a published port with no DNAT rule) are listed under "problems".
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace husk::net {

[[nodiscard]] Result<nlohmann::json> host_view(const std::string& root,
                                               const std::string& container_id);

}  // namespace husk::net
