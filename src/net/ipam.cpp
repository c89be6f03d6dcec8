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

}  // namespace husk::net
