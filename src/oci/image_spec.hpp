#pragma once
// The image-spec's image configuration (OCI `application/vnd.oci.image.config.v1+json`, which
// Docker's schema2 config matches field for field): what the engine applies to a container
// (Entrypoint, Cmd, Env, ...) and what the store checks layers against (rootfs.diff_ids).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace husk::oci {

// Docker's Healthcheck (not in the OCI spec; Docker and buildah write it). Durations in ns.
struct HealthConfig {
    std::vector<std::string> test;  // ["NONE"], ["CMD", args...] or ["CMD-SHELL", "cmd"]
    int64_t interval = 0;
    int64_t timeout = 0;
    int64_t start_period = 0;
    int retries = 0;
};

// The "config" object: defaults for a container made from the image.
struct ContainerDefaults {
    std::string user;
    std::vector<std::string> exposed_ports;  // "80/tcp", sorted
    std::vector<std::string> env;            // "KEY=value", in image order
    // Unset and empty differ for Docker: `ENTRYPOINT []` clears an inherited entrypoint.
    std::optional<std::vector<std::string>> entrypoint;
    std::optional<std::vector<std::string>> cmd;
    std::vector<std::string> volumes;  // container paths, sorted
    std::string working_dir;
    std::map<std::string, std::string> labels;
    std::string stop_signal;
    std::optional<HealthConfig> healthcheck;
    std::vector<std::string> shell;     // Docker's SHELL
    std::vector<std::string> on_build;  // Docker's ONBUILD triggers
};

struct HistoryEntry {
    std::string created;
    std::string created_by;
    std::string author;
    std::string comment;
    bool empty_layer = false;
};

struct ImageConfig {
    std::string created;  // RFC 3339, may be empty
    std::string author;
    std::string architecture;  // GOARCH names: amd64, arm64, ...
    std::string os;            // linux
    std::string variant;       // v8, ...
    ContainerDefaults config;
    std::vector<std::string> diff_ids;  // "sha256:...", one per layer, bottom first
    std::vector<HistoryEntry> history;
};

// Parses an image configuration blob. Unknown fields are ignored (as the spec requires of
// readers); wrong types are errors naming the field ("config.Env[2]: expected a string").
[[nodiscard]] Result<ImageConfig> parse_image_config(std::string_view json);
// Serializes with the spec's field names; fields left empty are omitted.
[[nodiscard]] std::string image_config_json(const ImageConfig& image);

}  // namespace husk::oci
