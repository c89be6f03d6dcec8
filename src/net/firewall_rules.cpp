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

std::string quoted(const std::string& s) {
    return fmt::format("\"{}\"", s);
}

std::string indent(const std::vector<std::string>& rules) {
    std::string out;
    for (const auto& r : rules) out += "    " + r + "\n";
    return out;
}

// The static rules of one network (everything but its endpoints' ports), appended to each
// base chain's text; its endpoints' rules go into its own chains.
struct Chains {
    std::string forward, pre, out, post, own;
};

void render_network(const Network& n, Chains& ch) {
    const std::string br = quoted(n.bridge);
    const std::string sub = n.subnet.str();
    const NetworkChains nc = network_chains(n);
    EndpointRules all;
    for (const auto& [id, e] : n.endpoints) {
        auto r = endpoint_rules(n, id, e);
        all.prerouting.insert(all.prerouting.end(), r.prerouting.begin(), r.prerouting.end());
        all.output.insert(all.output.end(), r.output.begin(), r.output.end());
        all.forward.insert(all.forward.end(), r.forward.begin(), r.forward.end());
    }
    ch.own += "  chain " + nc.prerouting + " {\n" + indent(all.prerouting) + "  }\n";
    ch.own += "  chain " + nc.output + " {\n" + indent(all.output) + "  }\n";
    ch.own += "  chain " + nc.forward + " {\n" + indent(all.forward) + "  }\n";
    ch.pre += fmt::format("    jump {}\n", nc.prerouting);
    ch.out += fmt::format("    jump {}\n", nc.output);

    ch.forward += fmt::format("    # network {} ({}{})\n", n.name, sub,
                              n.subnet6 ? ", " + n.subnet6->str() : "");
    ch.forward += fmt::format("    iifname {} oifname {} accept\n", br, br);
    ch.forward += fmt::format("    oifname {} ct state established,related accept\n", br);
    // Published ports: the network's chain accepts exactly the DNATed connections to them.
    ch.forward += fmt::format("    oifname {} ct status dnat jump {}\n", br, nc.forward);
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
    // 127.0.0.1 publishing: the output hook's DNAT leaves the source 127.0.0.1, which may
    // leave through the bridge only with route_localnet (set on the bridge when such a port
    // is published). Static, so publishing on 127.0.0.1 needs no change of this chain; a
    // packet with a loopback source exists on the bridge only in that case.
    ch.post += fmt::format("    ip saddr 127.0.0.0/8 oifname {} masquerade\n", br);
}

}  // namespace

NetworkChains network_chains(const Network& n) {
    return {"nat_prerouting_" + n.bridge, "nat_output_" + n.bridge, "forward_" + n.bridge};
}

EndpointRules endpoint_rules(const Network& n, const std::string& id, const Endpoint& e) {
    EndpointRules r;
    const std::string br = quoted(n.bridge);
    const std::string c = fmt::format("comment {}", quoted(id));
    auto admit = [&](const std::string& family, const std::string& ip, const PortBinding& p) {
        r.forward.push_back(fmt::format(
            "oifname {} {} daddr {} meta l4proto {} th dport {} ct status dnat accept {}", br,
            family, ip, proto_name(p.proto), p.container_port, c));
    };
    for (const auto& p : e.ports) {
        if (p.every_address()) {
            std::string v4 = fmt::format("meta nfproto ipv4 fib daddr type local {} {} {}", l4(p),
                                         target(e, p), c);
            r.prerouting.push_back(v4);
            r.output.push_back(v4);
            admit("ip", e.ip.str(), p);
        }
        if (e.ip6 && (p.every_address() || (p.is_v6() && p.host_ip6->is_unspecified()))) {
            // Every IPv6 address of the host. ::1 cannot be rewritten to another interface
            // (IPv6 has no route_localnet), so a local client of [::1] is left to the [::1]
            // proxy when that was published.
            std::string v6 = fmt::format("meta nfproto ipv6 fib daddr type local {} {} {}", l4(p),
                                         target6(e, p), c);
            r.prerouting.push_back(v6);
            r.output.push_back("ip6 daddr != ::1 " + v6);
            admit("ip6", e.ip6->str(), p);
        } else if (e.ip6 && p.is_v6() && !p.host_ip6->is_loopback()) {
            std::string v6 =
                fmt::format("ip6 daddr {} {} {} {}", p.host_ip6->str(), l4(p), target6(e, p), c);
            r.prerouting.push_back(v6);
            r.output.push_back(v6);
            admit("ip6", e.ip6->str(), p);
        } else if (!p.is_v6() && !p.every_address()) {
            // Published on one address: only packets to that address are rewritten. A
            // loopback address is rewritten only for this host's own processes (output
            // hook): nothing arriving from outside can reach it.
            std::string v4 =
                fmt::format("ip daddr {} {} {} {}", p.host_ip.str(), l4(p), target(e, p), c);
            if (!p.host_ip.is_loopback()) r.prerouting.push_back(v4);
            r.output.push_back(v4);
            // The forward filter admits exactly the rewritten connection.
            admit("ip", e.ip.str(), p);
        }
        // [::1]: served by a proxy process on this host (attach.cpp), no rule needed: its
        // connection to the container is this host's own traffic (output, not forward).
    }
    return r;
}

std::string render_add_endpoint(const std::string& table, const Network& n, const std::string& id,
                                const Endpoint& e) {
    const NetworkChains nc = network_chains(n);
    const EndpointRules r = endpoint_rules(n, id, e);
    std::string s;
    for (const auto& [chain, rules] :
         {std::pair{&nc.prerouting, &r.prerouting}, std::pair{&nc.output, &r.output},
          std::pair{&nc.forward, &r.forward}})
        for (const auto& rule : *rules)
            s += fmt::format("add rule inet {} {} {}\n", table, *chain, rule);
    return s;
}

std::string render_ruleset(const std::string& table, const std::vector<Network>& networks) {
    Chains ch;
    for (const auto& n : networks) render_network(n, ch);
    std::string s;
    s += fmt::format("table inet {}\ndelete table inet {}\n", table, table);
    s += fmt::format("table inet {} {{\n", table);
    s += ch.own;  // before the base chains that jump to them
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
