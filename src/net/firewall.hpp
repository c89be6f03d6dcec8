#pragma once
// nftables through libnftables: probing that the kernel has nf_tables, and replacing a
// store's table in one transaction. husk never lists, flushes or edits any other table, so
// it coexists with iptables-nft, iptables-legacy and firewalld rules.
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
// Runs one nft script; the error carries nft's own message.
[[nodiscard]] Status run_nft(const std::string& script);

}  // namespace husk::net
