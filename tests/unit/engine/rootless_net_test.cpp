// Rootless networking's pure parts: the modes, and `-p` specs turned into forwarded ports.
#include <gtest/gtest.h>

#include "engine/rootless_net.hpp"

namespace husk::engine {
namespace {

TEST(RootlessNetTest, Modes) {
    EXPECT_TRUE(is_rootless_network_mode("pasta"));
    EXPECT_TRUE(is_rootless_network_mode("slirp4netns"));
    EXPECT_FALSE(is_rootless_network_mode("bridge"));
    EXPECT_EQ(parse_rootless_net_driver("pasta").value(), RootlessNetDriver::pasta);
    auto bad = parse_rootless_net_driver("vpnkit");
    ASSERT_FALSE(bad.has_value());
    EXPECT_NE(bad.error().what().find("vpnkit"), std::string::npos);
}

TEST(RootlessNetTest, PortSpecs) {
    auto ports = forwarded_ports({"8080:80", "127.0.0.1:5353:53/udp", "9000-9001:90-91"});
    ASSERT_TRUE(ports.has_value());
    ASSERT_EQ(ports->size(), 4u);
    EXPECT_EQ((*ports)[0].host_port, 8080);
    EXPECT_EQ((*ports)[0].container_port, 80);
    EXPECT_TRUE((*ports)[0].host_ip.empty());
    EXPECT_FALSE((*ports)[0].udp);
    EXPECT_EQ((*ports)[1].host_ip, "127.0.0.1");
    EXPECT_TRUE((*ports)[1].udp);
    EXPECT_EQ((*ports)[3].host_port, 9001);
    EXPECT_EQ((*ports)[3].container_port, 91);
}

TEST(RootlessNetTest, PublishAllAddsExposedPortsNotPublishedYet) {
    using V = std::vector<std::string>;
    // Without -P the exposed ports stay unpublished.
    EXPECT_EQ(published_specs({"8080:80"}, false, {"80/tcp", "443/tcp"}), V{"8080:80"});
    // With it each exposed port not already published by -p, once, tcp by default.
    EXPECT_EQ(published_specs({"8080:80", "9000-9001:90-91"}, true,
                              {"80/tcp", "443/tcp", "53/udp", "91/tcp", "7000", "443/tcp"}),
              (V{"8080:80", "9000-9001:90-91", "443/tcp", "53/udp", "7000/tcp"}));
    // 80/udp is not the published 80/tcp.
    EXPECT_EQ(published_specs({"80"}, true, {"80/udp"}), (V{"80", "80/udp"}));
    auto ports = forwarded_ports(published_specs({}, true, {"80/tcp", "53/udp"}));
    ASSERT_TRUE(ports.has_value()) << ports.error().what();
    ASSERT_EQ(ports->size(), 2u);
    EXPECT_NE((*ports)[0].host_port, 0);
    EXPECT_EQ((*ports)[0].container_port, 80);
    EXPECT_TRUE((*ports)[1].udp);
}

TEST(RootlessNetTest, ARandomHostPortIsAFreeOne) {
    auto ports = forwarded_ports({"127.0.0.1::80"});
    ASSERT_TRUE(ports.has_value());
    ASSERT_EQ(ports->size(), 1u);
    EXPECT_GT((*ports)[0].host_port, 0);
    EXPECT_FALSE(forwarded_ports({"1:2:3:4"}).has_value());
    EXPECT_FALSE(forwarded_ports({"0:80"}).has_value());
}

}  // namespace
}  // namespace husk::engine
