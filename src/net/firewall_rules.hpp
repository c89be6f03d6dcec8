#pragma once
// A store's nftables table as nft scripts, generated from the store's networks.
//
// Two ways to bring the table in line with the store:
//  - the full script (render_ruleset) replaces the whole table in one transaction. It is
//    the rebuild path: network create/rm, prune, the first attach after a reboot or a
//    crash, and the fallback whenever an incremental change fails. A table replace
//    unregisters and re-registers every base chain's hook, which is what made each attach
//    and detach cost tens of ms;
//  - incremental scripts add or delete only one endpoint's rules (its published ports).
//    They live in per-network regular chains (nat_prerouting_B, nat_output_B, forward_B
//    for bridge B) that the base chains jump to, so adding or deleting them never touches
//    a hook. Every rule of an endpoint carries its container id as comment; a detach
//    deletes exactly those rules of the network's chains, by handle.
// The per-endpoint rule text is the same in both paths (endpoint_rules), so an incremental
// table equals a rebuilt one up to rule order inside those chains, which does not matter:
// published ports never overlap (port_spec.hpp refuses it).
#include <string>
#include <vector>

#include "net/network.hpp"

namespace husk::net {

// "table inet NAME; delete table inet NAME; table inet NAME { ... }": creates or replaces.
std::string render_ruleset(const std::string& table, const std::vector<Network>& networks);
// Deletes the table if it exists (as one script).
std::string render_delete(const std::string& table);

// The regular chains of a network that hold its endpoints' rules.
struct NetworkChains {
    std::string prerouting, output, forward;
};
NetworkChains network_chains(const Network& n);

// One endpoint's rules, each a rule body without the chain ("ip daddr ... comment \"ID\"").
struct EndpointRules {
    std::vector<std::string> prerouting, output, forward;
    bool empty() const { return prerouting.empty() && output.empty() && forward.empty(); }
};
EndpointRules endpoint_rules(const Network& n, const std::string& id, const Endpoint& e);

// "add rule inet T CHAIN BODY" for each rule of the endpoint (empty when it has none).
std::string render_add_endpoint(const std::string& table, const Network& n, const std::string& id,
                                const Endpoint& e);

}  // namespace husk::net
