#include "net/netlink.hpp"

// net/if.h before the linux headers: libc-compat then leaves its definitions alone.
#include <net/if.h>
// clang-format off
#include <arpa/inet.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
// clang-format on

#include <cstring>
#include <map>
#include <vector>

#include "common/unique_fd.hpp"

namespace husk::net {

std::string mac_str(const Mac& m) {
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4],
                       m[5]);
}

static Result<mnl_socket*> open_socket() {
    mnl_socket* sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (!sock) return fail_errno("open rtnetlink socket");
    if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) {
        auto err = Error::from_errno("bind rtnetlink socket");
        mnl_socket_close(sock);
        return fail(err);
    }
    return sock;
}

Result<Netlink> Netlink::open() {
    auto sock = open_socket();
    if (!sock) return fail(sock.error());
    return Netlink(*sock, mnl_socket_get_portid(*sock));
}

Result<Netlink> Netlink::open_in(int netns_fd) {
    UniqueFd home(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!home) return fail_errno("open /proc/thread-self/ns/net");
    if (::setns(netns_fd, CLONE_NEWNET) != 0) return fail_errno("enter network namespace");
    auto sock = open_socket();
    // Going home cannot fail for a namespace we just left; if it did, every later step
    // would act on the container's namespace, so stop here.
    if (::setns(home.get(), CLONE_NEWNET) != 0) std::abort();
    if (!sock) return fail(sock.error());
    return Netlink(*sock, mnl_socket_get_portid(*sock));
}

Netlink::Netlink(Netlink&& other) noexcept
    : sock_(std::exchange(other.sock_, nullptr)), portid_(other.portid_), seq_(other.seq_) {}

Netlink::~Netlink() {
    if (sock_) mnl_socket_close(sock_);
}

Status Netlink::transact(nlmsghdr* msg, const std::string& what) {
    msg->nlmsg_flags |= NLM_F_ACK;
    msg->nlmsg_seq = seq_++;
    if (mnl_socket_sendto(sock_, msg, msg->nlmsg_len) < 0) return fail_errno("{}", what);
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(sock_, buf.data(), buf.size());
        if (n < 0) return fail_errno("{}", what);
        int rc = mnl_cb_run(buf.data(), n, msg->nlmsg_seq, portid_, nullptr, nullptr);
        if (rc == MNL_CB_ERROR) return fail_errno("{}", what);
        if (rc == MNL_CB_STOP) return {};
    }
}

template <typename F>
Status Netlink::dump(nlmsghdr* msg, const std::string& what, F&& on_message) {
    msg->nlmsg_flags |= NLM_F_DUMP;
    msg->nlmsg_seq = seq_++;
    if (mnl_socket_sendto(sock_, msg, msg->nlmsg_len) < 0) return fail_errno("{}", what);
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    auto cb = [](const nlmsghdr* m, void* data) -> int {
        (*static_cast<std::remove_reference_t<F>*>(data))(m);
        return MNL_CB_OK;
    };
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(sock_, buf.data(), buf.size());
        if (n < 0) return fail_errno("{}", what);
        int rc = mnl_cb_run(buf.data(), n, msg->nlmsg_seq, portid_, cb, &on_message);
        if (rc == MNL_CB_ERROR) return fail_errno("{}", what);
        if (rc == MNL_CB_STOP) return {};
    }
}

namespace {
// mnl_attr_for_each, without its C-only void* conversions.
template <typename Fn>
void for_each_attr(const nlmsghdr* nlh, size_t offset, Fn&& fn) {
    auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, offset));
    auto* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
    while (mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<const char*>(attr)))) {
        fn(attr);
        attr = mnl_attr_next(attr);
    }
}

struct Message {
    std::vector<char> buf = std::vector<char>(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh;
    Message(uint16_t type, uint16_t flags) {
        nlh = mnl_nlmsg_put_header(buf.data());
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    }
    template <typename T>
    T* header() {
        return static_cast<T*>(mnl_nlmsg_put_extra_header(nlh, sizeof(T)));
    }
};
}  // namespace

Result<std::optional<int>> Netlink::link_index(const std::string& name) {
    Message m(RTM_GETLINK, 0);
    auto* ifi = m.header<ifinfomsg>();
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(m.nlh, IFLA_IFNAME, name.c_str());
    // No NLM_F_ACK: the answer is the link or an error, and an ack left unread would be
    // taken for the next request's answer.
    m.nlh->nlmsg_seq = seq_++;
    if (mnl_socket_sendto(sock_, m.nlh, m.nlh->nlmsg_len) < 0)
        return fail_errno("look up link {}", name);
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    std::optional<int> index;
    auto cb = [](const nlmsghdr* nlh, void* data) -> int {
        auto* reply = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
        *static_cast<std::optional<int>*>(data) = reply->ifi_index;
        return MNL_CB_OK;
    };
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(sock_, buf.data(), buf.size());
        if (n < 0) return fail_errno("look up link {}", name);
        int rc = mnl_cb_run(buf.data(), n, m.nlh->nlmsg_seq, portid_, cb, &index);
        if (rc == MNL_CB_ERROR) {
            if (errno == ENODEV) return std::optional<int>{};
            return fail_errno("look up link {}", name);
        }
        if (rc == MNL_CB_STOP || index) return index;
        if (rc == MNL_CB_OK) return index;
    }
}

Status Netlink::create_bridge(const std::string& name) {
    Message m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    m.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(m.nlh, IFLA_IFNAME, name.c_str());
    auto* info = mnl_attr_nest_start(m.nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(m.nlh, IFLA_INFO_KIND, "bridge");
    mnl_attr_nest_end(m.nlh, info);
    return transact(m.nlh, fmt::format("create bridge {}", name));
}

Status Netlink::create_veth(const std::string& host_name, const std::string& peer_name,
                            int peer_netns_fd, const Mac& peer_mac) {
    Message m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    m.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(m.nlh, IFLA_IFNAME, host_name.c_str());
    auto* info = mnl_attr_nest_start(m.nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(m.nlh, IFLA_INFO_KIND, "veth");
    auto* data = mnl_attr_nest_start(m.nlh, IFLA_INFO_DATA);
    auto* peer = mnl_attr_nest_start(m.nlh, VETH_INFO_PEER);
    auto* pifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(m.nlh, sizeof(ifinfomsg)));
    pifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(m.nlh, IFLA_IFNAME, peer_name.c_str());
    mnl_attr_put_u32(m.nlh, IFLA_NET_NS_FD, static_cast<uint32_t>(peer_netns_fd));
    mnl_attr_put(m.nlh, IFLA_ADDRESS, peer_mac.size(), peer_mac.data());
    mnl_attr_nest_end(m.nlh, peer);
    mnl_attr_nest_end(m.nlh, data);
    mnl_attr_nest_end(m.nlh, info);
    return transact(
        m.nlh, fmt::format("create veth pair {} <-> {} (container side)", host_name, peer_name));
}

Status Netlink::delete_link(const std::string& name) {
    Message m(RTM_DELLINK, 0);
    m.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(m.nlh, IFLA_IFNAME, name.c_str());
    auto st = transact(m.nlh, fmt::format("delete link {}", name));
    if (!st && st.error().errnum() == ENODEV) return {};
    return st;
}

Result<std::string> Netlink::link_name(int index) {
    char name[IF_NAMESIZE] = {};
    if (!if_indextoname(static_cast<unsigned>(index), name)) return std::to_string(index);
    return std::string(name);
}

Status Netlink::set_up(int index) {
    Message m(RTM_NEWLINK, 0);
    auto* ifi = m.header<ifinfomsg>();
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = index;
    ifi->ifi_flags = IFF_UP;
    ifi->ifi_change = IFF_UP;
    return transact(m.nlh, fmt::format("set link {} up", index));
}

Status Netlink::set_master(int index, int master_index) {
    Message m(RTM_NEWLINK, 0);
    auto* ifi = m.header<ifinfomsg>();
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = index;
    mnl_attr_put_u32(m.nlh, IFLA_MASTER, static_cast<uint32_t>(master_index));
    return transact(m.nlh, fmt::format("attach link {} to bridge {}", index, master_index));
}

Status Netlink::set_hairpin(int port_index) {
    Message m(RTM_SETLINK, 0);
    auto* ifi = m.header<ifinfomsg>();
    ifi->ifi_family = AF_BRIDGE;
    ifi->ifi_index = port_index;
    auto* nest = mnl_attr_nest_start(m.nlh, IFLA_PROTINFO);
    mnl_attr_put_u8(m.nlh, IFLA_BRPORT_MODE, 1);
    mnl_attr_nest_end(m.nlh, nest);
    return transact(m.nlh, fmt::format("set hairpin mode on bridge port {}", port_index));
}

Status Netlink::add_address(int index, Ipv4 address, int prefix) {
    Message m(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
    auto* ifa = m.header<ifaddrmsg>();
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = static_cast<uint8_t>(prefix);
    ifa->ifa_index = static_cast<uint32_t>(index);
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    uint32_t be = htonl(address.value);
    mnl_attr_put_u32(m.nlh, IFA_LOCAL, be);
    mnl_attr_put_u32(m.nlh, IFA_ADDRESS, be);
    if (prefix < 31) {
        uint32_t bcast = htonl(subnet_of(address, prefix).last().value);
        mnl_attr_put_u32(m.nlh, IFA_BROADCAST, bcast);
    }
    return transact(m.nlh,
                    fmt::format("add address {}/{} to link {}", address.str(), prefix, index));
}

Status Netlink::add_default_route(Ipv4 gateway, int dev_index) {
    Message m(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
    auto* rt = m.header<rtmsg>();
    rt->rtm_family = AF_INET;
    rt->rtm_table = RT_TABLE_MAIN;
    rt->rtm_protocol = RTPROT_BOOT;
    rt->rtm_scope = RT_SCOPE_UNIVERSE;
    rt->rtm_type = RTN_UNICAST;
    mnl_attr_put_u32(m.nlh, RTA_GATEWAY, htonl(gateway.value));
    mnl_attr_put_u32(m.nlh, RTA_OIF, static_cast<uint32_t>(dev_index));
    return transact(m.nlh, fmt::format("add default route via {}", gateway.str()));
}

Status Netlink::add_address6(int index, const Ipv6& address, int prefix) {
    Message m(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
    auto* ifa = m.header<ifaddrmsg>();
    ifa->ifa_family = AF_INET6;
    ifa->ifa_prefixlen = static_cast<uint8_t>(prefix);
    ifa->ifa_index = static_cast<uint32_t>(index);
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_flags = IFA_F_NODAD;
    mnl_attr_put(m.nlh, IFA_LOCAL, address.bytes.size(), address.bytes.data());
    mnl_attr_put(m.nlh, IFA_ADDRESS, address.bytes.size(), address.bytes.data());
    mnl_attr_put_u32(m.nlh, IFA_FLAGS, IFA_F_NODAD);
    return transact(m.nlh,
                    fmt::format("add address {}/{} to link {}", address.str(), prefix, index));
}

Status Netlink::add_default_route6(const Ipv6& gateway, int dev_index) {
    Message m(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
    auto* rt = m.header<rtmsg>();
    rt->rtm_family = AF_INET6;
    rt->rtm_table = RT_TABLE_MAIN;
    rt->rtm_protocol = RTPROT_BOOT;
    rt->rtm_scope = RT_SCOPE_UNIVERSE;
    rt->rtm_type = RTN_UNICAST;
    mnl_attr_put(m.nlh, RTA_GATEWAY, gateway.bytes.size(), gateway.bytes.data());
    mnl_attr_put_u32(m.nlh, RTA_OIF, static_cast<uint32_t>(dev_index));
    return transact(m.nlh, fmt::format("add IPv6 default route via {}", gateway.str()));
}

static Ipv6 ipv6_attr(const nlattr* attr) {
    Ipv6 ip;
    if (mnl_attr_get_payload_len(attr) == ip.bytes.size())
        std::memcpy(ip.bytes.data(), mnl_attr_get_payload(attr), ip.bytes.size());
    return ip;
}

Result<std::vector<Subnet6>> Netlink::routes_v6() {
    Message m(RTM_GETROUTE, 0);
    m.header<rtmsg>()->rtm_family = AF_INET6;
    std::vector<Subnet6> out;
    auto on = [&](const nlmsghdr* nlh) {
        auto* rt = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
        if (rt->rtm_family != AF_INET6 || rt->rtm_table == RT_TABLE_LOCAL) return;
        if (rt->rtm_type != RTN_UNICAST || rt->rtm_dst_len == 0) return;
        Subnet6 r{Ipv6{}, rt->rtm_dst_len};
        for_each_attr(nlh, sizeof(*rt), [&](const nlattr* attr) {
            if (mnl_attr_get_type(attr) == RTA_DST) r.base = ipv6_attr(attr);
        });
        out.push_back(subnet6_of(r.base, r.prefix));
    };
    HUSK_TRY(dump(m.nlh, "list IPv6 routes", on));
    return out;
}

Result<std::vector<Subnet6>> Netlink::addresses_v6() {
    Message m(RTM_GETADDR, 0);
    m.header<ifaddrmsg>()->ifa_family = AF_INET6;
    std::vector<Subnet6> out;
    auto on = [&](const nlmsghdr* nlh) {
        auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
        if (ifa->ifa_family != AF_INET6) return;
        for_each_attr(nlh, sizeof(*ifa), [&](const nlattr* attr) {
            if (mnl_attr_get_type(attr) == IFA_ADDRESS)
                out.push_back(subnet6_of(ipv6_attr(attr), ifa->ifa_prefixlen));
        });
    };
    HUSK_TRY(dump(m.nlh, "list IPv6 addresses", on));
    return out;
}

Result<std::vector<RouteV4>> Netlink::routes_v4() {
    Message m(RTM_GETROUTE, 0);
    m.header<rtmsg>()->rtm_family = AF_INET;
    std::vector<RouteV4> out;
    std::map<int, std::string> names;
    auto on = [&](const nlmsghdr* nlh) {
        auto* rt = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
        if (rt->rtm_family != AF_INET || rt->rtm_table == RT_TABLE_LOCAL) return;
        if (rt->rtm_type != RTN_UNICAST || rt->rtm_dst_len == 0) return;
        RouteV4 r{Subnet{Ipv4{}, rt->rtm_dst_len}, {}};
        for_each_attr(nlh, sizeof(*rt), [&](const nlattr* attr) {
            if (mnl_attr_get_type(attr) == RTA_DST)
                r.dst.base = Ipv4{ntohl(mnl_attr_get_u32(attr))};
            if (mnl_attr_get_type(attr) == RTA_OIF)
                names[static_cast<int>(out.size())] = std::to_string(mnl_attr_get_u32(attr));
        });
        r.dst = subnet_of(r.dst.base, r.dst.prefix);
        out.push_back(r);
    };
    HUSK_TRY(dump(m.nlh, "list IPv4 routes", on));
    for (auto& [i, idx] : names) {
        auto name = link_name(std::stoi(idx));
        if (name) out[static_cast<size_t>(i)].dev = *name;
    }
    return out;
}

Result<std::vector<std::string>> Netlink::link_names() {
    Message m(RTM_GETLINK, 0);
    m.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
    std::vector<std::string> out;
    auto on = [&](const nlmsghdr* nlh) {
        for_each_attr(nlh, sizeof(ifinfomsg), [&](const nlattr* attr) {
            if (mnl_attr_get_type(attr) == IFLA_IFNAME) out.push_back(mnl_attr_get_str(attr));
        });
    };
    HUSK_TRY(dump(m.nlh, "list links", on));
    return out;
}

Result<std::vector<Subnet>> Netlink::addresses_v4() {
    Message m(RTM_GETADDR, 0);
    m.header<ifaddrmsg>()->ifa_family = AF_INET;
    std::vector<Subnet> out;
    auto on = [&](const nlmsghdr* nlh) {
        auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
        if (ifa->ifa_family != AF_INET) return;
        for_each_attr(nlh, sizeof(*ifa), [&](const nlattr* attr) {
            if (mnl_attr_get_type(attr) == IFA_LOCAL)
                out.push_back(subnet_of(Ipv4{ntohl(mnl_attr_get_u32(attr))}, ifa->ifa_prefixlen));
        });
    };
    HUSK_TRY(dump(m.nlh, "list IPv4 addresses", on));
    return out;
}

}  // namespace husk::net
