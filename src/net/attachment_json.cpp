#include "net/attachment_json.hpp"

namespace husk::net {

nlohmann::json attachment_json(const Attachment& a) {
    nlohmann::json ports = nlohmann::json::array();
    for (const auto& p : a.ports) ports.push_back(port_json(p));
    nlohmann::json j = {{"network", a.network},
                        {"container_id", a.container_id},
                        {"ifname", a.ifname},
                        {"ip", a.ip.str()},
                        {"prefix", a.prefix},
                        {"gateway", a.gateway.str()},
                        {"mac", mac_str(a.mac)},
                        {"ports", ports},
                        {"resolv_conf", a.resolv_conf},
                        {"hosts", a.hosts},
                        {"sysctls_changed", a.sysctls_changed}};
    if (a.ip6) {
        j["ip6"] = a.ip6->str();
        j["prefix6"] = a.prefix6;
        j["gateway6"] = a.gateway6->str();
    }
    return j;
}

}  // namespace husk::net
