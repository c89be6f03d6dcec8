#include "oci/image_spec.hpp"

#include <gtest/gtest.h>

namespace husk::oci {
namespace {

TEST(ImageSpec, ParsesDockerConfigFields) {
    auto image = parse_image_config(R"({
      "architecture": "amd64", "os": "linux",
      "config": {"Env": ["PATH=/bin"], "Entrypoint": ["/bin/sh", "-c"], "Cmd": null,
                 "ExposedPorts": {"8080/tcp": {}, "53/udp": {}}, "WorkingDir": "/srv",
                 "Labels": {"a": "b"}, "StopSignal": "SIGQUIT",
                 "Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 1000000000,
                                 "Retries": 3}},
      "rootfs": {"type": "layers", "diff_ids": ["sha256:aa"]},
      "history": [{"created_by": "x", "empty_layer": true}]})");
    ASSERT_TRUE(image) << image.error().what();
    EXPECT_EQ(image->architecture, "amd64");
    EXPECT_EQ(image->config.env, std::vector<std::string>{"PATH=/bin"});
    ASSERT_TRUE(image->config.entrypoint);
    EXPECT_EQ(image->config.entrypoint->size(), 2u);
    EXPECT_FALSE(image->config.cmd);
    EXPECT_EQ(image->config.exposed_ports, (std::vector<std::string>{"53/udp", "8080/tcp"}));
    ASSERT_TRUE(image->config.healthcheck);
    EXPECT_EQ(image->config.healthcheck->retries, 3);
    EXPECT_EQ(image->diff_ids, std::vector<std::string>{"sha256:aa"});
    ASSERT_EQ(image->history.size(), 1u);
    EXPECT_TRUE(image->history[0].empty_layer);
}

TEST(ImageSpec, RoundTrips) {
    auto first = parse_image_config(
        R"({"architecture":"amd64","os":"linux","config":{"Entrypoint":[],"User":"1:2"},
            "rootfs":{"type":"layers","diff_ids":[]}})");
    ASSERT_TRUE(first);
    auto second = parse_image_config(image_config_json(*first));
    ASSERT_TRUE(second) << second.error().what();
    ASSERT_TRUE(second->config.entrypoint);  // an explicit empty entrypoint survives
    EXPECT_TRUE(second->config.entrypoint->empty());
    EXPECT_EQ(second->config.user, "1:2");
}

TEST(ImageSpec, NamesTheBadField) {
    auto image = parse_image_config(R"({"config": {"Env": ["A=1", 2]}})");
    ASSERT_FALSE(image);
    EXPECT_EQ(image.error().what(), "config.Env[1]: expected a string");
    EXPECT_FALSE(parse_image_config("{"));
    auto layers = parse_image_config(R"({"rootfs": {"type": "tar"}})");
    ASSERT_FALSE(layers);
    EXPECT_EQ(layers.error().what(), "rootfs.type: expected \"layers\", got \"tar\"");
}

}  // namespace
}  // namespace husk::oci
