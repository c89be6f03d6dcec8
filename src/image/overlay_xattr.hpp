#pragma once
// overlay's own xattrs, and where they live. Root uses "trusted.overlay.*"; root of a user
// namespace (rootless husk) may not set trusted.* at all, so there layers carry
// "user.overlay.*" and the overlay is mounted with `userxattr` to read them.
#include <string_view>

namespace husk::image {

// True when this process is root of a user namespace other than the initial one (read once).
bool rootless_store();
// "trusted.overlay.opaque" or "user.overlay.opaque", as above.
const char* overlay_opaque_xattr();
// overlay's bookkeeping from either namespace: never copied from a tar or between layers.
inline bool is_overlay_xattr(std::string_view name) {
    return name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.");
}

}  // namespace husk::image
