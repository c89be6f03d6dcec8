#include "net/ipam.hpp"

namespace husk::net {

std::vector<Subnet> default_subnet_candidates() {
    std::vector<Subnet> out;
    for (uint32_t b = 17; b <= 31; ++b) out.push_back(Subnet{Ipv4{(172u << 24) | (b << 16)}, 16});
    for (uint32_t b = 89; b <= 127; ++b) out.push_back(Subnet{Ipv4{(10u << 24) | (b << 16)}, 16});
    return out;
}

static const Subnet* overlapping(const Subnet& s, const std::vector<Subnet>& in_use) {
    for (const auto& u : in_use)
        if (u.overlaps(s)) return &u;
    return nullptr;
}

Result<Subnet> choose_subnet(const std::vector<Subnet>& in_use) {
    for (const auto& candidate : default_subnet_candidates())
        if (!overlapping(candidate, in_use)) return candidate;
    return fail_invalid(
        "no free default subnet: every candidate overlaps a host route or network; pass "
        "--subnet");
}

Result<Pool> make_pool(const Subnet& subnet, std::optional<Ipv4> gateway,
                       std::optional<Subnet> range, const std::vector<Subnet>& in_use) {
    if (subnet.prefix > 30)
        return fail_invalid("subnet {} is too small: a network needs at least a /30", subnet.str());
    if (subnet.prefix < 8)
        return fail_invalid("subnet {} is too large (at most a /8)", subnet.str());
    if (auto* u = overlapping(subnet, in_use))
        return fail_invalid("subnet {} overlaps {}, which is already in use on this host",
                            subnet.str(), u->str());
    Pool pool{subnet, Ipv4{subnet.base.value + 1}, range};
    if (gateway) {
        if (!subnet.contains(*gateway) || *gateway == subnet.first() || *gateway == subnet.last())
            return fail_invalid("gateway {} is not a host address of subnet {}", gateway->str(),
                                subnet.str());
        pool.gateway = *gateway;
    }
    if (range && (range->prefix < subnet.prefix || !subnet.contains(range->base)))
        return fail_invalid("ip range {} is not inside subnet {}", range->str(), subnet.str());
    return pool;
}

Result<Ipv4> allocate(const Pool& pool, const std::set<Ipv4>& used, std::optional<Ipv4> requested) {
    const Subnet& s = pool.subnet;
    auto usable = [&](Ipv4 ip) {
        return s.contains(ip) && ip != s.first() && ip != s.last() && ip != pool.gateway;
    };
    if (requested) {
        if (!usable(*requested))
            return fail_invalid("address {} is not a usable address of subnet {}", requested->str(),
                                s.str());
        if (used.contains(*requested))
            return fail_invalid("address {} is already in use", requested->str());
        return *requested;
    }
    Subnet from = pool.range ? *pool.range : s;
    for (uint64_t v = from.first().value; v <= from.last().value; ++v) {
        Ipv4 ip{static_cast<uint32_t>(v)};
        if (usable(ip) && !used.contains(ip)) return ip;
    }
    return fail_invalid("no free address left in {}", from.str());
}

static uint64_t fnv1a64(const std::string& s) {
    uint64_t h = 14695981039346656037ull;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
}

Result<Subnet6> choose_subnet6(const std::string& seed, const std::vector<Subnet6>& in_use) {
    for (int attempt = 0; attempt < 64; ++attempt) {
        uint64_t h = fnv1a64(fmt::format("{}/{}", seed, attempt));
        Subnet6 s;
        s.prefix = 64;
        s.base.bytes[0] = 0xfd;
        for (size_t i = 1; i < 6; ++i) s.base.bytes[i] = static_cast<uint8_t>(h >> (8 * i));
        bool free = true;
        for (const auto& u : in_use) free &= !u.overlaps(s);
        if (free) return s;
    }
    return fail_invalid("no free IPv6 ULA subnet found: pass an IPv6 --subnet");
}

Result<Pool6> make_pool6(const Subnet6& subnet, std::optional<Ipv6> gateway,
                         const std::vector<Subnet6>& in_use) {
    if (subnet.prefix > 120)
        return fail_invalid("IPv6 subnet {} is too small (at most a /120)", subnet.str());
    if (subnet.prefix < 48)
        return fail_invalid("IPv6 subnet {} is too large (at least a /48)", subnet.str());
    if (subnet.base.bytes[0] == 0xff || subnet.base.is_loopback() ||
        (subnet.base.bytes[0] == 0xfe && (subnet.base.bytes[1] & 0xc0) == 0x80))
        return fail_invalid("IPv6 subnet {} is not a unicast range (multicast or link-local)",
                            subnet.str());
    for (const auto& u : in_use)
        if (u.overlaps(subnet))
            return fail_invalid("IPv6 subnet {} overlaps {}, which is already in use on this host",
                                subnet.str(), u.str());
    Pool6 pool{subnet, subnet.base.with_low64(subnet.base.low64() + 1)};
    if (gateway) {
        if (!subnet.contains(*gateway) || *gateway == subnet.base)
            return fail_invalid("gateway {} is not a host address of IPv6 subnet {}",
                                gateway->str(), subnet.str());
        pool.gateway = *gateway;
    }
    return pool;
}

Result<Ipv6> allocate6(const Pool6& pool, const std::set<Ipv6>& used,
                       std::optional<Ipv6> requested) {
    const Subnet6& s = pool.subnet;
    auto usable = [&](const Ipv6& ip) {
        return s.contains(ip) && ip != s.base && ip != pool.gateway;
    };
    if (requested) {
        if (!usable(*requested))
            return fail_invalid("address {} is not a usable address of IPv6 subnet {}",
                                requested->str(), s.str());
        if (used.contains(*requested))
            return fail_invalid("address {} is already in use", requested->str());
        return *requested;
    }
    // Low addresses first, as for IPv4; a network holds far fewer containers than this.
    uint64_t base = s.base.low64();
    for (uint64_t k = 1; k <= 65536; ++k) {
        Ipv6 ip = s.base.with_low64(base + k);
        if (!s.contains(ip)) break;
        if (usable(ip) && !used.contains(ip)) return ip;
    }
    return fail_invalid("no free address left in {}", s.str());
}

}  // namespace husk::net
