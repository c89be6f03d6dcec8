#include "net/ipv4.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace husk::net {

std::string Ipv4::str() const {
    return fmt::format("{}.{}.{}.{}", value >> 24, (value >> 16) & 0xff, (value >> 8) & 0xff,
                       value & 0xff);
}

bool Subnet::overlaps(const Subnet& other) const {
    int p = prefix < other.prefix ? prefix : other.prefix;
    return subnet_of(base, p).base == subnet_of(other.base, p).base;
}

std::string Subnet::str() const {
    return fmt::format("{}/{}", base.str(), prefix);
}

Result<Ipv4> parse_ipv4(std::string_view text) {
    std::string s(text);
    in_addr addr{};
    if (::inet_pton(AF_INET, s.c_str(), &addr) != 1)
        return fail_invalid("invalid IPv4 address '{}'", text);
    return Ipv4{ntohl(addr.s_addr)};
}

Subnet subnet_of(Ipv4 ip, int prefix) {
    Subnet s{Ipv4{}, prefix};
    s.base = Ipv4{ip.value & s.mask()};
    return s;
}

Result<Subnet> parse_subnet(std::string_view text) {
    auto slash = text.find('/');
    if (slash == std::string_view::npos)
        return fail_invalid("invalid subnet '{}': expected ADDRESS/PREFIX", text);
    auto ip = parse_ipv4(text.substr(0, slash));
    if (!ip) return fail(ip.error().wrap("invalid subnet '{}'", text));
    int prefix = -1;
    auto digits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (ec != std::errc{} || end != digits.data() + digits.size() || prefix < 0 || prefix > 32)
        return fail_invalid("invalid subnet '{}': prefix must be 0-32", text);
    Subnet s = subnet_of(*ip, prefix);
    if (s.base != *ip)
        return fail_invalid("invalid subnet '{}': host bits set (did you mean {}?)", text, s.str());
    return s;
}

}  // namespace husk::net
