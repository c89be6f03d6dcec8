#pragma once
// rtnetlink through libmnl: the links, addresses and routes husk makes. One socket per
// network namespace; a socket for another namespace is made inside it (setns there and
// back), and keeps working in it after the thread returned home.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "net/ipv4.hpp"
#include "net/ipv6.hpp"

struct mnl_socket;
struct nlmsghdr;

namespace husk::net {

using Mac = std::array<uint8_t, 6>;
std::string mac_str(const Mac& mac);

struct RouteV4 {
    Subnet dst;
    std::string dev;  // empty when the route names no device
};

class Netlink {
public:
    // A socket in the caller's network namespace.
    [[nodiscard]] static Result<Netlink> open();
    // A socket in the namespace `netns_fd` refers to (an fd of /proc/PID/ns/net).
    [[nodiscard]] static Result<Netlink> open_in(int netns_fd);
    Netlink(Netlink&& other) noexcept;
    Netlink& operator=(Netlink&&) = delete;
    ~Netlink();

    // The link's index, or nullopt when no link has that name.
    [[nodiscard]] Result<std::optional<int>> link_index(const std::string& name);
    [[nodiscard]] Status create_bridge(const std::string& name);
    // A veth pair: `host_name` here, `peer_name` created directly in `peer_netns_fd` with
    // `peer_mac`, so the container end never exists in the host namespace.
    [[nodiscard]] Status create_veth(const std::string& host_name, const std::string& peer_name,
                                     int peer_netns_fd, const Mac& peer_mac);
    // Deletes a link; a link that is already gone is fine.
    [[nodiscard]] Status delete_link(const std::string& name);
    [[nodiscard]] Status set_up(int index);
    [[nodiscard]] Status set_master(int index, int master_index);
    // Hairpin mode on a bridge port: with br_netfilter loaded (Docker loads it), a
    // container reaching its own published port is DNATed back to the port it came from.
    [[nodiscard]] Status set_hairpin(int port_index);
    [[nodiscard]] Status add_address(int index, Ipv4 address, int prefix);
    [[nodiscard]] Status add_default_route(Ipv4 gateway, int dev_index);
    // IPv6: addresses are added without duplicate address detection (husk hands them out,
    // and a tentative address would not be usable for the first second or two).
    [[nodiscard]] Status add_address6(int index, const Ipv6& address, int prefix);
    [[nodiscard]] Status add_default_route6(const Ipv6& gateway, int dev_index);
    // IPv6 routes (default and link-local/multicast ones left out) and addresses, as subnets.
    [[nodiscard]] Result<std::vector<Subnet6>> routes_v6();
    [[nodiscard]] Result<std::vector<Subnet6>> addresses_v6();
    // IPv4 routes of the main table (and other non-local tables), default routes left out.
    [[nodiscard]] Result<std::vector<RouteV4>> routes_v4();
    // The names of every link in this namespace.
    [[nodiscard]] Result<std::vector<std::string>> link_names();
    // Every IPv4 address on the host, as address/prefix subnets.
    [[nodiscard]] Result<std::vector<Subnet>> addresses_v4();

private:
    Netlink(mnl_socket* sock, uint32_t portid) : sock_(sock), portid_(portid) {}
    // Sends one request and waits for its ack; the error names `what`.
    Status transact(nlmsghdr* msg, const std::string& what);
    template <typename F>
    Status dump(nlmsghdr* msg, const std::string& what, F&& on_message);
    Result<std::string> link_name(int index);

    mnl_socket* sock_ = nullptr;
    uint32_t portid_ = 0;
    uint32_t seq_ = 1;
};

}  // namespace husk::net
