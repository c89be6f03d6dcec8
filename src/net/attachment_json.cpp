#include "net/attachment_json.hpp"

namespace husk::net {

nlohmann::json attachment_json(const Attachment& a) {
    nlohmann::json ports = nlohmann::json::array();
    for (const auto& p : a.ports)
        ports.push_back({{"host_ip", p.host_ip.str()},
                         {"host_port", p.host_port},
                         {"container_port", p.container_port},
                         {"proto", proto_name(p.proto)}});
    return {{"network", a.network},
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
}

}  // namespace husk::net
