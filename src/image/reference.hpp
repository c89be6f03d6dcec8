#pragma once
// Image references as Docker reads them: "busybox" is docker.io/library/busybox:latest,
// "localhost:5000/a/b@sha256:..." names a registry by its host:port.
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace husk::image {

struct Reference {
    std::string registry;    // "docker.io", "localhost:5000"
    std::string repository;  // "library/busybox"
    std::string tag;         // empty when only a digest was given
    std::string digest;      // "sha256:..." or empty

    // registry/repository
    std::string name() const { return registry + "/" + repository; }
    // name:tag (or name@digest when there is no tag)
    std::string str() const;
    // "busybox:latest" for docker.io/library images, as docker prints them
    std::string familiar() const;
    // What the registry is asked for: the digest when given, else the tag.
    std::string manifest_ref() const { return digest.empty() ? tag : digest; }
};

// Parses a reference; a missing tag defaults to "latest" unless a digest is given.
[[nodiscard]] Result<Reference> parse_reference(std::string_view text);
// Docker's short form of a full name: docker.io/library/x -> x, docker.io/u/x -> u/x.
std::string familiar_name(const std::string& full);

}  // namespace husk::image
