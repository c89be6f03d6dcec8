#include "explain/explain.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <functional>

#include <fmt/format.h>

#include "common/files.hpp"
#include "explain/netinfo.hpp"
#include "explain/proc_parse.hpp"
#include "explain/sections.hpp"
#include "runtime/state.hpp"

namespace husk::explain {

void flag(Json& findings, const char* severity, const char* area, std::string message) {
    findings.push_back({{"severity", severity}, {"area", area}, {"message", std::move(message)}});
}

std::optional<std::string> slurp(const std::string& path) {
    auto text = read_file(path);
    if (!text) return std::nullopt;
    return trim(*text);
}

namespace {

std::string pid_dir(const Target& t, pid_t pid) {
    return t.proc + "/" + std::to_string(pid);
}

// "net:[4026531992]" -> 4026531992; 0 when the process or the type is gone.
uint64_t ns_inode(const std::string& link) {
    char buf[PATH_MAX];
    ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
    if (n <= 0) return 0;
    std::string s(buf, static_cast<size_t>(n));
    auto open = s.find('[');
    if (open == std::string::npos) return 0;
    return std::strtoull(s.c_str() + open + 1, nullptr, 10);
}

// The kernel's names in /proc/<pid>/ns and the config's types they stand for.
struct NsKind {
    const char* proc_name;
    std::optional<oci::NamespaceType> type;
};
const NsKind kNamespaces[] = {
    {"mnt", oci::NamespaceType::mount}, {"uts", oci::NamespaceType::uts},
    {"ipc", oci::NamespaceType::ipc},   {"pid", oci::NamespaceType::pid},
    {"pid_for_children", std::nullopt}, {"net", oci::NamespaceType::network},
    {"user", oci::NamespaceType::user}, {"cgroup", oci::NamespaceType::cgroup},
    {"time", oci::NamespaceType::time}, {"time_for_children", std::nullopt},
};

}  // namespace

Json namespaces_section(const Target& t, Json& findings) {
    Json out = Json::array();
    for (const auto& kind : kNamespaces) {
        std::string name = kind.proc_name;
        uint64_t inode = ns_inode(pid_dir(t, t.init_pid) + "/ns/" + name);
        if (inode == 0) continue;  // not supported by this kernel
        Json ns = {{"type", name}, {"inode", inode}};
        // /proc/1/ns may be out of reach (a pid 1 in another user namespace, or not
        // dumpable): then "host" is unknown (null) and the caller's namespaces stand in.
        uint64_t host_inode = ns_inode(t.proc + "/1/ns/" + name);
        bool host = host_inode != 0 && inode == host_inode;
        bool caller = inode == ns_inode(t.proc + "/self/ns/" + name);
        ns["shared_with_host"] = host_inode == 0 ? Json(nullptr) : Json(host);
        ns["shared_with_caller"] = caller;
        Json with = Json::array();
        for (const auto& peer : t.peers)
            if (ns_inode(pid_dir(t, peer.pid) + "/ns/" + name) == inode) with.push_back(peer.id);
        ns["shared_with"] = with;

        if (kind.type && t.config) {
            const oci::Namespace* asked = t.config->find_namespace(*kind.type);
            if (asked == nullptr) {
                ns["config"] = "not listed (inherited from the runtime)";
            } else if (asked->path.empty()) {
                ns["config"] = "new";
                if (host || caller)
                    flag(findings, "warning", "namespaces",
                         fmt::format("{} namespace: the config asks for a new one, but it is "
                                     "the {}'s ({})",
                                     name, host ? "host" : "runtime caller", inode));
                // (the runtime caller's namespaces are the host's unless it runs nested)
                for (const auto& peer : t.peers) {
                    if (ns_inode(pid_dir(t, peer.pid) + "/ns/" + name) != inode) continue;
                    const auto& joined = peer.joined_from_target;
                    if (std::find(joined.begin(), joined.end(), name) != joined.end()) continue;
                    flag(findings, "warning", "namespaces",
                         fmt::format("{} namespace: the config asks for a new one, but it is "
                                     "shared with container {}",
                                     name, peer.id));
                }
            } else {
                ns["config"] = "join " + asked->path;
                struct stat st {};
                if (::stat(asked->path.c_str(), &st) != 0) {
                    flag(findings, "info", "namespaces",
                         fmt::format("{} namespace: {} (from the config) is gone; the "
                                     "container still holds namespace {}",
                                     name, asked->path, inode));
                } else if (st.st_ino != inode) {
                    flag(findings, "warning", "namespaces",
                         fmt::format("{} namespace: the config joins {} (namespace {}), but "
                                     "the container is in {}",
                                     name, asked->path, st.st_ino, inode));
                }
            }
        }
        out.push_back(std::move(ns));
    }
    return out;
}

Json process_record(const Target& t, pid_t pid) {
    std::string dir = pid_dir(t, pid);
    Json p = {{"pid", pid}};
    auto status_text = read_file(dir + "/status");
    if (!status_text) {
        p["error"] = status_text.error().what();
        return p;
    }
    auto status = parse_status(*status_text);
    p["comm"] = status["Name"];
    p["state"] = status["State"];
    p["ppid"] = std::atol(status["PPid"].c_str());
    auto nspid = parse_id_list(status["NSpid"]);
    p["nspid"] = nspid;
    p["container_pid"] = nspid.empty() ? 0 : nspid.back();
    auto uids = parse_id_list(status["Uid"]);
    auto gids = parse_id_list(status["Gid"]);
    p["uid"] = uids.empty() ? -1 : uids[0];
    p["gid"] = gids.empty() ? -1 : gids[0];
    if (auto cmdline = read_file(dir + "/cmdline")) {
        Json args = Json::array();
        size_t pos = 0;
        while (pos < cmdline->size()) {
            size_t end = cmdline->find('\0', pos);
            if (end == std::string::npos) end = cmdline->size();
            args.push_back(cmdline->substr(pos, end - pos));
            pos = end + 1;
        }
        p["args"] = args;
    }

    Json caps = Json::object();
    for (auto [key, name] : {std::pair{"CapEff", "effective"},
                             {"CapPrm", "permitted"},
                             {"CapInh", "inheritable"},
                             {"CapBnd", "bounding"},
                             {"CapAmb", "ambient"}}) {
        auto mask = parse_cap_mask(status[key]);
        caps[name] = mask ? Json(cap_names(*mask)) : Json(nullptr);
        caps[std::string(name) + "_mask"] = status[key];
    }
    Json sec = {{"capabilities", caps}};
    int mode = std::atoi(status["Seccomp"].c_str());
    sec["seccomp"] = {{"mode", mode == 2   ? "filter"
                               : mode == 1 ? "strict"
                                           : "disabled"},
                      {"filters", std::atoi(status["Seccomp_filters"].c_str())}};
    sec["no_new_privs"] = status["NoNewPrivs"] == "1";
    Json maps = Json::object();
    for (const char* which : {"uid_map", "gid_map"}) {
        Json rows = Json::array();
        if (auto text = read_file(dir + "/" + which))
            for (auto& r : parse_id_map(*text))
                rows.push_back({{"inside", r.inside}, {"outside", r.outside}, {"count", r.count}});
        maps[which] = rows;
    }
    sec["id_maps"] = maps;
    // The LSM label: EINVAL when no LSM provides one (none active here is common).
    Json lsm = Json::object();
    if (auto label = slurp(dir + "/attr/current")) {
        std::string l = *label;
        while (!l.empty() && l.back() == '\0') l.pop_back();
        lsm["current"] = l;
    } else {
        lsm["current"] = nullptr;
    }
    sec["lsm"] = lsm;
    p["security"] = sec;

    Json limits = Json::array();
    if (auto text = read_file(dir + "/limits"))
        for (auto& row : parse_limits(*text))
            limits.push_back(
                {{"name", row.name}, {"soft", row.soft}, {"hard", row.hard}, {"units", row.units}});
    p["rlimits"] = limits;

    Json ns = Json::object();
    for (const auto& kind : kNamespaces) {
        uint64_t inode = ns_inode(dir + "/ns/" + kind.proc_name);
        if (inode != 0) ns[kind.proc_name] = inode;
    }
    p["namespaces"] = ns;
    return p;
}

Json processes_section(const Target& t, const Json& cgroup, Json& findings) {
    // Every process in the init's cgroup: processes exec'd later joined it.
    std::vector<pid_t> pids;
    for (const auto& h : cgroup.value("hierarchies", Json::array())) {
        // A root cgroup holds the whole host: it says nothing about this container.
        if (!h["dir"].is_string() || h.value("path", "/") == "/") continue;
        auto procs = read_file(h["dir"].get<std::string>() + "/cgroup.procs");
        if (!procs) continue;
        for (auto& line : split_lines(*procs)) pids.push_back(std::atoi(line.c_str()));
        if (!pids.empty()) break;
    }
    if (std::find(pids.begin(), pids.end(), t.init_pid) == pids.end())
        pids.insert(pids.begin(), t.init_pid);
    std::sort(pids.begin(), pids.end());
    Json init;
    std::vector<Json> records;
    for (pid_t pid : pids) {
        Json p = process_record(t, pid);
        p["init"] = pid == t.init_pid;
        if (pid == t.init_pid) init = p;
        records.push_back(std::move(p));
    }
    // Processes whose namespaces differ from the init's (an exec that joined only some).
    for (auto& p : records) {
        if (p["init"].get<bool>() || !p.contains("namespaces")) continue;
        Json differ = Json::array();
        for (auto& [name, inode] : p["namespaces"].items())
            if (init.contains("namespaces") && init["namespaces"].value(name, Json()) != inode)
                differ.push_back(name);
        p["namespaces_differ_from_init"] = differ;
        if (!differ.empty())
            flag(findings, "warning", "processes",
                 fmt::format("pid {} ({}) is in the container's cgroup but not in its {} "
                             "namespace(s)",
                             p["pid"].get<int>(), p.value("comm", ""), differ.dump()));
    }
    // Tree order: children after their parent.
    Json out = Json::array();
    std::function<void(long, int)> visit = [&](long parent, int depth) {
        for (auto& p : records) {
            if (p.value("ppid", 0L) != parent || p.contains("depth")) continue;
            p["depth"] = depth;
            out.push_back(p);
            visit(p["pid"].get<long>(), depth + 1);
        }
    };
    for (auto& p : records) {
        bool parent_inside = false;
        for (auto& q : records) parent_inside |= q["pid"] == p.value("ppid", 0L);
        if (!parent_inside && !p.contains("depth")) {
            p["depth"] = 0;
            out.push_back(p);
            visit(p["pid"].get<long>(), 1);
        }
    }
    return out;
}

namespace {

// config.json's rlimit types and the names /proc/<pid>/limits prints.
const std::pair<const char*, const char*> kRlimitNames[] = {
    {"RLIMIT_CPU", "Max cpu time"},
    {"RLIMIT_FSIZE", "Max file size"},
    {"RLIMIT_DATA", "Max data size"},
    {"RLIMIT_STACK", "Max stack size"},
    {"RLIMIT_CORE", "Max core file size"},
    {"RLIMIT_RSS", "Max resident set"},
    {"RLIMIT_NPROC", "Max processes"},
    {"RLIMIT_NOFILE", "Max open files"},
    {"RLIMIT_MEMLOCK", "Max locked memory"},
    {"RLIMIT_AS", "Max address space"},
    {"RLIMIT_LOCKS", "Max file locks"},
    {"RLIMIT_SIGPENDING", "Max pending signals"},
    {"RLIMIT_MSGQUEUE", "Max msgqueue size"},
    {"RLIMIT_NICE", "Max nice priority"},
    {"RLIMIT_RTPRIO", "Max realtime priority"},
    {"RLIMIT_RTTIME", "Max realtime timeout"},
};

std::string rlimit_text(uint64_t v) {
    return v == UINT64_MAX ? "unlimited" : std::to_string(v);
}

std::vector<std::string> names_of(const std::vector<int>& caps) {
    uint64_t mask = 0;
    for (int c : caps)
        if (c >= 0 && c < 64) mask |= uint64_t{1} << c;
    return cap_names(mask);
}

}  // namespace

void check_security(const Target& t, const Json& init, Json& findings) {
    if (!t.config || !init.contains("security")) return;
    const oci::Spec& spec = *t.config;
    const Json& sec = init["security"];
    if (spec.linux.seccomp && sec["seccomp"]["mode"] != "filter")
        flag(findings, "warning", "security",
             "linux.seccomp is set, but the init runs without a seccomp filter");
    if (!spec.linux.seccomp && sec["seccomp"]["mode"] == "filter")
        flag(findings, "info", "security",
             fmt::format("no linux.seccomp in the config, but {} filter(s) are loaded "
                         "(inherited from the runtime's caller)",
                         sec["seccomp"]["filters"].get<int>()));
    if (spec.process.no_new_privileges != sec["no_new_privs"].get<bool>())
        flag(findings, "warning", "security",
             fmt::format("process.noNewPrivileges is {}, the kernel says NoNewPrivs {}",
                         spec.process.no_new_privileges, sec["no_new_privs"].get<bool>()));
    // Capabilities only as the config gives them to a root init: a non-root user's
    // effective set is emptied by the kernel at exec unless ambient.
    if (spec.process.capabilities) {
        auto caller = read_file(t.proc + "/self/status");
        uint64_t host_bnd = ~uint64_t{0};
        if (caller)
            if (auto m = parse_cap_mask(parse_status(*caller)["CapBnd"])) host_bnd = *m;
        const auto& c = *spec.process.capabilities;
        for (auto [set, asked] : {std::pair{"bounding", &c.bounding},
                                  {"permitted", &c.permitted},
                                  {"effective", &c.effective},
                                  {"inheritable", &c.inheritable},
                                  {"ambient", &c.ambient}}) {
            if (std::string(set) == "effective" && spec.process.user.uid != 0) continue;
            // At exec the kernel gives a root process its whole permitted set as effective
            // (legacy root semantics): that is no drift from the config, but worth knowing.
            if (std::string(set) == "effective" &&
                sec["capabilities"]["effective"] == sec["capabilities"]["permitted"]) {
                if (names_of(c.effective) != names_of(c.permitted))
                    flag(findings, "info", "security",
                         "the effective set is the permitted set: execve gives uid 0 all "
                         "its permitted capabilities, whatever process.capabilities.effective "
                         "says");
                continue;
            }
            auto held = sec["capabilities"][set];
            if (!held.is_array()) continue;
            std::vector<std::string> want = names_of(*asked);
            std::vector<std::string> extra, missing, unavailable;
            for (auto& h : held)
                if (std::find(want.begin(), want.end(), h.get<std::string>()) == want.end())
                    extra.push_back(h.get<std::string>());
            for (auto& w : want) {
                if (std::find(held.begin(), held.end(), w) != held.end()) continue;
                int bit = cap_from_name(w);
                if (bit >= 0 && !(host_bnd & (uint64_t{1} << bit)))
                    unavailable.push_back(w);
                else
                    missing.push_back(w);
            }
            if (!extra.empty())
                flag(findings, "warning", "security",
                     fmt::format("{} capabilities not in the config: {}", set,
                                 fmt::join(extra, " ")));
            if (!missing.empty())
                flag(findings, "warning", "security",
                     fmt::format("{} capabilities asked for but not held: {}", set,
                                 fmt::join(missing, " ")));
            if (!unavailable.empty())
                flag(findings, "info", "security",
                     fmt::format("{} capabilities asked for but missing on this host: {}", set,
                                 fmt::join(unavailable, " ")));
        }
    }
    for (const auto& rl : spec.process.rlimits) {
        for (auto [type, name] : kRlimitNames) {
            if (rl.type != type) continue;
            for (const auto& row : init["rlimits"]) {
                if (row["name"] != name) continue;
                if (row["soft"] != rlimit_text(rl.soft) || row["hard"] != rlimit_text(rl.hard))
                    flag(findings, "warning", "rlimits",
                         fmt::format("{}: the config asks {}/{}, the kernel has {}/{}", type,
                                     rlimit_text(rl.soft), rlimit_text(rl.hard),
                                     row["soft"].get<std::string>(),
                                     row["hard"].get<std::string>()));
            }
        }
    }
}

Json network_section(const Target& t, const Json& namespaces, Json& findings) {
    Json out = Json::object();
    for (const auto& ns : namespaces)
        if (ns["type"] == "net") {
            out["namespace"] = ns["inode"];
            out["shared_with_host"] = ns["shared_with_host"];
            out["shared_with_caller"] = ns["shared_with_caller"];
            out["shared_with"] = ns["shared_with"];
        }
    auto view = read_netns(pid_dir(t, t.init_pid) + "/ns/net");
    if (!view) {
        out["error"] = view.error().what();
        flag(findings, "warning", "network",
             "cannot read the network namespace: " + view.error().what());
        return out;
    }
    Json links = Json::array();
    for (const auto& l : view->links) {
        Json addrs = Json::array();
        for (const auto& a : view->addresses)
            if (a.index == l.index)
                addrs.push_back({{"family", a.family},
                                 {"address", a.address},
                                 {"prefix", a.prefix},
                                 {"scope", a.scope}});
        links.push_back({{"index", l.index},
                         {"name", l.name},
                         {"kind", l.kind},
                         {"mac", l.mac},
                         {"mtu", l.mtu},
                         {"up", l.up},
                         {"carrier", l.carrier},
                         {"operstate", l.operstate},
                         {"peer_netnsid", l.peer_netnsid},
                         {"addresses", addrs}});
    }
    Json routes = Json::array();
    for (const auto& r : view->routes)
        routes.push_back({{"family", r.family},
                          {"destination", r.destination},
                          {"gateway", r.gateway},
                          {"device", r.device},
                          {"protocol", r.protocol},
                          {"scope", r.scope}});
    out["interfaces"] = links;
    out["routes"] = routes;
    bool any_up = false, has_default = false;
    for (const auto& l : view->links) any_up |= l.up && l.kind != "loopback";
    for (const auto& r : view->routes) has_default |= r.destination == "default";
    if (!out["shared_with_host"].is_boolean() || !out["shared_with_host"].get<bool>()) {
        if (!any_up)
            flag(findings, "info", "network",
                 "no interface other than loopback is up: the container cannot reach any network");
        else if (!has_default)
            flag(findings, "info", "network",
                 "no default route: only directly connected networks are reachable");
        for (const auto& l : view->links)
            if (l.kind == "veth" && l.up && !l.carrier)
                flag(findings, "warning", "network",
                     fmt::format("{} is up but has no carrier: its host end is down or gone",
                                 l.name));
    }
    return out;
}

namespace {

const char* action_name(oci::SeccompAction a) {
    switch (a) {
        case oci::SeccompAction::kill_process:
            return "kill_process";
        case oci::SeccompAction::kill_thread:
            return "kill_thread";
        case oci::SeccompAction::trap:
            return "trap";
        case oci::SeccompAction::errno_ret:
            return "errno";
        case oci::SeccompAction::trace:
            return "trace";
        case oci::SeccompAction::allow:
            return "allow";
        case oci::SeccompAction::log:
            return "log";
        case oci::SeccompAction::notify:
            return "notify";
    }
    return "?";
}

// The kernel tells only that a filter is loaded (and how many); which calls it stops is in
// the config: its default and the calls whose action differs from it.
Json seccomp_config(const oci::Seccomp& sc) {
    Json differ = Json::object();
    for (const auto& rule : sc.syscalls) {
        if (rule.action == sc.default_action) continue;
        std::string action = action_name(rule.action);
        if (rule.errno_ret) action += fmt::format("({})", *rule.errno_ret);
        if (!rule.args.empty()) action += " (with argument conditions)";
        for (const auto& name : rule.names) differ[action].push_back(name);
    }
    std::string def = action_name(sc.default_action);
    if (sc.default_errno_ret) def += fmt::format("({})", *sc.default_errno_ret);
    return {{"default_action", def}, {"rules", sc.syscalls.size()}, {"not_default", differ}};
}

}  // namespace

Result<Json> explain(const Target& t) {
    if (t.init_pid <= 0) return fail_invalid("container {}: no init pid", t.id);
    if (t.init_start_time != 0 && runtime::process_start_time(t.init_pid) != t.init_start_time)
        return fail_invalid("container {}: its init (pid {}) is not running", t.id, t.init_pid);
    Json report = Json::object();
    Json findings = Json::array();
    report["id"] = t.id;
    report["init_pid"] = t.init_pid;
    report["config"] = t.config_source;
    if (!t.config)
        flag(findings, "info", "config",
             "no config to compare with: showing the kernel's view only");
    report["namespaces"] = namespaces_section(t, findings);
    report["cgroup"] = cgroup_section(t, findings);
    Json root = Json::object();
    report["mounts"] = mounts_section(t, root, findings);
    report["root"] = root;
    report["processes"] = processes_section(t, report["cgroup"], findings);
    for (const auto& p : report["processes"])
        if (p.value("init", false)) {
            report["security"] = p.value("security", Json::object());
            report["rlimits"] = p.value("rlimits", Json::array());
            if (t.config && t.config->linux.seccomp)
                report["security"]["seccomp"]["config"] = seccomp_config(*t.config->linux.seccomp);
            check_security(t, p, findings);
        }
    report["network"] = network_section(t, report["namespaces"], findings);
    report["host"] = t.extra;
    // Re-check the init: a report about a process that died meanwhile would mix two.
    if (t.init_start_time != 0 && runtime::process_start_time(t.init_pid) != t.init_start_time)
        return fail_invalid("container {}: its init (pid {}) exited while being explained", t.id,
                            t.init_pid);
    report["findings"] = findings;
    return report;
}

}  // namespace husk::explain
