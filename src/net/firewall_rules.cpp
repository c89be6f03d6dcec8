#include "net/firewall_rules.hpp"

#include <fmt/format.h>

namespace husk::net {

namespace {

std::string l4(const PortBinding& p) {
    return fmt::format("meta l4proto {} th dport {}", proto_name(p.proto), p.host_port);
}

std::string target(const Endpoint& e, const PortBinding& p) {
    return fmt::format("dnat ip to {}:{}", e.ip.str(), p.container_port);
}

std::string target6(const Endpoint& e, const PortBinding& p) {
    return fmt::format("dnat ip6 to [{}]:{}", e.ip6->str(), p.container_port);
}

// The rules of one network, appended to each chain's text.
struct Chains {
    std::string forward, pre, out, post;
};

void render_network(const Network& n, Chains& ch) {
    const std::string br = fmt::format("\"{}\"", n.bridge);
    const std::string sub = n.subnet.str();
    bool localhost = false;
    std::string published;
    auto admit = [&](const std::string& family, const std::string& ip, const PortBinding& p,
                     const std::string& c) {
        published += fmt::format(
            "    oifname {} {} daddr {} meta l4proto {} th dport {} ct status dnat accept {}\n", br,
            family, ip, proto_name(p.proto), p.container_port, c);
    };
    for (const auto& [id, e] : n.endpoints) {
        for (const auto& p : e.ports) {
            std::string c = fmt::format("comment \"{}\"", id);
            if (p.every_address()) {
                std::string v4 =
                    fmt::format("    meta nfproto ipv4 fib daddr type local {} {} {}\n", l4(p),
                                target(e, p), c);
                ch.pre += v4;
                ch.out += v4;
                admit("ip", e.ip.str(), p, c);
            }
            if (e.ip6 && (p.every_address() || (p.is_v6() && p.host_ip6->is_unspecified()))) {
                // Every IPv6 address of the host. ::1 cannot be rewritten to another
                // interface (IPv6 has no route_localnet), so a local client of [::1] is
                // left to the [::1] proxy when that was published.
                std::string v6 = fmt::format("meta nfproto ipv6 fib daddr type local {} {} {}\n",
                                             l4(p), target6(e, p), c);
                ch.pre += "    " + v6;
                ch.out += "    ip6 daddr != ::1 " + v6;
                admit("ip6", e.ip6->str(), p, c);
            } else if (e.ip6 && p.is_v6() && !p.host_ip6->is_loopback()) {
                std::string v6 = fmt::format("    ip6 daddr {} {} {} {}\n", p.host_ip6->str(),
                                             l4(p), target6(e, p), c);
                ch.pre += v6;
                ch.out += v6;
                admit("ip6", e.ip6->str(), p, c);
            } else if (!p.is_v6() && !p.every_address()) {
                // Published on one address: only packets to that address are rewritten.
                // A loopback address is rewritten only for this host's own processes
                // (output hook): nothing arriving from outside can reach it.
                if (!p.host_ip.is_loopback())
                    ch.pre += fmt::format("    ip daddr {} {} {} {}\n", p.host_ip.str(), l4(p),
                                          target(e, p), c);
                else
                    localhost = true;
                ch.out += fmt::format("    ip daddr {} {} {} {}\n", p.host_ip.str(), l4(p),
                                      target(e, p), c);
                // The forward filter admits exactly the rewritten connection.
                admit("ip", e.ip.str(), p, c);
            }
            // [::1]: served by a proxy process on this host (attach.cpp), no rule needed: its
            // connection to the container is this host's own traffic (output, not forward).
        }
    }
    ch.forward += fmt::format("    # network {} ({}{})\n", n.name, sub,
                              n.subnet6 ? ", " + n.subnet6->str() : "");
    ch.forward += fmt::format("    iifname {} oifname {} accept\n", br, br);
    ch.forward += fmt::format("    oifname {} ct state established,related accept\n", br);
    ch.forward += published;
    // Anything else routed to a container (other networks, other hosts, the LAN), of either
    // family: dropped.
    ch.forward += fmt::format("    oifname {} drop\n", br);
    if (n.internal) {
        ch.forward += fmt::format("    iifname {} drop\n", br);
    } else {
        ch.post += fmt::format("    ip saddr {} oifname != {} masquerade\n", sub, br);
        if (n.subnet6)
            ch.post +=
                fmt::format("    ip6 saddr {} oifname != {} masquerade\n", n.subnet6->str(), br);
    }
    // Hairpin: a container reaching a published port through a host address gets an
    // answer from the host, not straight from the peer (which would drop it).
    ch.post += fmt::format("    ip saddr {} oifname {} ct status dnat masquerade\n", sub, br);
    if (n.subnet6)
        ch.post += fmt::format("    ip6 saddr {} oifname {} ct status dnat masquerade\n",
                               n.subnet6->str(), br);
    if (localhost) ch.post += fmt::format("    ip saddr 127.0.0.0/8 oifname {} masquerade\n", br);
}

}  // namespace

std::string render_ruleset(const std::string& table, const std::vector<Network>& networks) {
    Chains ch;
    for (const auto& n : networks) render_network(n, ch);
    std::string s;
    s += fmt::format("table inet {}\ndelete table inet {}\n", table, table);
    s += fmt::format("table inet {} {{\n", table);
    // route_localnet on a bridge makes 127/8 routable there; no packet from outside this
    // host may carry a loopback destination through this host (the moby #45610 hole). The
    // kernel already drops ::1 from outside; the rule says so for IPv6 as well.
    s += "  chain raw_prerouting {\n    type filter hook prerouting priority raw; policy accept;\n";
    s += "    iifname != \"lo\" ip daddr 127.0.0.0/8 drop\n";
    s += "    iifname != \"lo\" ip6 daddr ::1 drop\n  }\n";
    s += "  chain forward {\n    type filter hook forward priority filter; policy accept;\n" +
         ch.forward + "  }\n";
    s +=
        "  chain nat_prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n" +
        ch.pre + "  }\n";
    s += "  chain nat_output {\n    type nat hook output priority -100; policy accept;\n" + ch.out +
         "  }\n";
    s += "  chain nat_postrouting {\n    type nat hook postrouting priority srcnat; policy "
         "accept;\n" +
         ch.post + "  }\n";
    s += "}\n";
    return s;
}

std::string render_delete(const std::string& table) {
    return fmt::format("table inet {}\ndelete table inet {}\n", table, table);
}

}  // namespace husk::net
