// -p parsing and host port binding: every Docker form, ranges, random ports, conflicts.
#include <gtest/gtest.h>

#include "net/port_spec.hpp"

namespace husk::net {
namespace {

auto always_free = [](const PortBinding&) { return true; };

TEST(PortSpec, Forms) {
    auto a = parse_port_spec("80");
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->host_ip.is_unspecified());
    EXPECT_EQ(a->host_first, 0);
    EXPECT_EQ(a->container_first, 80);
    EXPECT_EQ(a->proto, Proto::tcp);

    auto b = parse_port_spec("127.0.0.1:8080:80/udp");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->host_ip.str(), "127.0.0.1");
    EXPECT_EQ(b->host_first, 8080);
    EXPECT_EQ(b->container_first, 80);
    EXPECT_EQ(b->proto, Proto::udp);

    auto c = parse_port_spec("127.0.0.1::80");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->host_first, 0);
    EXPECT_EQ(c->host_ip.str(), "127.0.0.1");

    auto d = parse_port_spec("8000-8002:80-82");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->host_last, 8002);
    EXPECT_EQ(d->container_last, 82);
}

TEST(PortSpec, BadInputIsNamed) {
    for (const char* bad :
         {"", "0", "65536", "80/sctp", "a:80", "1.2.3:80:80", "90-80", "8000-8001:80-82",
          "[::1]:80", ":::80", "[::1:80:80", "[nope]:80:80", "::1:80:80", "1.2.3.4[::1]:80:80"}) {
        auto r = parse_port_spec(bad);
        EXPECT_FALSE(r) << bad;
        if (!r && *bad) {
            EXPECT_NE(r.error().message().find(bad), std::string::npos) << bad;
        }
    }
}

TEST(PortSpec, BindsPairwiseRange) {
    auto spec = *parse_port_spec("8000-8002:80-82");
    auto b = bind_ports(spec, {}, always_free);
    ASSERT_TRUE(b);
    ASSERT_EQ(b->size(), 3u);
    EXPECT_EQ((*b)[2].host_port, 8002);
    EXPECT_EQ((*b)[2].container_port, 82);
    EXPECT_EQ((*b)[0].str(), "0.0.0.0:8000->80/tcp");
}

TEST(PortSpec, RandomPortSkipsTakenAndBusy) {
    auto spec = *parse_port_spec("8000-8003:80");
    std::vector<PortBinding> taken = {{Ipv4{}, 8000, 1, Proto::tcp}};
    auto busy = [](const PortBinding& b) { return b.host_port != 8001; };
    auto b = bind_ports(spec, taken, busy);
    ASSERT_TRUE(b);
    ASSERT_EQ(b->size(), 1u);
    EXPECT_EQ((*b)[0].host_port, 8002);

    auto r = bind_ports(*parse_port_spec("80"), {}, always_free);
    ASSERT_TRUE(r);
    EXPECT_GE((*r)[0].host_port, 32768);
}

TEST(PortSpec, ConflictsRespectAddressesAndProtocols) {
    std::vector<PortBinding> taken = {{*parse_ipv4("127.0.0.1"), 8080, 80, Proto::tcp}};
    EXPECT_FALSE(bind_ports(*parse_port_spec("127.0.0.1:8080:80"), taken, always_free));
    EXPECT_FALSE(bind_ports(*parse_port_spec("8080:80"), taken, always_free));
    EXPECT_TRUE(bind_ports(*parse_port_spec("127.0.0.2:8080:80"), taken, always_free));
    EXPECT_TRUE(bind_ports(*parse_port_spec("8080:80/udp"), taken, always_free));
    auto busy = [](const PortBinding&) { return false; };
    auto e = bind_ports(*parse_port_spec("9090:90"), {}, busy);
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message().find("already in use on this host"), std::string::npos);
}

TEST(PortSpec, Ipv6Forms) {
    auto a = parse_port_spec("[::1]:8080:80/udp");
    ASSERT_TRUE(a) << a.error().message();
    ASSERT_TRUE(a->host_ip6);
    EXPECT_EQ(a->host_ip6->str(), "::1");
    EXPECT_EQ(a->host_first, 8080);
    EXPECT_EQ(a->container_first, 80);
    EXPECT_EQ(a->proto, Proto::udp);
    auto b = parse_port_spec("[::]::80");
    ASSERT_TRUE(b);
    EXPECT_TRUE(b->host_ip6->is_unspecified());
    EXPECT_EQ(b->host_first, 0);
    auto c = parse_port_spec("[fd00:1::5]:9000-9001:90-91");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->host_ip6->str(), "fd00:1::5");
    EXPECT_EQ(c->host_last, 9001);
    auto r = bind_ports(*a, {}, always_free);
    ASSERT_TRUE(r);
    EXPECT_EQ((*r)[0].str(), "[::1]:8080->80/udp");
}

TEST(PortSpec, Ipv6ConflictsByFamily) {
    auto one = [](const char* spec) {
        return (*bind_ports(*parse_port_spec(spec), {}, always_free))[0];
    };
    std::vector<PortBinding> v6loop = {one("[::1]:8080:80")};
    // Another IPv6 address, or IPv4: no conflict; [::] and "every address": conflict.
    EXPECT_TRUE(bind_ports(*parse_port_spec("[fd00::9]:8080:80"), v6loop, always_free));
    EXPECT_TRUE(bind_ports(*parse_port_spec("127.0.0.1:8080:80"), v6loop, always_free));
    EXPECT_FALSE(bind_ports(*parse_port_spec("[::]:8080:80"), v6loop, always_free));
    EXPECT_FALSE(bind_ports(*parse_port_spec("8080:80"), v6loop, always_free));
    std::vector<PortBinding> v4 = {one("0.0.0.0:8081:80")};
    EXPECT_FALSE(bind_ports(*parse_port_spec("[::1]:8081:80"), v4, always_free));
    std::vector<PortBinding> v4one = {one("10.0.0.1:8082:80")};
    EXPECT_TRUE(bind_ports(*parse_port_spec("[::]:8082:80"), v4one, always_free));
}

}  // namespace
}  // namespace husk::net
