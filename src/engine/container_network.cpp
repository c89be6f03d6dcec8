#include "engine/container_network.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include <nlohmann/json.hpp>

#include "common/files.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"

namespace husk::engine {
namespace {

using Json = nlohmann::json;

struct ProcessOutput {
    int status = 0;
    std::string out, err;
};

// Runs argv with stdin on /dev/null and both outputs captured (the monitor has no
// terminal, and a failure's message must reach the user).
Result<ProcessOutput> run_captured(const std::vector<std::string>& args) {
    int out_pipe[2], err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) return fail_errno("pipe");
    UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]);
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) return fail_errno("pipe");
    UniqueFd err_r(err_pipe[0]), err_w(err_pipe[1]);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) return fail_errno("fork {}", args[0]);
    if (pid == 0) {
        int null_fd = ::open("/dev/null", O_RDONLY);
        ::dup2(null_fd, 0);
        ::dup2(out_w.get(), 1);
        ::dup2(err_w.get(), 2);
        ::syscall(SYS_close_range, 3U, ~0U, 0U);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execv(argv[0], argv.data());
        std::string msg = std::string("husk: exec ") + argv[0] + ": " + std::strerror(errno);
        (void)!::write(2, msg.data(), msg.size());
        ::_exit(127);
    }
    out_w.reset();
    err_w.reset();
    ProcessOutput result;
    struct pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
    int open_pipes = 2;
    while (open_pipes > 0) {
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char buf[4096];
            ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(n));
            } else if (n == 0 || errno != EINTR) {
                fds[i].fd = -1;
                --open_pipes;
            }
        }
    }
    while (::waitpid(pid, &result.status, 0) < 0) {
        if (errno != EINTR) return fail_errno("wait for {}", args[0]);
    }
    return result;
}

// husk's own message from its stderr ("husk: ...", last line), for the user.
std::string husk_message(const std::string& err) {
    std::string text = err;
    while (!text.empty() && text.back() == '\n') text.pop_back();
    auto nl = text.rfind('\n');
    std::string last = nl == std::string::npos ? text : text.substr(nl + 1);
    if (last.starts_with("husk: ")) last = last.substr(6);
    return last.empty() ? "no message" : last;
}

// --dns replaces the nameservers; --dns-search and --dns-option replace those lines and
// keep the nameservers of `base`.
std::string apply_dns_flags(const std::string& base, const NetworkRequest& n) {
    if (n.dns.empty() && n.dns_search.empty() && n.dns_options.empty()) return base;
    std::string out;
    for (const auto& s : n.dns) out += "nameserver " + s + "\n";
    size_t pos = 0;
    while (pos < base.size()) {
        size_t nl = base.find('\n', pos);
        if (nl == std::string::npos) nl = base.size();
        std::string line = base.substr(pos, nl - pos);
        pos = nl + 1;
        bool is_server = line.starts_with("nameserver");
        bool is_search = line.starts_with("search") || line.starts_with("domain");
        bool is_options = line.starts_with("options");
        if ((is_server && n.dns.empty()) || (is_search && n.dns_search.empty()) ||
            (is_options && n.dns_options.empty()))
            out += line + "\n";
    }
    if (!n.dns_search.empty()) {
        out += "search";
        for (const auto& s : n.dns_search) out += " " + s;
        out += "\n";
    }
    if (!n.dns_options.empty()) {
        out += "options";
        for (const auto& s : n.dns_options) out += " " + s;
        out += "\n";
    }
    return out;
}

// The host's resolv.conf as a container without its own network sees it: loopback
// nameservers (a local stub resolver) are unreachable from another namespace.
std::string host_resolv_conf_for_container() {
    auto host = read_file("/etc/resolv.conf");
    std::string out;
    int servers = 0;
    if (host) {
        size_t pos = 0;
        while (pos < host->size()) {
            size_t nl = host->find('\n', pos);
            if (nl == std::string::npos) nl = host->size();
            std::string line = host->substr(pos, nl - pos);
            pos = nl + 1;
            if (line.starts_with("nameserver")) {
                auto value = line.substr(line.find_first_not_of(" \t", 10));
                if (value.starts_with("127.") || value == "::1") continue;
                ++servers;
            }
            if (!line.empty() && line[0] != '#' && line[0] != ';') out += line + "\n";
        }
    }
    if (servers == 0) out += "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";
    return out;
}

std::string hosts_for(const ContainerRecord& r) {
    std::string out =
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
        "ff02::2\tip6-allrouters\n";
    for (const auto& h : r.network.extra_hosts) {
        auto colon = h.find(':');
        out += h.substr(colon + 1) + "\t" + h.substr(0, colon) + "\n";
    }
    return out;
}

// In place (O_TRUNC, no rename): a running container sees the file through a bind mount
// that pins its inode.
Status rewrite_in_place(const std::string& path, const std::string& content) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd) return fail_errno("write {}", path);
    if (::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size()))
        return fail_errno("write {}", path);
    return {};
}

void run_detach(const ContainerRecord& r, const std::string& net_binary, const std::string& root) {
    auto done = run_captured({net_binary, "--root", root, "detach", "--id", r.id});
    if (!done)
        log::warn("detach {} from its networks: {}", r.id, done.error().what());
    else if (!WIFEXITED(done->status) || WEXITSTATUS(done->status) != 0)
        log::warn("detach {} from its networks: {}", r.id, husk_message(done->err));
}

}  // namespace

bool uses_network_driver(const ContainerRecord& r) {
    // pasta and slirp4netns (rootless) are the monitor's own, not husk-net's.
    return r.network_mode != "none" && r.network_mode != "host" &&
           !r.network_mode.starts_with("container:") && r.network_mode != "pasta" &&
           r.network_mode != "slirp4netns";
}

std::string joined_container(const ContainerRecord& r) {
    return r.network_mode.starts_with("container:") ? r.network_mode.substr(10) : "";
}

Status write_network_files(const ContainerRecord& r, const std::string& dir) {
    if (!joined_container(r).empty()) return {};
    std::string hosts, resolv;
    if (r.network_mode == "host") {
        auto host_hosts = read_file("/etc/hosts");
        hosts = host_hosts ? *host_hosts : hosts_for(r);
        for (const auto& h : r.network.extra_hosts) {
            auto colon = h.find(':');
            hosts += h.substr(colon + 1) + "\t" + h.substr(0, colon) + "\n";
        }
        auto host_resolv = read_file("/etc/resolv.conf");
        resolv = host_resolv ? *host_resolv : "";
    } else {
        // For a network driver the attach rewrites both with the container's address and
        // the network's nameserver; until then (and for `none`) the plain versions.
        hosts = hosts_for(r);
        if (r.network_mode == "none") hosts += "127.0.0.1\t" + r.hostname + "\n";
        resolv = host_resolv_conf_for_container();
    }
    resolv = apply_dns_flags(resolv, r.network);
    HUSK_TRY(write_file_atomic(dir + "/hosts", hosts, 0644, Durability::survive_crash));
    HUSK_TRY(write_file_atomic(dir + "/resolv.conf", resolv, 0644, Durability::survive_crash));
    HUSK_TRY(
        write_file_atomic(dir + "/hostname", r.hostname + "\n", 0644, Durability::survive_crash));
    return {};
}

std::vector<std::pair<std::string, std::string>> network_file_mounts(
    const ContainerRecord& r, const std::string& dir, const std::string& containers_dir) {
    std::string joined = joined_container(r);
    std::string from = joined.empty() ? dir : containers_dir + "/" + joined;
    std::vector<std::pair<std::string, std::string>> out = {
        {from + "/hosts", "/etc/hosts"}, {from + "/resolv.conf", "/etc/resolv.conf"}};
    // The hostname file is the container's own even when it joins another's network.
    if (joined.empty()) out.push_back({dir + "/hostname", "/etc/hostname"});
    return out;
}

std::optional<NetworkAttachment> load_attachment(const std::string& dir) {
    auto text = read_file(dir + "/network.json");
    if (!text) return std::nullopt;
    try {
        auto j = Json::parse(*text);
        NetworkAttachment a;
        a.network = j.value("network", "");
        a.ifname = j.value("ifname", "");
        a.ip = j.value("ip", "");
        a.prefix = j.value("prefix", 0);
        a.gateway = j.value("gateway", "");
        a.mac = j.value("mac", "");
        a.ip6 = j.value("ip6", "");
        a.gateway6 = j.value("gateway6", "");
        a.prefix6 = j.value("prefix6", 0);
        a.sysctls_changed = j.value("sysctls_changed", std::vector<std::string>{});
        for (const auto& p : j.value("ports", Json::array()))
            a.ports.push_back({p.value("host_ip", ""), p.value("host_port", 0),
                               p.value("container_port", 0), p.value("proto", "tcp")});
        return a;
    } catch (const Json::exception&) {
        return std::nullopt;
    }
}

Result<NetworkAttachment> attach_network(const ContainerRecord& r, const std::string& net_binary,
                                         const std::string& root, const std::string& dir, int pid) {
    std::vector<std::string> args = {
        net_binary,    "--root",       root,
        "attach",      r.network_mode, "--id",
        r.id,          "--netns",      "/proc/" + std::to_string(pid) + "/ns/net",
        "--hostname",  r.hostname,     "--hosts-file",
        dir + "/hosts"};
    // Peers resolve the container by name and short id too, as on Docker's user networks.
    std::vector<std::string> aliases = r.network.aliases;
    if (!r.name.empty()) aliases.insert(aliases.begin(), r.name);
    aliases.push_back(r.id.substr(0, 12));
    for (const auto& a : aliases) args.insert(args.end(), {"--alias", a});
    for (const auto& p : r.network.publish) args.insert(args.end(), {"-p", p});
    if (r.network.publish_all)
        for (const auto& e : r.network.expose) args.insert(args.end(), {"-p", e});
    if (!r.network.ip.empty()) args.insert(args.end(), {"--ip", r.network.ip});
    if (!r.network.ip6.empty()) args.insert(args.end(), {"--ip6", r.network.ip6});
    for (const auto& h : r.network.extra_hosts) args.insert(args.end(), {"--add-host", h});
    auto done = run_captured(args);
    if (!done) return fail(done.error().wrap("attach to network {}", r.network_mode));
    if (!WIFEXITED(done->status) || WEXITSTATUS(done->status) != 0)
        return fail_invalid("{}", husk_message(done->err));
    NetworkAttachment a;
    Json j;
    try {
        j = Json::parse(done->out);
    } catch (const Json::exception& e) {
        run_detach(r, net_binary, root);
        return fail_invalid("attach to network {}: unreadable answer: {}", r.network_mode,
                            e.what());
    }
    std::string resolv = apply_dns_flags(j.value("resolv_conf", ""), r.network);
    Status st =
        write_file_atomic(dir + "/network.json", j.dump(2) + "\n", 0644, Durability::survive_crash);
    if (st) st = rewrite_in_place(dir + "/resolv.conf", resolv);
    if (!st) {
        run_detach(r, net_binary, root);
        ::unlink((dir + "/network.json").c_str());
        return fail(st.error());
    }
    auto loaded = load_attachment(dir);
    if (!loaded) return fail_invalid("{}/network.json: unreadable after writing it", dir);
    return *loaded;
}

void detach_network(const ContainerRecord& r, const std::string& net_binary,
                    const std::string& root, const std::string& dir) {
    if (!path_exists(dir + "/network.json")) return;
    run_detach(r, net_binary, root);
    ::unlink((dir + "/network.json").c_str());
}

}  // namespace husk::engine
