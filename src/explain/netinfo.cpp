#include "explain/netinfo.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if_arp.h>
#include <sched.h>

#include <ctime>
#include <thread>

#include <fmt/core.h>

#include "common/unique_fd.hpp"

namespace husk::explain {
namespace {

struct Socket {
    mnl_socket* nl = nullptr;
    ~Socket() {
        if (nl != nullptr) mnl_socket_close(nl);
    }
};

std::string addr_text(int family, const void* data) {
    char buf[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(family, data, buf, sizeof buf);
    return buf;
}

const char* scope_name(unsigned scope) {
    switch (scope) {
        case RT_SCOPE_UNIVERSE:
            return "global";
        case RT_SCOPE_SITE:
            return "site";
        case RT_SCOPE_LINK:
            return "link";
        case RT_SCOPE_HOST:
            return "host";
        case RT_SCOPE_NOWHERE:
            return "nowhere";
    }
    return "other";
}

std::string protocol_name(unsigned proto) {
    switch (proto) {
        case RTPROT_KERNEL:
            return "kernel";
        case RTPROT_BOOT:
            return "boot";
        case RTPROT_STATIC:
            return "static";
        case RTPROT_DHCP:
            return "dhcp";
    }
    return std::to_string(proto);
}

// Attributes by type, as mnl_attr_parse hands them over (the iteration macros are C only).
struct Attrs {
    static constexpr int kMax = 64;
    const nlattr* at[kMax] = {};
    const nlattr* get(int type) const { return type < kMax ? at[type] : nullptr; }
};

int collect(const nlattr* attr, void* data) {
    auto* attrs = static_cast<Attrs*>(data);
    int type = mnl_attr_get_type(attr);
    if (type < Attrs::kMax) attrs->at[type] = attr;
    return MNL_CB_OK;
}

// One dump request; `cb` sees every message of the answer.
Status dump(mnl_socket* nl, uint16_t type, size_t header, mnl_cb_t cb, void* data) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    uint32_t seq = static_cast<uint32_t>(::time(nullptr)) + type;
    nlh->nlmsg_seq = seq;
    // ifinfomsg, ifaddrmsg and rtmsg all start with the family; zero means every family.
    mnl_nlmsg_put_extra_header(nlh, header);
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) return fail_errno("netlink dump {}", type);
    unsigned portid = mnl_socket_get_portid(nl);
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof buf);
        if (n < 0) return fail_errno("netlink dump {}", type);
        int rc = mnl_cb_run(buf, static_cast<size_t>(n), seq, portid, cb, data);
        if (rc == MNL_CB_STOP) return {};
        if (rc < 0) return fail_errno("netlink dump {}", type);
    }
}

int link_cb(const nlmsghdr* nlh, void* data) {
    auto* view = static_cast<NetView*>(data);
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
    NetLink link;
    link.index = ifi->ifi_index;
    link.up = (ifi->ifi_flags & IFF_UP) != 0;
    link.carrier = (ifi->ifi_flags & IFF_LOWER_UP) != 0;
    Attrs a;
    mnl_attr_parse(nlh, sizeof(*ifi), collect, &a);
    if (auto* x = a.get(IFLA_IFNAME)) link.name = mnl_attr_get_str(x);
    if (auto* x = a.get(IFLA_MTU)) link.mtu = mnl_attr_get_u32(x);
    if (auto* x = a.get(IFLA_LINK_NETNSID))
        link.peer_netnsid = static_cast<int>(mnl_attr_get_u32(x));
    if (auto* x = a.get(IFLA_OPERSTATE)) {
        static const char* states[] = {"unknown", "notpresent", "down", "lowerlayerdown",
                                       "testing", "dormant",    "up"};
        unsigned st = mnl_attr_get_u8(x);
        link.operstate = st < 7 ? states[st] : "unknown";
    }
    if (auto* x = a.get(IFLA_ADDRESS)) {
        auto* b = static_cast<const uint8_t*>(mnl_attr_get_payload(x));
        uint16_t len = mnl_attr_get_payload_len(x);
        for (uint16_t i = 0; i < len; ++i) link.mac += fmt::format("{}{:02x}", i ? ":" : "", b[i]);
    }
    if (auto* x = a.get(IFLA_LINKINFO)) {
        Attrs info;
        mnl_attr_parse_nested(x, collect, &info);
        if (auto* k = info.get(IFLA_INFO_KIND)) link.kind = mnl_attr_get_str(k);
    }
    if (ifi->ifi_type == ARPHRD_LOOPBACK && link.kind.empty()) link.kind = "loopback";
    view->links.push_back(std::move(link));
    return MNL_CB_OK;
}

int addr_cb(const nlmsghdr* nlh, void* data) {
    auto* view = static_cast<NetView*>(data);
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
    NetAddr addr;
    addr.index = static_cast<int>(ifa->ifa_index);
    addr.family = ifa->ifa_family == AF_INET6 ? "inet6" : "inet";
    addr.prefix = ifa->ifa_prefixlen;
    addr.scope = scope_name(ifa->ifa_scope);
    Attrs a;
    mnl_attr_parse(nlh, sizeof(*ifa), collect, &a);
    std::string local, address;
    if (auto* x = a.get(IFA_LOCAL)) local = addr_text(ifa->ifa_family, mnl_attr_get_payload(x));
    if (auto* x = a.get(IFA_ADDRESS)) address = addr_text(ifa->ifa_family, mnl_attr_get_payload(x));
    // IFA_LOCAL is the interface's own address on point-to-point links; IFA_ADDRESS else.
    addr.address = local.empty() ? address : local;
    view->addresses.push_back(std::move(addr));
    return MNL_CB_OK;
}

int route_cb(const nlmsghdr* nlh, void* data) {
    auto* view = static_cast<NetView*>(data);
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_get_payload(nlh));
    NetRoute route;
    route.family = rtm->rtm_family == AF_INET6 ? "inet6" : "inet";
    route.table = rtm->rtm_table;
    route.protocol = protocol_name(rtm->rtm_protocol);
    route.scope = scope_name(rtm->rtm_scope);
    Attrs a;
    mnl_attr_parse(nlh, sizeof(*rtm), collect, &a);
    if (auto* x = a.get(RTA_TABLE)) route.table = mnl_attr_get_u32(x);
    if (auto* x = a.get(RTA_DST))
        route.destination = fmt::format(
            "{}/{}", addr_text(rtm->rtm_family, mnl_attr_get_payload(x)), rtm->rtm_dst_len);
    if (auto* x = a.get(RTA_GATEWAY))
        route.gateway = addr_text(rtm->rtm_family, mnl_attr_get_payload(x));
    if (auto* x = a.get(RTA_OIF)) route.oif = static_cast<int>(mnl_attr_get_u32(x));
    // The local and broadcast tables are the kernel's bookkeeping: only what routes traffic.
    if (route.table != RT_TABLE_MAIN || rtm->rtm_type != RTN_UNICAST) return MNL_CB_OK;
    if (route.destination.empty()) route.destination = "default";
    view->routes.push_back(std::move(route));
    return MNL_CB_OK;
}

}  // namespace

Result<NetView> read_netns(const std::string& ns_path) {
    UniqueFd ns(::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns) return fail_errno("open {}", ns_path);
    // A netlink socket stays bound to the namespace it was made in: make it in a thread that
    // entered the namespace, then use it from here.
    Socket sock;
    Error thread_error;
    std::thread worker([&] {
        if (::setns(ns.get(), CLONE_NEWNET) != 0) {
            thread_error = Error::from_errno("enter the network namespace {}", ns_path);
            return;
        }
        sock.nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        if (sock.nl == nullptr) thread_error = Error::from_errno("netlink socket in {}", ns_path);
    });
    worker.join();
    if (sock.nl == nullptr) return fail(thread_error);
    if (mnl_socket_bind(sock.nl, 0, MNL_SOCKET_AUTOPID) < 0) return fail_errno("bind netlink");

    NetView view;
    HUSK_TRY_CTX(dump(sock.nl, RTM_GETLINK, sizeof(ifinfomsg), link_cb, &view), "links of {}",
                 ns_path);
    HUSK_TRY_CTX(dump(sock.nl, RTM_GETADDR, sizeof(ifaddrmsg), addr_cb, &view), "addresses of {}",
                 ns_path);
    HUSK_TRY_CTX(dump(sock.nl, RTM_GETROUTE, sizeof(rtmsg), route_cb, &view), "routes of {}",
                 ns_path);
    for (auto& r : view.routes)
        for (auto& l : view.links)
            if (l.index == r.oif) r.device = l.name;
    return view;
}

}  // namespace husk::explain
