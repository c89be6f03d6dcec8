#pragma once
// A process's mountinfo as a tree, with what each mount is for a container: masked, read-only,
// a bind from the host (and from where), an overlay (lowers, upper), or something that does
// not belong (a host bind the config did not ask for).
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace husk::explain {

struct MountEntry {
    int id = 0, parent = 0;
    std::string device;       // "major:minor"
    std::string root;         // path inside the filesystem that is mounted
    std::string mount_point;  // as the process sees it
    std::string options;      // per-mount ("ro,nosuid,...")
    std::string optional;     // "shared:5 master:2"
    std::string fstype;
    std::string source;
    std::string super_options;

    bool read_only() const;
    bool has_option(std::string_view opt) const;
    // overlay's "lowerdir=a:b" split, "upperdir", "workdir" from the super options
    std::map<std::string, std::string> super_option_map() const;
};

// Parses mountinfo text; octal escapes ("\040") are decoded.
std::vector<MountEntry> parse_mountinfo(std::string_view text);

// Where a bind's content lives on the host: the host mount of the same device whose root
// contains the entry's root. Empty when the host has no such mount (a private fs).
std::string host_source(const MountEntry& entry, const std::vector<MountEntry>& host_mounts);

// One mount in the tree, classified.
struct MountNode {
    MountEntry entry;
    int depth = 0;
    bool masked = false;     // a bind of the null device, or a read-only empty tmpfs
    bool read_only = false;  // ro per mount
    bool host_bind = false;  // the content is a host directory outside the rootfs
    std::string host_path;   // for binds: where it lives on the host
    std::vector<std::string> overlay_lower;
    std::string overlay_upper;
};

// Orders entries as a tree (children after their parent, depth-first, by mount order) and
// classifies each. `rootfs` is the container's root on the host (its bundle rootfs), to tell
// the rootfs's own content from binds of other host paths.
std::vector<MountNode> mount_tree(const std::vector<MountEntry>& mounts,
                                  const std::vector<MountEntry>& host_mounts,
                                  const std::string& rootfs);

}  // namespace husk::explain
