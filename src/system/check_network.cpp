// Networking: nf_tables (husk's firewall and NAT), the host's iptables flavour (looked at,
// never run), forwarding sysctls, and veth + bridge support.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "common/files.hpp"
#include "system/doctor.hpp"
#include "system/network_probe.hpp"

namespace husk::system {
namespace {

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

// Follows a symlink chain inside the host root (alternatives links are absolute).
std::string resolve_in_host(const HostView& host, std::string path) {
    for (int i = 0; i < 16; ++i) {
        char buf[4096];
        ssize_t n = ::readlink(host.path(path).c_str(), buf, sizeof buf - 1);
        if (n < 0) return path;
        std::string target(buf, static_cast<size_t>(n));
        if (!target.starts_with("/")) target = path.substr(0, path.rfind('/') + 1) + target;
        path = target;
    }
    return path;
}

const char* const nft_modules =
    "modprobe -a nf_tables nft_chain_nat nft_nat nft_masq nf_conntrack nft_ct";

}  // namespace

SysctlState read_sysctl(const HostView& host, const std::vector<MountEntry>& mounts,
                        const std::string& path) {
    SysctlState s;
    s.path = path;
    auto text = read_file(host.path(path));
    if (!text) {
        s.reason = fmt::format("{}: {}", path, text.error().what());
        return s;
    }
    s.exists = true;
    s.value = trim(*text);
    const MountEntry* m = mount_holding(mounts, path);
    if (m && m->read_only()) {
        s.reason =
            fmt::format("{} is on a read-only mount ({} at {})", path, m->fs_type, m->mount_point);
        return s;
    }
    // Opening for write checks permission (and a read-only /proc/sys) without writing.
    int fd = ::open(host.path(path).c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        s.reason = fmt::format("{} cannot be opened for writing: {}", path, strerror(errno));
        return s;
    }
    ::close(fd);
    s.writable = true;
    return s;
}

void check_network(const Context& ctx, std::vector<CheckResult>& out) {
    bool nft_ok = true;
    CheckResult nft;
    nft.id = "network.nftables";
    nft.title = "nf_tables";
    if (ctx.probes) {
        ProbeResult probe = ctx.probes->nftables();
        nft_ok = probe.ok;
        nft.facts["available"] = probe.ok;
        nft.evidence.push_back("probe in a fresh network namespace: " + probe.detail);
        if (probe.ok) {
            nft.summary = "nf_tables with NAT, masquerade and conntrack";
        } else {
            nft.level = Level::fail;
            nft.summary =
                "unusable: bridge networking is unavailable (--network none and host "
                "still work)";
            nft.fix =
                fmt::format("{}   # a Debian guest needs these modules in its image", nft_modules);
        }
    } else {
        nft.summary = "not probed";
        nft.facts["available"] = nullptr;
    }
    out.push_back(std::move(nft));

    CheckResult ipt;
    ipt.id = "network.iptables";
    ipt.title = "iptables variant";
    std::string resolved;
    for (auto* candidate : {"/usr/sbin/iptables", "/sbin/iptables", "/usr/bin/iptables"}) {
        struct stat st {};
        // lstat: in a fixture tree the link's absolute target would point at this host.
        if (::lstat(ctx.host.path(candidate).c_str(), &st) != 0) continue;
        resolved = resolve_in_host(ctx.host, candidate);
        ipt.evidence.push_back(fmt::format("{} -> {}", candidate, resolved));
        break;
    }
    std::string variant = resolved.empty()                               ? "none"
                          : resolved.find("legacy") != std::string::npos ? "legacy"
                          : resolved.find("nft") != std::string::npos    ? "nft"
                                                                         : "unknown";
    ipt.facts["variant"] = variant;
    auto legacy_tables = read_file(ctx.host.path("/proc/net/ip_tables_names"));
    std::string tables = legacy_tables ? trim(*legacy_tables) : "";
    for (auto& c : tables)
        if (c == '\n') c = ' ';
    ipt.facts["legacy_tables"] = tables;
    ipt.evidence.push_back(fmt::format("/proc/net/ip_tables_names: {}",
                                       !legacy_tables   ? "absent (ip_tables not loaded)"
                                       : tables.empty() ? "empty"
                                                        : tables));
    if (variant == "nft" && !nft_ok) {
        // The classic microVM failure: "iptables: Failed to initialize nft: Protocol not
        // supported" from every tool that still calls iptables.
        ipt.level = Level::warn;
        ipt.summary =
            "iptables-nft cannot work without nf_tables: tools that call iptables "
            "fail with \"Failed to initialize nft\"";
        ipt.fix = fmt::format(
            "{}   # or: update-alternatives --set iptables "
            "/usr/sbin/iptables-legacy",
            nft_modules);
    } else if (variant == "none") {
        ipt.summary = "no iptables installed (husk needs none: it talks to nf_tables itself)";
    } else if (!tables.empty() && tables.find("filter") != std::string::npos) {
        ipt.level = Level::warn;
        ipt.summary = fmt::format(
            "iptables-{} with legacy tables loaded ({}): their FORWARD policy also applies to "
            "container traffic",
            variant, tables);
        ipt.fix =
            "iptables-legacy -S FORWARD   # check the policy; `iptables-legacy -P FORWARD "
            "ACCEPT` or add ACCEPT rules for husk's bridge";
    } else {
        ipt.summary = fmt::format("iptables-{} (husk's own nft tables live beside it)", variant);
    }
    out.push_back(std::move(ipt));

    CheckResult sysctls;
    sysctls.id = "network.sysctls";
    sysctls.title = "network sysctls";
    auto forward = read_sysctl(ctx.host, ctx.mounts, "/proc/sys/net/ipv4/ip_forward");
    sysctls.facts["ip_forward"] = forward.value;
    sysctls.facts["ip_forward_writable"] = forward.writable;
    sysctls.evidence.push_back(fmt::format("ip_forward = {} ({})",
                                           forward.exists ? forward.value : "?",
                                           forward.writable ? "writable" : forward.reason));
    std::vector<std::string> disabled;
    for (auto* path :
         {"/proc/sys/net/ipv4/conf/all/route_localnet", "/proc/sys/net/ipv6/conf/all/forwarding",
          "/proc/sys/net/bridge/bridge-nf-call-iptables"}) {
        auto s = read_sysctl(ctx.host, ctx.mounts, path);
        sysctls.evidence.push_back(fmt::format("{} = {} ({})", path, s.exists ? s.value : "absent",
                                               s.writable ? "writable"
                                               : s.exists ? s.reason
                                                          : "module not loaded"));
        if (s.exists && !s.writable) disabled.push_back(path);
    }
    if (forward.value != "1" && !forward.writable) {
        sysctls.level = Level::warn;
        sysctls.summary =
            "ip_forward is off and cannot be turned on: bridge networks cannot "
            "reach outside the host";
        sysctls.fix = forward.exists ? "sysctl -w net.ipv4.ip_forward=1   # on the host that "
                                       "made /proc/sys read-only, or remount it rw"
                                     : "husk system bootstrap   # mounts /proc";
    } else if (!disabled.empty()) {
        sysctls.level = Level::warn;
        sysctls.summary = fmt::format("read-only: {} (the features that set them are disabled)",
                                      fmt::join(disabled, ", "));
        sysctls.fix = "mount -o remount,rw /proc/sys";
    } else {
        sysctls.summary = forward.value == "1"
                              ? "ip_forward on, sysctls writable"
                              : "ip_forward off but writable (husk network setup turns it on; "
                                "`husk system bootstrap --network` does now)";
    }
    out.push_back(std::move(sysctls));

    CheckResult links;
    links.id = "network.veth_bridge";
    links.title = "veth and bridge";
    if (ctx.probes) {
        ProbeResult probe = ctx.probes->veth_bridge();
        links.facts["available"] = probe.ok;
        links.evidence.push_back(probe.detail);
        if (probe.ok) {
            links.summary = "a bridge and a veth pair can be created";
        } else {
            links.level = Level::fail;
            links.summary =
                "unavailable: bridge networking is unavailable (--network none and "
                "host still work)";
            links.fix = "modprobe -a veth bridge   # a Debian guest needs these modules";
        }
    } else {
        links.summary = "not probed";
    }
    out.push_back(std::move(links));
}

}  // namespace husk::system
