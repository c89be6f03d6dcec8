#include "engine/spec_builder.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "common/files.hpp"
#include "common/safe_path.hpp"
#include "engine/container_network.hpp"
#include "oci/runtime_spec.hpp"

namespace husk::engine {
namespace {

using Json = nlohmann::ordered_json;

std::string upper_cap(std::string name) {
    for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (!name.starts_with("CAP_")) name = "CAP_" + name;
    return name;
}

Result<std::string> read_in_rootfs(const std::string& rootfs, const std::string& path) {
    UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return fail_errno("open rootfs {}", rootfs);
    auto fd = open_in_root(root.get(), path, O_RDONLY | O_CLOEXEC);
    if (!fd) return fail(fd.error());
    return read_file(fd_path(fd->get()));
}

bool all_digits(const std::string& s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Finds `name` in a passwd/group file: returns fields [2] and [3].
std::optional<std::pair<uint32_t, uint32_t>> lookup(const std::string& text,
                                                    const std::string& name) {
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(pos, end - pos);
        pos = end + 1;
        std::vector<std::string> f;
        size_t s = 0;
        while (true) {
            size_t c = line.find(':', s);
            f.push_back(line.substr(s, c - s));
            if (c == std::string::npos) break;
            s = c + 1;
        }
        if (f.size() >= 3 && f[0] == name) {
            uint32_t a = static_cast<uint32_t>(std::strtoul(f[2].c_str(), nullptr, 10));
            uint32_t b =
                f.size() >= 4 ? static_cast<uint32_t>(std::strtoul(f[3].c_str(), nullptr, 10)) : a;
            return std::pair{a, b};
        }
    }
    return std::nullopt;
}

Json mount_entry(const std::string& dst, const std::string& type, const std::string& src,
                 std::vector<std::string> options) {
    return Json{
        {"destination", dst}, {"type", type}, {"source", src}, {"options", std::move(options)}};
}

Result<int> rlimit_type(const std::string& name) {
    static const std::pair<const char*, const char*> names[] = {
        {"core", "RLIMIT_CORE"},         {"cpu", "RLIMIT_CPU"},
        {"data", "RLIMIT_DATA"},         {"fsize", "RLIMIT_FSIZE"},
        {"locks", "RLIMIT_LOCKS"},       {"memlock", "RLIMIT_MEMLOCK"},
        {"msgqueue", "RLIMIT_MSGQUEUE"}, {"nice", "RLIMIT_NICE"},
        {"nofile", "RLIMIT_NOFILE"},     {"nproc", "RLIMIT_NPROC"},
        {"rss", "RLIMIT_RSS"},           {"rtprio", "RLIMIT_RTPRIO"},
        {"rttime", "RLIMIT_RTTIME"},     {"sigpending", "RLIMIT_SIGPENDING"},
        {"stack", "RLIMIT_STACK"}};
    for (size_t i = 0; i < std::size(names); ++i)
        if (name == names[i].first) return static_cast<int>(i);
    return fail_invalid("--ulimit {:?}: unknown limit", name);
}

const char* rlimit_oci_name(int index) {
    static const char* names[] = {
        "RLIMIT_CORE",    "RLIMIT_CPU",      "RLIMIT_DATA",   "RLIMIT_FSIZE",      "RLIMIT_LOCKS",
        "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE",   "RLIMIT_NOFILE",     "RLIMIT_NPROC",
        "RLIMIT_RSS",     "RLIMIT_RTPRIO",   "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK"};
    return names[index];
}

}  // namespace

const std::vector<std::string>& default_capabilities() {
    static const std::vector<std::string> caps = {
        "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
        "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
        "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
        "CAP_KILL",    "CAP_AUDIT_WRITE"};
    return caps;
}

Result<std::pair<uint32_t, uint32_t>> resolve_user(const std::string& rootfs,
                                                   const std::string& user) {
    if (user.empty()) return std::pair<uint32_t, uint32_t>{0, 0};
    auto colon = user.find(':');
    std::string u = user.substr(0, colon);
    std::string g = colon == std::string::npos ? "" : user.substr(colon + 1);
    uint32_t uid = 0, gid = 0;
    if (all_digits(u)) {
        uid = static_cast<uint32_t>(std::strtoul(u.c_str(), nullptr, 10));
        gid = uid == 0 ? 0 : uid;
        if (auto passwd = read_in_rootfs(rootfs, "/etc/passwd")) {
            // A numeric uid takes its primary group from passwd when it is listed there.
            size_t pos = 0;
            while (pos < passwd->size()) {
                size_t end = passwd->find('\n', pos);
                if (end == std::string::npos) end = passwd->size();
                std::string line = passwd->substr(pos, end - pos);
                pos = end + 1;
                auto a = line.find(':'), b = line.find(':', a + 1), c = line.find(':', b + 1),
                     d = line.find(':', c + 1);
                if (d == std::string::npos) continue;
                if (line.substr(b + 1, c - b - 1) == u)
                    gid = static_cast<uint32_t>(
                        std::strtoul(line.substr(c + 1, d - c - 1).c_str(), nullptr, 10));
            }
        }
    } else {
        auto passwd = read_in_rootfs(rootfs, "/etc/passwd");
        if (!passwd) return fail(passwd.error().wrap("-u {}: cannot look up the user", user));
        auto found = lookup(*passwd, u);
        if (!found)
            return fail_invalid("-u {}: no user {:?} in the container's /etc/passwd", user, u);
        uid = found->first;
        gid = found->second;
    }
    if (!g.empty()) {
        if (all_digits(g)) {
            gid = static_cast<uint32_t>(std::strtoul(g.c_str(), nullptr, 10));
        } else {
            auto group = read_in_rootfs(rootfs, "/etc/group");
            if (!group) return fail(group.error().wrap("-u {}: cannot look up the group", user));
            auto found = lookup(*group, g);
            if (!found)
                return fail_invalid("-u {}: no group {:?} in the container's /etc/group", user, g);
            gid = found->first;
        }
    }
    return std::pair{uid, gid};
}

Result<std::string> build_spec(const ContainerRecord& r, const SpecPaths& paths) {
    Json spec = oci::default_config(false);
    const auto& hc = r.host_config;
    auto hc_bool = [&](const char* key) { return hc.contains(key) && hc.at(key).get<bool>(); };
    bool privileged = hc_bool("Privileged");

    auto& process = spec["process"];
    process["terminal"] = r.tty;
    process["args"] = r.args;
    process["env"] = r.env;
    process["cwd"] = r.working_dir.empty() ? "/" : r.working_dir;
    auto ids = resolve_user(r.rootfs, r.user);
    if (!ids) return fail(ids.error());
    process["user"] = {{"uid", ids->first}, {"gid", ids->second}};

    // Capabilities: Docker's set, then --cap-drop, then --cap-add ("ALL" in either).
    std::vector<std::string> caps = default_capabilities();
    std::vector<std::string> drop, add;
    if (hc.contains("CapDrop")) drop = hc.at("CapDrop").get<std::vector<std::string>>();
    if (hc.contains("CapAdd")) add = hc.at("CapAdd").get<std::vector<std::string>>();
    static const std::vector<std::string> every_cap = {"CAP_CHOWN",
                                                       "CAP_DAC_OVERRIDE",
                                                       "CAP_DAC_READ_SEARCH",
                                                       "CAP_FOWNER",
                                                       "CAP_FSETID",
                                                       "CAP_KILL",
                                                       "CAP_SETGID",
                                                       "CAP_SETUID",
                                                       "CAP_SETPCAP",
                                                       "CAP_LINUX_IMMUTABLE",
                                                       "CAP_NET_BIND_SERVICE",
                                                       "CAP_NET_BROADCAST",
                                                       "CAP_NET_ADMIN",
                                                       "CAP_NET_RAW",
                                                       "CAP_IPC_LOCK",
                                                       "CAP_IPC_OWNER",
                                                       "CAP_SYS_MODULE",
                                                       "CAP_SYS_RAWIO",
                                                       "CAP_SYS_CHROOT",
                                                       "CAP_SYS_PTRACE",
                                                       "CAP_SYS_PACCT",
                                                       "CAP_SYS_ADMIN",
                                                       "CAP_SYS_BOOT",
                                                       "CAP_SYS_NICE",
                                                       "CAP_SYS_RESOURCE",
                                                       "CAP_SYS_TIME",
                                                       "CAP_SYS_TTY_CONFIG",
                                                       "CAP_MKNOD",
                                                       "CAP_LEASE",
                                                       "CAP_AUDIT_WRITE",
                                                       "CAP_AUDIT_CONTROL",
                                                       "CAP_SETFCAP",
                                                       "CAP_MAC_OVERRIDE",
                                                       "CAP_MAC_ADMIN",
                                                       "CAP_SYSLOG",
                                                       "CAP_WAKE_ALARM",
                                                       "CAP_BLOCK_SUSPEND",
                                                       "CAP_AUDIT_READ",
                                                       "CAP_PERFMON",
                                                       "CAP_BPF",
                                                       "CAP_CHECKPOINT_RESTORE"};
    for (const auto& d : drop) {
        std::string name = upper_cap(d);
        if (name == "CAP_ALL")
            caps.clear();
        else
            std::erase(caps, name);
    }
    for (const auto& a : add) {
        std::string name = upper_cap(a);
        if (name == "CAP_ALL") {
            caps = every_cap;
        } else {
            if (std::find(every_cap.begin(), every_cap.end(), name) == every_cap.end())
                return fail_invalid("--cap-add {:?}: unknown capability", a);
            if (std::find(caps.begin(), caps.end(), name) == caps.end()) caps.push_back(name);
        }
    }
    if (privileged) caps = every_cap;
    process["capabilities"] = {{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
    if (ids->first != 0) process["capabilities"]["effective"] = Json::array();
    bool no_new_privs = false;
    std::vector<std::string> security_opts;
    if (hc.contains("SecurityOpt"))
        security_opts = hc.at("SecurityOpt").get<std::vector<std::string>>();
    std::string seccomp = "default";
    for (const auto& opt : security_opts) {
        if (opt == "no-new-privileges" || opt == "no-new-privileges:true" ||
            opt == "no-new-privileges=true")
            no_new_privs = true;
        else if (opt == "no-new-privileges:false" || opt == "no-new-privileges=false")
            no_new_privs = false;
        else if (opt.starts_with("seccomp=") || opt.starts_with("seccomp:"))
            seccomp = opt.substr(8);
        else if (opt.starts_with("label=") || opt.starts_with("label:") ||
                 opt.starts_with("apparmor=") || opt.starts_with("apparmor:"))
            continue;  // no LSM here: accepted and ignored, as Docker does without one
        else
            return fail_invalid(
                "--security-opt {:?}: expected seccomp=FILE|unconfined or "
                "no-new-privileges[:true|false]",
                opt);
    }
    process["noNewPrivileges"] = no_new_privs;

    // RLIMIT_NOFILE at the host's hard limit (Docker passes the daemon's): raising it would
    // need CAP_SYS_RESOURCE, which this kind of host does not grant.
    struct rlimit nofile {};
    ::getrlimit(RLIMIT_NOFILE, &nofile);
    std::map<std::string, std::pair<uint64_t, uint64_t>> rlimits = {
        {"RLIMIT_NOFILE", {nofile.rlim_max, nofile.rlim_max}}};
    if (hc.contains("Ulimits")) {
        for (const auto& u : hc.at("Ulimits")) {
            auto idx = rlimit_type(u.at("Name").get<std::string>());
            if (!idx) return fail(idx.error());
            rlimits[rlimit_oci_name(*idx)] = {u.at("Soft").get<uint64_t>(),
                                              u.at("Hard").get<uint64_t>()};
        }
    }
    process["rlimits"] = Json::array();
    for (const auto& [type, lim] : rlimits)
        process["rlimits"].push_back({{"type", type}, {"soft", lim.first}, {"hard", lim.second}});

    spec["root"] = {{"path", r.rootfs}, {"readonly", r.read_only}};
    spec["hostname"] = r.hostname;

    auto& linux_config = spec["linux"];
    if (!paths.joined_netns.empty()) {
        for (auto& ns : linux_config["namespaces"])
            if (ns["type"] == "network") ns["path"] = paths.joined_netns;
    }
    if (hc.contains("UsernsMode") && hc.at("UsernsMode") == "keep-id" &&
        hc.contains("IdMappings")) {
        // Rootless --userns=keep-id: a user namespace of the container's own inside the
        // rootless one (docs/rootless.md).
        linux_config["namespaces"].push_back({{"type", "user"}});
        for (const auto& [key, field] :
             {std::pair{"UidMaps", "uidMappings"}, std::pair{"GidMaps", "gidMappings"}}) {
            Json list = Json::array();
            for (const auto& t : hc.at("IdMappings").at(key))
                list.push_back({{"containerID", t.at(0)}, {"hostID", t.at(1)}, {"size", t.at(2)}});
            linux_config[field] = list;
        }
    }
    if (r.network_mode == "host") {
        auto& ns = linux_config["namespaces"];
        for (auto it = ns.begin(); it != ns.end(); ++it)
            if ((*it)["type"] == "network") {
                ns.erase(it);
                break;
            }
        // Docker shares the host's UTS namespace with --network host only when asked; the
        // hostname stays the container's.
    }
    if (seccomp == "unconfined" || privileged) {
        linux_config.erase("seccomp");
    } else if (seccomp != "default") {
        auto text = read_file(seccomp);
        if (!text) return fail(text.error().wrap("--security-opt seccomp"));
        try {
            linux_config["seccomp"] = Json::parse(*text);
        } catch (const Json::exception& e) {
            return fail_invalid("--security-opt seccomp={}: {}", seccomp, e.what());
        }
    }
    if (privileged) {
        linux_config["maskedPaths"] = Json::array();
        linux_config["readonlyPaths"] = Json::array();
    }

    // Resources.
    Json resources = Json::object();
    auto num = [&](const char* key) -> int64_t {
        return hc.contains(key) ? hc.at(key).get<int64_t>() : 0;
    };
    if (int64_t mem = num("Memory"); mem > 0) {
        resources["memory"]["limit"] = mem;
        int64_t swap = num("MemorySwap");
        if (swap == 0) swap = 2 * mem;
        if (swap > 0 && swap < mem)
            return fail_invalid("--memory-swap {} is below --memory {}: it counts memory + swap",
                                swap, mem);
        resources["memory"]["swap"] = swap;
    } else if (num("MemorySwap") > 0) {
        return fail_invalid("--memory-swap needs --memory");
    }
    if (int64_t nano = num("NanoCpus"); nano > 0) {
        resources["cpu"]["period"] = 100000;
        resources["cpu"]["quota"] = nano / 10000;
    }
    if (int64_t shares = num("CpuShares"); shares > 0) resources["cpu"]["shares"] = shares;
    if (hc.contains("CpusetCpus") && !hc.at("CpusetCpus").get<std::string>().empty())
        resources["cpu"]["cpus"] = hc.at("CpusetCpus").get<std::string>();
    if (int64_t pids = num("PidsLimit"); pids != 0) resources["pids"]["limit"] = pids;

    // Devices: Docker's default allow list plus --device.
    Json device_rules = Json::array();
    device_rules.push_back({{"allow", privileged}, {"access", "rwm"}});
    if (!privileged) {
        for (auto [type, major, minor] :
             std::initializer_list<std::tuple<const char*, int, int>>{{"c", 1, 3},
                                                                      {"c", 1, 5},
                                                                      {"c", 1, 7},
                                                                      {"c", 1, 8},
                                                                      {"c", 1, 9},
                                                                      {"c", 5, 0},
                                                                      {"c", 5, 1},
                                                                      {"c", 5, 2},
                                                                      {"c", 136, -1},
                                                                      {"c", 10, 200}}) {
            Json rule = {{"allow", true}, {"type", type}, {"major", major}, {"access", "rwm"}};
            if (minor >= 0) rule["minor"] = minor;
            device_rules.push_back(rule);
        }
    }
    Json devices = Json::array();
    if (hc.contains("Devices")) {
        for (const auto& d : hc.at("Devices")) {
            std::string host = d.at("PathOnHost").get<std::string>();
            std::string inside = d.at("PathInContainer").get<std::string>();
            std::string perms = d.at("CgroupPermissions").get<std::string>();
            struct stat st {};
            if (::stat(host.c_str(), &st) != 0) return fail_errno("--device {}", host);
            if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
                return fail_invalid("--device {}: not a device node", host);
            const char* type = S_ISCHR(st.st_mode) ? "c" : "b";
            devices.push_back({{"path", inside},
                               {"type", type},
                               {"major", major(st.st_rdev)},
                               {"minor", minor(st.st_rdev)},
                               {"fileMode", st.st_mode & 07777},
                               {"uid", 0},
                               {"gid", 0}});
            device_rules.push_back({{"allow", true},
                                    {"type", type},
                                    {"major", major(st.st_rdev)},
                                    {"minor", minor(st.st_rdev)},
                                    {"access", perms}});
        }
    }
    resources["devices"] = device_rules;
    linux_config["resources"] = resources;
    if (!devices.empty()) linux_config["devices"] = devices;

    // Mounts: the defaults, then the user's (later destinations win, as in Docker).
    auto& mounts = spec["mounts"];
    if (!paths.container_dir.empty())
        for (const auto& [source, target] :
             network_file_mounts(r, paths.container_dir, paths.containers_dir))
            mounts.push_back(mount_entry(target, "bind", source, {"rbind", "rprivate"}));
    for (const auto& m : r.mounts) {
        for (auto it = mounts.begin(); it != mounts.end(); ++it)
            if ((*it)["destination"] == m.destination) {
                mounts.erase(it);
                break;
            }
        if (m.type == "tmpfs") {
            std::vector<std::string> opts = {"nosuid", "nodev"};
            if (!m.options.empty()) {
                size_t s = 0;
                while (true) {
                    size_t c = m.options.find(',', s);
                    opts.push_back(m.options.substr(s, c - s));
                    if (c == std::string::npos) break;
                    s = c + 1;
                }
            }
            if (m.read_only) opts.push_back("ro");
            mounts.push_back(mount_entry(m.destination, "tmpfs", "tmpfs", opts));
        } else {
            std::string source =
                m.type == "volume" ? paths.volumes_root + "/" + m.name + "/_data" : m.source;
            std::vector<std::string> opts = {"rbind", m.read_only ? "ro" : "rw", "rprivate"};
            mounts.push_back(mount_entry(m.destination, "bind", source, opts));
        }
    }
    if (r.init) {
        if (paths.init_binary.empty() || !path_exists(paths.init_binary))
            return fail_invalid("--init: the reaper binary husk-init was not found next to husk");
        mounts.push_back(mount_entry("/dev/init", "bind", paths.init_binary, {"bind", "ro"}));
    }
    return spec.dump(2) + "\n";
}

}  // namespace husk::engine
