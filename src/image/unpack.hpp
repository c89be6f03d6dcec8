#pragma once
// Unpacks one layer tarball (plain, gzip or zstd) into a directory in overlay form: whiteout
// files become 0/0 character devices, opaque markers the trusted.overlay.opaque xattr.
// Nothing is ever written outside the directory: entries are created relative to a parent
// opened with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS), so an entry whose path leads
// through a symlink, an absolute path, a ".." or a hardlink to outside is refused.
#include <cstdint>
#include <string>

#include "common/error.hpp"
#include "image/digest.hpp"

namespace husk::image {

struct UnpackResult {
    Digest diff_id;    // sha256 of the uncompressed tar stream
    int64_t size = 0;  // bytes of the uncompressed stream
};

// `dest` must be an existing (empty) directory. `blob_fd` is read from its current offset.
[[nodiscard]] Result<UnpackResult> unpack_layer(int blob_fd, const std::string& dest);

}  // namespace husk::image
