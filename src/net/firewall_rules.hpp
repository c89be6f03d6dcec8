#pragma once
// The whole of a store's nftables table as one nft script, generated from the store's
// networks. Applying it replaces the table in a single transaction (nft batches are
// atomic), so the firewall is always exactly what the store says: a crash between two
// commands leaves the previous consistent table, and `prune` simply regenerates.
#include <string>
#include <vector>

#include "net/network.hpp"

namespace husk::net {

// "table inet NAME; delete table inet NAME; table inet NAME { ... }": creates or replaces.
std::string render_ruleset(const std::string& table, const std::vector<Network>& networks);
// Deletes the table if it exists (as one script).
std::string render_delete(const std::string& table);

}  // namespace husk::net
