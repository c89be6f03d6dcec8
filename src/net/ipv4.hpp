#pragma once
// IPv4 addresses and subnets as plain values: parsing, printing, containment (ipv6.hpp for
// the IPv6 side of dual-stack networks).
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace husk::net {

struct Ipv4 {
    uint32_t value = 0;  // host byte order
    auto operator<=>(const Ipv4&) const = default;
    std::string str() const;
    bool is_loopback() const { return (value >> 24) == 127; }
    bool is_unspecified() const { return value == 0; }
};

struct Subnet {
    Ipv4 base;  // masked: the network address
    int prefix = 0;
    auto operator<=>(const Subnet&) const = default;
    uint32_t mask() const { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }
    bool contains(Ipv4 ip) const { return (ip.value & mask()) == base.value; }
    bool overlaps(const Subnet& other) const;
    Ipv4 first() const { return base; }
    Ipv4 last() const { return Ipv4{base.value | ~mask()}; }
    std::string str() const;
};

[[nodiscard]] Result<Ipv4> parse_ipv4(std::string_view text);
// "10.1.0.0/16"; host bits set are an error ("10.1.0.1/16": did you mean 10.1.0.0/16).
[[nodiscard]] Result<Subnet> parse_subnet(std::string_view text);
// The subnet of an address with a prefix (host bits cleared).
Subnet subnet_of(Ipv4 ip, int prefix);

}  // namespace husk::net
