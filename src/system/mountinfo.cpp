#include "system/mountinfo.hpp"

#include <map>
#include <sstream>

#include "common/files.hpp"

namespace husk::system {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string item;
    std::istringstream in(s);
    while (std::getline(in, item, sep)) out.push_back(item);
    return out;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size()) {
            auto oct = s.substr(i + 1, 3);
            if (oct.size() == 3 && oct.find_first_not_of("01234567") == std::string::npos) {
                out += static_cast<char>(std::stoi(oct, nullptr, 8));
                i += 3;
                continue;
            }
        }
        out += s[i];
    }
    return out;
}

bool has_option(const std::string& options, const std::string& name) {
    for (auto& o : split(options, ','))
        if (o == name) return true;
    return false;
}

bool under(const std::string& path, const std::string& prefix) {
    if (prefix == "/") return path.starts_with("/");
    return path == prefix || (path.starts_with(prefix) && path[prefix.size()] == '/');
}

}  // namespace

bool MountEntry::read_only() const {
    return has_option(options, "ro") || has_option(super_options, "ro");
}

std::vector<MountEntry> parse_mountinfo(const std::string& text) {
    std::vector<MountEntry> mounts;
    for (auto& line : split(text, '\n')) {
        // "36 25 0:31 / /sys/fs/cgroup/memory rw,relatime shared:10 - cgroup cgroup rw,memory"
        auto dash = line.find(" - ");
        if (dash == std::string::npos) continue;
        auto left = split(line.substr(0, dash), ' ');
        auto right = split(line.substr(dash + 3), ' ');
        if (left.size() < 6 || right.size() < 3) continue;
        MountEntry m;
        try {
            m.id = std::stoi(left[0]);
            m.parent = std::stoi(left[1]);
        } catch (...) {
            continue;
        }
        m.root = unescape(left[3]);
        m.mount_point = unescape(left[4]);
        m.options = left[5];
        m.fs_type = right[0];
        m.source = unescape(right[1]);
        m.super_options = right[2];
        mounts.push_back(std::move(m));
    }
    // A mount is covered when a later mount sits on the same mount point (its parent is
    // this mount, or they share a parent); a mount is visible when it is not covered and
    // the mount it hangs from is visible.
    std::map<int, size_t> by_id;
    for (size_t i = 0; i < mounts.size(); ++i) by_id[mounts[i].id] = i;
    std::vector<bool> covered(mounts.size(), false);
    for (size_t i = 0; i < mounts.size(); ++i)
        for (size_t j = i + 1; j < mounts.size(); ++j)
            if (mounts[j].mount_point == mounts[i].mount_point &&
                (mounts[j].parent == mounts[i].id || mounts[j].parent == mounts[i].parent))
                covered[i] = true;
    for (size_t i = 0; i < mounts.size(); ++i) {
        bool visible = !covered[i];
        // Walk up to the mount this one hangs from (skipping stacked mounts on our own
        // mount point, which we cover).
        int parent = mounts[i].parent;
        std::string below = mounts[i].mount_point;
        size_t guard = 0;
        while (visible && by_id.contains(parent) && guard++ < mounts.size()) {
            size_t pi = by_id[parent];
            const auto& p = mounts[pi];
            if (p.mount_point != below) {
                if (covered[pi]) visible = false;
                below = p.mount_point;
            }
            parent = p.parent;
        }
        mounts[i].visible = visible;
    }
    return mounts;
}

Result<std::vector<MountEntry>> read_mountinfo(const std::string& path) {
    auto text = read_file(path);
    if (!text) return fail(text.error());
    return parse_mountinfo(*text);
}

const MountEntry* visible_mount_at(const std::vector<MountEntry>& mounts, const std::string& path) {
    const MountEntry* found = nullptr;
    for (auto& m : mounts)
        if (m.visible && m.mount_point == path) found = &m;
    return found;
}

const MountEntry* mount_holding(const std::vector<MountEntry>& mounts, const std::string& path) {
    const MountEntry* best = nullptr;
    for (auto& m : mounts) {
        if (!m.visible || !under(path, m.mount_point)) continue;
        if (!best || m.mount_point.size() >= best->mount_point.size()) best = &m;
    }
    return best;
}

}  // namespace husk::system
