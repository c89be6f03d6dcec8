#pragma once
// What the doctor and the bootstrap look at: files under a root directory ("/" on the live
// host, a fixture tree in unit tests) and the few probes that must act on the kernel (an
// overlay mount, an nft command or a veth in a throwaway network namespace). Tests pass a
// fixture root and scripted probes; production passes "/" and LiveProbes.
#include <cstdint>
#include <optional>
#include <string>

#include "common/error.hpp"

namespace husk::system {

struct HostView {
    std::string root = "/";  // "/" or a fixture tree mirroring it
    std::string storage_dir = "/var/lib/husk";

    bool live() const { return root == "/"; }
    // `absolute` under the root: "/proc/self/status" -> "<root>/proc/self/status".
    std::string path(const std::string& absolute) const {
        return live() ? absolute : root + absolute;
    }
};

// The answer of one probe: whether the feature works, why not, and what was seen.
struct ProbeResult {
    bool ok = false;
    std::string detail;  // the reason when !ok, evidence when ok
};

struct OverlayProbe {
    bool usable = false;
    std::string reason;      // empty when usable
    std::string backing_fs;  // "ext4", "tmpfs", ... of the directory probed
    std::string probed_dir;  // the directory the probe mounted in (nearest existing ancestor)
};

struct DiskSpace {
    uint64_t free_bytes = 0;
    uint64_t total_bytes = 0;
    uint64_t free_inodes = 0;
    uint64_t total_inodes = 0;
};

class Probes {
public:
    virtual ~Probes() = default;
    // Mounts a tiny overlay (upper and work in a temporary directory under `dir`) and
    // removes it again.
    virtual OverlayProbe overlay(const std::string& dir) = 0;
    // Loads an nft ruleset with a masquerade rule into a fresh network namespace (nothing
    // on the host changes; the namespace dies with the probe).
    virtual ProbeResult nftables() = 0;
    // Creates a bridge and a veth pair in a fresh network namespace.
    virtual ProbeResult veth_bridge() = 0;
    // unshare(2) with `flags` in a short-lived child: 0 or the errno.
    virtual int try_unshare(int flags) = 0;
    virtual std::optional<DiskSpace> disk_space(const std::string& dir) = 0;
};

// The real kernel.
class LiveProbes : public Probes {
public:
    OverlayProbe overlay(const std::string& dir) override;
    ProbeResult nftables() override;
    ProbeResult veth_bridge() override;
    int try_unshare(int flags) override;
    std::optional<DiskSpace> disk_space(const std::string& dir) override;
};

// The name of a filesystem from statfs's f_type ("ext4" for EXT4_SUPER_MAGIC).
std::string filesystem_name(long magic);
// The nearest existing directory at or above `dir`.
std::string existing_ancestor(const std::string& dir);

}  // namespace husk::system
