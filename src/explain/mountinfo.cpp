#include "explain/mountinfo.hpp"

#include <algorithm>
#include <functional>

#include "explain/proc_parse.hpp"

namespace husk::explain {
namespace {

std::string unescape(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() &&
            std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
            out +=
                static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

bool under(const std::string& path, const std::string& dir) {
    if (dir == "/") return true;
    return path == dir || (path.starts_with(dir) && path[dir.size()] == '/');
}

}  // namespace

bool MountEntry::has_option(std::string_view opt) const {
    for (auto& o : split_words([&] {
             std::string s = options;
             std::replace(s.begin(), s.end(), ',', ' ');
             return s;
         }()))
        if (o == opt) return true;
    return false;
}

bool MountEntry::read_only() const {
    return has_option("ro");
}

std::map<std::string, std::string> MountEntry::super_option_map() const {
    std::map<std::string, std::string> out;
    size_t pos = 0;
    while (pos <= super_options.size()) {
        size_t end = super_options.find(',', pos);
        if (end == std::string::npos) end = super_options.size();
        std::string item = super_options.substr(pos, end - pos);
        auto eq = item.find('=');
        if (!item.empty()) {
            if (eq == std::string::npos)
                out[item] = "";
            else
                out[item.substr(0, eq)] = item.substr(eq + 1);
        }
        pos = end + 1;
    }
    return out;
}

std::vector<MountEntry> parse_mountinfo(std::string_view text) {
    std::vector<MountEntry> out;
    for (auto& line : split_lines(text)) {
        // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
        auto dash = line.find(" - ");
        if (dash == std::string::npos) continue;
        auto left = split_words(std::string_view(line).substr(0, dash));
        auto right = split_words(std::string_view(line).substr(dash + 3));
        if (left.size() < 6 || right.size() < 2) continue;
        MountEntry e;
        e.id = std::atoi(left[0].c_str());
        e.parent = std::atoi(left[1].c_str());
        e.device = left[2];
        e.root = unescape(left[3]);
        e.mount_point = unescape(left[4]);
        e.options = left[5];
        for (size_t i = 6; i < left.size(); ++i) e.optional += (i > 6 ? " " : "") + left[i];
        e.fstype = right[0];
        e.source = unescape(right[1]);
        if (right.size() > 2) e.super_options = right[2];
        out.push_back(std::move(e));
    }
    return out;
}

std::string host_source(const MountEntry& entry, const std::vector<MountEntry>& host_mounts) {
    const MountEntry* best = nullptr;
    for (const auto& h : host_mounts) {
        if (h.device != entry.device || !under(entry.root, h.root)) continue;
        // The longest root wins; among equals, the shortest mount point (the canonical one).
        if (best == nullptr || h.root.size() > best->root.size() ||
            (h.root.size() == best->root.size() && h.mount_point.size() < best->mount_point.size()))
            best = &h;
    }
    if (best == nullptr) return {};
    std::string rest = best->root == "/" ? entry.root : entry.root.substr(best->root.size());
    if (rest == "/") rest.clear();
    std::string path = best->mount_point == "/" ? rest : best->mount_point + rest;
    return path.empty() ? "/" : path;
}

std::vector<MountNode> mount_tree(const std::vector<MountEntry>& mounts,
                                  const std::vector<MountEntry>& host_mounts,
                                  const std::string& rootfs) {
    std::map<int, std::vector<size_t>> children;
    std::map<int, bool> known;
    for (const auto& m : mounts) known[m.id] = true;
    std::vector<size_t> roots;
    for (size_t i = 0; i < mounts.size(); ++i) {
        if (known.count(mounts[i].parent) && mounts[i].parent != mounts[i].id)
            children[mounts[i].parent].push_back(i);
        else
            roots.push_back(i);
    }
    static const char* pseudo[] = {"proc",     "sysfs",       "devpts",   "mqueue",    "cgroup",
                                   "cgroup2",  "tmpfs",       "devtmpfs", "overlay",   "securityfs",
                                   "debugfs",  "tracefs",     "bpf",      "hugetlbfs", "fusectl",
                                   "configfs", "binfmt_misc", "pstore",   "nsfs",      "ramfs"};
    auto is_pseudo = [](const std::string& fs) {
        for (auto* p : pseudo)
            if (fs == p) return true;
        return false;
    };
    std::vector<MountNode> out;
    std::function<void(size_t, int)> visit = [&](size_t i, int depth) {
        MountNode n;
        n.entry = mounts[i];
        n.depth = depth;
        n.read_only = n.entry.read_only();
        const auto& e = n.entry;
        // The device node itself at /dev/null is no mask; the same node bound elsewhere is.
        bool null_bind = e.root.ends_with("/null") && !e.mount_point.starts_with("/dev/") &&
                         (e.fstype == "tmpfs" || e.fstype == "devtmpfs");
        bool empty_ro_tmpfs =
            e.fstype == "tmpfs" && n.read_only && e.root == "/" && e.mount_point != "/";
        n.masked = null_bind || empty_ro_tmpfs;
        if (e.fstype == "overlay") {
            auto opts = e.super_option_map();
            std::string lower = opts["lowerdir"];
            size_t pos = 0;
            while (pos < lower.size()) {
                size_t end = lower.find(':', pos);
                if (end == std::string::npos) end = lower.size();
                if (end > pos) n.overlay_lower.push_back(lower.substr(pos, end - pos));
                pos = end + 1;
            }
            n.overlay_upper = opts["upperdir"];
        }
        if (!is_pseudo(e.fstype)) {
            n.host_path = host_source(e, host_mounts);
            // Content from the host outside the container's own rootfs.
            n.host_bind = !n.host_path.empty() && !under(n.host_path, rootfs);
        } else if (e.fstype == "tmpfs" || e.fstype == "devtmpfs") {
            // A tmpfs shared with the host (same device) is a bind too (a host /dev/shm).
            std::string src = host_source(e, host_mounts);
            if (!src.empty() && !null_bind) {
                n.host_path = src;
                n.host_bind = !under(src, rootfs);
            }
        }
        out.push_back(std::move(n));
        for (size_t c : children[mounts[i].id]) visit(c, depth + 1);
    };
    for (size_t r : roots) visit(r, 0);
    // A read-only tmpfs with mounts on it is a scaffold (runc-style /sys/fs/cgroup), no mask.
    for (auto& n : out)
        if (n.masked && n.entry.fstype == "tmpfs" && n.entry.root == "/" &&
            !children[n.entry.id].empty())
            n.masked = false;
    return out;
}

}  // namespace husk::explain
