#pragma once
// A container's network, from the engine's side. The veth, address, published ports and
// firewall rules are src/net's (net/attach.hpp). The engine:
//   - writes the files every container gets, as Docker does: <dir>/hosts, <dir>/resolv.conf
//     and <dir>/hostname, bind-mounted at /etc/hosts, /etc/resolv.conf, /etc/hostname;
//   - has the monitor run husk-net (cmd/husk-net: `attach`) between the runtime's create
//     (the network namespace exists, nothing runs in it yet) and start, on every
//     (re)start, and `detach` once the container has stopped;
//   - keeps what the attach gave (address, gateway, host ports) in <dir>/network.json while
//     the container runs: `inspect`, `port` and `ps` read it.
// Only file and process work here: the monitor links this file without src/net.
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "engine/record.hpp"

namespace husk::engine {

// bridge or a user network: the container gets a veth on that network's bridge.
bool uses_network_driver(const ContainerRecord& record);
// "container:<id>" mode: the id whose namespace is joined, else empty.
std::string joined_container(const ContainerRecord& record);

// Writes <dir>/hosts, resolv.conf and hostname for a new container (for --network host the
// host's hosts and resolv.conf; for container:<id> nothing: that container's are used).
[[nodiscard]] Status write_network_files(const ContainerRecord& record, const std::string& dir);
// The files bind-mounted at /etc/{hosts,resolv.conf,hostname}: pairs (host path, target).
std::vector<std::pair<std::string, std::string>> network_file_mounts(
    const ContainerRecord& record, const std::string& dir, const std::string& containers_dir);

struct PublishedPort {
    std::string host_ip;
    int host_port = 0;
    int container_port = 0;
    std::string proto = "tcp";
};

struct NetworkAttachment {
    std::string network;
    std::string ifname;
    std::string ip;
    int prefix = 0;
    std::string gateway;
    std::string mac;
    std::vector<PublishedPort> ports;
    std::vector<std::string> sysctls_changed;
};

// <dir>/network.json, when the container is attached (nullopt otherwise).
std::optional<NetworkAttachment> load_attachment(const std::string& dir);

// The monitor's side: runs `HUSK_NET --root ROOT attach ...` for the container whose
// init is `pid`, writes network.json and (with --dns) resolv.conf. On failure nothing stays
// attached and the error carries husk's own message.
[[nodiscard]] Result<NetworkAttachment> attach_network(const ContainerRecord& record,
                                                       const std::string& net_binary,
                                                       const std::string& root,
                                                       const std::string& dir, int pid);
// Detaches the container from its networks and removes network.json; quiet when it was
// not attached.
void detach_network(const ContainerRecord& record, const std::string& net_binary,
                    const std::string& root, const std::string& dir);

}  // namespace husk::engine
