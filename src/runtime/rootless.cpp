// Rootless mode of the runtime: detection, /etc/subuid ranges, and the id maps written
// through newuidmap/newgidmap when the kernel would refuse them from an unprivileged caller.
#include "runtime/rootless.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>

#include <fmt/format.h>

#include "common/files.hpp"
#include "common/unique_fd.hpp"
#include "runtime/idmap.hpp"

namespace husk::runtime {
namespace {

// The helper by absolute path: PATH first, then where Debian's uidmap package puts it
// (the runtime may be started with a minimal PATH).
std::string find_helper(const char* name) {
    std::string dirs = ::getenv("PATH") ? ::getenv("PATH") : "";
    dirs += ":/usr/bin:/bin:/usr/sbin:/sbin";
    std::stringstream in(dirs);
    for (std::string dir; std::getline(in, dir, ':');) {
        if (dir.empty() || dir.front() != '/') continue;
        std::string path = dir + "/" + name;
        if (::access(path.c_str(), X_OK) == 0) return path;
    }
    return {};
}

// Runs `helper pid c h s ...`; its stderr becomes the error text.
Status run_map_helper(const char* name, const char* field, const char* subid_file, pid_t pid,
                      const std::vector<oci::IdMapping>& mappings) {
    std::string helper = find_helper(name);
    if (helper.empty())
        return fail_invalid(
            "{}: mapping more than your own id needs {} (package uidmap), not found in PATH", field,
            name);
    std::vector<std::string> args = {helper, std::to_string(pid)};
    for (const auto& m : mappings) {
        args.push_back(std::to_string(m.container_id));
        args.push_back(std::to_string(m.host_id));
        args.push_back(std::to_string(m.size));
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0) return fail_errno("{}: pipe", field);
    UniqueFd read_end(pipefd[0]), write_end(pipefd[1]);
    pid_t child = ::fork();
    if (child < 0) return fail_errno("{}: fork {}", field, name);
    if (child == 0) {
        ::dup2(write_end.get(), 2);
        ::dup2(write_end.get(), 1);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    write_end.reset();
    std::string output;
    char buf[512];
    for (ssize_t n; (n = ::read(read_end.get(), buf, sizeof buf)) > 0;)
        output.append(buf, static_cast<size_t>(n));
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
    while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
    std::string user = current_user_name();
    return fail_invalid(
        "{}: {} failed ({}); the ranges it may map are user {}'s lines in {} (add one with "
        "usermod --add-sub{}s START-END {}, or map only your own id)",
        field, helper, output.empty() ? "no output" : output, user, subid_file,
        std::string_view(name) == "newuidmap" ? "uid" : "gid", user);
}

bool own_euid_is_root() {
    return ::geteuid() == 0;
}

}  // namespace

bool in_user_namespace(const std::string& proc_self) {
    auto text = read_file(proc_self + "/uid_map");
    if (!text) return false;
    std::istringstream in(*text);
    uint64_t inside = 0, outside = 0, count = 0;
    if (!(in >> inside >> outside >> count)) return true;  // an empty map: not the initial one
    std::string more;
    if (in >> more) return true;
    return !(inside == 0 && outside == 0 && count == 4294967295ULL);
}

bool detect_rootless() {
    return !own_euid_is_root() || in_user_namespace();
}

Result<bool> parse_rootless_flag(const std::string& value) {
    if (value == "auto") return detect_rootless();
    if (value == "true") return true;
    if (value == "false") return false;
    return fail_invalid("--rootless: \"{}\" is not one of auto, true, false", value);
}

Result<std::vector<SubIdRange>> read_subid_ranges(const std::string& path, const std::string& user,
                                                  uint32_t id) {
    std::vector<SubIdRange> out;
    if (!path_exists(path)) return out;
    auto text = read_file(path);
    if (!text) return fail(text.error().wrap("read {}", path));
    std::istringstream in(*text);
    std::string id_text = std::to_string(id);
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line.front() == '#') continue;
        std::istringstream fields(line);
        std::string name, start, count;
        if (!std::getline(fields, name, ':') || !std::getline(fields, start, ':') ||
            !std::getline(fields, count))
            continue;
        if (name != user && name != id_text) continue;
        try {
            unsigned long s = std::stoul(start), c = std::stoul(count);
            if (c == 0 || s > UINT32_MAX || c > UINT32_MAX) continue;
            out.push_back({static_cast<uint32_t>(s), static_cast<uint32_t>(c)});
        } catch (const std::exception&) {
            continue;  // newuidmap skips what it cannot read, and so do we
        }
    }
    return out;
}

bool is_own_id_map(const std::vector<oci::IdMapping>& mappings, uint32_t own_id) {
    return mappings.size() == 1 && mappings[0].size == 1 && mappings[0].host_id == own_id;
}

Status write_id_maps(pid_t pid, const std::vector<oci::IdMapping>& uid_mappings,
                     const std::vector<oci::IdMapping>& gid_mappings) {
    std::string proc = "/proc/" + std::to_string(pid);
    if (own_euid_is_root()) {
        // Root of the namespace we are in (the host's, or the engine's rootless one): the
        // kernel checks that every id is mapped here.
        HUSK_TRY_CTX(write_file(proc + "/uid_map", id_map_text(uid_mappings)), "linux.uidMappings");
        HUSK_TRY_CTX(write_file(proc + "/gid_map", id_map_text(gid_mappings)), "linux.gidMappings");
        return {};
    }
    if (is_own_id_map(uid_mappings, ::geteuid()))
        HUSK_TRY_CTX(write_file(proc + "/uid_map", id_map_text(uid_mappings)), "linux.uidMappings");
    else
        HUSK_TRY(
            run_map_helper("newuidmap", "linux.uidMappings", "/etc/subuid", pid, uid_mappings));
    if (is_own_id_map(gid_mappings, ::getegid())) {
        // Without CAP_SETGID over the parent namespace the kernel takes a gid_map only once
        // setgroups is denied for good.
        HUSK_TRY_CTX(write_file(proc + "/setgroups", "deny"), "linux.gidMappings");
        HUSK_TRY_CTX(write_file(proc + "/gid_map", id_map_text(gid_mappings)), "linux.gidMappings");
    } else {
        HUSK_TRY(
            run_map_helper("newgidmap", "linux.gidMappings", "/etc/subgid", pid, gid_mappings));
    }
    return {};
}

Status check_id_maps(const std::vector<oci::IdMapping>& uid_mappings,
                     const std::vector<oci::IdMapping>& gid_mappings) {
    if (own_euid_is_root()) return {};
    struct Side {
        const std::vector<oci::IdMapping>& mappings;
        uint32_t own;
        const char *field, *helper, *file, *kind;
    };
    std::string user = current_user_name();
    for (const Side& side : {Side{uid_mappings, static_cast<uint32_t>(::geteuid()),
                                  "linux.uidMappings", "newuidmap", "/etc/subuid", "uid"},
                             Side{gid_mappings, static_cast<uint32_t>(::getegid()),
                                  "linux.gidMappings", "newgidmap", "/etc/subgid", "gid"}}) {
        if (side.mappings.empty() || is_own_id_map(side.mappings, side.own)) continue;
        if (find_helper(side.helper).empty())
            return fail_invalid(
                "{}: mapping more than your own {} ({}) needs {} (package uidmap), not found "
                "in PATH",
                side.field, side.kind, side.own, side.helper);
        auto ranges = read_subid_ranges(side.file, user, side.own);
        if (!ranges) return fail(ranges.error());
        if (ranges->empty())
            return fail_invalid(
                "{}: mapping more than your own {} ({}) needs a range for user {} in {} "
                "(usermod --add-sub{}s 100000-165535 {}), or map only your own {}",
                side.field, side.kind, side.own, user, side.file, side.kind, user, side.kind);
    }
    return {};
}

CgroupHost rootless_cgroups(const CgroupHost& host, std::string& reason) {
    CgroupHost out;
    out.layout = CgroupLayout::none;
    if (host.layout != CgroupLayout::unified) {
        reason = fmt::format(
            "the cgroup layout is {}: its v1 controllers belong to root, and only a delegated "
            "cgroup v2 subtree can be used without privileges",
            cgroup_layout_name(host.layout));
        return out;
    }
    for (const auto& h : host.hierarchies) {
        if (!h.unified) continue;
        std::string dir = h.mount_point + h.own_path;
        auto delegated = [&](const std::string& path) {
            std::string d = h.mount_point + path;
            return ::access(d.c_str(), W_OK) == 0 &&
                   ::access((d + "/cgroup.procs").c_str(), W_OK) == 0;
        };
        if (delegated(h.own_path)) {
            // The caller's own cgroup holds the caller, so cgroup v2 ("no internal
            // processes") lets it enable no controller for children there: a relative
            // cgroupsPath resolves at the top of the delegated subtree instead (the highest
            // ancestor still delegated, never the root), next to the caller's leaf, where the
            // delegating level enabled the controllers (systemd's Delegate=yes unit).
            CgroupHierarchy top = h;
            while (true) {
                auto slash = top.own_path.rfind('/');
                std::string parent =
                    slash == 0 || slash == std::string::npos ? "/" : top.own_path.substr(0, slash);
                if (parent == "/" || !delegated(parent)) break;
                top.own_path = parent;
            }
            out.layout = CgroupLayout::unified;
            out.hierarchies.push_back(top);
            return out;
        }
        reason = fmt::format(
            "your cgroup {} is not delegated to you (not writable); a user session manager "
            "(systemd's Delegate=yes) or root must give you a subtree",
            dir);
        return out;
    }
    reason = "no cgroup v2 tree is mounted";
    return out;
}

Result<std::string> user_runtime_dir(const std::string& name) {
    uid_t uid = ::geteuid();
    const char* xdg = ::getenv("XDG_RUNTIME_DIR");
    struct stat st {};
    if (xdg != nullptr && xdg[0] == '/' && ::stat(xdg, &st) == 0 && S_ISDIR(st.st_mode) &&
        st.st_uid == uid)
        return std::string(xdg) + "/" + name;
    std::string dir = fmt::format("/tmp/{}-{}", name, uid);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return fail_errno("mkdir {}", dir);
    if (::lstat(dir.c_str(), &st) != 0) return fail_errno("stat {}", dir);
    if (!S_ISDIR(st.st_mode))
        return fail_invalid(
            "{} is not a directory (a symlink?): refusing it as {}'s state "
            "dir; remove it or set XDG_RUNTIME_DIR",
            dir, name);
    if (st.st_uid != uid)
        return fail_invalid(
            "{} belongs to uid {}, not to you (uid {}): refusing it as {}'s "
            "state dir; set XDG_RUNTIME_DIR",
            dir, st.st_uid, uid, name);
    if ((st.st_mode & 077) != 0)
        return fail_invalid(
            "{} has mode {:04o}, open to other users: refusing it as {}'s "
            "state dir; chmod 0700 it or set XDG_RUNTIME_DIR",
            dir, st.st_mode & 07777, name);
    return dir;
}

Result<std::string> rootless_runtime_root() {
    return user_runtime_dir("husk-runtime");
}

std::string current_user_name() {
    uid_t uid = ::geteuid();
    struct passwd pw {};
    struct passwd* found = nullptr;
    char buf[4096];
    if (::getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found != nullptr)
        return found->pw_name;
    return std::to_string(uid);
}

}  // namespace husk::runtime
