#include "net/host_view.hpp"

#include <limits.h>
#include <nftables/libnftables.h>
#include <unistd.h>

#include <sstream>

#include <fmt/core.h>

#include "common/files.hpp"
#include "net/store.hpp"

namespace husk::net {
namespace {

std::string sys_value(const std::string& link, const std::string& file) {
    auto v = read_file("/sys/class/net/" + link + "/" + file);
    if (!v) return "";
    std::string s = *v;
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

std::string master_of(const std::string& link) {
    char target[PATH_MAX];
    std::string path = "/sys/class/net/" + link + "/master";
    ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
    if (n <= 0) return "";
    target[n] = '\0';
    std::string t(target);
    return t.substr(t.rfind('/') + 1);
}

// The table as nft prints it (empty when it does not exist).
std::string list_table(const std::string& table) {
    nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (ctx == nullptr) return "";
    nft_ctx_buffer_output(ctx);
    nft_ctx_buffer_error(ctx);
    std::string cmd = "list table inet " + table;
    std::string out;
    // Each get_*_buffer call hands the text over and empties the buffer: call once.
    int rc = nft_run_cmd_from_buffer(ctx, cmd.c_str());
    const char* text = rc == 0 ? nft_ctx_get_output_buffer(ctx) : nullptr;
    if (text != nullptr) out = text;
    nft_ctx_free(ctx);
    return out;
}

// The rule lines husk made for the container (their comment is its id) or that name `ip`
// as a whole address (10.0.0.2 must not match 10.0.0.21).
std::vector<std::string> rules_naming(const std::string& ruleset, const std::string& ip,
                                      const std::string& id) {
    std::vector<std::string> out;
    std::istringstream in(ruleset);
    std::string line;
    while (std::getline(in, line)) {
        if (line.find("comment \"" + id + "\"") != std::string::npos) {
            out.push_back(line.substr(line.find_first_not_of(" \t")));
            continue;
        }
        size_t pos = 0;
        while ((pos = line.find(ip, pos)) != std::string::npos) {
            size_t end = pos + ip.size();
            bool left = pos == 0 || !(std::isdigit(static_cast<unsigned char>(line[pos - 1])) ||
                                      line[pos - 1] == '.');
            bool right = end == line.size() ||
                         !(std::isdigit(static_cast<unsigned char>(line[end])) || line[end] == '.');
            if (left && right) {
                out.push_back(line.substr(line.find_first_not_of(" \t")));
                break;
            }
            pos = end;
        }
    }
    return out;
}

}  // namespace

Result<nlohmann::json> host_view(const std::string& root, const std::string& container_id) {
    auto store = Store::open(root);
    if (!store) return fail(store.error());
    auto networks = store->list();
    if (!networks) return fail(networks.error());
    std::string ruleset = list_table(store->table());
    nlohmann::json out = {{"nft_table", "inet " + store->table()},
                          {"networks", nlohmann::json::array()},
                          {"problems", nlohmann::json::array()}};
    auto& problems = out["problems"];
    for (const auto& n : *networks) {
        auto it = n.endpoints.find(container_id);
        if (it == n.endpoints.end()) continue;
        const Endpoint& e = it->second;
        std::string ip = e.ip.str();
        nlohmann::json veth = {{"name", e.host_veth}};
        std::string state = sys_value(e.host_veth, "operstate");
        if (state.empty()) {
            veth["exists"] = false;
            problems.push_back(
                fmt::format("host veth {} of network {} is gone", e.host_veth, n.name));
        } else {
            std::string master = master_of(e.host_veth);
            veth["exists"] = true;
            veth["state"] = state;
            veth["bridge"] = master;
            veth["hairpin"] = sys_value(e.host_veth, "brport/hairpin_mode") == "1";
            veth["rx_bytes"] = sys_value(e.host_veth, "statistics/rx_bytes");
            veth["tx_bytes"] = sys_value(e.host_veth, "statistics/tx_bytes");
            if (master != n.bridge)
                problems.push_back(fmt::format("host veth {} is a port of {:?}, not of {}",
                                               e.host_veth, master, n.bridge));
        }
        auto rules = rules_naming(ruleset, ip, container_id);
        nlohmann::json ports = nlohmann::json::array();
        for (const auto& p : e.ports) {
            ports.push_back(p.str());
            // [::1] is served by the proxy (port_proxy.hpp): no rule to look for.
            if (p.host_ip6 && p.host_ip6->is_loopback()) continue;
            std::string dnat = fmt::format("dnat ip to {}:{}", ip, p.container_port);
            std::string dnat_short = fmt::format("dnat to {}:{}", ip, p.container_port);
            if (p.host_ip6 && e.ip6)
                dnat = dnat_short =
                    fmt::format("dnat ip6 to [{}]:{}", e.ip6->str(), p.container_port);
            bool found = false;
            for (const auto& r : rules)
                found = found || r.find(dnat) != std::string::npos ||
                        r.find(dnat_short) != std::string::npos;
            if (!found)
                problems.push_back(fmt::format("published port {} has no DNAT rule in inet {}",
                                               p.str(), store->table()));
        }
        out["networks"].push_back({{"network", n.name},
                                   {"bridge", n.bridge},
                                   {"bridge_state", sys_value(n.bridge, "operstate")},
                                   {"ip", ip},
                                   {"ip6", e.ip6 ? e.ip6->str() : ""},
                                   {"gateway", n.gateway.str()},
                                   {"veth", veth},
                                   {"published_ports", ports},
                                   {"nft_rules", rules}});
    }
    return out;
}

}  // namespace husk::net
