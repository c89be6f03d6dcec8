#include "net/port_spec.hpp"

#include <charconv>

namespace husk::net {

std::string_view proto_name(Proto p) {
    return p == Proto::tcp ? "tcp" : "udp";
}

std::string PortBinding::host_str() const {
    return host_ip6 ? "[" + host_ip6->str() + "]" : host_ip.str();
}

std::string PortBinding::str() const {
    return fmt::format("{}:{}->{}/{}", host_str(), host_port, container_port, proto_name(proto));
}

static bool addresses_overlap(const PortBinding& a, const PortBinding& b) {
    if (a.every_address() || b.every_address()) return true;
    if (a.is_v6() != b.is_v6()) return false;
    if (a.is_v6())
        return *a.host_ip6 == *b.host_ip6 || a.host_ip6->is_unspecified() ||
               b.host_ip6->is_unspecified();
    return a.host_ip == b.host_ip;
}

bool conflicts(const PortBinding& c, const std::vector<PortBinding>& taken) {
    for (const auto& t : taken)
        if (t.proto == c.proto && t.host_port == c.host_port && addresses_overlap(t, c))
            return true;
    return false;
}

static Result<uint16_t> parse_port(std::string_view text, std::string_view whole) {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || v == 0 ||
        v > 65535)
        return fail_invalid("invalid port '{}' in '{}': ports are 1-65535", text, whole);
    return static_cast<uint16_t>(v);
}

static Status parse_range(std::string_view text, std::string_view whole, uint16_t& first,
                          uint16_t& last) {
    auto dash = text.find('-');
    auto a = parse_port(text.substr(0, dash), whole);
    if (!a) return fail(a.error());
    first = last = *a;
    if (dash != std::string_view::npos) {
        auto b = parse_port(text.substr(dash + 1), whole);
        if (!b) return fail(b.error());
        if (*b < *a) return fail_invalid("invalid port range '{}' in '{}'", text, whole);
        last = *b;
    }
    return {};
}

Result<PortSpec> parse_port_spec(std::string_view text) {
    PortSpec spec;
    std::string_view rest = text;
    if (auto slash = rest.rfind('/'); slash != std::string_view::npos) {
        auto proto = rest.substr(slash + 1);
        if (proto == "tcp")
            spec.proto = Proto::tcp;
        else if (proto == "udp")
            spec.proto = Proto::udp;
        else
            return fail_invalid("invalid protocol '{}' in '{}': use tcp or udp", proto, text);
        rest = rest.substr(0, slash);
    }
    // An IPv6 address comes first, in brackets: [::1]:8080:80.
    std::string_view ip6_part;
    bool bracketed = false;
    if (!rest.empty() && rest.front() == '[') {
        auto close = rest.find(']');
        if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
            return fail_invalid("'{}': expected [IPV6]:HOSTPORT:CONTAINERPORT", text);
        ip6_part = rest.substr(1, close - 1);
        rest = rest.substr(close + 1);  // ":hostPort:containerPort", the address left out
        bracketed = true;
    }
    // Split from the right: containerPort, then hostPort, then the address.
    std::string_view ip_part, host_part, container_part = rest;
    bool has_host = false;
    if (auto c = rest.rfind(':'); c != std::string_view::npos) {
        container_part = rest.substr(c + 1);
        host_part = rest.substr(0, c);
        has_host = true;
        if (auto c2 = host_part.rfind(':'); c2 != std::string_view::npos) {
            ip_part = host_part.substr(0, c2);
            host_part = host_part.substr(c2 + 1);
            if (ip_part.find(':') != std::string_view::npos)
                return fail_invalid("'{}': put an IPv6 address in brackets ([::1]:8080:80)", text);
        }
    }
    if (bracketed) {
        if (!ip_part.empty() || !has_host || rest.find(':', 1) == std::string_view::npos)
            return fail_invalid("'{}': expected [IPV6]:HOSTPORT:CONTAINERPORT", text);
        auto ip6 = parse_ipv6(ip6_part);
        if (!ip6) return fail(ip6.error().wrap("invalid address in '{}'", text));
        spec.host_ip6 = *ip6;
        // rest was ":H:C": the split above took "" as the address and H as the host port.
    }
    HUSK_TRY(parse_range(container_part, text, spec.container_first, spec.container_last));
    if (has_host && !host_part.empty())
        HUSK_TRY(parse_range(host_part, text, spec.host_first, spec.host_last));
    if (!ip_part.empty()) {
        auto ip = parse_ipv4(ip_part);
        if (!ip) return fail(ip.error().wrap("invalid address in '{}'", text));
        spec.host_ip = *ip;
    }
    if (spec.host_first != 0) {
        int nh = spec.host_last - spec.host_first + 1;
        int nc = spec.container_last - spec.container_first + 1;
        if (nh != nc && nc != 1)
            return fail_invalid("'{}': host and container port ranges differ in length", text);
    }
    return spec;
}

}  // namespace husk::net
