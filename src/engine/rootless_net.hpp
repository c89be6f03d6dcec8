#pragma once
// Networking for rootless containers: a user-mode network stack in the container's network
// namespace, since an unprivileged user can make neither veths nor nft rules on the host.
// pasta (package passt, the default) or slirp4netns give egress through the host's own
// sockets and forward published ports from the host into the namespace.
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace husk::engine {

enum class RootlessNetDriver { pasta, slirp4netns };
// "pasta" / "slirp4netns"; errors name the input.
[[nodiscard]] Result<RootlessNetDriver> parse_rootless_net_driver(const std::string& name);
const char* rootless_net_driver_name(RootlessNetDriver driver);

struct ForwardedPort {
    std::string host_ip;  // "" or "0.0.0.0": every address
    uint16_t host_port = 0;
    uint16_t container_port = 0;
    bool udp = false;
};

// Whether a network mode is one of the rootless drivers ("pasta", "slirp4netns").
bool is_rootless_network_mode(const std::string& mode);

// `-p` specs as typed (`[ip:][host[-host]:]container[-container][/proto]`, already checked
// by `husk run`) as the ports to forward; a missing host port gets a free one of the host's.
[[nodiscard]] Result<std::vector<ForwardedPort>> forwarded_ports(
    const std::vector<std::string>& publish);

// What a container publishes as `-p` specs: its own, and with -P (`publish_all`) every
// exposed port ("80/tcp") that no `-p` already publishes, to be given a free host port.
std::vector<std::string> published_specs(const std::vector<std::string>& publish, bool publish_all,
                                         const std::vector<std::string>& expose);

// The running helper; stop it with stop_rootless_network.
struct RootlessNet {
    RootlessNetDriver driver = RootlessNetDriver::pasta;
    pid_t pid = 0;           // the helper's pid
    std::string netns_file;  // the namespace bound to a file the helper opens
};

// Binds the network namespace of `container_pid` to `<dir>/netns` (the helpers open it by
// path: after dropping privileges they could not open /proc/<pid>/ns/net), starts the helper
// and returns once the namespace has its interface, address and default route and the ports
// are forwarded. On failure nothing is left (the helper killed, the bind removed).
[[nodiscard]] Result<RootlessNet> start_rootless_network(RootlessNetDriver driver,
                                                         pid_t container_pid,
                                                         const std::vector<ForwardedPort>& ports,
                                                         const std::string& dir);
// <dir>/network.json for `husk port`, `ps` and `inspect` (the shape container_network.hpp
// reads: network, ports), and its removal.
[[nodiscard]] Status save_rootless_attachment(const std::string& dir, const RootlessNet& net,
                                              const std::vector<ForwardedPort>& ports);
void remove_rootless_attachment(const std::string& dir);

// Stops the helper and removes the namespace's file. Idempotent.
void stop_rootless_network(const RootlessNet& net);

}  // namespace husk::engine
