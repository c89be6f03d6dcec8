#pragma once
// IPv6 addresses and subnets as plain values, the counterpart of ipv4.hpp for dual-stack
// networks (`husk network create --ipv6`).
#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace husk::net {

struct Ipv6 {
    std::array<uint8_t, 16> bytes{};  // network byte order
    auto operator<=>(const Ipv6&) const = default;
    std::string str() const;
    bool is_loopback() const;
    bool is_unspecified() const { return *this == Ipv6{}; }
    // The low 64 bits (the interface identifier of a /64), and this address with them set.
    uint64_t low64() const;
    Ipv6 with_low64(uint64_t v) const;
};

struct Subnet6 {
    Ipv6 base;  // masked
    int prefix = 0;
    auto operator<=>(const Subnet6&) const = default;
    bool contains(const Ipv6& ip) const;
    bool overlaps(const Subnet6& other) const;
    std::string str() const;
};

[[nodiscard]] Result<Ipv6> parse_ipv6(std::string_view text);
// "fd00:1::/64"; host bits set are an error, as for IPv4.
[[nodiscard]] Result<Subnet6> parse_subnet6(std::string_view text);
Subnet6 subnet6_of(const Ipv6& ip, int prefix);

}  // namespace husk::net
