// RUN: the command in a container on the step's rootfs, through the runtime library
// in-process. Users are looked up in the rootfs's own /etc/passwd and /etc/group.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <iterator>
#include <sstream>

#include <nlohmann/json.hpp>

#include "build/steps.hpp"
#include "common/files.hpp"
#include "common/log.hpp"
#include "common/safe_path.hpp"
#include "common/scope_exit.hpp"
#include "image/overlay_xattr.hpp"
#include "net/attach.hpp"
#include "net/dns.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/container.hpp"

namespace husk::build::detail {
namespace {

using Json = nlohmann::ordered_json;

bool is_number(const std::string& s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// The rows of a passwd/group file inside the rootfs, split on ':'. Missing file: none.
std::vector<std::vector<std::string>> read_db(int rootfs_fd, const char* path) {
    std::vector<std::vector<std::string>> rows;
    auto fd = open_in_root(rootfs_fd, path, O_RDONLY | O_CLOEXEC);
    if (!fd) return rows;
    std::string text;
    char buf[8192];
    ssize_t n;
    while ((n = ::read(fd->get(), buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::vector<std::string> fields;
        size_t start = 0;
        for (;;) {
            size_t colon = line.find(':', start);
            fields.push_back(line.substr(start, colon - start));
            if (colon == std::string::npos) break;
            start = colon + 1;
        }
        rows.push_back(std::move(fields));
    }
    return rows;
}

Result<gid_t> lookup_group(int rootfs_fd, const std::string& group) {
    for (auto& row : read_db(rootfs_fd, "/etc/group"))
        if (row.size() >= 3 && row[0] == group && is_number(row[2]))
            return static_cast<gid_t>(std::stoul(row[2]));
    if (is_number(group)) return static_cast<gid_t>(std::stoul(group));
    return fail_invalid("unable to find group {}: no matching entries in /etc/group of the image",
                        group);
}

// Docker's default capabilities for a container.
const std::vector<std::string> default_caps = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE"};

std::atomic<int> g_run_counter{0};

}  // namespace

Result<UserIds> resolve_user(int rootfs_fd, const std::string& spec) {
    UserIds ids;
    ids.home = "/";
    std::string user = spec.empty() ? "0" : spec;
    std::string group;
    if (auto colon = user.find(':'); colon != std::string::npos) {
        group = user.substr(colon + 1);
        user = user.substr(0, colon);
    }
    bool found = false;
    for (auto& row : read_db(rootfs_fd, "/etc/passwd")) {
        if (row.size() < 6 || !(row[0] == user || (is_number(user) && row[2] == user))) continue;
        if (!is_number(row[2]) || !is_number(row[3])) continue;
        ids.uid = static_cast<uid_t>(std::stoul(row[2]));
        ids.gid = static_cast<gid_t>(std::stoul(row[3]));
        ids.home = row[5].empty() ? "/" : row[5];
        found = true;
        break;
    }
    if (!found) {
        if (!is_number(user))
            return fail_invalid(
                "unable to find user {}: no matching entries in /etc/passwd of the image", user);
        ids.uid = static_cast<uid_t>(std::stoul(user));
        ids.gid = 0;
    }
    if (!group.empty()) {
        auto gid = lookup_group(rootfs_fd, group);
        if (!gid) return fail(gid.error());
        ids.gid = *gid;
    } else if (found) {
        // Supplementary groups: those that list the user by name.
        std::string name;
        for (auto& row : read_db(rootfs_fd, "/etc/passwd"))
            if (row.size() >= 3 && is_number(row[2]) && std::stoul(row[2]) == ids.uid) {
                name = row[0];
                break;
            }
        for (auto& row : read_db(rootfs_fd, "/etc/group")) {
            if (row.size() < 4 || !is_number(row[2])) continue;
            std::istringstream members(row[3]);
            std::string m;
            while (std::getline(members, m, ','))
                if (m == name) {
                    gid_t g = static_cast<gid_t>(std::stoul(row[2]));
                    if (g != ids.gid) ids.additional.push_back(g);
                }
        }
    }
    return ids;
}

Result<std::pair<uid_t, gid_t>> resolve_chown(int rootfs_fd, const std::string& spec) {
    std::string user = spec, group;
    if (auto colon = spec.find(':'); colon != std::string::npos) {
        user = spec.substr(0, colon);
        group = spec.substr(colon + 1);
    }
    uid_t uid = 0;
    gid_t gid = 0;
    if (is_number(user)) {
        uid = static_cast<uid_t>(std::stoul(user));
        gid = static_cast<gid_t>(uid);  // Docker: --chown=10 is 10:10
    } else {
        auto ids = resolve_user(rootfs_fd, user);
        if (!ids) return fail(ids.error().wrap("--chown={}", spec));
        uid = ids->uid;
        gid = ids->gid;
    }
    if (!group.empty()) {
        auto g = lookup_group(rootfs_fd, group);
        if (!g) return fail(g.error().wrap("--chown={}", spec));
        gid = *g;
    }
    return std::make_pair(uid, gid);
}

namespace {

// /etc/resolv.conf and /etc/hosts as the RUN step found them: a mount target the runtime
// had to create (an empty file, maybe /etc itself) is not the step's doing.
struct MountTargets {
    bool etc = false, resolv = false, hosts = false;
    static MountTargets before(int rootfs_fd) {
        auto exists = [&](const char* path) {
            return static_cast<bool>(
                open_in_root(rootfs_fd, path, O_PATH | O_NOFOLLOW | O_CLOEXEC));
        };
        return {exists("/etc"), exists("/etc/resolv.conf"), exists("/etc/hosts")};
    }
    void remove_made(const std::string& upper) const {
        struct stat st {};
        bool removed = false;
        for (auto [had, name] : {std::pair{resolv, "/etc/resolv.conf"}, {hosts, "/etc/hosts"}}) {
            std::string path = upper + name;
            if (!had && ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
                removed = ::unlink(path.c_str()) == 0 || removed;
        }
        // /etc was copied up (or made) for those targets: gone when nothing else is in it.
        if (removed || !etc) ::rmdir((upper + "/etc").c_str());
    }
};

}  // namespace

Result<int> run_in_rootfs(const RunSpec& spec) {
    // Rootless: no bridge can be made; RUN shares the host's network namespace, over which
    // the step's root (the user) holds no capability (docs/rootless.md).
    const std::string network =
        spec.network == "bridge" && image::rootless_store() ? "host" : spec.network;
    auto rootfs_fd = UniqueFd(::open(spec.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!rootfs_fd) return fail_errno("open {}", spec.rootfs);
    auto ids = resolve_user(rootfs_fd.get(), spec.user);
    if (!ids) return fail(ids.error());
    // The working directory exists before the process starts, as Docker makes it.
    auto cwd = make_dirs_in_root(rootfs_fd.get(), spec.cwd);
    if (!cwd) return fail(cwd.error().wrap("working directory {}", spec.cwd));

    Json config = oci::default_config(false);
    auto& process = config["process"];
    process["args"] = spec.args;
    std::vector<std::string> env = spec.env;
    bool has_home = false, has_path = false;
    for (auto& e : env) {
        has_home |= e.starts_with("HOME=");
        has_path |= e.starts_with("PATH=");
    }
    if (!has_path)
        env.push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    if (!has_home) env.push_back("HOME=" + ids->home);
    process["env"] = env;
    process["cwd"] = spec.cwd;
    process["user"] = {{"uid", ids->uid}, {"gid", ids->gid}};
    if (!ids->additional.empty()) process["user"]["additionalGids"] = ids->additional;
    process["capabilities"] = {
        {"bounding", default_caps}, {"effective", default_caps}, {"permitted", default_caps}};
    process["noNewPrivileges"] = false;
    config["root"] = {{"path", spec.rootfs}, {"readonly", false}};
    config["hostname"] = "husk-build";
    // /etc/resolv.conf and /etc/hosts are bind-mounted read-only (never part of a layer):
    // the targets the runtime creates for them are removed from the upper dir afterwards.
    auto targets = MountTargets::before(rootfs_fd.get());
    if (network == "host") {
        auto& ns = config["linux"]["namespaces"];
        Json kept = Json::array();
        for (auto& n : ns)
            if (n["type"] != "network") kept.push_back(n);
        ns = kept;
        // The host's resolver, so name lookups work as on the host.
        config["mounts"].push_back({{"destination", "/etc/resolv.conf"},
                                    {"type", "bind"},
                                    {"source", "/etc/resolv.conf"},
                                    {"options", {"rbind", "ro"}}});
    } else if (network == "bridge") {
        // As Docker's RUN: the default bridge network, with the host's nameservers (a
        // loopback stub resolver is unreachable from the container's namespace).
        auto host = read_file("/etc/resolv.conf");
        HUSK_TRY(make_dirs(spec.bundle_dir, 0700));
        HUSK_TRY(write_file_atomic(spec.bundle_dir + "/resolv.conf",
                                   net::container_resolv_conf(host ? *host : ""), 0644,
                                   Durability::survive_crash));
        HUSK_TRY(write_file_atomic(spec.bundle_dir + "/hosts",
                                   "127.0.0.1\tlocalhost husk-build\n::1\tlocalhost\n", 0644,
                                   Durability::survive_crash));
        for (const char* f : {"resolv.conf", "hosts"})
            config["mounts"].push_back({{"destination", std::string("/etc/") + f},
                                        {"type", "bind"},
                                        {"source", spec.bundle_dir + "/" + f},
                                        {"options", {"rbind", "ro"}}});
    }
    for (auto& [source, target] : spec.cache_mounts)
        config["mounts"].push_back({{"destination", target},
                                    {"type", "bind"},
                                    {"source", source},
                                    {"options", {"rbind", "rw"}}});
    HUSK_TRY(make_dirs(spec.bundle_dir, 0700));
    HUSK_TRY(write_file_atomic(spec.bundle_dir + "/config.json", config.dump(), 0600,
                               Durability::survive_crash));

    // Quiet builds drop the command's output; stdin is never the user's terminal.
    int saved[3] = {::dup(0), ::dup(1), ::dup(2)};
    auto restore = ScopeExit([&] {
        for (int i = 0; i < 3; ++i)
            if (saved[i] >= 0) {
                ::dup2(saved[i], i);
                ::close(saved[i]);
            }
    });
    UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (null) {
        ::dup2(null.get(), 0);
        if (spec.quiet) {
            ::dup2(null.get(), 1);
            ::dup2(null.get(), 2);
        }
    }
    std::fflush(stdout);
    // The runtime forwards signals to the container while it runs; afterwards Ctrl-C must
    // stop the build again, so the previous handlers come back.
    const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
    struct sigaction previous[std::size(forwarded)]{};
    for (size_t i = 0; i < std::size(forwarded); ++i)
        ::sigaction(forwarded[i], nullptr, &previous[i]);
    auto restore_signals = ScopeExit([&] {
        for (size_t i = 0; i < std::size(forwarded); ++i)
            ::sigaction(forwarded[i], &previous[i], nullptr);
    });
    runtime::Runtime rt(spec.runroot + "/build");
    runtime::CreateOptions options;
    options.id = "husk-build-" + std::to_string(::getpid()) + "-" + std::to_string(g_run_counter++);
    options.bundle = spec.bundle_dir;
    bool attached = false;
    if (network == "bridge") {
        options.before_start = [&](int pid) -> Status {
            net::AttachOptions a;
            a.network = "bridge";
            a.container_id = options.id;
            a.netns = "/proc/" + std::to_string(pid) + "/ns/net";
            a.hostname = "husk-build";
            auto done = net::attach(spec.store_root, a);
            if (!done) return fail(done.error().wrap("RUN on the bridge network"));
            attached = true;
            return {};
        };
    }
    auto status = rt.run(options, false);
    if (!status) (void)rt.remove(options.id, true);
    if (attached)
        if (auto st = net::detach(spec.store_root, options.id); !st)
            log::warn("detach {}: {}", options.id, st.error().what());
    if (!spec.upper_dir.empty()) targets.remove_made(spec.upper_dir);
    return status;
}

}  // namespace husk::build::detail
