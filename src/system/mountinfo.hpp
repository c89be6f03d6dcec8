#pragma once
// /proc/self/mountinfo as a tree, with what is visible now: a mount covered by a later mount
// on the same mount point, or sitting under a covered parent, is listed but out of reach
// (an empty tmpfs over /sys/fs/cgroup hides every hierarchy below it).
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace husk::system {

struct MountEntry {
    int id = 0;
    int parent = 0;
    std::string root;         // the mounted sub-tree: "/" unless a bind of a directory
    std::string mount_point;  // "/sys/fs/cgroup/memory"
    std::string options;      // per-mount options: "rw,nosuid,relatime"
    std::string fs_type;      // "cgroup2"
    std::string source;       // "cgroup2", "/dev/vda"
    std::string super_options;
    bool visible = true;

    bool read_only() const;
};

// Parses mountinfo text (octal escapes in paths decoded) and marks what is visible.
std::vector<MountEntry> parse_mountinfo(const std::string& text);
[[nodiscard]] Result<std::vector<MountEntry>> read_mountinfo(const std::string& path);

// The visible mount whose mount point is exactly `path`.
const MountEntry* visible_mount_at(const std::vector<MountEntry>& mounts, const std::string& path);
// The visible mount that holds `path` (the longest visible mount point that is a prefix).
const MountEntry* mount_holding(const std::vector<MountEntry>& mounts, const std::string& path);

}  // namespace husk::system
