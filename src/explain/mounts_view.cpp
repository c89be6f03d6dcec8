// The mounts section: the container's mountinfo as a tree, and the checks that need the config
// (masks and read-only paths in force, binds from the host that were asked for, a root that is
// the bundle's rootfs).
#include <sys/stat.h>

#include <climits>
#include <cstdlib>

#include <fmt/format.h>

#include "common/files.hpp"
#include "explain/mountinfo.hpp"
#include "explain/sections.hpp"

namespace husk::explain {
namespace {

std::string real(const std::string& path) {
    char buf[PATH_MAX];
    if (::realpath(path.c_str(), buf) == nullptr) return path;
    return buf;
}

bool is_bind(const oci::Mount& m) {
    if (m.type == "bind") return true;
    for (const auto& o : m.options)
        if (o == "bind" || o == "rbind") return true;
    return false;
}

}  // namespace

Json mounts_section(const Target& t, Json& root, Json& findings) {
    std::string pid = std::to_string(t.init_pid);
    auto text = read_file(t.proc + "/" + pid + "/mountinfo");
    auto host_text = read_file(t.proc + "/self/mountinfo");
    if (!text || !host_text) {
        std::string why = (!text ? text.error() : host_text.error()).what();
        flag(findings, "warning", "mounts", "cannot read mountinfo: " + why);
        return Json::array();
    }
    auto mounts = parse_mountinfo(*text);
    auto host = parse_mountinfo(*host_text);
    std::string rootfs = t.rootfs.empty() ? std::string() : real(t.rootfs);
    auto tree = mount_tree(mounts, host, rootfs.empty() ? "/" : rootfs);

    // Is the container's root the bundle's rootfs? Compare the objects, not the names.
    root["rootfs"] = rootfs;
    struct stat seen {
    }, want{};
    bool have_seen = ::stat((t.proc + "/" + pid + "/root").c_str(), &seen) == 0;
    bool have_want = !rootfs.empty() && ::stat(rootfs.c_str(), &want) == 0;
    if (have_seen && have_want) {
        bool same = seen.st_dev == want.st_dev && seen.st_ino == want.st_ino;
        root["is_rootfs"] = same;
        if (!same)
            flag(findings, "warning", "mounts",
                 fmt::format("the init's root is not {} (the bundle's rootfs): it escaped it "
                             "or the rootfs was replaced",
                             rootfs));
    }

    // What the config allows to come from the host.
    std::vector<std::pair<std::string, std::string>> asked_binds;  // destination, source
    if (t.config)
        for (const auto& m : t.config->mounts)
            if (is_bind(m)) asked_binds.emplace_back(m.destination, real(m.source));

    Json out = Json::array();
    for (const auto& n : tree) {
        const auto& e = n.entry;
        Json m = {{"id", e.id},
                  {"parent", e.parent},
                  {"depth", n.depth},
                  {"mount_point", e.mount_point},
                  {"fstype", e.fstype},
                  {"source", e.source},
                  {"root", e.root},
                  {"options", e.options},
                  {"propagation", e.optional},
                  {"read_only", n.read_only},
                  {"masked", n.masked},
                  {"host_bind", n.host_bind}};
        if (!n.host_path.empty()) m["host_path"] = n.host_path;
        if (e.fstype == "overlay")
            m["overlay"] = {{"lower", n.overlay_lower}, {"upper", n.overlay_upper}};
        if (e.mount_point == "/") root["read_only"] = n.read_only;
        if (n.host_bind && t.config) {
            bool asked = false;
            for (const auto& [dest, source] : asked_binds)
                asked |= n.host_path == source || n.host_path.starts_with(source + "/") ||
                         e.mount_point == dest;
            m["asked_for"] = asked;
            if (!asked)
                flag(findings, "warning", "mounts",
                     fmt::format("{} is {} from the host, which the config does not mount: a "
                                 "mount outside the rootfs",
                                 e.mount_point, n.host_path));
        }
        out.push_back(std::move(m));
    }

    if (!t.config) return out;
    const oci::Spec& spec = *t.config;
    auto find = [&](const std::string& path) -> const MountNode* {
        const MountNode* last = nullptr;  // the topmost mount on a point is the last one
        for (const auto& n : tree)
            if (n.entry.mount_point == path) last = &n;
        return last;
    };
    for (const auto& path : spec.linux.masked_paths) {
        const MountNode* n = find(path);
        if (n != nullptr && n->masked) continue;
        // The runtime skips masks of paths the image does not have.
        struct stat st {};
        if (!rootfs.empty() && ::lstat((rootfs + path).c_str(), &st) != 0 &&
            ::lstat((t.proc + "/" + pid + "/root" + path).c_str(), &st) != 0)
            continue;
        flag(findings, "warning", "mounts",
             fmt::format("linux.maskedPaths {} is not masked", path));
    }
    for (const auto& path : spec.linux.readonly_paths) {
        const MountNode* n = find(path);
        if (n != nullptr && n->read_only) continue;
        struct stat st {};
        if (::lstat((t.proc + "/" + pid + "/root" + path).c_str(), &st) != 0) continue;
        flag(findings, "warning", "mounts",
             fmt::format("linux.readonlyPaths {} is writable", path));
    }
    if (spec.root.readonly && !root.value("read_only", false))
        flag(findings, "warning", "mounts", "root.readonly is true, but / is mounted read-write");
    for (const auto& [dest, source] : asked_binds) {
        const MountNode* n = find(dest);
        if (n == nullptr)
            flag(findings, "warning", "mounts",
                 fmt::format("the config binds {} on {}, but nothing is mounted there", source,
                             dest));
        else if (!n->host_path.empty() && n->host_path != source)
            flag(findings, "warning", "mounts",
                 fmt::format("the config binds {} on {}, but {} is mounted there", source, dest,
                             n->host_path));
    }
    return out;
}

}  // namespace husk::explain
