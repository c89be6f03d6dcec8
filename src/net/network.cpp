#include "net/network.hpp"

#include <nlohmann/json.hpp>

namespace husk::net {

using nlohmann::json;

json port_json(const PortBinding& p) {
    json j = {{"host_ip", p.host_ip.str()},
              {"host_port", p.host_port},
              {"container_port", p.container_port},
              {"proto", proto_name(p.proto)}};
    if (p.host_ip6) j["host_ip"] = p.host_ip6->str();
    return j;
}

json to_json(const Network& n) {
    json eps = json::object();
    for (const auto& [id, e] : n.endpoints) {
        json ports = json::array();
        for (const auto& p : e.ports) ports.push_back(port_json(p));
        eps[id] = {{"container_id", e.container_id},
                   {"ip", e.ip.str()},
                   {"mac", mac_str(e.mac)},
                   {"host_veth", e.host_veth},
                   {"ifname", e.ifname},
                   {"netns", e.netns},
                   {"hostname", e.hostname},
                   {"aliases", e.aliases},
                   {"ports", ports},
                   {"hosts_path", e.hosts_path},
                   {"extra_hosts", e.extra_hosts}};
        if (e.ip6) eps[id]["ip6"] = e.ip6->str();
    }
    json j = {{"name", n.name},           {"id", n.id},
              {"driver", "bridge"},       {"bridge", n.bridge},
              {"subnet", n.subnet.str()}, {"gateway", n.gateway.str()},
              {"internal", n.internal},   {"created", n.created},
              {"endpoints", eps}};
    j["ip_range"] = n.ip_range ? json(n.ip_range->str()) : json(nullptr);
    j["ipv6"] = n.subnet6.has_value();
    if (n.subnet6) {
        j["subnet6"] = n.subnet6->str();
        j["gateway6"] = n.gateway6.str();
    }
    return j;
}

static Result<Mac> parse_mac(const std::string& s) {
    Mac m{};
    unsigned v[6];
    if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
        return fail_invalid("invalid MAC '{}'", s);
    for (int i = 0; i < 6; ++i) m[i] = static_cast<uint8_t>(v[i]);
    return m;
}

Result<Network> network_from_json(const json& j) {
    try {
        Network n;
        n.name = j.at("name").get<std::string>();
        n.id = j.at("id").get<std::string>();
        n.bridge = j.at("bridge").get<std::string>();
        auto subnet = parse_subnet(j.at("subnet").get<std::string>());
        if (!subnet) return fail(subnet.error());
        n.subnet = *subnet;
        auto gw = parse_ipv4(j.at("gateway").get<std::string>());
        if (!gw) return fail(gw.error());
        n.gateway = *gw;
        if (j.contains("ip_range") && !j["ip_range"].is_null()) {
            auto r = parse_subnet(j["ip_range"].get<std::string>());
            if (!r) return fail(r.error());
            n.ip_range = *r;
        }
        n.internal = j.value("internal", false);
        if (j.contains("subnet6")) {
            auto s6 = parse_subnet6(j["subnet6"].get<std::string>());
            if (!s6) return fail(s6.error());
            n.subnet6 = *s6;
            auto g6 = parse_ipv6(j.at("gateway6").get<std::string>());
            if (!g6) return fail(g6.error());
            n.gateway6 = *g6;
        }
        n.created = j.value("created", "");
        for (const auto& [id, e] : j.at("endpoints").items()) {
            Endpoint ep;
            ep.container_id = e.at("container_id").get<std::string>();
            auto ip = parse_ipv4(e.at("ip").get<std::string>());
            if (!ip) return fail(ip.error());
            ep.ip = *ip;
            auto mac = parse_mac(e.at("mac").get<std::string>());
            if (!mac) return fail(mac.error());
            ep.mac = *mac;
            ep.host_veth = e.at("host_veth").get<std::string>();
            ep.ifname = e.at("ifname").get<std::string>();
            ep.netns = e.value("netns", "");
            ep.hostname = e.value("hostname", "");
            ep.aliases = e.value("aliases", std::vector<std::string>{});
            ep.hosts_path = e.value("hosts_path", "");
            if (e.contains("ip6")) {
                auto ip6 = parse_ipv6(e["ip6"].get<std::string>());
                if (!ip6) return fail(ip6.error());
                ep.ip6 = *ip6;
            }
            ep.extra_hosts = e.value("extra_hosts", std::vector<std::string>{});
            for (const auto& p : e.at("ports")) {
                PortBinding b{{},
                              p.at("host_port").get<uint16_t>(),
                              p.at("container_port").get<uint16_t>(),
                              p.at("proto").get<std::string>() == "udp" ? Proto::udp : Proto::tcp,
                              {}};
                std::string host = p.at("host_ip").get<std::string>();
                if (host.find(':') != std::string::npos) {
                    auto hip6 = parse_ipv6(host);
                    if (!hip6) return fail(hip6.error());
                    b.host_ip6 = *hip6;
                } else {
                    auto hip = parse_ipv4(host);
                    if (!hip) return fail(hip.error());
                    b.host_ip = *hip;
                }
                ep.ports.push_back(b);
            }
            n.endpoints[id] = std::move(ep);
        }
        return n;
    } catch (const json::exception& e) {
        return fail_invalid("malformed network record: {}", e.what());
    }
}

static bool name_ok(const std::string& s, size_t max) {
    if (s.empty() || s.size() > max || !std::isalnum(static_cast<unsigned char>(s[0])))
        return false;
    for (char c : s)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-')
            return false;
    return true;
}

Status check_network_name(const std::string& name) {
    if (!name_ok(name, 64))
        return fail_invalid(
            "invalid network name '{}': use letters, digits, '_', '.', '-' (at most 64, "
            "starting with a letter or digit)",
            name);
    return {};
}

Status check_container_id(const std::string& id) {
    if (!name_ok(id, 128))
        return fail_invalid("invalid container id '{}': use letters, digits, '_', '.', '-'", id);
    return {};
}

Mac mac_for(Ipv4 ip) {
    return Mac{0x02,
               0x48,
               static_cast<uint8_t>(ip.value >> 24),
               static_cast<uint8_t>(ip.value >> 16),
               static_cast<uint8_t>(ip.value >> 8),
               static_cast<uint8_t>(ip.value)};
}

}  // namespace husk::net
