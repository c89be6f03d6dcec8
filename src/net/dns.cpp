#include "net/dns.hpp"

#include <cstdlib>
#include <sstream>

namespace husk::net {

std::string host_resolv_conf_path() {
    const char* env = std::getenv("HUSK_RESOLV_CONF");
    return env && *env ? env : "/etc/resolv.conf";
}

std::string container_resolv_conf(const std::string& host, const std::string& nameserver) {
    std::istringstream in(host);
    std::string line, out;
    int servers = 0;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        std::string key, value;
        words >> key >> value;
        if (key == "nameserver") {
            if (value.starts_with("127.") || value == "::1") continue;
            ++servers;
            out += "nameserver " + value + "\n";
        } else if (key == "search" || key == "domain" || key == "options") {
            out += line + "\n";
        }
    }
    if (!nameserver.empty()) {
        std::string kept;
        std::istringstream again(out);
        while (std::getline(again, line))
            if (!line.starts_with("nameserver ")) kept += line + "\n";
        return "nameserver " + nameserver + "\n" + kept;
    }
    if (servers == 0) out += "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";
    return out;
}

static std::string names_of(const Endpoint& e, bool with_id) {
    std::string names = e.hostname.empty() ? std::string() : e.hostname;
    for (const auto& a : e.aliases)
        if (a != e.hostname) names += (names.empty() ? "" : " ") + a;
    if (with_id && e.container_id != e.hostname)
        names += (names.empty() ? "" : " ") + e.container_id;
    return names;
}

std::string container_hosts(const Endpoint& self, const std::vector<const Endpoint*>& peers) {
    std::string out =
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
        "ff02::2\tip6-allrouters\n";
    std::string mine = names_of(self, false);
    if (!mine.empty()) {
        out += self.ip.str() + "\t" + mine + "\n";
        if (self.ip6) out += self.ip6->str() + "\t" + mine + "\n";
    }
    for (const auto* p : peers) {
        out += p->ip.str() + "\t" + names_of(*p, true) + "\n";
        if (p->ip6) out += p->ip6->str() + "\t" + names_of(*p, true) + "\n";
    }
    for (const auto& h : self.extra_hosts) {
        // NAME:IP; the address may itself hold colons (IPv6).
        auto colon = h.find(':');
        if (colon == std::string::npos) continue;
        out += h.substr(colon + 1) + "\t" + h.substr(0, colon) + "\n";
    }
    return out;
}

}  // namespace husk::net
