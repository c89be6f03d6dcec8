// `husk run`, `create`, `start`, `attach`: Docker's flags turned into a container record,
// and the client side of the monitor's attach stream.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>

#include "cli.hpp"
#include "common/files.hpp"
#include "container_cli.hpp"
#include "engine/attach_protocol.hpp"
#include "engine/engine.hpp"
#include "engine/ids.hpp"
#include "engine/image_pull.hpp"
#include "engine/rootless_net.hpp"
#include "engine/rootless_ns.hpp"
#include "engine/sockets.hpp"
#include "engine/volumes.hpp"
#include "net/attach.hpp"
#include "net/port_spec.hpp"
#include "runtime/rootless.hpp"
#include "runtime/trace.hpp"

namespace husk::cli {
namespace {

using engine::Frame;

struct RunFlags {
    std::string rootfs, name, workdir, user, hostname, entrypoint, stop_signal, network = "bridge";
    std::string userns;
    engine::NetworkRequest net;
    std::optional<int> stop_timeout;
    std::vector<std::string> env, env_files, labels, volumes, mounts, tmpfs, log_opts;
    std::vector<std::string> cap_add, cap_drop, security_opt, devices, ulimits;
    std::string memory, memory_swap, cpus, cpuset_cpus, restart = "no";
    int64_t cpu_shares = 0, pids_limit = 0;
    bool detach = false, interactive = false, tty = false, rm = false, read_only = false,
         privileged = false, init = false, no_healthcheck = false, debug = false;
    std::string health_cmd, health_interval, health_timeout, health_start_period;
    int health_retries = 0;
    std::string pull;
    std::vector<std::string> rest;  // [IMAGE] COMMAND...
};

void add_run_flags(CLI::App* cmd, RunFlags& f) {
    cmd->set_help_flag("--help", "print this help");  // -h is --hostname, as in Docker
    cmd->add_flag("-d,--detach", f.detach, "run in the background and print the container id");
    cmd->add_flag("-i,--interactive", f.interactive, "keep stdin open");
    cmd->add_flag("-t,--tty", f.tty, "allocate a pseudo-terminal");
    cmd->add_flag("--rm", f.rm, "remove the container when it exits");
    cmd->add_option("--rootfs", f.rootfs, "run this directory as the root filesystem");
    cmd->add_option("--name", f.name, "name of the container");
    cmd->add_option("-e,--env", f.env, "set an environment variable (KEY=VALUE or KEY)");
    cmd->add_option("--env-file", f.env_files, "read environment variables from a file");
    cmd->add_option("-w,--workdir", f.workdir, "working directory inside the container");
    cmd->add_option("-u,--user", f.user, "user[:group] (names or ids)");
    cmd->add_option("-h,--hostname", f.hostname, "container hostname");
    cmd->add_option("--entrypoint", f.entrypoint, "override the image's entrypoint");
    cmd->add_option("-l,--label", f.labels, "set a label (KEY=VALUE)");
    cmd->add_flag("--read-only", f.read_only, "mount the root filesystem read-only");
    cmd->add_option("--stop-signal", f.stop_signal, "signal that stops the container");
    cmd->add_option("--stop-timeout", f.stop_timeout, "seconds before stop kills");
    cmd->add_option("--network,--net", f.network,
                    "bridge (default), none, host, container:NAME, or a network's name");
    cmd->add_option("-p,--publish", f.net.publish,
                    "publish a port: [IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp], ranges too");
    cmd->add_flag("-P,--publish-all", f.net.publish_all,
                  "publish every exposed port on a random host port");
    cmd->add_option("--expose", f.net.expose, "expose a port or range (PORT[-PORT][/PROTO])");
    cmd->add_option("--ip", f.net.ip, "fixed IPv4 address (user networks)");
    cmd->add_option("--ip6", f.net.ip6, "fixed IPv6 address (dual-stack user networks)");
    cmd->add_option("--network-alias", f.net.aliases, "another name on a user network");
    cmd->add_option("--dns", f.net.dns, "a nameserver for /etc/resolv.conf");
    cmd->add_option("--dns-search", f.net.dns_search, "a search domain for /etc/resolv.conf");
    cmd->add_option("--dns-option", f.net.dns_options, "an options entry for /etc/resolv.conf");
    cmd->add_option("--add-host", f.net.extra_hosts, "add NAME:IP to /etc/hosts");
    cmd->add_option("-v,--volume", f.volumes, "bind or named volume: SRC:DST[:ro]");
    cmd->add_option("--mount", f.mounts, "type=bind|volume|tmpfs,source=..,target=..[,readonly]");
    cmd->add_option("--tmpfs", f.tmpfs, "mount a tmpfs: PATH[:OPTIONS]");
    cmd->add_option("--log-opt", f.log_opts, "max-size=SIZE or max-file=N");
    cmd->add_option("-m,--memory", f.memory, "memory limit (e.g. 64m)");
    cmd->add_option("--memory-swap", f.memory_swap, "memory + swap limit, -1 for unlimited");
    cmd->add_option("--cpus", f.cpus, "number of CPUs (e.g. 0.5)");
    cmd->add_option("-c,--cpu-shares", f.cpu_shares, "relative CPU weight");
    cmd->add_option("--cpuset-cpus", f.cpuset_cpus, "CPUs allowed (e.g. 0-1)");
    cmd->add_option("--pids-limit", f.pids_limit, "process limit (-1 unlimited)");
    cmd->add_option("--ulimit", f.ulimits, "NAME=SOFT[:HARD]");
    cmd->add_option("--cap-add", f.cap_add, "add a capability");
    cmd->add_option("--cap-drop", f.cap_drop, "drop a capability");
    cmd->add_option("--security-opt", f.security_opt,
                    "seccomp=FILE|unconfined, no-new-privileges[:true|false]");
    cmd->add_option("--userns", f.userns, "keep-id (rootless): your uid is the same inside");
    cmd->add_flag("--privileged", f.privileged,
                  "every capability, no seccomp, no masked paths, every device allowed");
    cmd->add_option("--device", f.devices, "HOST[:CONTAINER[:PERMISSIONS]]");
    cmd->add_flag("--init", f.init, "run a reaper as PID 1 that forwards signals");
    cmd->add_option("--restart", f.restart, "no, on-failure[:N], always, unless-stopped");
    cmd->add_option("--health-cmd", f.health_cmd, "command to check health (run by sh -c)");
    cmd->add_option("--health-interval", f.health_interval, "time between checks");
    cmd->add_option("--health-timeout", f.health_timeout, "maximum time of one check");
    cmd->add_option("--health-start-period", f.health_start_period,
                    "failures in this period do not count");
    cmd->add_option("--health-retries", f.health_retries, "failures before unhealthy");
    cmd->add_flag("--no-healthcheck", f.no_healthcheck, "disable the image's healthcheck");
    cmd->add_option("--pull", f.pull, "missing, always or never (with the image store)");
    cmd->add_flag("--debug", f.debug,
                  "print how the container was built: each step (namespaces, mounts, "
                  "network attach, cgroup, seccomp, exec) with its time");
    // IMAGE [COMMAND [ARG...]]: everything from the first positional on is the container's.
    cmd->prefix_command();
}

Result<std::vector<std::string>> read_env_file(const std::string& path) {
    auto text = read_file(path);
    if (!text) return fail(text.error().wrap("--env-file"));
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos < text->size()) {
        size_t nl = text->find('\n', pos);
        if (nl == std::string::npos) nl = text->size();
        std::string line = text->substr(pos, nl - pos);
        pos = nl + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        out.push_back(line);
    }
    return out;
}

// KEY=VALUE stays; a bare KEY takes the caller's value (and is dropped when unset).
void add_env(std::vector<std::string>& env, const std::string& item) {
    std::string entry = item;
    if (item.find('=') == std::string::npos) {
        const char* v = std::getenv(item.c_str());
        if (v == nullptr) return;
        entry = item + "=" + v;
    }
    std::string key = entry.substr(0, entry.find('='));
    std::erase_if(env, [&](const std::string& e) { return e.substr(0, e.find('=')) == key; });
    env.push_back(entry);
}

Result<engine::MountRecord> parse_volume(const std::string& spec, engine::VolumeStore& volumes) {
    std::vector<std::string> parts;
    size_t s = 0;
    while (true) {
        size_t c = spec.find(':', s);
        parts.push_back(spec.substr(s, c - s));
        if (c == std::string::npos) break;
        s = c + 1;
    }
    engine::MountRecord m;
    if (parts.size() == 1) {
        // -v /path: an anonymous volume.
        auto v = volumes.create(engine::new_container_id(), {}, true);
        if (!v) return fail(v.error());
        m.type = "volume";
        m.name = v->name;
        m.source = v->mountpoint;
        m.destination = parts[0];
    } else if (parts.size() <= 3) {
        m.destination = parts[1];
        if (parts.size() == 3) {
            size_t o = 0;
            std::string opts = parts[2];
            while (o <= opts.size()) {
                size_t c = opts.find(',', o);
                std::string opt = opts.substr(o, c - o);
                if (opt == "ro")
                    m.read_only = true;
                else if (opt == "rw" || opt.empty()) {
                } else if (opt == "z" || opt == "Z") {
                    std::cerr << "husk: -v " << spec << ": :" << opt
                              << " ignored (no SELinux on this host)\n";
                } else if (opt == "nocopy") {
                    m.no_copy = true;
                } else if (opt == "rprivate" || opt == "private") {
                } else {
                    return fail_invalid("-v {:?}: unknown option {:?}", spec, opt);
                }
                if (c == std::string::npos) break;
                o = c + 1;
            }
        }
        if (parts[0].starts_with("/")) {
            m.type = "bind";
            m.source = parts[0];
            // Docker's -v creates a missing host directory (an existing file binds as is).
            if (!path_exists(m.source)) HUSK_TRY_CTX(make_dirs(m.source), "-v {}", spec);
        } else {
            auto v = volumes.create(parts[0], {});
            if (!v) return fail(v.error().wrap("-v {}", spec));
            m.type = "volume";
            m.name = v->name;
            m.source = v->mountpoint;
        }
    } else {
        return fail_invalid("-v {:?}: expected SRC:DST[:OPTIONS]", spec);
    }
    if (!m.destination.starts_with("/"))
        return fail_invalid("-v {:?}: the container path must be absolute", spec);
    return m;
}

Result<engine::MountRecord> parse_mount(const std::string& spec, engine::VolumeStore& volumes) {
    engine::MountRecord m;
    m.type = "volume";
    size_t s = 0;
    std::vector<std::string> tmpfs_opts;
    while (s <= spec.size()) {
        size_t c = spec.find(',', s);
        std::string kv = spec.substr(s, c - s);
        auto eq = kv.find('=');
        std::string k = kv.substr(0, eq), v = eq == std::string::npos ? "" : kv.substr(eq + 1);
        if (k == "type")
            m.type = v;
        else if (k == "source" || k == "src")
            m.source = v;
        else if (k == "target" || k == "destination" || k == "dst")
            m.destination = v;
        else if (k == "readonly" || k == "ro")
            m.read_only = v.empty() || v == "true" || v == "1";
        else if (k == "tmpfs-size")
            tmpfs_opts.push_back("size=" + v);
        else if (k == "tmpfs-mode")
            tmpfs_opts.push_back("mode=" + v);
        else if (k == "bind-propagation" || k == "volume-nocopy" || k == "consistency") {
        } else if (!kv.empty())
            return fail_invalid("--mount {:?}: unknown key {:?}", spec, k);
        if (c == std::string::npos) break;
        s = c + 1;
    }
    if (m.destination.empty() || !m.destination.starts_with("/"))
        return fail_invalid("--mount {:?}: target must be an absolute path", spec);
    if (m.type == "bind") {
        if (!path_exists(m.source))
            return fail_invalid("--mount {:?}: bind source path does not exist: {}", spec,
                                m.source);
    } else if (m.type == "volume") {
        auto v = m.source.empty() ? volumes.create(engine::new_container_id(), {}, true)
                                  : volumes.create(m.source, {});
        if (!v) return fail(v.error().wrap("--mount {}", spec));
        m.name = v->name;
        m.source = v->mountpoint;
    } else if (m.type == "tmpfs") {
        for (size_t i = 0; i < tmpfs_opts.size(); ++i) m.options += (i ? "," : "") + tmpfs_opts[i];
    } else {
        return fail_invalid("--mount {:?}: type must be bind, volume or tmpfs", spec);
    }
    return m;
}

// --network, checked against what exists now, with the flags that only some modes take.
Result<std::string> network_mode_from_flags(const RunFlags& f, engine::Engine& eng) {
    std::string mode = f.network == "default" ? "bridge" : f.network;
    // Rootless: no veth, bridge or nft rule can be made on the host; a user-mode stack in
    // the container's namespace takes the default's place (docs/rootless.md).
    if (engine::already_in_user_namespace()) {
        if (mode == "bridge") mode = "pasta";
    } else if (engine::is_rootless_network_mode(mode)) {
        return fail_invalid("--network {}: for rootless husk only (root uses bridge networks)",
                            mode);
    }
    bool user_network = mode != "bridge" && mode != "none" && mode != "host" &&
                        !mode.starts_with("container:") && !engine::is_rootless_network_mode(mode);
    if (user_network && engine::already_in_user_namespace())
        return fail_invalid(
            "--network {}: user networks need root (a bridge, veths and nft rules on the host); "
            "rootless containers use pasta (the default) or slirp4netns",
            mode);
    bool publishes = !f.net.publish.empty() || f.net.publish_all;
    if (mode.starts_with("container:")) {
        auto id = eng.store().resolve(mode.substr(10));
        if (!id) return fail(id.error().wrap("--network {}", mode));
        if (publishes)
            return fail_invalid(
                "--network {}: ports cannot be published: the network is that "
                "container's",
                mode);
        mode = "container:" + *id;
    } else if (mode == "none" && publishes) {
        return fail_invalid("--network none: there is no network to publish ports on");
    } else if (mode == "host" && publishes) {
        std::cerr << "husk: published ports are discarded with --network host (the "
                     "container's ports are the host's)\n";
    } else if (user_network) {
        auto n = net::inspect_network(eng.store().root(), mode);
        if (!n) return fail(n.error().wrap("--network"));
    }
    if (!user_network && !f.net.ip6.empty())
        return fail_invalid("--ip6 {}: a fixed address needs a user network created with --ipv6",
                            f.net.ip6);
    if (!f.net.ip6.empty())
        if (auto ip = net::parse_ipv6(f.net.ip6); !ip) return fail(ip.error().wrap("--ip6"));
    if (!user_network && !f.net.ip.empty())
        return fail_invalid("--ip {}: a fixed address needs a user network (husk network create)",
                            f.net.ip);
    if (!user_network && !f.net.aliases.empty())
        return fail_invalid("--network-alias: aliases need a user network (husk network create)");
    if (!f.net.ip.empty())
        if (auto ip = net::parse_ipv4(f.net.ip); !ip) return fail(ip.error().wrap("--ip"));
    for (const auto& p : f.net.publish)
        if (auto spec = net::parse_port_spec(p); !spec) return fail(spec.error().wrap("-p {}", p));
    for (const auto& h : f.net.extra_hosts)
        if (h.find(':') == std::string::npos || h.front() == ':' || h.back() == ':')
            return fail_invalid("--add-host {:?}: expected NAME:IP", h);
    return mode;
}

// --expose 80, 80/udp, 8000-8002: "PORT/PROTO" entries, ranges expanded.
Result<std::vector<std::string>> normalize_expose(const std::vector<std::string>& items) {
    std::vector<std::string> out;
    for (const auto& item : items) {
        auto slash = item.find('/');
        std::string ports = item.substr(0, slash);
        std::string proto = slash == std::string::npos ? "tcp" : item.substr(slash + 1);
        auto spec = net::parse_port_spec(ports + "/" + proto);
        if (!spec) return fail(spec.error().wrap("--expose {}", item));
        for (int p = spec->container_first; p <= spec->container_last; ++p)
            out.push_back(std::to_string(p) + "/" + proto);
    }
    return out;
}

// Builds the record from the flags; `rootfs_request` is what the seam needs.
Result<engine::ContainerRecord> record_from_flags(const RunFlags& f, engine::Engine& eng,
                                                  engine::RootfsRequest& rootfs_request) {
    engine::ContainerRecord r;
    std::vector<std::string> command = f.rest;
    if (f.rootfs.empty()) {
        if (command.empty()) return fail_invalid("\"run\" requires an image or --rootfs DIR");
        rootfs_request.image = command.front();
        command.erase(command.begin());
    }
    rootfs_request.rootfs_dir = f.rootfs;
    if (!f.name.empty()) {
        auto n = engine::validate_name(f.name);
        if (!n) return fail(n.error());
        r.name = *n;
    }
    auto mode = network_mode_from_flags(f, eng);
    if (!mode) return fail(mode.error());
    r.network_mode = *mode;
    r.network = f.net;
    auto expose = normalize_expose(f.net.expose);
    if (!expose) return fail(expose.error());
    r.network.expose = *expose;
    if (r.network_mode == "host") r.network.publish.clear();
    r.tty = f.tty;
    r.open_stdin = f.interactive;
    r.auto_remove = f.rm;
    r.read_only = f.read_only;
    r.init = f.init;
    r.hostname = f.hostname;
    r.working_dir = f.workdir;
    r.user = f.user;
    if (!f.stop_signal.empty()) r.stop_signal = f.stop_signal;
    if (f.stop_timeout) r.stop_timeout = *f.stop_timeout;
    auto restart = engine::parse_restart_policy(f.restart);
    if (!restart) return fail(restart.error());
    r.restart = *restart;
    if (f.rm && r.restart.name != "no")
        return fail_invalid("--restart {} and --rm cannot be combined", f.restart);
    for (const auto& opt : f.log_opts) {
        auto eq = opt.find('=');
        std::string k = opt.substr(0, eq), v = eq == std::string::npos ? "" : opt.substr(eq + 1);
        if (k == "max-size") {
            auto b = engine::parse_bytes(v);
            if (!b) return fail(b.error().wrap("--log-opt {}", opt));
            r.log.max_size = *b;
        } else if (k == "max-file") {
            r.log.max_file = std::atoi(v.c_str());
            if (r.log.max_file < 1) return fail_invalid("--log-opt {}: must be >= 1", opt);
        } else {
            return fail_invalid("--log-opt {:?}: json-file takes max-size and max-file", opt);
        }
    }
    for (const auto& l : f.labels) {
        auto eq = l.find('=');
        r.labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
    }

    // Image defaults come from the seam at create (engine/process_defaults.cpp).
    for (const auto& file : f.env_files) {
        auto lines = read_env_file(file);
        if (!lines) return fail(lines.error());
        for (const auto& e : *lines) add_env(r.env, e);
    }
    for (const auto& e : f.env) add_env(r.env, e);
    if (f.tty) add_env(r.env, "TERM=xterm");
    if (!f.entrypoint.empty()) r.entrypoint = {f.entrypoint};
    r.cmd = command;

    engine::VolumeStore volumes(eng.volumes_root());
    for (const auto& v : f.volumes) {
        auto m = parse_volume(v, volumes);
        if (!m) return fail(m.error());
        r.mounts.push_back(*m);
    }
    for (const auto& spec : f.mounts) {
        auto m = parse_mount(spec, volumes);
        if (!m) return fail(m.error());
        r.mounts.push_back(*m);
    }
    for (const auto& t : f.tmpfs) {
        engine::MountRecord m;
        m.type = "tmpfs";
        auto colon = t.find(':');
        m.destination = t.substr(0, colon);
        if (colon != std::string::npos) m.options = t.substr(colon + 1);
        if (!m.destination.starts_with("/"))
            return fail_invalid("--tmpfs {:?}: the path must be absolute", t);
        r.mounts.push_back(m);
    }

    auto& hc = r.host_config;
    if (!f.memory.empty()) {
        auto b = engine::parse_bytes(f.memory);
        if (!b) return fail(b.error().wrap("--memory"));
        hc["Memory"] = *b;
    }
    if (!f.memory_swap.empty()) {
        if (f.memory_swap == "-1")
            hc["MemorySwap"] = -1;
        else {
            auto b = engine::parse_bytes(f.memory_swap);
            if (!b) return fail(b.error().wrap("--memory-swap"));
            hc["MemorySwap"] = *b;
        }
    }
    if (!f.cpus.empty()) {
        char* end = nullptr;
        double c = std::strtod(f.cpus.c_str(), &end);
        if (*end != '\0' || c <= 0)
            return fail_invalid("--cpus {:?}: expected a positive number", f.cpus);
        hc["NanoCpus"] = static_cast<int64_t>(c * 1e9);
    }
    if (f.cpu_shares) hc["CpuShares"] = f.cpu_shares;
    if (!f.cpuset_cpus.empty()) hc["CpusetCpus"] = f.cpuset_cpus;
    if (f.pids_limit) hc["PidsLimit"] = f.pids_limit;
    if (!f.userns.empty() && f.userns != "host") {
        if (f.userns != "keep-id")
            return fail_invalid("--userns {:?}: supported: keep-id (rootless), host", f.userns);
        if (!engine::already_in_user_namespace())
            return fail_invalid(
                "--userns keep-id: for rootless husk only (root's containers "
                "share the host's ids unless their config maps them)");
        auto maps = engine::keep_id_maps();
        if (!maps) return fail(maps.error().wrap("--userns keep-id"));
        hc["UsernsMode"] = "keep-id";
        hc["IdMappings"] = {{"UidMaps", maps->uid_maps}, {"GidMaps", maps->gid_maps}};
        // podman's keep-id: the process runs as the user's own ids unless --user says else.
        if (r.user.empty()) r.user = fmt::format("{}:{}", maps->uid, maps->gid);
    }
    // Rootless: refused here, before anything exists, when no delegated cgroup can take them.
    for (const char* key :
         {"Memory", "MemorySwap", "NanoCpus", "CpuShares", "CpusetCpus", "PidsLimit"}) {
        if (!hc.contains(key) || !engine::already_in_user_namespace()) continue;
        auto host = runtime::detect_cgroups();
        if (!host) return fail(host.error().wrap("detect cgroups"));
        std::string reason;
        (void)runtime::rootless_cgroups(*host, reason);
        if (!reason.empty())
            return fail_invalid(
                "resource limits (HostConfig.{}): rootless husk cannot apply "
                "them here: {}",
                key, reason);
        break;
    }
    if (!f.ulimits.empty()) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& u : f.ulimits) {
            auto eq = u.find('=');
            if (eq == std::string::npos)
                return fail_invalid("--ulimit {:?}: expected NAME=SOFT[:HARD]", u);
            std::string vals = u.substr(eq + 1);
            auto colon = vals.find(':');
            int64_t soft = std::strtoll(vals.c_str(), nullptr, 10);
            int64_t hard = colon == std::string::npos
                               ? soft
                               : std::strtoll(vals.c_str() + colon + 1, nullptr, 10);
            if (soft > hard) return fail_invalid("--ulimit {:?}: soft limit above hard limit", u);
            list.push_back({{"Name", u.substr(0, eq)}, {"Soft", soft}, {"Hard", hard}});
        }
        hc["Ulimits"] = list;
    }
    if (!f.cap_add.empty()) hc["CapAdd"] = f.cap_add;
    if (!f.cap_drop.empty()) hc["CapDrop"] = f.cap_drop;
    if (!f.security_opt.empty()) hc["SecurityOpt"] = f.security_opt;
    if (f.privileged) hc["Privileged"] = true;
    if (!f.devices.empty()) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& d : f.devices) {
            std::vector<std::string> p;
            size_t s = 0;
            while (true) {
                size_t c = d.find(':', s);
                p.push_back(d.substr(s, c - s));
                if (c == std::string::npos) break;
                s = c + 1;
            }
            list.push_back({{"PathOnHost", p[0]},
                            {"PathInContainer", p.size() > 1 ? p[1] : p[0]},
                            {"CgroupPermissions", p.size() > 2 ? p[2] : "rwm"}});
        }
        hc["Devices"] = list;
    }
    if (!f.no_healthcheck && !f.health_cmd.empty()) {
        oci::HealthConfig h;
        h.test = {"CMD-SHELL", f.health_cmd};
        auto dur = [](const std::string& s, const char* flag) -> Result<int64_t> {
            if (s.empty()) return int64_t{0};
            auto d = engine::parse_duration_ns(s);
            if (!d) return fail(d.error().wrap("{}", flag));
            return *d;
        };
        auto interval = dur(f.health_interval, "--health-interval");
        auto timeout = dur(f.health_timeout, "--health-timeout");
        auto start = dur(f.health_start_period, "--health-start-period");
        if (!interval) return fail(interval.error());
        if (!timeout) return fail(timeout.error());
        if (!start) return fail(start.error());
        h.interval = *interval;
        h.timeout = *timeout;
        h.start_period = *start;
        h.retries = f.health_retries;
        r.healthcheck = h;
    }
    if (f.no_healthcheck) r.healthcheck = oci::HealthConfig{{"NONE"}, 0, 0, 0, 0};
    if (!f.pull.empty() && f.pull != "missing" && f.pull != "always" && f.pull != "never")
        return fail_invalid("--pull {:?}: expected missing, always or never", f.pull);
    return r;
}

struct TerminalMode {
    bool active = false;
    struct termios saved {};
    void enter() {
        if (!::isatty(0) || ::tcgetattr(0, &saved) != 0) return;
        struct termios raw = saved;
        ::cfmakeraw(&raw);
        if (::tcsetattr(0, TCSANOW, &raw) == 0) active = true;
    }
    ~TerminalMode() {
        if (active) ::tcsetattr(0, TCSANOW, &saved);
    }
};

int g_signal_pipe[2] = {-1, -1};
void on_signal(int sig) {
    unsigned char b = static_cast<unsigned char>(sig);
    (void)!::write(g_signal_pipe[1], &b, 1);
}

void send_window_size(int conn) {
    struct winsize ws {};
    if (::ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
        (void)engine::send_frame(conn, Frame::resize,
                                 std::to_string(ws.ws_row) + " " + std::to_string(ws.ws_col));
}

}  // namespace

int attach_stream(engine::Engine& eng, const std::string& id, UniqueFd conn, bool stdin_open,
                  bool tty, bool proxy_signals) {
    TerminalMode term;
    if (tty) term.enter();
    if (::pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return exit_husk_error;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    if (proxy_signals && !tty)
        for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2})
            ::sigaction(sig, &sa, nullptr);
    if (tty) {
        ::sigaction(SIGWINCH, &sa, nullptr);
        send_window_size(conn.get());
    }
    ::signal(SIGPIPE, SIG_IGN);
    engine::FrameReader reader;
    bool stdin_live = stdin_open;
    while (true) {
        struct pollfd fds[3] = {{conn.get(), POLLIN, 0},
                                {stdin_live ? 0 : -1, POLLIN, 0},
                                {g_signal_pipe[0], POLLIN, 0}};
        int n = ::poll(fds, 3, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (fds[2].revents & POLLIN) {
            unsigned char sig;
            while (::read(g_signal_pipe[0], &sig, 1) == 1) {
                if (sig == SIGWINCH)
                    send_window_size(conn.get());
                else
                    (void)eng.kill(id, std::to_string(sig));
            }
        }
        if (fds[1].revents & (POLLIN | POLLHUP)) {
            char buf[65536];
            ssize_t r = ::read(0, buf, sizeof buf);
            if (r > 0) {
                (void)engine::send_frame(conn.get(), Frame::stdin_data,
                                         std::string_view(buf, static_cast<size_t>(r)));
            } else {
                stdin_live = false;
                (void)engine::send_frame(conn.get(), Frame::stdin_eof, "");
            }
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            char buf[65536];
            ssize_t r = ::recv(conn.get(), buf, sizeof buf, 0);
            if (r <= 0) break;  // the monitor went away without an exit code
            reader.feed(buf, static_cast<size_t>(r));
            Frame type{};
            std::string payload;
            while (reader.next(type, payload)) {
                if (type == Frame::stdout_data || type == Frame::stderr_data) {
                    int fd = type == Frame::stdout_data ? 1 : 2;
                    size_t off = 0;
                    while (off < payload.size()) {
                        ssize_t w = ::write(fd, payload.data() + off, payload.size() - off);
                        if (w < 0 && errno == EINTR) continue;
                        if (w <= 0) break;
                        off += static_cast<size_t>(w);
                    }
                } else if (type == Frame::exit_code) {
                    return std::atoi(payload.c_str());
                } else if (type == Frame::error) {
                    std::cerr << "husk: " << payload.substr(payload.find(' ') + 1) << "\n";
                    return std::atoi(payload.c_str());
                }
            }
        }
    }
    // The monitor is gone (killed): the container's record has the rest.
    auto v = eng.view(id);
    if (v && v->status == "exited") return v->state.exit_code;
    std::cerr << "husk: lost the connection to the monitor of " << id.substr(0, 12) << "\n";
    return exit_husk_error;
}

namespace {

Result<engine::ContainerRecord> create_from_flags(RunFlags& f, engine::Engine& eng) {
    engine::RootfsRequest req;
    auto record = record_from_flags(f, eng, req);
    if (!record) return fail(record.error());
    if (req.rootfs_dir.empty()) {
        auto policy = engine::parse_pull_policy(f.pull);
        if (!policy) return fail(policy.error());
        HUSK_TRY(engine::ensure_image(eng.store().root(), req.image, *policy,
                                      [](const std::string& line) { std::cerr << line << "\n"; }));
    }
    // The image's defaults (Entrypoint, Cmd, Env, ...) are applied by create, once the
    // rootfs seam resolved the image.
    HUSK_TRY(eng.create(*record, req));
    return record;
}

}  // namespace

void register_run_commands(CLI::App& app, Globals& g) {
    auto run_flags = std::make_shared<RunFlags>();
    auto* run = app.add_subcommand("run", "create and start a container");
    add_run_flags(run, *run_flags);
    run->callback([&g, run, run_flags] {
        auto& f = *run_flags;
        f.rest = run->remaining();
        bool trace = f.debug || g.debug;
        if (trace) {
            // One timeline from husk's main to the container's exec: this process's steps,
            // then (in the same shared buffer) the runtime's and the init's.
            runtime::trace::enable(g.started_ns);
            runtime::trace::set_who("husk");
        }
        engine::Engine eng(g.root, g.runroot);
        auto record = create_from_flags(f, eng);
        if (!record) {
            g.exit_code = report(record.error());
            return;
        }
        const std::string* id = &record->id;
        auto started = eng.start(*id, trace, &*record);
        if (trace)
            if (auto text = read_file(eng.store().dir(*id) + "/trace.log")) std::cerr << *text;
        if (!started) {
            std::cerr << "husk: " << started.error().error.what() << "\n";
            g.exit_code = started.error().exit_code;
            return;
        }
        if (f.detach) {
            std::cout << *id << "\n";
            return;
        }
        g.exit_code =
            attach_stream(eng, *id, std::move(started->connection), f.interactive, f.tty, true);
    });

    auto create_flags = std::make_shared<RunFlags>();
    auto* create = app.add_subcommand("create", "create a container without starting it");
    add_run_flags(create, *create_flags);
    create->callback([&g, create, create_flags] {
        create_flags->rest = create->remaining();
        engine::Engine eng(g.root, g.runroot);
        auto record = create_from_flags(*create_flags, eng);
        if (!record) {
            g.exit_code = report(record.error());
            return;
        }
        std::cout << record->id << "\n";
    });

    struct StartFlags {
        bool attach = false, interactive = false;
        std::vector<std::string> ids;
    };
    auto sf = std::make_shared<StartFlags>();
    auto* start = app.add_subcommand("start", "start one or more stopped containers");
    start->add_flag("-a,--attach", sf->attach, "attach stdout/stderr and return the exit code");
    start->add_flag("-i,--interactive", sf->interactive, "attach stdin");
    start->add_option("containers", sf->ids, "containers")->required();
    start->callback([&g, sf] {
        engine::Engine eng(g.root, g.runroot);
        for (const auto& ref : sf->ids) {
            auto id = eng.store().resolve(ref);
            if (!id) {
                g.exit_code = report(id.error());
                continue;
            }
            auto started = eng.start(*id);
            if (!started) {
                std::cerr << "husk: " << started.error().error.what() << "\n";
                g.exit_code = started.error().exit_code;
                continue;
            }
            if (sf->attach && started->connection) {
                auto v = eng.view(*id);
                bool tty = v && v->record.tty;
                g.exit_code = attach_stream(eng, *id, std::move(started->connection),
                                            sf->interactive, tty, true);
                return;
            }
            std::cout << ref << "\n";
        }
    });

    struct AttachFlags {
        bool no_stdin = false;
        std::string ref;
    };
    auto af = std::make_shared<AttachFlags>();
    auto* attach = app.add_subcommand("attach", "attach to a running container's stdio");
    attach->add_flag("--no-stdin", af->no_stdin, "do not attach stdin");
    attach->add_option("container", af->ref, "container")->required();
    attach->callback([&g, af] {
        engine::Engine eng(g.root, g.runroot);
        auto v = eng.find(af->ref);
        if (!v) {
            g.exit_code = report(v.error());
            return;
        }
        const std::string* id = &v->record.id;
        if (!v->monitored || v->status != "running") {
            g.exit_code = report(Error::invalid("cannot attach to {}: it is not running", af->ref));
            return;
        }
        auto conn = engine::connect_unix(eng.store().dir(*id), "attach.sock");
        if (!conn) {
            g.exit_code = report(conn.error());
            return;
        }
        g.exit_code = attach_stream(eng, *id, std::move(*conn),
                                    !af->no_stdin && v->record.open_stdin, v->record.tty, true);
    });
}

}  // namespace husk::cli
