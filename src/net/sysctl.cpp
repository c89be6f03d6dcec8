#include "net/sysctl.hpp"

#include <algorithm>

#include "common/files.hpp"

namespace husk::net {

Status ensure_sysctl(const std::string& key, const std::string& value,
                     std::vector<std::string>& changed) {
    std::string path = "/proc/sys/" + key;
    std::replace(path.begin() + 10, path.end(), '.', '/');
    auto current = read_file(path);
    if (!current) return fail(current.error().wrap("read sysctl {}", key));
    std::string cur = *current;
    while (!cur.empty() && (cur.back() == '\n' || cur.back() == ' ')) cur.pop_back();
    if (cur == value) return {};
    auto st = write_file(path, value);
    if (!st)
        return fail(
            st.error().wrap("bridge networking needs sysctl {}={} (now {})", key, value, cur));
    changed.push_back(fmt::format("{}={} (was {})", key, value, cur));
    return {};
}

}  // namespace husk::net
