#pragma once
// The few nf_tables requests husk makes straight over nfnetlink (libmnl), without
// libnftables: its context, its cache dump of every table on the host and its parser cost
// several ms per use, which attach and detach run on every container's start and exit.
// Anything that builds rule expressions stays with libnftables (firewall.cpp).
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace husk::net {

// Sends one nf_tables request with an ack; returns 0 or the errno that came back (from the
// kernel or the socket). `table`/`chain` are added as NFTA_CHAIN_* attributes when set.
int nft_get_chain(const std::string& table, const std::string& chain);
int nft_get_gen();

struct RuleRef {
    std::string chain;
    uint64_t handle = 0;
    std::string comment;  // the rule's comment (its userdata), empty when none
};
// The rules of the inet chains `chains` of `table`; a missing table or chain has none.
[[nodiscard]] Result<std::vector<RuleRef>> nft_list_rules(const std::string& table,
                                                          const std::vector<std::string>& chains);
// Deletes the rules (by chain and handle) of inet `table` in one transaction.
[[nodiscard]] Status nft_delete_rules(const std::string& table, const std::vector<RuleRef>& rules);

}  // namespace husk::net
