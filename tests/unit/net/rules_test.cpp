// The generated nft table: published ports per address, localhost only in output, the
// forward filter's order, internal networks, the loopback guard, and the incremental
// scripts (one endpoint's rules, the same text as in the rebuilt table).
#include <gtest/gtest.h>

#include "net/dns.hpp"
#include "net/dns_server.hpp"
#include "net/firewall_rules.hpp"

namespace husk::net {
namespace {

Network make_network(bool internal) {
    Network n;
    n.name = "front";
    n.id = "0123456789abcdef";
    n.bridge = "hk0000b01234567";
    n.subnet = *parse_subnet("10.90.0.0/16");
    n.gateway = *parse_ipv4("10.90.0.1");
    n.internal = internal;
    Endpoint e;
    e.container_id = "web";
    e.ip = *parse_ipv4("10.90.0.2");
    e.hostname = "web";
    e.ports = {{*parse_ipv4("127.0.0.1"), 8080, 80, Proto::tcp},
               {Ipv4{}, 8443, 443, Proto::tcp},
               {*parse_ipv4("198.51.100.1"), 5353, 53, Proto::udp}};
    n.endpoints["web"] = e;
    return n;
}

size_t count(const std::string& s, const std::string& what) {
    size_t n = 0;
    for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
    return n;
}

std::string chain(const std::string& rules, const std::string& name) {
    auto start = rules.find("chain " + name + " {");
    auto end = rules.find("  }\n", start);
    return rules.substr(start, end - start);
}

TEST(Rules, ReplacesOnlyItsOwnTableAtomically) {
    auto r = render_ruleset("husk-abcd", {make_network(false)});
    EXPECT_EQ(
        r.rfind("table inet husk-abcd\ndelete table inet husk-abcd\ntable inet husk-abcd {", 0),
        0u);
    EXPECT_EQ(count(r, "table "), 3u);
    EXPECT_EQ(count(r, "flush"), 0u);
}

const std::string bridge = "hk0000b01234567";

TEST(Rules, LocalhostPublishingOnlyForLocalProcesses) {
    auto r = render_ruleset("husk", {make_network(false)});
    auto pre = chain(r, "nat_prerouting_" + bridge);
    auto out = chain(r, "nat_output_" + bridge);
    EXPECT_EQ(pre.find("127.0.0.1"), std::string::npos) << pre;
    EXPECT_NE(out.find("ip daddr 127.0.0.1 meta l4proto tcp th dport 8080 dnat ip to 10.90.0.2:80"),
              std::string::npos)
        << out;
    EXPECT_NE(
        pre.find("fib daddr type local meta l4proto tcp th dport 8443 dnat ip to 10.90.0.2:443"),
        std::string::npos);
    EXPECT_NE(pre.find("ip daddr 198.51.100.1 meta l4proto udp th dport 5353"), std::string::npos);
    EXPECT_NE(chain(r, "raw_prerouting").find("iifname != \"lo\" ip daddr 127.0.0.0/8 drop"),
              std::string::npos);
    EXPECT_NE(chain(r, "nat_postrouting")
                  .find("ip saddr 127.0.0.0/8 oifname \"hk0000b01234567\" masquerade"),
              std::string::npos);
}

TEST(Rules, ForwardAdmitsPublishedThenDropsTheRest) {
    auto r = render_ruleset("husk", {make_network(false)});
    auto fwd = chain(r, "forward");
    auto est = fwd.find("ct state established,related accept");
    auto jump = fwd.find("oifname \"hk0000b01234567\" ct status dnat jump forward_" + bridge);
    auto drop = fwd.find("oifname \"hk0000b01234567\" drop");
    ASSERT_NE(est, std::string::npos);
    ASSERT_NE(jump, std::string::npos) << fwd;
    ASSERT_NE(drop, std::string::npos);
    EXPECT_LT(est, drop);
    EXPECT_LT(jump, drop);
    EXPECT_EQ(fwd.find("iifname \"hk0000b01234567\" drop"), std::string::npos);
    // The admits themselves live in the network's chain: nothing but them.
    auto own = chain(r, "forward_" + bridge);
    EXPECT_NE(own.find("oifname \"hk0000b01234567\" ip daddr 10.90.0.2 meta l4proto tcp th "
                       "dport 80 ct status dnat accept comment \"web\""),
              std::string::npos)
        << own;
    EXPECT_EQ(count(own, "accept"), 3u);
    EXPECT_EQ(count(own, "drop"), 0u);
    // Declared before the base chains that jump to them.
    EXPECT_LT(r.find("chain forward_" + bridge), r.find("chain forward {"));
    EXPECT_NE(chain(r, "nat_prerouting").find("jump nat_prerouting_" + bridge), std::string::npos);
    EXPECT_NE(chain(r, "nat_output").find("jump nat_output_" + bridge), std::string::npos);
}

TEST(Rules, IncrementalAddIsTheRebuiltTablesText) {
    auto n = make_network(false);
    auto add = render_add_endpoint("husk", n, "web", n.endpoints["web"]);
    auto full = render_ruleset("husk", {n});
    auto rules = endpoint_rules(n, "web", n.endpoints["web"]);
    // 127.0.0.1: output only; every address and 198.51.100.1: both hooks.
    EXPECT_EQ(rules.prerouting.size(), 2u);
    EXPECT_EQ(rules.output.size(), 3u);
    EXPECT_EQ(rules.forward.size(), 3u);
    EXPECT_EQ(count(add, "add rule inet husk "), 8u);
    for (const auto& [name, list] :
         {std::pair{"nat_prerouting_", &rules.prerouting}, std::pair{"nat_output_", &rules.output},
          std::pair{"forward_", &rules.forward}})
        for (const auto& rule : *list) {
            EXPECT_NE(add.find("add rule inet husk " + std::string(name) + bridge + " " + rule),
                      std::string::npos)
                << rule;
            EXPECT_NE(chain(full, name + bridge).find(rule), std::string::npos) << rule;
            EXPECT_NE(rule.find("comment \"web\""), std::string::npos) << rule;
        }
    // Nothing to add for an endpoint without ports, and no table-wide command ever.
    Endpoint quiet = n.endpoints["web"];
    quiet.ports.clear();
    EXPECT_EQ(render_add_endpoint("husk", n, "quiet", quiet), "");
    EXPECT_EQ(count(add, "table"), 0u);
    EXPECT_EQ(count(add, "flush"), 0u);
}

TEST(Rules, NetworkChainsAreStaticWithoutEndpoints) {
    auto n = make_network(false);
    n.endpoints.clear();
    auto r = render_ruleset("husk", {n});
    // The chains exist (the incremental path adds to them) and the 127.0.0.1 masquerade is
    // there before anyone publishes on 127.0.0.1: attach never rewrites a base chain.
    EXPECT_NE(r.find("chain forward_" + bridge + " {\n  }"), std::string::npos) << r;
    EXPECT_NE(r.find("chain nat_prerouting_" + bridge + " {\n  }"), std::string::npos);
    EXPECT_NE(chain(r, "nat_postrouting").find("ip saddr 127.0.0.0/8 oifname"), std::string::npos);
    EXPECT_EQ(network_chains(n).forward, "forward_" + bridge);
}

TEST(Rules, InternalNetworkHasNoEgressNorMasquerade) {
    auto n = make_network(true);
    n.endpoints["web"].ports.clear();
    auto r = render_ruleset("husk", {n});
    EXPECT_NE(chain(r, "forward").find("iifname \"hk0000b01234567\" drop"), std::string::npos);
    EXPECT_EQ(chain(r, "nat_postrouting").find("oifname != "), std::string::npos);
}

TEST(Rules, DeleteIsIdempotentScript) {
    EXPECT_EQ(render_delete("husk"), "table inet husk\ndelete table inet husk\n");
}

TEST(Dns, ResolvConfDropsLoopbackServers) {
    auto r =
        container_resolv_conf("nameserver 127.0.0.53\nsearch example.org\nnameserver 9.9.9.9\n");
    EXPECT_EQ(r, "search example.org\nnameserver 9.9.9.9\n");
    EXPECT_EQ(container_resolv_conf("nameserver 127.0.0.1\n"),
              "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
}

TEST(Dns, HostsListsSelfAndPeers) {
    Endpoint self, peer;
    self.container_id = "c1";
    self.hostname = "web";
    self.ip = *parse_ipv4("10.90.0.2");
    peer.container_id = "c2";
    peer.hostname = "db";
    peer.aliases = {"database"};
    peer.ip = *parse_ipv4("10.90.0.3");
    auto h = container_hosts(self, {&peer});
    EXPECT_NE(h.find("10.90.0.2\tweb\n"), std::string::npos) << h;
    EXPECT_NE(h.find("10.90.0.3\tdb database c2\n"), std::string::npos) << h;
    EXPECT_NE(h.find("127.0.0.1\tlocalhost\n"), std::string::npos);
}

}  // namespace
}  // namespace husk::net

namespace husk::net {
namespace {

// A query for "web.local" type A, id 0x1234, RD set.
std::string query(const std::string& name, uint16_t qtype) {
    std::string q = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
    size_t start = 0;
    while (start <= name.size()) {
        size_t dot = name.find('.', start);
        if (dot == std::string::npos) dot = name.size();
        q += static_cast<char>(dot - start);
        q += name.substr(start, dot - start);
        start = dot + 1;
    }
    q += '\0';
    q += static_cast<char>(qtype >> 8);
    q += static_cast<char>(qtype & 0xff);
    q += std::string{0, 1};
    return q;
}

TEST(DnsServer, ParsesTheQuestion) {
    uint16_t t = 0;
    EXPECT_EQ(dns_question(query("Web.Local", 1), &t), "web.local");
    EXPECT_EQ(t, 1);
    EXPECT_EQ(dns_question("short", &t), "");
    std::string truncated = query("web", 1);
    truncated.resize(15);
    EXPECT_EQ(dns_question(truncated, &t), "");
}

TEST(DnsServer, AnswersAWithTheAddress) {
    auto q = query("web", 1);
    auto r = dns_answer(q, "web", (10u << 24) | (90u << 16) | 2);
    ASSERT_EQ(r.size(), q.size() + 16);
    EXPECT_EQ(r.substr(0, 2), q.substr(0, 2));           // same id
    EXPECT_EQ(static_cast<uint8_t>(r[2]) & 0x80, 0x80);  // a response
    EXPECT_EQ(r[7], 1);                                  // one answer
    EXPECT_EQ(r.substr(r.size() - 4), std::string("\x0a\x5a\x00\x02", 4));
    auto aaaa = dns_answer(query("web", 28), "web", 1);
    EXPECT_EQ(aaaa[7], 0);  // NODATA for AAAA
}

}  // namespace
}  // namespace husk::net
