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

}  // namespace

std::string render_ruleset(const std::string& table, const std::vector<Network>& networks) {
    std::string raw, forward, pre, out, post;
    for (const auto& n : networks) {
        const std::string br = fmt::format("\"{}\"", n.bridge);
        const std::string sub = n.subnet.str();
        bool localhost = false;
        std::string published;
        for (const auto& [id, e] : n.endpoints) {
            for (const auto& p : e.ports) {
                std::string c = fmt::format("comment \"{}\"", id);
                if (p.host_ip.is_unspecified()) {
                    pre +=
                        fmt::format("    fib daddr type local {} {} {}\n", l4(p), target(e, p), c);
                    out +=
                        fmt::format("    fib daddr type local {} {} {}\n", l4(p), target(e, p), c);
                } else {
                    // Published on one address: only packets to that address are rewritten.
                    // A loopback address is rewritten only for this host's own processes
                    // (output hook): nothing arriving from outside can reach it.
                    if (!p.host_ip.is_loopback())
                        pre += fmt::format("    ip daddr {} {} {} {}\n", p.host_ip.str(), l4(p),
                                           target(e, p), c);
                    else
                        localhost = true;
                    out += fmt::format("    ip daddr {} {} {} {}\n", p.host_ip.str(), l4(p),
                                       target(e, p), c);
                }
                // The forward filter admits exactly the rewritten connection.
                published += fmt::format(
                    "    oifname {} ip daddr {} meta l4proto {} th dport {} ct status dnat accept "
                    "{}\n",
                    br, e.ip.str(), proto_name(p.proto), p.container_port, c);
            }
        }
        forward += fmt::format("    # network {} ({})\n", n.name, sub);
        forward += fmt::format("    iifname {} oifname {} accept\n", br, br);
        forward += fmt::format("    oifname {} ct state established,related accept\n", br);
        forward += published;
        // Anything else routed to a container (other networks, other hosts, the LAN): dropped.
        forward += fmt::format("    oifname {} drop\n", br);
        if (n.internal)
            forward += fmt::format("    iifname {} drop\n", br);
        else
            post += fmt::format("    ip saddr {} oifname != {} masquerade\n", sub, br);
        // Hairpin: a container reaching a published port through a host address gets an
        // answer from the host, not straight from the peer (which would drop it).
        post += fmt::format("    ip saddr {} oifname {} ct status dnat masquerade\n", sub, br);
        if (localhost) post += fmt::format("    ip saddr 127.0.0.0/8 oifname {} masquerade\n", br);
    }
    std::string s;
    s += fmt::format("table inet {}\ndelete table inet {}\n", table, table);
    s += fmt::format("table inet {} {{\n", table);
    // route_localnet on a bridge makes 127/8 routable there; no packet from outside this
    // host may carry a loopback destination through this host (the moby #45610 hole).
    s += "  chain raw_prerouting {\n    type filter hook prerouting priority raw; policy accept;\n";
    s += "    iifname != \"lo\" ip daddr 127.0.0.0/8 drop\n" + raw + "  }\n";
    s += "  chain forward {\n    type filter hook forward priority filter; policy accept;\n" +
         forward + "  }\n";
    s +=
        "  chain nat_prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n" +
        pre + "  }\n";
    s += "  chain nat_output {\n    type nat hook output priority -100; policy accept;\n" + out +
         "  }\n";
    s += "  chain nat_postrouting {\n    type nat hook postrouting priority srcnat; policy "
         "accept;\n" +
         post + "  }\n";
    s += "}\n";
    return s;
}

std::string render_delete(const std::string& table) {
    return fmt::format("table inet {}\ndelete table inet {}\n", table, table);
}

}  // namespace husk::net
