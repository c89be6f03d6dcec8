#include "system/cgroup_view.hpp"

#include <unistd.h>

#include <sstream>

#include "common/files.hpp"
#include "runtime/cgroups.hpp"

namespace husk::system {

std::set<std::string> split_controllers(const std::string& text) {
    std::set<std::string> out;
    std::istringstream in(text);
    std::string word;
    while (in >> word) out.insert(word);
    return out;
}

CgroupView read_cgroup_view(const HostView& host, const std::vector<MountEntry>& mounts) {
    CgroupView view;
    auto detected = runtime::detect_cgroups(host.path("/proc"));
    if (!detected) {
        view.error = fmt::format("cannot detect cgroups: {}", detected.error().what());
        return view;
    }
    for (auto& h : detected->hierarchies) {
        // The runtime's detection checks the live path's filesystem; a fixture tree's
        // mountinfo says the same through the visibility of each mount.
        const MountEntry* m = visible_mount_at(mounts, h.mount_point);
        if (!m || m->fs_type != (h.unified ? "cgroup2" : "cgroup")) {
            view.notes.push_back(
                fmt::format("{} ({}) is in mountinfo but hidden by a later mount over it",
                            h.mount_point, h.unified ? "cgroup2" : h.controllers));
            continue;
        }
        CgroupViewHierarchy v;
        v.mount_point = h.mount_point;
        v.controllers = h.controllers;
        v.unified = h.unified;
        v.own_path = h.own_path;
        v.own_dir = h.own_path == "/" ? h.mount_point : h.mount_point + h.own_path;
        v.read_only = m->read_only();
        v.writable = !v.read_only;
        if (host.live() && ::access(v.own_dir.c_str(), W_OK) != 0) v.writable = false;
        if (h.unified) {
            view.v2_mount = v.mount_point;
            view.v2_own_path = v.own_path;
            view.v2_own_dir = v.own_dir;
            view.v2_read_only = v.read_only;
            if (auto text = read_file(host.path(v.own_dir + "/cgroup.controllers")))
                view.v2_available = split_controllers(*text);
            if (auto text = read_file(host.path(v.own_dir + "/cgroup.subtree_control")))
                view.v2_enabled = split_controllers(*text);
            if (auto text = read_file(host.path(v.own_dir + "/cgroup.procs"))) {
                std::istringstream in(*text);
                std::string pid;
                while (in >> pid) view.v2_own_processes++;
            }
        } else {
            std::istringstream in(h.controllers);
            std::string c;
            while (std::getline(in, c, ','))
                if (!c.starts_with("name=")) view.v1.insert(c);
        }
        view.hierarchies.push_back(std::move(v));
    }
    bool v1 = !view.v1.empty();
    bool v2 = !view.v2_mount.empty();
    view.layout = v1 && v2 ? "hybrid" : v1 ? "v1" : v2 ? "v2" : "none";
    return view;
}

}  // namespace husk::system
