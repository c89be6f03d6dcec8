#include "net/ipv6.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace husk::net {

std::string Ipv6::str() const {
    char buf[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
    return buf;
}

bool Ipv6::is_loopback() const {
    Ipv6 one;
    one.bytes[15] = 1;
    return *this == one;
}

uint64_t Ipv6::low64() const {
    uint64_t v = 0;
    for (int i = 8; i < 16; ++i) v = (v << 8) | bytes[static_cast<size_t>(i)];
    return v;
}

Ipv6 Ipv6::with_low64(uint64_t v) const {
    Ipv6 out = *this;
    for (int i = 15; i >= 8; --i) {
        out.bytes[static_cast<size_t>(i)] = static_cast<uint8_t>(v);
        v >>= 8;
    }
    return out;
}

Subnet6 subnet6_of(const Ipv6& ip, int prefix) {
    Subnet6 s{ip, prefix};
    for (int bit = prefix; bit < 128; ++bit)
        s.base.bytes[static_cast<size_t>(bit / 8)] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
    return s;
}

bool Subnet6::contains(const Ipv6& ip) const {
    return subnet6_of(ip, prefix).base == base;
}

bool Subnet6::overlaps(const Subnet6& other) const {
    int p = prefix < other.prefix ? prefix : other.prefix;
    return subnet6_of(base, p).base == subnet6_of(other.base, p).base;
}

std::string Subnet6::str() const {
    return fmt::format("{}/{}", base.str(), prefix);
}

Result<Ipv6> parse_ipv6(std::string_view text) {
    std::string s(text);
    Ipv6 ip;
    if (::inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) != 1)
        return fail_invalid("invalid IPv6 address '{}'", text);
    return ip;
}

Result<Subnet6> parse_subnet6(std::string_view text) {
    auto slash = text.find('/');
    if (slash == std::string_view::npos)
        return fail_invalid("invalid IPv6 subnet '{}': expected ADDRESS/PREFIX", text);
    auto ip = parse_ipv6(text.substr(0, slash));
    if (!ip) return fail(ip.error().wrap("invalid IPv6 subnet '{}'", text));
    int prefix = -1;
    auto digits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (ec != std::errc{} || end != digits.data() + digits.size() || prefix < 0 || prefix > 128)
        return fail_invalid("invalid IPv6 subnet '{}': prefix must be 0-128", text);
    Subnet6 s = subnet6_of(*ip, prefix);
    if (s.base != *ip)
        return fail_invalid("invalid IPv6 subnet '{}': host bits set (did you mean {}?)", text,
                            s.str());
    return s;
}

}  // namespace husk::net
