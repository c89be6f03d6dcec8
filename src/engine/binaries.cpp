#include "engine/binaries.hpp"

#include <limits.h>
#include <unistd.h>

#include <cstdlib>

namespace husk::engine {

std::string sibling_binary(const char* env, const char* name) {
    if (env != nullptr)
        if (const char* v = std::getenv(env); v != nullptr && *v != '\0') return v;
    char self[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return name;
    self[n] = '\0';
    std::string dir(self);
    dir.erase(dir.rfind('/'));
    return dir + "/" + name;
}

}  // namespace husk::engine
