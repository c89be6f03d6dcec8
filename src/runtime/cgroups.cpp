#include "runtime/cgroups.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <thread>

#include "common/files.hpp"
#include "common/safe_path.hpp"

namespace husk::runtime {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string item;
    std::istringstream in(s);
    while (std::getline(in, item, sep)) out.push_back(item);
    return out;
}

// The controllers of a v1 mount from its super options ("rw,memory" -> "memory").
std::string v1_controllers(const std::string& super_options) {
    static const char* known[] = {"cpu",        "cpuacct", "cpuset", "memory",  "devices",
                                  "freezer",    "blkio",   "pids",   "net_cls", "net_prio",
                                  "perf_event", "hugetlb", "rdma",   "misc"};
    std::vector<std::string> found;
    for (auto& opt : split(super_options, ',')) {
        if (opt.starts_with("name=")) found.push_back(opt);
        for (auto* k : known)
            if (opt == k) found.push_back(opt);
    }
    std::string joined;
    for (auto& f : found) joined += (joined.empty() ? "" : ",") + f;
    return joined;
}

// Parent of a cgroup directory gets its cpuset copied into a new child: a v1 cpuset cgroup
// starts with empty cpus/mems and refuses every process until they are filled.
Status init_cpuset(const std::string& dir) {
    for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
        auto mine = read_file(dir + "/" + file);
        if (!mine) return fail(mine.error());
        if (mine->find_first_not_of(" \n") != std::string::npos) continue;
        auto parent = read_file(dir.substr(0, dir.rfind('/')) + "/" + file);
        if (!parent) return fail(parent.error());
        HUSK_TRY(write_file(dir + "/" + file, *parent));
    }
    return {};
}

}  // namespace

const char* cgroup_layout_name(CgroupLayout layout) {
    switch (layout) {
        case CgroupLayout::none:
            return "none";
        case CgroupLayout::legacy:
            return "v1";
        case CgroupLayout::hybrid:
            return "hybrid";
        case CgroupLayout::unified:
            return "v2";
    }
    return "none";
}

Result<CgroupHost> detect_cgroups(const std::string& proc_root) {
    auto mountinfo = read_file(proc_root + "/self/mountinfo");
    if (!mountinfo) return fail(mountinfo.error());
    auto own = read_file(proc_root + "/self/cgroup");
    if (!own) return fail(own.error());

    // /proc/self/cgroup: "ID:controllers:path"; v2 is "0::path".
    std::vector<std::pair<std::string, std::string>> memberships;
    for (auto& line : split(*own, '\n')) {
        auto first = line.find(':');
        auto second = line.find(':', first + 1);
        if (first == std::string::npos || second == std::string::npos) continue;
        memberships.emplace_back(line.substr(first + 1, second - first - 1),
                                 line.substr(second + 1));
    }
    auto own_path_for = [&](const std::string& controllers) -> std::string {
        for (auto& [ctl, path] : memberships)
            if (ctl == controllers) return path;
        return "/";
    };

    CgroupHost host;
    bool have_v1 = false, have_v2 = false;
    for (auto& line : split(*mountinfo, '\n')) {
        // "36 25 0:31 / /sys/fs/cgroup/memory rw,relatime shared:10 - cgroup cgroup rw,memory"
        auto dash = line.find(" - ");
        if (dash == std::string::npos) continue;
        auto left = split(line.substr(0, dash), ' ');
        auto right = split(line.substr(dash + 3), ' ');
        if (left.size() < 5 || right.size() < 3) continue;
        if (left[3] != "/") continue;  // a bind of a sub-tree, not the hierarchy's root
        CgroupHierarchy h;
        h.mount_point = left[4];
        if (right[0] == "cgroup2") {
            h.unified = true;
            h.own_path = own_path_for("");
            have_v2 = true;
        } else if (right[0] == "cgroup") {
            h.controllers = v1_controllers(right[2]);
            if (h.controllers.empty()) continue;
            h.own_path = own_path_for(h.controllers);
            have_v1 = true;
        } else {
            continue;
        }
        // A hierarchy hidden by a later mount over it (a tmpfs on /sys/fs/cgroup) is still
        // in mountinfo but out of reach: on the live host, what the path holds now decides.
        // (A fixture tree's mount points do not exist here.)
        if (proc_root == "/proc") {
            struct statfs fs {};
            unsigned long magic = h.unified ? CGROUP2_SUPER_MAGIC : CGROUP_SUPER_MAGIC;
            if (::statfs(h.mount_point.c_str(), &fs) != 0 ||
                static_cast<unsigned long>(fs.f_type) != magic)
                continue;
        }
        // The same hierarchy mounted twice: keep the first.
        bool seen = std::any_of(host.hierarchies.begin(), host.hierarchies.end(), [&](auto& x) {
            return x.unified == h.unified && x.controllers == h.controllers;
        });
        if (!seen) host.hierarchies.push_back(std::move(h));
    }
    have_v1 = std::any_of(host.hierarchies.begin(), host.hierarchies.end(),
                          [](auto& x) { return !x.unified; });
    have_v2 = std::any_of(host.hierarchies.begin(), host.hierarchies.end(),
                          [](auto& x) { return x.unified; });
    host.layout = have_v1 && have_v2 ? CgroupLayout::hybrid
                  : have_v1          ? CgroupLayout::legacy
                  : have_v2          ? CgroupLayout::unified
                                     : CgroupLayout::none;
    return host;
}

void warm_up_cgroup_migration() {
    static bool started = false;
    if (std::exchange(started, true)) return;
    auto host = detect_cgroups();
    if (!host || (host->layout != CgroupLayout::legacy && host->layout != CgroupLayout::hybrid))
        return;
    for (const auto& h : host->hierarchies) {
        if (h.unified || h.own_path.empty()) continue;
        int fd = ::open((h.mount_point + h.own_path + "/cgroup.procs").c_str(),
                        O_WRONLY | O_CLOEXEC);
        if (fd < 0) continue;
        // A grandchild does it ("0": the writer itself) and nobody waits for it: not a
        // thread, since the runtime clones the init with a raw clone3 and a thread could
        // hold a libc lock the init would then wait on forever. Its parent exits at once,
        // so it is reaped by whoever adopts it (init, or a subreaper such as the monitor).
        pid_t child = ::fork();
        if (child == 0) {
            if (::fork() == 0) {
                // Nothing else of the caller's (its pipes, sockets) stays open while this
                // waits out the grace period: their readers would see EOF that much later.
                if (fd > 0) ::syscall(SYS_close_range, 0U, static_cast<unsigned>(fd) - 1, 0U);
                ::syscall(SYS_close_range, static_cast<unsigned>(fd) + 1, ~0U, 0U);
                (void)!::write(fd, "0", 1);
                ::_exit(0);
            }
            ::_exit(0);
        }
        ::close(fd);
        if (child > 0)
            while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
            }
        return;
    }
}

std::string resolve_cgroup_path(const std::string& cgroups_path, const std::string& own_path,
                                const std::string& container_id) {
    std::string path = cgroups_path.empty() ? container_id : cgroups_path;
    if (!path.empty() && path.front() == '/') return clean_path(path);
    return clean_path(own_path + "/" + path);
}

Result<Cgroup> Cgroup::create(const CgroupHost& host, const std::string& cgroups_path,
                              const std::string& container_id) {
    Cgroup cg;
    auto undo = [&] { (void)cg.destroy(); };
    for (auto& h : host.hierarchies) {
        std::string rel = resolve_cgroup_path(cgroups_path, h.own_path, container_id);
        if (rel == "/")
            return fail_invalid("linux.cgroupsPath: {:?} resolves to the root cgroup",
                                cgroups_path);
        std::string dir = h.mount_point + rel;
        // Create each missing level, remembering it so destroy() removes exactly those.
        std::string walked = h.mount_point;
        for (auto& part : split(rel.substr(1), '/')) {
            walked += "/" + part;
            if (::mkdir(walked.c_str(), 0755) == 0) {
                cg.created_.push_back(walked);
                if (h.controllers.find("cpuset") != std::string::npos) {
                    if (auto st = init_cpuset(walked); !st) {
                        undo();
                        return fail(st.error().wrap("cgroup {}", walked));
                    }
                }
            } else if (errno != EEXIST) {
                auto err = Error::from_errno("create cgroup {}", walked);
                undo();
                return fail(err);
            }
        }
        cg.dirs_.push_back({h.mount_point, h.unified ? "" : h.controllers, dir});
    }
    return cg;
}

Cgroup Cgroup::from_dirs(std::vector<CgroupDir> dirs, std::vector<std::string> created) {
    Cgroup cg;
    cg.dirs_ = std::move(dirs);
    cg.created_ = std::move(created);
    return cg;
}

Status Cgroup::add_process(pid_t pid, bool skip_unified) const {
    std::string text = std::to_string(pid);
    for (auto& dir : dirs_) {
        if (skip_unified && dir.controllers.empty()) continue;
        HUSK_TRY_CTX(write_file(dir.path + "/cgroup.procs", text), "join cgroup {}", dir.path);
    }
    return {};
}

UniqueFd Cgroup::open_unified() const {
    for (auto& dir : dirs_)
        if (dir.controllers.empty())
            return UniqueFd(::open(dir.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    return UniqueFd();
}

Status Cgroup::destroy() const {
    Status result;
    for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
        // A process that just died can hold the directory for a moment (EBUSY).
        int tries = 0;
        while (::rmdir(it->c_str()) != 0) {
            if (errno == ENOENT) break;
            if (errno == EBUSY && ++tries < 50) {
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
                continue;
            }
            if (result) result = fail_errno("remove cgroup {}", *it);
            break;
        }
    }
    return result;
}

}  // namespace husk::runtime
