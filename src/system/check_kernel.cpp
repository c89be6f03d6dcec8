// Namespaces, seccomp and capabilities: what the runtime needs from the kernel and from the
// process that runs it.
#include <sched.h>
#include <sys/capability.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <sstream>

#include "common/files.hpp"
#include "system/doctor.hpp"

namespace husk::system {
namespace {

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
    size_t start = s.find_first_not_of(" \t");
    return start == std::string::npos ? "" : s.substr(start);
}

// "Name:\tvalue" from /proc/self/status; empty when absent.
std::string status_field(const std::string& status, const std::string& name) {
    std::istringstream in(status);
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with(name + ":")) return trim(line.substr(name.size() + 1));
    return "";
}

std::string upper(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

struct NsKind {
    const char* name;  // /proc/self/ns/<name>
    const char* sysctl;
    int flag;
    bool required;
};
const NsKind ns_kinds[] = {
    {"mnt", "max_mnt_namespaces", CLONE_NEWNS, true},
    {"pid", "max_pid_namespaces", CLONE_NEWPID, true},
    {"net", "max_net_namespaces", CLONE_NEWNET, true},
    {"uts", "max_uts_namespaces", CLONE_NEWUTS, true},
    {"ipc", "max_ipc_namespaces", CLONE_NEWIPC, true},
    {"user", "max_user_namespaces", CLONE_NEWUSER, false},
    {"cgroup", "max_cgroup_namespaces", CLONE_NEWCGROUP, false},
    {"time", "max_time_namespaces", 0x80 /* CLONE_NEWTIME */, false},
};

}  // namespace

std::string capability_name(int cap) {
    char* name = cap_to_name(static_cast<cap_value_t>(cap));
    std::string out = name ? upper(name) : std::to_string(cap);
    if (name) cap_free(name);
    if (!out.starts_with("CAP_")) out = "CAP_" + out;  // libcap prints unknown ones as numbers
    return out;
}

std::vector<std::string> capability_names(uint64_t mask, int last_cap) {
    std::vector<std::string> out;
    for (int c = 0; c <= last_cap && c < 64; ++c)
        if (mask & (uint64_t{1} << c)) out.push_back(capability_name(c));
    return out;
}

void check_namespaces(const Context& ctx, std::vector<CheckResult>& out) {
    CheckResult avail;
    avail.id = "namespaces.available";
    avail.title = "namespaces";
    CheckResult limits;
    limits.id = "namespaces.limits";
    limits.title = "namespace limits";
    std::vector<std::string> missing_required, missing_optional, zero_limit;
    nlohmann::json kinds = nlohmann::json::object();
    for (auto& k : ns_kinds) {
        bool present = path_exists(ctx.host.path(std::string("/proc/self/ns/") + k.name));
        // A namespace type can exist and still be refused (a limit of 0, a seccomp filter,
        // no privilege): the live host is asked directly.
        int probe = 0;
        if (present && ctx.probes) probe = ctx.probes->try_unshare(k.flag);
        bool usable = present && probe == 0;
        kinds[k.name] = usable;
        if (!usable) {
            (k.required ? missing_required : missing_optional).push_back(k.name);
            avail.evidence.push_back(
                present
                    ? fmt::format("unshare({}) failed: {}", k.name, std::strerror(probe))
                    : fmt::format("/proc/self/ns/{} is missing (kernel built without it)", k.name));
        }
        auto max = read_file(ctx.host.path(std::string("/proc/sys/user/") + k.sysctl));
        if (max) {
            std::string v = trim(*max);
            limits.facts[k.sysctl] = v;
            limits.evidence.push_back(fmt::format("/proc/sys/user/{}: {}", k.sysctl, v));
            if (v == "0") zero_limit.push_back(k.sysctl);
        }
    }
    avail.facts["namespaces"] = kinds;
    if (!missing_required.empty()) {
        avail.level = Level::fail;
        avail.summary = fmt::format("cannot create {} namespaces: containers cannot start",
                                    fmt::join(missing_required, ", "));
        avail.fix =
            "run husk as root with CAP_SYS_ADMIN on a kernel with CONFIG_NAMESPACES "
            "(and the per-type options); check /proc/sys/user/max_*_namespaces";
    } else if (!missing_optional.empty()) {
        avail.level = Level::warn;
        avail.summary = fmt::format(
            "{} namespaces unavailable: containers that ask for them "
            "are refused",
            fmt::join(missing_optional, ", "));
        avail.fix =
            "use a kernel with CONFIG_USER_NS, CONFIG_CGROUPS and CONFIG_TIME_NS; "
            "check /proc/sys/user/max_*_namespaces";
    } else {
        avail.summary = "mnt pid net uts ipc user cgroup time";
    }
    out.push_back(std::move(avail));

    auto clone = read_file(ctx.host.path("/proc/sys/kernel/unprivileged_userns_clone"));
    if (clone) {
        std::string v = trim(*clone);
        limits.facts["unprivileged_userns_clone"] = v;
        limits.evidence.push_back(fmt::format("/proc/sys/kernel/unprivileged_userns_clone: {}", v));
        if (v == "0") zero_limit.push_back("unprivileged_userns_clone");
    }
    if (!zero_limit.empty()) {
        limits.level = Level::warn;
        limits.summary = fmt::format("disabled by sysctl: {}", fmt::join(zero_limit, ", "));
        std::string fix;
        for (auto& z : zero_limit)
            fix += fmt::format("{}sysctl -w {}.{}=", fix.empty() ? "" : "\n",
                               z == "unprivileged_userns_clone" ? "kernel" : "user", z) +
                   (z == "unprivileged_userns_clone" ? "1" : "15000");
        limits.fix = fix;
    } else {
        limits.summary = "no namespace type is limited to 0";
    }
    out.push_back(std::move(limits));
}

void check_security(const Context& ctx, std::vector<CheckResult>& out) {
    auto status = read_file(ctx.host.path("/proc/self/status"));
    std::string text = status ? *status : "";

    CheckResult seccomp;
    seccomp.id = "security.seccomp";
    seccomp.title = "seccomp";
    std::string mode = status_field(text, "Seccomp");
    std::string filters = status_field(text, "Seccomp_filters");
    seccomp.facts["mode"] = mode;
    seccomp.evidence.push_back(
        fmt::format("/proc/self/status Seccomp: {}", mode.empty() ? "(absent)" : mode));
    auto actions = read_file(ctx.host.path("/proc/sys/kernel/seccomp/actions_avail"));
    if (actions) seccomp.evidence.push_back("actions_avail: " + trim(*actions));
    if (!status) {
        seccomp.level = Level::fail;
        seccomp.summary = fmt::format("cannot read {}: {}", ctx.host.path("/proc/self/status"),
                                      status.error().what());
        seccomp.fix = "husk system bootstrap   # mounts /proc";
    } else if (mode.empty() || !actions) {
        seccomp.level = Level::warn;
        seccomp.summary =
            "the kernel has no seccomp filters: the default profile cannot be "
            "applied";
        seccomp.fix =
            "use a kernel with CONFIG_SECCOMP_FILTER, or run containers without a "
            "profile (linux.seccomp removed; --security-opt seccomp=unconfined)";
    } else if (mode == "2") {
        seccomp.summary = fmt::format(
            "available; husk itself already runs under {} filter(s), which containers inherit",
            filters.empty() ? "a" : filters);
    } else {
        seccomp.summary = "available (husk itself runs unfiltered)";
    }
    out.push_back(std::move(seccomp));

    CheckResult caps;
    caps.id = "security.capabilities";
    caps.title = "capabilities";
    int last_cap = 40;
    if (auto t = read_file(ctx.host.path("/proc/sys/kernel/cap_last_cap"))) {
        try {
            last_cap = std::stoi(*t);
        } catch (...) {
        }
    }
    std::string eff_hex = status_field(text, "CapEff");
    std::string bnd_hex = status_field(text, "CapBnd");
    uint64_t eff = 0, bnd = 0;
    try {
        eff = eff_hex.empty() ? 0 : std::stoull(eff_hex, nullptr, 16);
        bnd = bnd_hex.empty() ? 0 : std::stoull(bnd_hex, nullptr, 16);
    } catch (...) {
    }
    uint64_t all = last_cap >= 63 ? ~uint64_t{0} : (uint64_t{2} << last_cap) - 1;
    auto missing = capability_names(all & ~eff, last_cap);
    auto missing_bnd = capability_names(all & ~bnd, last_cap);
    caps.facts["effective"] = eff_hex;
    caps.facts["bounding"] = bnd_hex;
    caps.facts["missing"] = missing;
    caps.facts["missing_bounding"] = missing_bnd;
    caps.evidence.push_back(
        fmt::format("/proc/self/status CapEff: {} CapBnd: {} (cap_last_cap "
                    "{})",
                    eff_hex, bnd_hex, last_cap));
    // Why each one matters, for the ones whose absence changes what husk can do.
    struct Need {
        const char* cap;
        Level level;
        const char* why;
    };
    const Need needs[] = {
        {"CAP_SYS_ADMIN", Level::fail, "mounts and namespaces"},
        {"CAP_SETPCAP", Level::fail, "dropping the container's capabilities"},
        {"CAP_SETUID", Level::fail, "the container's user"},
        {"CAP_SETGID", Level::fail, "the container's groups"},
        {"CAP_SYS_CHROOT", Level::fail, "entering the rootfs"},
        {"CAP_SYS_RESOURCE", Level::warn,
         "rlimits above the current hard limit and negative oom_score_adj are refused"},
        {"CAP_NET_ADMIN", Level::warn, "bridge networking (veth, addresses, nft rules)"},
        {"CAP_MKNOD", Level::warn, "device nodes are bind-mounted instead of created"},
        {"CAP_DAC_OVERRIDE", Level::warn, "files in the store owned by other users"},
        {"CAP_CHOWN", Level::warn, "image layers with other owners"},
        {"CAP_FOWNER", Level::warn, "image layers with other owners"},
        {"CAP_KILL", Level::warn, "signalling containers run as other users"},
        {"CAP_SYS_PTRACE", Level::warn, "joining containers' namespaces (exec)"},
    };
    for (auto& n : needs) {
        if (std::find(missing.begin(), missing.end(), n.cap) == missing.end()) continue;
        if (n.level == Level::fail) caps.level = Level::fail;
        if (n.level == Level::warn && caps.level == Level::pass) caps.level = Level::warn;
        caps.evidence.push_back(fmt::format("{} missing: {}", n.cap, n.why));
    }
    if (!status) {
        caps.level = Level::fail;
        caps.summary = "cannot read /proc/self/status";
        caps.fix = "husk system bootstrap   # mounts /proc";
    } else if (missing.empty()) {
        caps.summary = "all capabilities held";
    } else {
        caps.summary = fmt::format("missing {}", fmt::join(missing, " "));
        if (caps.level != Level::pass)
            caps.fix =
                "run husk as root with the full capability set (the sandbox or VM "
                "that starts husk drops these; containers cannot get them back)";
    }
    out.push_back(std::move(caps));
}

}  // namespace husk::system
