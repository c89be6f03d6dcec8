#pragma once
// /etc/resolv.conf and /etc/hosts for a container. Name resolution between containers on a
// user network is done with hosts files that husk rewrites on every attach and detach (see
// docs/networking.md; the DNS responder of dns_server.hpp answers the same names).
#include <string>
#include <vector>

#include "net/network.hpp"

namespace husk::net {

// The host's resolv.conf: /etc/resolv.conf, or $HUSK_RESOLV_CONF when set (tests point the
// forwarder at a nameserver of their own with it).
std::string host_resolv_conf_path();
// The host's resolv.conf with loopback nameservers (a local stub such as systemd-resolved
// or dnsmasq, unreachable from the container's namespace) left out; when none remains,
// Docker's fallback (8.8.8.8, 8.8.4.4). search/options lines are kept.
// With `nameserver` (a user network's gateway, where its DNS responder listens) that
// server replaces the host's.
std::string container_resolv_conf(const std::string& host_resolv_conf,
                                  const std::string& nameserver = "");
// localhost lines, the container's own address with its hostname and aliases, and on user
// networks every peer's address with its hostname, aliases and container id, then the
// endpoint's extra hosts (--add-host).
std::string container_hosts(const Endpoint& self, const std::vector<const Endpoint*>& peers);

}  // namespace husk::net
