#include "system/degradations.hpp"

#include <map>
#include <mutex>
#include <set>

#include "common/log.hpp"
#include "system/host.hpp"
#include "system/mountinfo.hpp"
#include "system/network_probe.hpp"

namespace husk::system {
namespace {

std::mutex cache_mutex;

Availability from_probe(const ProbeResult& r) {
    return {r.ok, r.ok ? "" : r.detail};
}

}  // namespace

Availability overlay_usable(const std::string& dir) {
    static std::map<std::string, Availability> cache;
    std::lock_guard lock(cache_mutex);
    if (auto it = cache.find(dir); it != cache.end()) return it->second;
    LiveProbes probes;
    OverlayProbe p = probes.overlay(dir);
    Availability a{p.usable, p.usable ? ""
                                      : fmt::format("overlay on {} ({}): {}", p.probed_dir,
                                                    p.backing_fs, p.reason)};
    cache[dir] = a;
    return a;
}

Availability nftables_available() {
    static std::optional<Availability> cached;
    std::lock_guard lock(cache_mutex);
    if (!cached) {
        LiveProbes probes;
        cached = from_probe(probes.nftables());
        if (!cached->available) cached->reason = "nf_tables: " + cached->reason;
    }
    return *cached;
}

Availability veth_bridge_available() {
    static std::optional<Availability> cached;
    std::lock_guard lock(cache_mutex);
    if (!cached) {
        LiveProbes probes;
        cached = from_probe(probes.veth_bridge());
    }
    return *cached;
}

Availability sysctl_writable(const std::string& path) {
    HostView host;
    auto mounts = read_mountinfo("/proc/self/mountinfo");
    SysctlState s = read_sysctl(host, mounts ? *mounts : std::vector<MountEntry>{}, path);
    return {s.writable, s.writable ? "" : s.reason};
}

void announce_degradation(const std::string& feature, const std::string& message) {
    static std::set<std::string> announced;
    {
        std::lock_guard lock(cache_mutex);
        if (!announced.insert(feature).second) return;
    }
    log::warn("{} unavailable: {}", feature, message);
}

}  // namespace husk::system
