// The store record: JSON round trip, names, MACs from addresses.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "net/network.hpp"
#include "net/store.hpp"

namespace husk::net {
namespace {

TEST(Network, JsonRoundTrip) {
    Network n;
    n.name = "front";
    n.id = "ab12";
    n.bridge = "hk0000bab12";
    n.subnet = *parse_subnet("10.90.0.0/16");
    n.gateway = *parse_ipv4("10.90.0.1");
    n.ip_range = *parse_subnet("10.90.1.0/24");
    n.internal = true;
    Endpoint e;
    e.container_id = "c1";
    e.ip = *parse_ipv4("10.90.1.5");
    e.mac = mac_for(e.ip);
    e.host_veth = "hk0000v1234";
    e.ifname = "eth0";
    e.aliases = {"a", "b"};
    e.ports = {{*parse_ipv4("127.0.0.1"), 8080, 80, Proto::udp}};
    n.endpoints["c1"] = e;
    auto back = network_from_json(nlohmann::json::parse(to_json(n).dump()));
    ASSERT_TRUE(back) << back.error().what();
    EXPECT_EQ(back->subnet, n.subnet);
    EXPECT_EQ(back->ip_range, n.ip_range);
    EXPECT_TRUE(back->internal);
    const auto& be = back->endpoints.at("c1");
    EXPECT_EQ(be.ip, e.ip);
    EXPECT_EQ(be.mac, e.mac);
    EXPECT_EQ(be.aliases, e.aliases);
    EXPECT_EQ(be.ports, e.ports);
}

TEST(Network, MalformedRecordIsAnErrorNotACrash) {
    auto r = network_from_json(nlohmann::json::parse(R"({"name": "x"})"));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("malformed network record"), std::string::npos);
    auto bad_ip = network_from_json(nlohmann::json::parse(
        R"({"name":"x","id":"1","bridge":"b","subnet":"10.0.0.0/8","gateway":"nope","endpoints":{}})"));
    ASSERT_FALSE(bad_ip);
    EXPECT_NE(bad_ip.error().message().find("'nope'"), std::string::npos);
}

TEST(Network, Names) {
    EXPECT_TRUE(check_network_name("my-net_1.a"));
    EXPECT_FALSE(check_network_name(""));
    EXPECT_FALSE(check_network_name("-x"));
    EXPECT_FALSE(check_network_name("a/b"));
    EXPECT_FALSE(check_network_name("../x"));
    EXPECT_FALSE(check_network_name(std::string(65, 'a')));
    EXPECT_FALSE(check_container_id("a b"));
}

TEST(Network, MacFromAddress) {
    EXPECT_EQ(mac_str(mac_for(*parse_ipv4("10.90.1.5"))), "02:48:0a:5a:01:05");
}

TEST(Store, HostNamesFitIfnamsiz) {
    EXPECT_EQ(fnv1a_hex("", 16), "cbf29ce484222325");
    // IFNAMSIZ is 16 with the NUL: every name husk makes is at most 15 characters.
    std::string prefix = "hk" + fnv1a_hex("/tmp/x", 4);
    EXPECT_LE((prefix + "b" + std::string(8, 'f')).size(), 15u);
    EXPECT_LE((prefix + "v" + fnv1a_hex("n/c", 8)).size(), 15u);
}

}  // namespace
}  // namespace husk::net
