// IPv6 values, the ULA choice and allocation of dual-stack networks, and their nft rules.
#include <gtest/gtest.h>

#include "net/dns.hpp"
#include "net/dns_server.hpp"
#include "net/firewall_rules.hpp"
#include "net/ipam.hpp"
#include "net/ipv6.hpp"

namespace husk::net {
namespace {

TEST(Ipv6, ParsesAndPrints) {
    auto s = parse_subnet6("fd12:3456:789a::/64");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->str(), "fd12:3456:789a::/64");
    EXPECT_TRUE(s->contains(*parse_ipv6("fd12:3456:789a::42")));
    EXPECT_FALSE(s->contains(*parse_ipv6("fd12:3456:789b::42")));
    auto bad = parse_subnet6("fd12::1/64");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("did you mean fd12::/64"), std::string::npos);
    EXPECT_FALSE(parse_subnet6("fd12::/129"));
    EXPECT_FALSE(parse_ipv6("10.0.0.1"));
    EXPECT_TRUE(parse_ipv6("::1")->is_loopback());
    EXPECT_TRUE(parse_subnet6("fd00::/48")->overlaps(*parse_subnet6("fd00:0:0:5::/64")));
    EXPECT_FALSE(parse_subnet6("fd00::/64")->overlaps(*parse_subnet6("fd00:0:0:1::/64")));
}

TEST(Ipam6, ChoosesAUlaAvoidingRoutes) {
    std::vector<Subnet6> in_use = {*parse_subnet6("fd00::/64")};
    auto s = choose_subnet6("seed", in_use);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->prefix, 64);
    EXPECT_EQ(s->base.bytes[0], 0xfd);
    EXPECT_FALSE(s->overlaps(in_use[0]));
    // Its own choice in use: the next candidate, still a ULA.
    in_use.push_back(*s);
    auto t = choose_subnet6("seed", in_use);
    ASSERT_TRUE(t);
    EXPECT_NE(*t, *s);
    // Everything (fd00::/8) routed: a clear error.
    EXPECT_FALSE(choose_subnet6("seed", {*parse_subnet6("fd00::/8")}));
}

TEST(Ipam6, PoolsAndAllocation) {
    auto pool = make_pool6(*parse_subnet6("fd77:1::/64"), std::nullopt, {});
    ASSERT_TRUE(pool);
    EXPECT_EQ(pool->gateway.str(), "fd77:1::1");
    auto a = allocate6(*pool, {}, std::nullopt);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->str(), "fd77:1::2");
    auto b = allocate6(*pool, {*a}, std::nullopt);
    EXPECT_EQ(b->str(), "fd77:1::3");
    EXPECT_FALSE(allocate6(*pool, {*a}, *a));
    EXPECT_FALSE(allocate6(*pool, {}, *parse_ipv6("fd77:2::5")));
    EXPECT_FALSE(allocate6(*pool, {}, pool->gateway));
    EXPECT_EQ(allocate6(*pool, {}, *parse_ipv6("fd77:1::99"))->str(), "fd77:1::99");
    auto over =
        make_pool6(*parse_subnet6("fd00::/64"), std::nullopt, {*parse_subnet6("fd00::/48")});
    ASSERT_FALSE(over);
    EXPECT_NE(over.error().message().find("overlaps fd00::/48"), std::string::npos);
    EXPECT_FALSE(make_pool6(*parse_subnet6("fe80::/64"), std::nullopt, {}));
    EXPECT_FALSE(make_pool6(*parse_subnet6("fd00::/32"), std::nullopt, {}));
    EXPECT_FALSE(make_pool6(*parse_subnet6("fd77:1::/64"), *parse_ipv6("fd77:2::1"), {}));
}

Network dual() {
    Network n;
    n.name = "v6";
    n.id = "0123456789abcdef";
    n.bridge = "hk0000b01234567";
    n.subnet = *parse_subnet("10.90.0.0/16");
    n.gateway = *parse_ipv4("10.90.0.1");
    n.subnet6 = *parse_subnet6("fd90::/64");
    n.gateway6 = *parse_ipv6("fd90::1");
    Endpoint e;
    e.container_id = "web";
    e.ip = *parse_ipv4("10.90.0.2");
    e.ip6 = *parse_ipv6("fd90::2");
    e.hostname = "web";
    auto b = [](const char* spec) {
        return (
            *bind_ports(*parse_port_spec(spec), {}, [](const PortBinding&) { return true; }))[0];
    };
    e.ports = {b("8080:80"), b("[::1]:8081:81"), b("[fd00::2]:8082:82/udp"), b("[::]:8083:83"),
               b("127.0.0.1:8084:84")};
    n.endpoints["web"] = e;
    return n;
}

std::string chain(const std::string& rules, const std::string& name) {
    auto start = rules.find("chain " + name + " {");
    auto end = rules.find("  }\n", start);
    return rules.substr(start, end - start);
}

bool has(const std::string& s, const std::string& what) {
    return s.find(what) != std::string::npos;
}

TEST(Rules6, DualStackPublishingAndMasquerade) {
    auto r = render_ruleset("husk", {dual()});
    const std::string br = "hk0000b01234567";
    auto pre = chain(r, "nat_prerouting_" + br), out = chain(r, "nat_output_" + br);
    auto fwd = chain(r, "forward_" + br), post = chain(r, "nat_postrouting");
    // Every address: both families; IPv6 in output never for ::1 (it cannot leave lo).
    EXPECT_TRUE(has(pre,
                    "meta nfproto ipv4 fib daddr type local meta l4proto tcp th dport 8080 "
                    "dnat ip to 10.90.0.2:80"))
        << pre;
    EXPECT_TRUE(has(pre,
                    "meta nfproto ipv6 fib daddr type local meta l4proto tcp th dport 8080 "
                    "dnat ip6 to [fd90::2]:80"))
        << pre;
    EXPECT_TRUE(has(out,
                    "ip6 daddr != ::1 meta nfproto ipv6 fib daddr type local meta l4proto "
                    "tcp th dport 8080"))
        << out;
    // [::]: IPv6 only.
    EXPECT_TRUE(has(pre, "meta nfproto ipv6 fib daddr type local meta l4proto tcp th dport 8083"));
    EXPECT_FALSE(has(pre, "ipv4 fib daddr type local meta l4proto tcp th dport 8083"));
    // One IPv6 address: matched in both hooks.
    EXPECT_TRUE(has(pre,
                    "ip6 daddr fd00::2 meta l4proto udp th dport 8082 dnat ip6 to "
                    "[fd90::2]:82"));
    // [::1] is the proxy's: no rule anywhere.
    EXPECT_FALSE(has(r, "dport 8081"));
    EXPECT_TRUE(has(fwd,
                    "oifname \"hk0000b01234567\" ip6 daddr fd90::2 meta l4proto tcp th dport "
                    "80 ct status dnat accept"));
    EXPECT_TRUE(has(post, "ip6 saddr fd90::/64 oifname != \"hk0000b01234567\" masquerade"));
    EXPECT_TRUE(has(post, "ip6 saddr fd90::/64 oifname \"hk0000b01234567\" ct status dnat"));
    EXPECT_TRUE(has(chain(r, "raw_prerouting"), "iifname != \"lo\" ip6 daddr ::1 drop"));
}

TEST(Rules6, InternalDualStackHasNoIpv6Masquerade) {
    auto n = dual();
    n.internal = true;
    n.endpoints["web"].ports.clear();
    auto post = chain(render_ruleset("husk", {n}), "nat_postrouting");
    EXPECT_FALSE(has(post, "oifname != ")) << post;
}

TEST(Dns6, HostsCarryBothFamilies) {
    auto n = dual();
    Endpoint peer = n.endpoints["web"];
    peer.container_id = "c2";
    peer.hostname = "db";
    peer.ip = *parse_ipv4("10.90.0.3");
    peer.ip6 = *parse_ipv6("fd90::3");
    auto h = container_hosts(n.endpoints["web"], {&peer});
    EXPECT_TRUE(has(h, "fd90::2\tweb\n")) << h;
    EXPECT_TRUE(has(h, "fd90::3\tdb c2\n")) << h;
}

// A query for NAME of type QTYPE, with an EDNS OPT record of `edns` bytes when non-zero.
std::string query(const std::string& name, uint16_t qtype, uint16_t edns = 0) {
    std::string q = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, static_cast<char>(edns ? 1 : 0)};
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
    if (edns) {
        q += std::string{0, 0, 41};
        q += static_cast<char>(edns >> 8);
        q += static_cast<char>(edns & 0xff);
        q += std::string(6, '\0');
    }
    return q;
}

TEST(Dns6, AnswersAaaaAndAny) {
    auto v6 = *parse_ipv6("fd90::2");
    auto q = query("web", 28);
    auto r = dns_answer_for(q, 0x0a5a0002, v6);
    EXPECT_EQ(r[7], 1);
    EXPECT_EQ(r.substr(r.size() - 16), std::string(v6.bytes.begin(), v6.bytes.end()));
    EXPECT_EQ(dns_answer_for(query("web", 255), 0x0a5a0002, v6)[7], 2);  // ANY: A and AAAA
    EXPECT_EQ(dns_answer_for(q, 0x0a5a0002, std::nullopt)[7], 0);        // IPv4 only: NODATA
    EXPECT_EQ(dns_answer_for(query("web", 1), 0x0a5a0002, v6)[7], 1);
}

TEST(Dns6, UdpLimitAndTruncation) {
    EXPECT_EQ(dns_udp_limit(query("big.test", 1)), 512u);
    EXPECT_EQ(dns_udp_limit(query("big.test", 1, 1232)), 1232u);
    EXPECT_EQ(dns_udp_limit(query("big.test", 1, 100)), 512u);  // never below 512
    auto q = query("big.test", 1);
    std::string reply = q + std::string(600, 'x');
    reply[7] = 40;
    auto t = dns_truncated(reply);
    EXPECT_EQ(t.size(), q.size());
    EXPECT_EQ(static_cast<uint8_t>(t[2]) & 0x02, 0x02);  // TC
    EXPECT_EQ(t[7], 0);                                  // no answers
    EXPECT_EQ(dns_question(t, nullptr), "big.test");
}

}  // namespace
}  // namespace husk::net
