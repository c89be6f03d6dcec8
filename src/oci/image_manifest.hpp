#pragma once
// The image-spec's manifest and index (and Docker's schema2 manifest and manifest list,
// which have the same shape with other media types): which blobs make an image, and which
// manifest serves which platform.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace husk::oci {

namespace media_type {
inline constexpr std::string_view oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view oci_config = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view oci_layer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view oci_layer_gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view oci_layer_zstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view docker_manifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view docker_list =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view docker_config = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view docker_layer_gzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view docker_layer = "application/vnd.docker.image.rootfs.diff.tar";
}  // namespace media_type

struct Platform {
    std::string architecture;
    std::string os;
    std::string variant;
};

struct Descriptor {
    std::string media_type;
    std::string digest;
    int64_t size = 0;
    std::vector<std::string> urls;
    std::map<std::string, std::string> annotations;
    bool has_platform = false;
    Platform platform;
};

struct Manifest {
    int schema_version = 2;
    std::string media_type;
    Descriptor config;
    std::vector<Descriptor> layers;
    std::map<std::string, std::string> annotations;
};

struct Index {
    int schema_version = 2;
    std::string media_type;
    std::vector<Descriptor> manifests;
    std::map<std::string, std::string> annotations;
};

bool is_index_media_type(std::string_view type);
bool is_manifest_media_type(std::string_view type);
// A manifest document's kind, from its mediaType field or (OCI allows omitting it) its
// shape: "manifests" makes an index, "config" a manifest.
[[nodiscard]] Result<std::string> detect_manifest_type(std::string_view json);

[[nodiscard]] Result<Manifest> parse_manifest(std::string_view json);
[[nodiscard]] Result<Index> parse_index(std::string_view json);
std::string manifest_json(const Manifest& manifest);
std::string index_json(const Index& index);

}  // namespace husk::oci
