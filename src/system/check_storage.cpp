// The storage dir: overlay on its filesystem, fuse for rootless overlay, free space.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <sstream>

#include "common/files.hpp"
#include "system/doctor.hpp"

namespace husk::system {
namespace {

bool filesystems_lists(const Context& ctx, const std::string& fs) {
    auto text = read_file(ctx.host.path("/proc/filesystems"));
    if (!text) return false;
    std::istringstream in(*text);
    std::string line;
    while (std::getline(in, line)) {
        auto tab = line.rfind('\t');
        if ((tab == std::string::npos ? line : line.substr(tab + 1)) == fs) return true;
    }
    return false;
}

std::string human_bytes(uint64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    return fmt::format("{:.1f} {}", v, units[u]);
}

}  // namespace

void check_storage(const Context& ctx, std::vector<CheckResult>& out) {
    const std::string& storage = ctx.host.storage_dir;

    CheckResult overlay;
    overlay.id = "storage.overlay";
    overlay.title = "overlay on storage";
    bool listed = filesystems_lists(ctx, "overlay");
    overlay.evidence.push_back(fmt::format(
        "/proc/filesystems: {}", listed ? "overlay listed" : "no overlay (module not loaded?)"));
    overlay.facts["storage_dir"] = storage;
    if (ctx.probes) {
        OverlayProbe probe = ctx.probes->overlay(storage);
        overlay.facts["usable"] = probe.usable;
        overlay.facts["backing_fs"] = probe.backing_fs;
        overlay.facts["probed_dir"] = probe.probed_dir;
        overlay.evidence.push_back(fmt::format("probe mount in {} (on {}): {}", probe.probed_dir,
                                               probe.backing_fs,
                                               probe.usable ? "ok" : probe.reason));
        if (probe.usable) {
            overlay.summary = fmt::format("usable on {} ({})", probe.probed_dir, probe.backing_fs);
        } else {
            overlay.level = Level::warn;
            overlay.summary = fmt::format(
                "unusable on {} ({}): images are unpacked with the vfs driver (a full copy "
                "per container)",
                probe.probed_dir, probe.backing_fs);
            overlay.fix = listed ? fmt::format(
                                       "put the storage root (--root) on ext4, xfs (ftype=1), "
                                       "btrfs or tmpfs; {} cannot be an overlay upper layer",
                                       probe.backing_fs)
                                 : "modprobe overlay   # a Debian guest needs the overlay module";
        }
    } else {
        overlay.facts["usable"] = listed;
        overlay.summary = listed ? "overlay is listed (not probed)" : "no overlay filesystem";
        if (!listed) {
            overlay.level = Level::warn;
            overlay.fix = "modprobe overlay";
        }
    }
    out.push_back(std::move(overlay));

    CheckResult fuse;
    fuse.id = "storage.fuse";
    fuse.title = "fuse";
    std::string dev = ctx.host.path("/dev/fuse");
    struct stat st {};
    bool exists = ::stat(dev.c_str(), &st) == 0;
    // On the live host it must be the real device (10:229); a fixture only has a file.
    bool device = exists && (!ctx.host.live() || (S_ISCHR(st.st_mode) && major(st.st_rdev) == 10 &&
                                                  minor(st.st_rdev) == 229));
    bool fs = filesystems_lists(ctx, "fuse");
    fuse.facts["device"] = device;
    fuse.facts["filesystem"] = fs;
    fuse.evidence.push_back(fmt::format("/dev/fuse: {}", device   ? "character device 10:229"
                                                         : exists ? "not the fuse device"
                                                                  : "missing"));
    fuse.evidence.push_back(fmt::format("/proc/filesystems: {}", fs ? "fuse listed" : "no fuse"));
    if (device && fs) {
        fuse.summary = "/dev/fuse present (fuse-overlayfs and FUSE volumes work)";
    } else {
        fuse.level = Level::warn;
        fuse.summary =
            "no fuse: fuse-overlayfs (rootless overlay) and FUSE mounts in containers "
            "are unavailable";
        fuse.fix = fs ? "mknod -m 0666 /dev/fuse c 10 229"
                      : "modprobe fuse && mknod -m 0666 /dev/fuse c 10 229";
    }
    out.push_back(std::move(fuse));

    CheckResult disk;
    disk.id = "storage.disk";
    disk.title = "disk space";
    std::optional<DiskSpace> space = ctx.probes ? ctx.probes->disk_space(storage) : std::nullopt;
    if (!space) {
        disk.summary = ctx.probes ? fmt::format("cannot statvfs {}", storage) : "not probed";
        if (ctx.probes) disk.level = Level::warn;
    } else {
        disk.facts["free_bytes"] = space->free_bytes;
        disk.facts["total_bytes"] = space->total_bytes;
        disk.facts["free_inodes"] = space->free_inodes;
        disk.evidence.push_back(fmt::format(
            "statvfs {}: {} free of {}, {} inodes free", existing_ancestor(storage),
            human_bytes(space->free_bytes), human_bytes(space->total_bytes), space->free_inodes));
        const uint64_t gib = uint64_t{1} << 30;
        bool inodes_low = space->total_inodes > 0 && space->free_inodes < 10000;
        disk.summary = fmt::format("{} free on {}", human_bytes(space->free_bytes), storage);
        if (space->free_bytes < gib / 4 || inodes_low) {
            disk.level = Level::fail;
            disk.summary += inodes_low ? ", almost no inodes left" : ": too little to pull images";
        } else if (space->free_bytes < 2 * gib) {
            disk.level = Level::warn;
            disk.summary += ": images and containers may not fit";
        }
        if (disk.level != Level::pass)
            disk.fix = fmt::format(
                "free space on the filesystem of {}, or point --root at a "
                "larger one (husk image prune; husk container prune)",
                storage);
    }
    out.push_back(std::move(disk));
}

}  // namespace husk::system
