#include "net/port_spec.hpp"

#include <charconv>

namespace husk::net {

std::string_view proto_name(Proto p) {
    return p == Proto::tcp ? "tcp" : "udp";
}

std::string PortBinding::str() const {
    return fmt::format("{}:{}->{}/{}", host_ip.str(), host_port, container_port, proto_name(proto));
}

bool conflicts(const PortBinding& c, const std::vector<PortBinding>& taken) {
    for (const auto& t : taken) {
        if (t.proto != c.proto || t.host_port != c.host_port) continue;
        if (t.host_ip == c.host_ip || t.host_ip.is_unspecified() || c.host_ip.is_unspecified())
            return true;
    }
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
    if (!rest.empty() && rest.front() == '[')
        return fail_invalid("'{}': IPv6 publishing is not supported yet (networks are IPv4)", text);
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
                return fail_invalid("'{}': IPv6 publishing is not supported yet", text);
        }
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
