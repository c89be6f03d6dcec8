#pragma once
// Ports published on [::1]. IPv4 publishing on 127.0.0.1 is a DNAT in the output hook plus
// route_localnet on the bridge; IPv6 has no route_localnet (a packet from or to ::1 never
// leaves the loopback device, checked on this kernel: the DNATed SYN is dropped), so for
// [::1] husk runs a small proxy, as Docker does for the same case: a process listening on
// [::1]:H that connects to the container. ::1 itself guarantees "this host only".
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "net/port_spec.hpp"

namespace husk::net {

struct ProxyListener {
    PortBinding binding;
    std::string target;  // the container's address ("fd00::2" or "10.1.0.2")
    UniqueFd fd;         // bound (and listening for TCP)
};

// Binds [::1]:H for the binding; the error names the address and port.
[[nodiscard]] Result<ProxyListener> bind_proxy_listener(const PortBinding& binding,
                                                        const std::string& target);

// Forks a detached process (no exec) that serves the listeners until the endpoint of
// `container_id` on `network` is gone from the store or its host veth `host_veth` is gone
// (checked every second); TCP connections are relayed by children that die with it.
void start_proxy(const std::string& root, const std::string& network, const std::string& network_id,
                 const std::string& container_id, const std::string& host_veth,
                 std::vector<ProxyListener> listeners);

}  // namespace husk::net
