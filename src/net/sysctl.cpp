#include "net/sysctl.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "common/files.hpp"
#include "common/unique_fd.hpp"

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

Status ensure_sysctl_in(int netns_fd, const std::string& key, const std::string& value,
                        std::vector<std::string>& changed) {
    std::string path = "/proc/sys/" + key;
    std::replace(path.begin() + 10, path.end(), '.', '/');
    UniqueFd home(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!home) return fail_errno("open /proc/thread-self/ns/net");
    if (::setns(netns_fd, CLONE_NEWNET) != 0) return fail_errno("enter network namespace");
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    int open_errno = errno;
    // As in Netlink::open_in: staying in the container's namespace would be far worse.
    if (::setns(home.get(), CLONE_NEWNET) != 0) std::abort();
    if (!fd) {
        errno = open_errno;
        return fail_errno("open sysctl {} in the container's namespace", key);
    }
    char buf[64] = {};
    ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
    if (n < 0) return fail_errno("read sysctl {} in the container's namespace", key);
    std::string cur(buf, static_cast<size_t>(n));
    while (!cur.empty() && (cur.back() == '\n' || cur.back() == ' ')) cur.pop_back();
    if (cur == value) return {};
    if (::pwrite(fd.get(), value.data(), value.size(), 0) != static_cast<ssize_t>(value.size()))
        return fail_errno("set sysctl {}={} in the container's namespace (now {})", key, value,
                          cur);
    changed.push_back(fmt::format("{}={} (was {}, container)", key, value, cur));
    return {};
}

}  // namespace husk::net
