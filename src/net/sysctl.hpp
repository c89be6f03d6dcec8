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

}  // namespace husk::net
