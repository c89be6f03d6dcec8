#pragma once
// nftables through libnftables: probing that the kernel has nf_tables, replacing a store's
// table in one transaction (the rebuild path), and adding or deleting one endpoint's rules
// (the incremental path, firewall_rules.hpp). husk never lists, flushes or edits any other
// table, so it coexists with iptables-nft, iptables-legacy and firewalld rules.
#include <string>
#include <vector>

#include "common/error.hpp"
#include "net/network.hpp"

namespace husk::net {

// Checks that nf_tables answers (a GETGEN request over nfnetlink). The error names the
// kernel's reason and the fix. HUSK_NET_SIMULATE_NO_NFTABLES=1 makes the probe see what a
// kernel without nf_tables answers (EPROTONOSUPPORT), for the test of that message.
[[nodiscard]] Status check_nftables();
// Replaces the store's table with the rules for `networks` (or deletes it when there are
// none) in one nft transaction.
[[nodiscard]] Status sync_firewall(const std::string& table, const std::vector<Network>& networks);
// Whether the table has the network's chains as this version lays them out (one GETCHAIN
// request). They are made in the same transaction as the network's forward filter, so
// their presence says the network's drop rules are in force; when absent (a reboot, a
// crash before the first sync, an older husk's table, someone's `nft flush ruleset`) the
// caller rebuilds. Also fails like check_nftables() when nf_tables is missing.
[[nodiscard]] Result<bool> network_chains_present(const std::string& table, const Network& n);
// Adds the rules of endpoint `id` of `n` (its published ports) to the network's chains.
[[nodiscard]] Status add_endpoint_rules(const std::string& table, const Network& n,
                                        const std::string& id);
// Deletes every rule of the network's chains whose comment is `id`, by handle (over
// libmnl: a rule dump of the three chains and one DELRULE batch, no libnftables).
[[nodiscard]] Status remove_endpoint_rules(const std::string& table, const Network& n,
                                           const std::string& id);
// Runs one nft script; the error carries nft's own message.
[[nodiscard]] Status run_nft(const std::string& script);

}  // namespace husk::net
