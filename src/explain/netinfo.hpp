#pragma once
// A network namespace as netlink shows it: interfaces, addresses, routes. Read from inside
// the namespace by a thread that setns()es into it (network namespaces are per thread),
// so the caller's own namespace never changes.
#include <sys/types.h>

#include <string>
#include <vector>

#include "common/error.hpp"

namespace husk::explain {

struct NetLink {
    int index = 0;
    std::string name;
    std::string kind;  // "veth", "bridge", "" for a plain device (lo)
    std::string mac;
    unsigned mtu = 0;
    bool up = false;        // IFF_UP
    bool carrier = false;   // IFF_LOWER_UP
    std::string operstate;  // "up", "down", "unknown"
    int peer_netnsid = -1;  // a veth's other end lives in another namespace
};

struct NetAddr {
    int index = 0;
    std::string family;  // "inet", "inet6"
    std::string address;
    int prefix = 0;
    std::string scope;  // "host", "link", "global"
};

struct NetRoute {
    std::string family;
    std::string destination;  // "default" or "10.0.0.0/24"
    std::string gateway;
    int oif = 0;
    std::string device;
    unsigned table = 0;
    std::string protocol;  // "kernel", "boot", "static"
    std::string scope;
};

struct NetView {
    std::vector<NetLink> links;
    std::vector<NetAddr> addresses;
    std::vector<NetRoute> routes;
};

// The namespace at `ns_path` (/proc/<pid>/ns/net).
[[nodiscard]] Result<NetView> read_netns(const std::string& ns_path);

}  // namespace husk::explain
