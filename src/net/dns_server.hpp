#pragma once
// A small DNS responder per user network, on the network's gateway address, port 53: A
// records for the containers attached to it (hostname, aliases, container id), read from
// the store record on every query so it is always current, AAAA records too on dual-stack
// networks; other names are forwarded to the host's first non-loopback nameserver (UDP,
// again over TCP when the answer is truncated). It answers over UDP and TCP on port 53. It runs as
// a detached process started by attach() and exits by itself once the network is removed or has no
// endpoints left, so no daemon outlives its network (docs/networking.md, "DNS").
#include <optional>
#include <string>

#include "common/error.hpp"
#include "net/ipv6.hpp"

namespace husk::net {

// Serves until the network is gone or empty. Binds first and reports a bind failure.
[[nodiscard]] Status serve_dns(const std::string& root, const std::string& network);
// Starts serve_dns in a detached grandchild unless one already serves the network
// (its port is taken). Best effort: a failure leaves name resolution to /etc/hosts.
void start_dns(const std::string& root, const std::string& network);
// Builds the answer for a query from an A-record table; empty when the name is unknown.
// Exposed for the unit tests.
std::string dns_answer(const std::string& query, const std::string& name, uint32_t ipv4);
// The same with both families: A from ipv4, AAAA from ipv6, NODATA for a type it lacks.
std::string dns_answer_for(const std::string& query, std::optional<uint32_t> ipv4,
                           std::optional<Ipv6> ipv6);
// The largest UDP answer the client takes: its EDNS buffer size, or 512.
size_t dns_udp_limit(const std::string& query);
// An answer cut to its header and question with TC set (the client retries over TCP).
std::string dns_truncated(const std::string& reply);
// The lower-cased name asked for in a query ("" when the packet is not a single question).
std::string dns_question(const std::string& query, uint16_t* qtype);

}  // namespace husk::net
