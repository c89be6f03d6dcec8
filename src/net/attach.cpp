#include "net/attach.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <set>

#include "common/files.hpp"
#include "common/log.hpp"
#include "common/scope_exit.hpp"
#include "common/unique_fd.hpp"
#include "net/background.hpp"
#include "net/dns.hpp"
#include "net/dns_server.hpp"
#include "net/firewall.hpp"
#include "net/ipam.hpp"
#include "net/netlink.hpp"
#include "net/port_proxy.hpp"
#include "net/store.hpp"
#include "net/sysctl.hpp"

namespace husk::net {

namespace {

std::string random_id() {
    unsigned char bytes[32];
    if (::getrandom(bytes, sizeof bytes, 0) != sizeof bytes) {
        for (auto& b : bytes) b = static_cast<unsigned char>(std::rand());
    }
    std::string out;
    for (auto b : bytes) out += fmt::format("{:02x}", b);
    return out;
}

std::string now_rfc3339() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// Whether this host could bind ip:port itself: a port some process already listens on is
// not handed to a container, whose DNAT would silently shadow it.
// A port can be published on an address only if it is one of this host's: else nothing
// would ever arrive there (127.0.0.1 included: with lo down the host has no loopback).
Status check_local_address(Ipv4 ip) {
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) return fail_errno("socket");
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(ip.value);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) return {};
    if (errno != EADDRNOTAVAIL) return fail_errno("bind {}", ip.str());
    if ((ip.value >> 24) == 127)
        return fail_invalid(
            "{} is not an address of this host: the loopback interface is down "
            "(`husk system bootstrap` or `ip link set lo up` brings it up)",
            ip.str());
    return fail_invalid("{} is not an address of this host", ip.str());
}

bool host_port_free4(Ipv4 ip, uint16_t port, Proto proto) {
    UniqueFd fd(
        ::socket(AF_INET, (proto == Proto::tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0));
    if (!fd) return false;
    // A connection in TIME_WAIT on the port (a [::1] proxy's) is nobody's listener.
    int one = 1;
    if (proto == Proto::tcp) ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(ip.value);
    return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
}

bool host_port_free6(const Ipv6& ip, uint16_t port, Proto proto) {
    UniqueFd fd(
        ::socket(AF_INET6, (proto == Proto::tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0));
    if (!fd) return true;  // no IPv6 on this host: nothing there to shadow
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (proto == Proto::tcp) ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(port);
    std::copy(ip.bytes.begin(), ip.bytes.end(), sa.sin6_addr.s6_addr);
    return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
}

// Every address of a dual-stack network is both 0.0.0.0 and [::].
bool host_port_free(const PortBinding& b, bool dual_stack) {
    if (b.host_ip6) return host_port_free6(*b.host_ip6, b.host_port, b.proto);
    if (!host_port_free4(b.host_ip, b.host_port, b.proto)) return false;
    return !(dual_stack && b.every_address()) || host_port_free6(Ipv6{}, b.host_port, b.proto);
}

// Subnets this host already uses: routes and addresses, and every network of the store.
Result<std::vector<Subnet>> subnets_in_use(Netlink& nl, const std::vector<Network>& networks) {
    std::vector<Subnet> out;
    auto routes = nl.routes_v4();
    if (!routes) return fail(routes.error());
    for (const auto& r : *routes) out.push_back(r.dst);
    auto addrs = nl.addresses_v4();
    if (!addrs) return fail(addrs.error());
    for (const auto& a : *addrs)
        if (!a.base.is_loopback()) out.push_back(a);
    for (const auto& n : networks) out.push_back(n.subnet);
    return out;
}

Result<std::vector<Subnet6>> subnets6_in_use(Netlink& nl, const std::vector<Network>& networks) {
    std::vector<Subnet6> out;
    auto routes = nl.routes_v6();
    if (!routes) return fail(routes.error());
    auto addrs = nl.addresses_v6();
    if (!addrs) return fail(addrs.error());
    for (const auto* list : {&*routes, &*addrs})
        for (const auto& r : *list) {
            bool link_local = r.base.bytes[0] == 0xfe && (r.base.bytes[1] & 0xc0) == 0x80;
            if (!r.base.is_loopback() && !link_local && r.base.bytes[0] != 0xff) out.push_back(r);
        }
    for (const auto& n : networks)
        if (n.subnet6) out.push_back(*n.subnet6);
    return out;
}

// The bridge exists, has the gateway address and is up (recreated after a reboot).
Status ensure_bridge(Netlink& nl, const Network& n) {
    auto idx = nl.link_index(n.bridge);
    if (!idx) return fail(idx.error());
    if (!*idx) {
        HUSK_TRY(nl.create_bridge(n.bridge));
        idx = nl.link_index(n.bridge);
        if (!idx) return fail(idx.error());
        if (!*idx) return fail_invalid("bridge {} vanished after creation", n.bridge);
    }
    HUSK_TRY(nl.add_address(**idx, n.gateway, n.subnet.prefix));
    if (n.subnet6) {
        // The bridge is husk's own: IPv6 on it is not a change worth reporting.
        std::vector<std::string> ignored;
        HUSK_TRY(ensure_sysctl("net.ipv6.conf." + n.bridge + ".disable_ipv6", "0", ignored));
        HUSK_TRY(nl.add_address6(**idx, n.gateway6, n.subnet6->prefix));
    }
    return nl.set_up(**idx);
}

bool link_exists(Netlink& nl, const std::string& name) {
    auto idx = nl.link_index(name);
    return idx && *idx;
}

// Endpoints whose host veth is gone: the container's namespace died (the pair goes with it).
// Whether the namespace an endpoint was attached in is gone: its process has exited. The
// veth dies with the namespace, but the kernel tears a namespace down asynchronously, so
// right after a container's death its veth may still be there for a while.
bool namespace_gone(const Endpoint& e) {
    if (!e.netns.starts_with("/proc/")) return false;
    struct stat st {};
    return ::stat(e.netns.c_str(), &st) != 0 && errno == ENOENT;
}

std::vector<std::string> drop_stale(Netlink& nl, Network& n) {
    std::vector<std::string> gone;
    for (auto it = n.endpoints.begin(); it != n.endpoints.end();) {
        bool veth = link_exists(nl, it->second.host_veth);
        if (!veth || namespace_gone(it->second)) {
            if (veth) (void)nl.delete_link(it->second.host_veth);
            gone.push_back(it->first);
            it = n.endpoints.erase(it);
        } else {
            ++it;
        }
    }
    return gone;
}

Status write_hosts_file(const std::string& path, const std::string& content, bool create) {
    // Rewritten in place: the container sees this inode through a bind mount, and a rename
    // would leave it looking at the old file.
    int flags = O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0);
    UniqueFd fd(::open(path.c_str(), flags, 0644));
    if (!fd) {
        if (!create && errno == ENOENT) return {};
        return fail_errno("write hosts file {}", path);
    }
    if (::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size()))
        return fail_errno("write hosts file {}", path);
    return {};
}

std::vector<const Endpoint*> peers_of(const Network& n, const std::string& id) {
    std::vector<const Endpoint*> out;
    if (n.name == default_network) return out;  // Docker: no name resolution on `bridge`
    for (const auto& [pid, e] : n.endpoints)
        if (pid != id) out.push_back(&e);
    return out;
}

void refresh_peer_hosts(const Network& n, const std::string& except) {
    for (const auto& [id, e] : n.endpoints) {
        if (id == except || e.hosts_path.empty()) continue;
        auto st = write_hosts_file(e.hosts_path, container_hosts(e, peers_of(n, id)), false);
        if (!st) log::warn("{}", st.error().what());
    }
}

Result<Network> create_locked(const Store& store, Netlink& nl, const CreateOptions& o,
                              const std::string& bridge_override) {
    HUSK_TRY(check_network_name(o.name));
    auto existing = store.get(o.name);
    if (!existing) return fail(existing.error());
    if (*existing) return fail_invalid("network {} already exists", o.name);
    HUSK_TRY(check_nftables());
    auto networks = store.list();
    if (!networks) return fail(networks.error());
    auto in_use = subnets_in_use(nl, *networks);
    if (!in_use) return fail(in_use.error());

    Subnet subnet;
    if (o.subnet.empty()) {
        if (!o.gateway.empty() || !o.ip_range.empty())
            return fail_invalid("--gateway and --ip-range need --subnet");
        auto s = choose_subnet(*in_use);
        if (!s) return fail(s.error());
        subnet = *s;
    } else {
        auto s = parse_subnet(o.subnet);
        if (!s) return fail(s.error().wrap("--subnet"));
        subnet = *s;
    }
    std::optional<Ipv4> gw;
    if (!o.gateway.empty()) {
        auto g = parse_ipv4(o.gateway);
        if (!g) return fail(g.error().wrap("--gateway"));
        gw = *g;
    }
    std::optional<Subnet> range;
    if (!o.ip_range.empty()) {
        auto r = parse_subnet(o.ip_range);
        if (!r) return fail(r.error().wrap("--ip-range"));
        range = *r;
    }
    auto pool = make_pool(subnet, gw, range, *in_use);
    if (!pool) return fail(pool.error().wrap("network {}", o.name));
    std::string id = random_id();

    std::optional<Pool6> pool6;
    if (!o.ipv6 && (!o.subnet6.empty() || !o.gateway6.empty()))
        return fail_invalid("an IPv6 --subnet or --gateway needs --ipv6");
    if (o.ipv6) {
        if (::access("/proc/net/if_inet6", F_OK) != 0)
            return fail_invalid(
                "network {}: --ipv6 needs IPv6 in the kernel (/proc/net/if_inet6 is missing: "
                "boot without ipv6.disable=1, or create the network without --ipv6)",
                o.name);
        auto in_use6 = subnets6_in_use(nl, *networks);
        if (!in_use6) return fail(in_use6.error());
        Subnet6 subnet6;
        if (o.subnet6.empty()) {
            if (!o.gateway6.empty())
                return fail_invalid("an IPv6 --gateway needs an IPv6 --subnet");
            auto s6 = choose_subnet6(id, *in_use6);
            if (!s6) return fail(s6.error());
            subnet6 = *s6;
        } else {
            auto s6 = parse_subnet6(o.subnet6);
            if (!s6) return fail(s6.error().wrap("--subnet"));
            subnet6 = *s6;
        }
        std::optional<Ipv6> gw6;
        if (!o.gateway6.empty()) {
            auto g = parse_ipv6(o.gateway6);
            if (!g) return fail(g.error().wrap("--gateway"));
            gw6 = *g;
        }
        auto p6 = make_pool6(subnet6, gw6, *in_use6);
        if (!p6) return fail(p6.error().wrap("network {}", o.name));
        pool6 = *p6;
    }

    Network n;
    n.name = o.name;
    n.id = id;
    if (pool6) {
        n.subnet6 = pool6->subnet;
        n.gateway6 = pool6->gateway;
    }
    n.bridge = bridge_override.empty() ? store.bridge_name(n.id) : bridge_override;
    n.subnet = pool->subnet;
    n.gateway = pool->gateway;
    n.ip_range = pool->range;
    n.internal = o.internal;
    n.created = now_rfc3339();
    if (link_exists(nl, n.bridge))
        return fail_invalid("a link named {} already exists on this host", n.bridge);

    ScopeExit undo_bridge([&] { (void)nl.delete_link(n.bridge); });
    HUSK_TRY_CTX(ensure_bridge(nl, n), "network {}", n.name);
    HUSK_TRY(store.put(n));
    ScopeExit undo_record([&] { (void)store.remove(n.name); });
    networks->push_back(n);
    HUSK_TRY(sync_firewall(store.table(), *networks));
    undo_record.dismiss();
    undo_bridge.dismiss();
    return n;
}

Result<Network> ensure_default_locked(const Store& store, Netlink& nl) {
    auto n = store.get(default_network);
    if (!n) return fail(n.error());
    if (*n) return std::move(**n);
    CreateOptions o;
    o.name = default_network;
    return create_locked(store, nl, o, store.default_bridge());
}

// The first ethN the container's namespace does not have yet.
Result<std::string> free_ifname(Netlink& cnl) {
    for (int i = 0; i < 64; ++i) {
        std::string name = fmt::format("eth{}", i);
        auto idx = cnl.link_index(name);
        if (!idx) return fail(idx.error());
        if (!*idx) return name;
    }
    return fail_invalid("the container already has 64 ethN interfaces");
}

// The firewall after `id` joined `n` (already in the store and in `networks`): only its
// own rules are added when the table has the network's chains; anything else (no table
// after a reboot, an older layout, stale endpoints just dropped whose rules must go, an
// incremental change the kernel refused) takes the rebuild path.
Status update_firewall_for_attach(const Store& store, const Network& n, const std::string& id,
                                  const std::vector<Network>& networks, bool dropped_stale) {
    if (!dropped_stale) {
        auto present = network_chains_present(store.table(), n);
        if (!present) return fail(present.error().wrap("network {}", n.name));
        if (*present) {
            auto st = add_endpoint_rules(store.table(), n, id);
            if (st) return {};
            log::debug("network {}: incremental rules for {} refused ({}), rebuilding", n.name, id,
                       st.error().what());
        }
    }
    return sync_firewall(store.table(), networks);
}

// Removes the container's endpoints and rules; the host veths to delete go to `links`.
Status detach_locked(const Store& store, const std::string& id, const std::string& only,
                     std::vector<std::string>& links) {
    auto networks = store.list();
    if (!networks) return fail(networks.error());
    bool found = false, rebuild = false;
    for (auto& n : *networks) {
        if (!only.empty() && n.name != only) continue;
        auto it = n.endpoints.find(id);
        if (it == n.endpoints.end()) continue;
        found = true;
        // Its rules go before its record: a crash in between leaves a record whose ports
        // are not in force (prune rebuilds), never rules that outlive the record and would
        // expose whoever gets the address next.
        if (!it->second.ports.empty()) {
            auto st = remove_endpoint_rules(store.table(), n, id);
            if (!st) {
                log::debug("network {}: removing the rules of {} failed ({}), rebuilding", n.name,
                           id, st.error().what());
                rebuild = true;
            }
        }
        links.push_back(it->second.host_veth);
        n.endpoints.erase(it);
        HUSK_TRY(store.put(n));
        refresh_peer_hosts(n, "");
    }
    if (!found) {
        if (only.empty()) return fail_invalid("container {} is not attached to any network", id);
        return fail_invalid("container {} is not attached to network {}", id, only);
    }
    if (rebuild) return sync_firewall(store.table(), *networks);
    return {};
}

}  // namespace

Result<Network> create_network(const std::string& root, const CreateOptions& o) {
    auto store = Store::open(root);
    if (!store) return fail(store.error());
    auto lock = store->lock();
    if (!lock) return fail(lock.error());
    auto nl = Netlink::open();
    if (!nl) return fail(nl.error());
    if (o.name == default_network)
        return fail_invalid("network {} is husk's default network, created on first use",
                            default_network);
    return create_locked(*store, *nl, o, "");
}

Result<Network> ensure_default_network(const std::string& root) {
    auto store = Store::open(root);
    if (!store) return fail(store.error());
    auto lock = store->lock();
    if (!lock) return fail(lock.error());
    auto nl = Netlink::open();
    if (!nl) return fail(nl.error());
    return ensure_default_locked(*store, *nl);
}

Result<Attachment> attach(const std::string& root, const AttachOptions& o) {
    HUSK_TRY(check_container_id(o.container_id));
    auto store = Store::open(root);
    if (!store) return fail(store.error());
    auto lock = store->lock();
    if (!lock) return fail(lock.error());
    auto nl = Netlink::open();
    if (!nl) return fail(nl.error());

    std::optional<Network> found;
    if (o.network == default_network) {
        auto d = ensure_default_locked(*store, *nl);
        if (!d) return fail(d.error());
        found = std::move(*d);
    } else {
        auto g = store->get(o.network);
        if (!g) return fail(g.error());
        if (!*g) return fail_invalid("network {} not found", o.network);
        found = std::move(**g);
    }
    Network& n = *found;
    HUSK_TRY_CTX(check_nftables(), "network {}", n.name);
    auto stale = drop_stale(*nl, n);
    for (const auto& s : stale) log::warn("network {}: removed stale endpoint {}", n.name, s);
    if (n.endpoints.contains(o.container_id))
        return fail_invalid("container {} is already attached to network {}", o.container_id,
                            n.name);
    auto networks = store->list();
    if (!networks) return fail(networks.error());

    UniqueFd netns(::open(o.netns.c_str(), O_RDONLY | O_CLOEXEC));
    if (!netns) return fail_errno("open network namespace {}", o.netns);

    Endpoint e;
    e.container_id = o.container_id;
    e.netns = o.netns;
    e.hostname = o.hostname;
    e.aliases = o.aliases;
    e.hosts_path = o.hosts_path;
    e.extra_hosts = o.extra_hosts;

    std::set<Ipv4> used;
    for (const auto& [id, other] : n.endpoints) used.insert(other.ip);
    Pool pool{n.subnet, n.gateway, n.ip_range};
    auto ip = allocate(pool, used, o.ip);
    if (!ip) return fail(ip.error().wrap("network {}", n.name));
    e.ip = *ip;
    e.mac = mac_for(e.ip);
    if (o.ip6 && !n.subnet6)
        return fail_invalid(
            "network {} has no IPv6 subnet: --ip6 {} needs a network made with "
            "--ipv6",
            n.name, o.ip6->str());
    if (n.subnet6) {
        std::set<Ipv6> used6;
        for (const auto& [id, other] : n.endpoints)
            if (other.ip6) used6.insert(*other.ip6);
        auto ip6 = allocate6(Pool6{*n.subnet6, n.gateway6}, used6, o.ip6);
        if (!ip6) return fail(ip6.error().wrap("network {}", n.name));
        e.ip6 = *ip6;
    }

    std::vector<PortBinding> taken;
    for (const auto& other : *networks)
        for (const auto& [id, ep] : other.endpoints)
            taken.insert(taken.end(), ep.ports.begin(), ep.ports.end());
    for (const auto& spec_text : o.publish) {
        auto spec = parse_port_spec(spec_text);
        if (!spec) return fail(spec.error());
        auto all = taken;
        all.insert(all.end(), e.ports.begin(), e.ports.end());
        if (spec->host_ip6 && !n.subnet6 && !spec->host_ip6->is_loopback())
            return fail_invalid("publish {}: network {} has no IPv6 (create it with --ipv6)",
                                spec_text, n.name);
        if (!spec->host_ip6 && spec->host_ip.value != 0)
            HUSK_TRY_CTX(check_local_address(spec->host_ip), "publish {}", spec_text);
        bool dual = n.subnet6.has_value();
        auto bound =
            bind_ports(*spec, all, [&](const PortBinding& b) { return host_port_free(b, dual); });
        if (!bound) return fail(bound.error().wrap("publish {}", spec_text));
        e.ports.insert(e.ports.end(), bound->begin(), bound->end());
    }
    if (n.internal && !e.ports.empty())
        return fail_invalid("network {} is internal: it cannot publish ports", n.name);

    Attachment a;
    // Forwarding is needed for egress and for published ports; an internal network without
    // ports is pure bridging and leaves the host's forwarding alone.
    if (!n.internal) HUSK_TRY(ensure_sysctl("net.ipv4.ip_forward", "1", a.sysctls_changed));
    // The same for IPv6, only for dual-stack networks. (On a host that takes its IPv6
    // address from router advertisements, forwarding=1 makes the kernel ignore them unless
    // accept_ra=2: reported, as Docker does, and documented.)
    if (!n.internal && n.subnet6)
        HUSK_TRY(ensure_sysctl("net.ipv6.conf.all.forwarding", "1", a.sysctls_changed));

    // [::1]: a proxy, bound now so a taken port fails the attach (port_proxy.hpp). Ports on
    // every IPv6 address of a dual-stack network get one too: their DNAT cannot serve ::1.
    std::vector<ProxyListener> proxies;
    for (const auto& p : e.ports) {
        bool loopback6 = p.host_ip6 && p.host_ip6->is_loopback();
        bool every6 = e.ip6 && (p.every_address() || (p.host_ip6 && p.host_ip6->is_unspecified()));
        if (!loopback6 && !every6) continue;
        PortBinding on_loopback = p;
        on_loopback.host_ip6 = Ipv6{};
        on_loopback.host_ip6->bytes[15] = 1;
        auto l = bind_proxy_listener(on_loopback, e.ip6 ? e.ip6->str() : e.ip.str());
        if (!l) return fail(l.error());
        proxies.push_back(std::move(*l));
    }

    auto cnl = Netlink::open_in(netns.get());
    if (!cnl) return fail(cnl.error().wrap("network namespace {}", o.netns));
    auto ifname = free_ifname(*cnl);
    if (!ifname) return fail(ifname.error());
    e.ifname = *ifname;
    e.host_veth = store->veth_name(n.id, o.container_id);

    HUSK_TRY_CTX(ensure_bridge(*nl, n), "network {}", n.name);
    bool localhost = false;
    for (const auto& p : e.ports) localhost |= p.host_ip.is_loopback();
    if (localhost)
        HUSK_TRY(
            ensure_sysctl("net.ipv4.conf." + n.bridge + ".route_localnet", "1", a.sysctls_changed));

    auto made = nl->create_veth(e.host_veth, e.ifname, netns.get(), e.mac);
    if (!made && made.error().errnum() == EEXIST) {
        // The name is this container's on this network, and no record has it attached: an
        // orphan (a detach's background deletion that never ran). Replace it.
        log::warn("network {}: replacing orphaned link {}", n.name, e.host_veth);
        HUSK_TRY(nl->delete_link(e.host_veth));
        made = nl->create_veth(e.host_veth, e.ifname, netns.get(), e.mac);
    }
    HUSK_TRY(made);
    ScopeExit undo_veth([&] { (void)nl->delete_link(e.host_veth); });
    {
        auto host_idx = nl->link_index(e.host_veth);
        if (!host_idx) return fail(host_idx.error());
        auto br_idx = nl->link_index(n.bridge);
        if (!br_idx) return fail(br_idx.error());
        if (!*host_idx || !*br_idx)
            return fail_invalid("veth {} or bridge {} vanished", e.host_veth, n.bridge);
        HUSK_TRY(nl->set_master(**host_idx, **br_idx));
        HUSK_TRY(nl->set_hairpin(**host_idx));
        HUSK_TRY(nl->set_up(**host_idx));
        auto lo = cnl->link_index("lo");
        if (!lo) return fail(lo.error());
        if (*lo) HUSK_TRY(cnl->set_up(**lo));
        auto cidx = cnl->link_index(e.ifname);
        if (!cidx) return fail(cidx.error());
        if (!*cidx) return fail_invalid("{} missing in {}", e.ifname, o.netns);
        HUSK_TRY(cnl->add_address(**cidx, e.ip, n.subnet.prefix));
        if (e.ip6) {
            // A runtime or image may have turned IPv6 off in the namespace; this network
            // needs it on the container's interface (and ::1 on lo).
            for (const std::string& dev : {std::string("lo"), e.ifname})
                HUSK_TRY(ensure_sysctl_in(netns.get(), "net.ipv6.conf." + dev + ".disable_ipv6",
                                          "0", a.sysctls_changed));
            // Other containers on the bridge must not configure this one.
            std::vector<std::string> quiet;
            HUSK_TRY(ensure_sysctl_in(netns.get(), "net.ipv6.conf." + e.ifname + ".accept_ra", "0",
                                      quiet));
            HUSK_TRY(cnl->add_address6(**cidx, *e.ip6, n.subnet6->prefix));
        }
        HUSK_TRY(cnl->set_up(**cidx));
        if (e.ifname == "eth0") HUSK_TRY(cnl->add_default_route(n.gateway, **cidx));
        // IPv6: the first dual-stack network gives the default route, even on eth1.
        if (e.ip6) {
            auto st = cnl->add_default_route6(n.gateway6, **cidx);
            if (!st && st.error().errnum() != EEXIST) return fail(st.error());
        }
    }

    n.endpoints[o.container_id] = e;
    for (auto& other : *networks)
        if (other.name == n.name) other = n;
    HUSK_TRY(store->put(n));
    Network before = n;
    before.endpoints.erase(o.container_id);
    ScopeExit undo_record([&] { (void)store->put(before); });
    HUSK_TRY(update_firewall_for_attach(*store, n, o.container_id, *networks, !stale.empty()));
    ScopeExit undo_rules([&] { (void)remove_endpoint_rules(store->table(), n, o.container_id); });

    a.network = n.name;
    a.container_id = o.container_id;
    a.ifname = e.ifname;
    a.ip = e.ip;
    a.prefix = n.subnet.prefix;
    a.gateway = n.gateway;
    a.mac = e.mac;
    a.ports = e.ports;
    if (e.ip6) {
        a.ip6 = e.ip6;
        a.prefix6 = n.subnet6->prefix;
        a.gateway6 = n.gateway6;
    }
    auto host_resolv = read_file(host_resolv_conf_path());
    bool user_network = n.name != default_network;
    a.resolv_conf =
        container_resolv_conf(host_resolv ? *host_resolv : "", user_network ? n.gateway.str() : "");
    a.hosts = container_hosts(e, peers_of(n, o.container_id));
    if (!o.hosts_path.empty()) HUSK_TRY(write_hosts_file(o.hosts_path, a.hosts, true));
    undo_rules.dismiss();
    undo_record.dismiss();
    undo_veth.dismiss();
    refresh_peer_hosts(n, o.container_id);
    if (user_network) start_dns(root, n.name);
    start_proxy(root, n.name, n.id, o.container_id, e.host_veth, std::move(proxies));
    finish_in_background({}, lock->fd());
    return a;
}

Status detach(const std::string& root, const std::string& container_id,
              const std::string& network) {
    HUSK_TRY(check_container_id(container_id));
    auto store = Store::open(root);
    if (!store) return fail(store.error());
    auto lock = store->lock();
    if (!lock) return fail(lock.error());
    auto nl = Netlink::open();
    if (!nl) return fail(nl.error());
    std::vector<std::string> links;
    auto st = detach_locked(*store, container_id, network, links);
    if (background_cleanup()) {
        finish_in_background(links, lock->fd());
    } else {
        for (const auto& l : links) {
            auto del = nl->delete_link(l);
            if (!del && st) st = del;
        }
    }
    return st;
}

Status remove_network(const std::string& root, const std::string& name) {
    auto store = Store::open(root);
    if (!store) return fail(store.error());
    auto lock = store->lock();
    if (!lock) return fail(lock.error());
    auto nl = Netlink::open();
    if (!nl) return fail(nl.error());
    auto g = store->get(name);
    if (!g) return fail(g.error());
    if (!*g) return fail_invalid("network {} not found", name);
    Network n = std::move(**g);
    drop_stale(*nl, n);
    if (!n.endpoints.empty()) {
        std::string ids;
        for (const auto& [id, e] : n.endpoints) ids += (ids.empty() ? "" : ", ") + id;
        return fail_invalid("network {} has attached containers: {}", name, ids);
    }
    HUSK_TRY(store->remove(name));
    auto networks = store->list();
    if (!networks) return fail(networks.error());
    HUSK_TRY(sync_firewall(store->table(), *networks));
    return nl->delete_link(n.bridge);
}

Result<std::vector<Network>> list_networks(const std::string& root) {
    auto store = Store::open(root);
    if (!store) return fail(store.error());
    auto lock = store->lock();
    if (!lock) return fail(lock.error());
    return store->list();
}

Result<Network> inspect_network(const std::string& root, const std::string& name) {
    auto store = Store::open(root);
    if (!store) return fail(store.error());
    auto lock = store->lock();
    if (!lock) return fail(lock.error());
    auto g = store->get(name);
    if (!g) return fail(g.error());
    if (!*g) return fail_invalid("network {} not found", name);
    return std::move(**g);
}

Result<std::string> firewall_table(const std::string& root) {
    auto store = Store::open(root);
    if (!store) return fail(store.error());
    return store->table();
}

Result<std::vector<std::string>> prune(const std::string& root) {
    auto store = Store::open(root);
    if (!store) return fail(store.error());
    auto lock = store->lock();
    if (!lock) return fail(lock.error());
    auto nl = Netlink::open();
    if (!nl) return fail(nl.error());
    auto networks = store->list();
    if (!networks) return fail(networks.error());
    std::vector<std::string> report;
    std::vector<Network> kept;
    std::set<std::string> names;
    for (auto& n : *networks) {
        auto stale = drop_stale(*nl, n);
        for (const auto& s : stale)
            report.push_back(fmt::format("endpoint {} on network {}", s, n.name));
        if (n.endpoints.empty() && n.name != default_network) {
            HUSK_TRY(store->remove(n.name));
            HUSK_TRY(nl->delete_link(n.bridge));
            report.push_back(fmt::format("network {}", n.name));
            continue;
        }
        if (!stale.empty()) {
            HUSK_TRY(store->put(n));
            refresh_peer_hosts(n, "");
        }
        names.insert(n.bridge);
        for (const auto& [id, e] : n.endpoints) names.insert(e.host_veth);
        kept.push_back(std::move(n));
    }
    // Links with this store's prefix that no record names: left by a crash between creating
    // a link and writing the record.
    auto links = nl->link_names();
    if (!links) return fail(links.error());
    for (const auto& l : *links) {
        if (!l.starts_with(store->prefix()) || names.contains(l)) continue;
        HUSK_TRY(nl->delete_link(l));
        report.push_back(fmt::format("link {}", l));
    }
    HUSK_TRY(sync_firewall(store->table(), kept));
    return report;
}

}  // namespace husk::net
