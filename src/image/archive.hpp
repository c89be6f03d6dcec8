#pragma once
// Images in and out of files: `husk import` (a rootfs tarball becomes a one-layer image),
// `husk load` (docker-archive, OCI archive or OCI layout directory, as `podman save` and
// skopeo write them) and `husk save` (docker-archive or OCI archive).
#include <string>
#include <vector>

#include "common/error.hpp"
#include "image/store.hpp"

namespace husk::image {

// Stores the tarball (plain, gzip or zstd) as the single layer of a new image for this
// host's platform; `name` may be empty.
[[nodiscard]] Result<ImageRecord> import_tarball(Store& store, const std::string& path,
                                                 const std::string& name);
// Loads every image in the archive (file) or OCI layout (directory).
[[nodiscard]] Result<std::vector<ImageRecord>> load_archive(Store& store, const std::string& path);
// format: "docker-archive" or "oci-archive". `images` are names or ids.
[[nodiscard]] Status save_archive(Store& store, const std::vector<std::string>& images,
                                  const std::string& path, const std::string& format);

// The host's platform in GOARCH terms ("amd64"), for configs and index selection.
std::string host_architecture();

}  // namespace husk::image
