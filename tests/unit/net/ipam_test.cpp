// IPAM: subnet choice around host routes, pool checks, allocation order and exhaustion.
#include <gtest/gtest.h>

#include "net/ipam.hpp"

namespace husk::net {
namespace {

Subnet sn(const char* s) {
    return *parse_subnet(s);
}
Ipv4 ip(const char* s) {
    return *parse_ipv4(s);
}

TEST(Ipv4, ParsesAndPrints) {
    EXPECT_EQ(ip("10.1.2.3").str(), "10.1.2.3");
    EXPECT_FALSE(parse_ipv4("10.1.2"));
    EXPECT_FALSE(parse_ipv4("10.1.2.256"));
    EXPECT_EQ(sn("192.0.2.0/24").str(), "192.0.2.0/24");
}

TEST(Ipv4, SubnetWithHostBitsIsRejectedWithTheFix) {
    auto s = parse_subnet("10.1.0.1/16");
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message().find("did you mean 10.1.0.0/16"), std::string::npos);
    EXPECT_FALSE(parse_subnet("10.1.0.0/33"));
    EXPECT_FALSE(parse_subnet("10.1.0.0"));
}

TEST(Ipv4, Overlaps) {
    EXPECT_TRUE(sn("10.0.0.0/8").overlaps(sn("10.5.0.0/16")));
    EXPECT_TRUE(sn("10.5.0.0/16").overlaps(sn("10.0.0.0/8")));
    EXPECT_FALSE(sn("10.5.0.0/16").overlaps(sn("10.6.0.0/16")));
}

TEST(Ipam, ChoosesFirstFreeCandidate) {
    EXPECT_EQ(choose_subnet({})->str(), "172.17.0.0/16");
    // docker0 and a /12 covering 172.16-31 push it to 10.89.
    auto s = choose_subnet({sn("172.16.0.0/12"), sn("192.0.2.0/24")});
    ASSERT_TRUE(s);
    EXPECT_EQ(s->str(), "10.89.0.0/16");
}

TEST(Ipam, NeverPicksTheHostsOwnRanges) {
    std::vector<Subnet> in_use = {sn("192.0.2.0/24"), sn("10.0.0.0/8"), sn("172.17.0.0/16")};
    auto s = choose_subnet(in_use);
    ASSERT_TRUE(s);
    for (const auto& u : in_use) EXPECT_FALSE(s->overlaps(u)) << s->str() << " vs " << u.str();
}

TEST(Ipam, AllCandidatesTaken) {
    auto s = choose_subnet({sn("0.0.0.0/0")});
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message().find("--subnet"), std::string::npos);
}

TEST(Ipam, PoolRejectsOverlapBadGatewayAndRange) {
    auto p = make_pool(sn("192.0.2.0/24"), {}, {}, {sn("192.0.2.0/24")});
    ASSERT_FALSE(p);
    EXPECT_NE(p.error().message().find("overlaps 192.0.2.0/24"), std::string::npos);
    EXPECT_FALSE(make_pool(sn("10.9.0.0/24"), ip("10.9.1.1"), {}, {}));
    EXPECT_FALSE(make_pool(sn("10.9.0.0/24"), ip("10.9.0.0"), {}, {}));
    EXPECT_FALSE(make_pool(sn("10.9.0.0/24"), {}, sn("10.9.1.0/28"), {}));
    EXPECT_FALSE(make_pool(sn("10.9.0.0/31"), {}, {}, {}));
    auto ok = make_pool(sn("10.9.0.0/24"), {}, {}, {});
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->gateway.str(), "10.9.0.1");
}

TEST(Ipam, AllocatesLowestFreeSkippingGatewayAndBroadcast) {
    Pool pool = *make_pool(sn("10.9.0.0/29"), ip("10.9.0.2"), {}, {});
    std::set<Ipv4> used;
    std::vector<std::string> got;
    for (;;) {
        auto a = allocate(pool, used, {});
        if (!a) {
            EXPECT_NE(a.error().message().find("no free address"), std::string::npos);
            break;
        }
        used.insert(*a);
        got.push_back(a->str());
    }
    EXPECT_EQ(got, (std::vector<std::string>{"10.9.0.1", "10.9.0.3", "10.9.0.4", "10.9.0.5",
                                             "10.9.0.6"}));
}

TEST(Ipam, RangeAndFixedAddress) {
    Pool pool = *make_pool(sn("10.9.0.0/24"), {}, sn("10.9.0.128/25"), {});
    EXPECT_EQ(allocate(pool, {}, {})->str(), "10.9.0.128");
    EXPECT_EQ(allocate(pool, {}, ip("10.9.0.7"))->str(), "10.9.0.7");
    EXPECT_FALSE(allocate(pool, {ip("10.9.0.7")}, ip("10.9.0.7")));
    EXPECT_FALSE(allocate(pool, {}, ip("10.9.0.1")));    // gateway
    EXPECT_FALSE(allocate(pool, {}, ip("10.9.0.255")));  // broadcast
    EXPECT_FALSE(allocate(pool, {}, ip("10.8.0.7")));
}

}  // namespace
}  // namespace husk::net
