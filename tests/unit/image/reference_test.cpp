#include "image/reference.hpp"

#include <gtest/gtest.h>

#include "image/digest.hpp"
#include "oci/image_manifest.hpp"

namespace husk::image {
namespace {

TEST(Reference, DockerHubDefaults) {
    auto r = parse_reference("busybox");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->registry, "docker.io");
    EXPECT_EQ(r->repository, "library/busybox");
    EXPECT_EQ(r->tag, "latest");
    EXPECT_EQ(r->str(), "docker.io/library/busybox:latest");
    EXPECT_EQ(r->familiar(), "busybox:latest");
    auto u = parse_reference("user/app:1.0");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->str(), "docker.io/user/app:1.0");
}

TEST(Reference, RegistryWithPortAndDigest) {
    std::string d = "sha256:" + std::string(64, 'a');
    auto r = parse_reference("localhost:5000/a/b@" + d);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->registry, "localhost:5000");
    EXPECT_EQ(r->repository, "a/b");
    EXPECT_EQ(r->tag, "");
    EXPECT_EQ(r->digest, d);
    EXPECT_EQ(r->manifest_ref(), d);
    auto t = parse_reference("127.0.0.1:5000/x:v1");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->registry, "127.0.0.1:5000");
    EXPECT_EQ(t->tag, "v1");
    auto l = parse_reference("localhost/x");
    ASSERT_TRUE(l);
    EXPECT_EQ(l->registry, "localhost");
}

TEST(Reference, RejectsBadInput) {
    EXPECT_FALSE(parse_reference(""));
    EXPECT_FALSE(parse_reference("UPPER/case"));
    EXPECT_FALSE(parse_reference("a@sha256:short"));
    EXPECT_FALSE(parse_reference("a:bad tag"));
    EXPECT_FALSE(parse_reference("a//b"));
}

TEST(Digest, ParseAndHash) {
    EXPECT_TRUE(parse_digest("sha512:" + std::string(128, '0')));
    EXPECT_FALSE(parse_digest("md5:abc"));
    EXPECT_FALSE(parse_digest("sha256:" + std::string(64, 'A')));
    EXPECT_EQ(sha256_of("").str(),
              "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    Hasher h;
    h.update("a");
    h.update("bc");
    EXPECT_EQ(h.finish(), sha256_of("abc"));
    EXPECT_EQ(digest_of("sha512", "").hex.size(), 128u);
}

TEST(Manifest, RoundTripAndDetect) {
    oci::Manifest m;
    m.media_type = std::string(oci::media_type::oci_manifest);
    m.config = {
        std::string(oci::media_type::oci_config), sha256_of("c").str(), 1, {}, {}, false, {}};
    m.layers.push_back(
        {std::string(oci::media_type::oci_layer_gzip), sha256_of("l").str(), 2, {}, {}, false, {}});
    auto text = oci::manifest_json(m);
    auto back = oci::parse_manifest(text);
    ASSERT_TRUE(back) << back.error().what();
    EXPECT_EQ(back->layers.size(), 1u);
    EXPECT_EQ(back->layers[0].size, 2);
    EXPECT_EQ(*oci::detect_manifest_type(text), oci::media_type::oci_manifest);
    EXPECT_EQ(*oci::detect_manifest_type(R"({"schemaVersion":2,"manifests":[]})"),
              oci::media_type::oci_index);
    auto bad = oci::parse_manifest(
        R"({"schemaVersion":2,"config":{"mediaType":"x","digest":"d","size":-1},"layers":[]})");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().what().find("manifest.config.size"), std::string::npos);
}

}  // namespace
}  // namespace husk::image
