#include "image/overlay_xattr.hpp"

#include <fstream>

namespace husk::image {

bool rootless_store() {
    static const bool rootless = [] {
        // The initial user namespace maps all 2^32-1 ids onto themselves.
        std::ifstream in("/proc/self/uid_map");
        unsigned long long inside = 1, outside = 1, count = 0;
        if (!(in >> inside >> outside >> count)) return false;
        return !(inside == 0 && outside == 0 && count == 4294967295ULL);
    }();
    return rootless;
}

const char* overlay_opaque_xattr() {
    return rootless_store() ? "user.overlay.opaque" : "trusted.overlay.opaque";
}

}  // namespace husk::image
