#pragma once
// `-p [ip:][hostPort:]containerPort[/proto]` as Docker reads it, ranges included:
//   80                      random host port on every address
//   8080:80                 8080 on every address
//   127.0.0.1:8080:80/udp   8080/udp on 127.0.0.1 only
//   127.0.0.1::80           a random port on 127.0.0.1
//   8000-8002:80-82         three ports, pairwise
//   8000-8100:80            one free port of the range
//   [::1]:8080:80           8080 on ::1 only (IPv6; brackets required)
//   [::]:8080:80            8080 on every IPv6 address only
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "net/ipv4.hpp"
#include "net/ipv6.hpp"

namespace husk::net {

enum class Proto { tcp, udp };
std::string_view proto_name(Proto p);

struct PortSpec {
    Ipv4 host_ip;                            // 0.0.0.0: every host address (both families)
    uint16_t host_first = 0, host_last = 0;  // 0,0: a random port
    uint16_t container_first = 0, container_last = 0;
    Proto proto = Proto::tcp;
    std::optional<Ipv6> host_ip6;  // set: published on this IPv6 address instead (:: = all v6)
};

// One published port after the host side was decided.
struct PortBinding {
    Ipv4 host_ip;
    uint16_t host_port = 0;
    uint16_t container_port = 0;
    Proto proto = Proto::tcp;
    // Set: published on this IPv6 address (host_ip is then unused); "::" is every IPv6
    // address. Unset with host_ip 0.0.0.0: every address of both families (Docker's `-p 80`).
    std::optional<Ipv6> host_ip6 = std::nullopt;
    bool operator==(const PortBinding&) const = default;
    std::string str() const;       // "127.0.0.1:8080->80/tcp", "[::1]:8080->80/tcp"
    std::string host_str() const;  // "127.0.0.1", "[::1]"
    bool every_address() const { return !host_ip6 && host_ip.is_unspecified(); }
    bool is_v6() const { return host_ip6.has_value(); }
};

[[nodiscard]] Result<PortSpec> parse_port_spec(std::string_view text);

// Decides the host ports: fixed ones are checked free, random ones picked among free ones
// (the ephemeral range for "-p 80", the given range for "8000-8100:80"). `taken` holds
// bindings other containers already have; `is_free(binding)` asks the host.
template <typename IsFree>
[[nodiscard]] Result<std::vector<PortBinding>> bind_ports(const PortSpec& spec,
                                                          const std::vector<PortBinding>& taken,
                                                          IsFree&& is_free);

// Whether a host port is already used by a husk binding that overlaps (same proto and port,
// and the same address, or either one on every address of that family).
bool conflicts(const PortBinding& candidate, const std::vector<PortBinding>& taken);

template <typename IsFree>
Result<std::vector<PortBinding>> bind_ports(const PortSpec& spec,
                                            const std::vector<PortBinding>& taken,
                                            IsFree&& is_free) {
    std::vector<PortBinding> out;
    auto ok = [&](uint16_t port) {
        PortBinding b{spec.host_ip, port, spec.container_first, spec.proto, spec.host_ip6};
        return !conflicts(b, taken) && !conflicts(b, out) && is_free(b);
    };
    int n_container = spec.container_last - spec.container_first + 1;
    bool random = spec.host_first == 0;
    int n_host = random ? 0 : spec.host_last - spec.host_first + 1;
    if (!random && n_host == n_container) {
        for (int i = 0; i < n_container; ++i) {
            uint16_t hp = static_cast<uint16_t>(spec.host_first + i);
            uint16_t cp = static_cast<uint16_t>(spec.container_first + i);
            PortBinding b{spec.host_ip, hp, cp, spec.proto, spec.host_ip6};
            if (conflicts(b, taken) || conflicts(b, out))
                return fail_invalid(
                    "host port {}/{} on {} is already published by another container", hp,
                    proto_name(spec.proto), b.host_str());
            if (!is_free(b))
                return fail_invalid("host port {}/{} on {} is already in use on this host", hp,
                                    proto_name(spec.proto), b.host_str());
            out.push_back(b);
        }
        return out;
    }
    // Random: each container port gets one free host port of the range.
    uint16_t lo = random ? 32768 : spec.host_first, hi = random ? 60999 : spec.host_last;
    if (!random && n_container != 1)
        return fail_invalid("host range {}-{} and container range {}-{} differ in length",
                            spec.host_first, spec.host_last, spec.container_first,
                            spec.container_last);
    for (int i = 0; i < n_container; ++i) {
        uint16_t cp = static_cast<uint16_t>(spec.container_first + i);
        bool found = false;
        for (uint32_t hp = lo; hp <= hi; ++hp) {
            if (!ok(static_cast<uint16_t>(hp))) continue;
            out.push_back(PortBinding{spec.host_ip, static_cast<uint16_t>(hp), cp, spec.proto,
                                      spec.host_ip6});
            found = true;
            break;
        }
        if (!found)
            return fail_invalid("no free host port in {}-{} for container port {}/{}", lo, hi, cp,
                                proto_name(spec.proto));
    }
    return out;
}

}  // namespace husk::net
