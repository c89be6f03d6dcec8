#pragma once
// The few sysctls bridge networking needs, set only when needed and reported: a change to
// host-wide forwarding is something an administrator wants to hear about.
#include <string>
#include <vector>

#include "common/error.hpp"

namespace husk::net {

// Sets /proc/sys/<key with dots as slashes> to `value` unless it already is; appends
// "net.ipv4.ip_forward=1 (was 0)" to `changed` when it wrote. A read-only /proc/sys (some
// microVMs and nested containers) gives an error naming the key and the value needed.
[[nodiscard]] Status ensure_sysctl(const std::string& key, const std::string& value,
                                   std::vector<std::string>& changed);

// The same inside the network namespace `netns_fd` (a container's): /proc/sys/net shows the
// namespace of whoever opens the file, so the file is opened from inside it. Appends
// "net.ipv6.conf.eth0.disable_ipv6=0 (was 1, container)" when it wrote.
[[nodiscard]] Status ensure_sysctl_in(int netns_fd, const std::string& key,
                                      const std::string& value, std::vector<std::string>& changed);

}  // namespace husk::net
