#include "engine/rootless_net.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/files.hpp"
#include "common/scope_exit.hpp"
#include "common/unique_fd.hpp"

namespace husk::engine {
namespace {

// The helper's own complaint, for the error.
std::string tail_of(const std::string& path) {
    auto text = read_file(path);
    if (!text || text->empty()) return "no output";
    std::string t = *text;
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
    if (t.size() > 400) t = "..." + t.substr(t.size() - 400);
    return t;
}

// Starts `argv` with stdin/stdout on /dev/null and stderr into `log`; extra fds listed in
// `keep` stay open (they must not be O_CLOEXEC in the child).
Result<pid_t> spawn(const std::vector<std::string>& args, const std::string& log, int keep = -1,
                    const std::string& cwd = "") {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    UniqueFd log_fd(::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!log_fd) return fail_errno("open {}", log);
    pid_t pid = ::fork();
    if (pid < 0) return fail_errno("fork {}", args[0]);
    if (pid == 0) {
        int null = ::open("/dev/null", O_RDWR);
        ::dup2(null, 0);
        ::dup2(null, 1);
        ::dup2(log_fd.get(), 2);
        // Only stdio and `keep`: a helper holding a copy of any other fd of the monitor's
        // (the container's output pipes, should one ever lose O_CLOEXEC) would keep it
        // open for the container's whole life, and the monitor waiting for its EOF.
        if (keep >= 0) {
            ::fcntl(keep, F_SETFD, 0);
            if (keep > 3) ::syscall(SYS_close_range, 3U, static_cast<unsigned>(keep - 1), 0U);
            ::syscall(SYS_close_range, static_cast<unsigned>(keep + 1), ~0U, 0U);
        } else {
            ::syscall(SYS_close_range, 3U, ~0U, 0U);
        }
        if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(127);
        // The monitor ignores SIGPIPE and blocks what its signalfd reads: the helper starts
        // clean (pasta refuses to start when SIGPIPE is already ignored).
        for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::setsid();  // out of the monitor's process group: its signals are not ours
        ::execvp(argv[0], argv.data());
        ::dprintf(2, "exec %s: %s\n", argv[0], ::strerror(errno));
        ::_exit(127);
    }
    return pid;
}

void kill_and_reap(pid_t pid) {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 100; ++i) {
        // ECHILD: a subreaper's own wait loop (the monitor's) already took it.
        pid_t r = ::waitpid(pid, nullptr, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD)) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
}

std::string forward_text(const ForwardedPort& p) {
    std::string ip = p.host_ip.empty() || p.host_ip == "0.0.0.0" ? "" : p.host_ip + "/";
    return fmt::format("{}{}:{}", ip, p.host_port, p.container_port);
}

// pasta in the foreground writes its pid file once the namespace is configured and the ports
// are bound: that is the readiness signal.
Status start_pasta(RootlessNet& net, const std::vector<ForwardedPort>& ports,
                   const std::string& dir) {
    std::string pid_file = dir + "/pasta.pid", log = dir + "/pasta.log";
    (void)::unlink(pid_file.c_str());
    std::vector<std::string> args = {"pasta", "--config-net", "--quiet", "--foreground",
                                     // Root of the user namespace already is the user:
                                     // without this pasta would switch to nobody and lose
                                     // the capabilities it needs in the namespace.
                                     "--runas", "0",
                                     // Docker's isolation: the container does not reach the
                                     // host's loopback through the gateway, and no port bound
                                     // on either side is forwarded unless published.
                                     "--no-map-gw", "-T", "none", "-U", "none", "--netns",
                                     net.netns_file, "--pid", pid_file};
    bool tcp = false, udp = false;
    for (const auto& p : ports) {
        args.push_back(p.udp ? "-u" : "-t");
        args.push_back(forward_text(p));
        (p.udp ? udp : tcp) = true;
    }
    if (!tcp) args.insert(args.end(), {"-t", "none"});
    if (!udp) args.insert(args.end(), {"-u", "none"});
    auto pid = spawn(args, log);
    if (!pid) return fail(pid.error());
    net.pid = *pid;
    for (int i = 0; i < 1000; ++i) {
        if (path_exists(pid_file)) return {};
        int status = 0;
        if (::waitpid(net.pid, &status, WNOHANG) == net.pid) {
            net.pid = 0;
            return fail_invalid("pasta exited with status {}: {}",
                                WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                                tail_of(log));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return fail_invalid("pasta did not become ready in 5 s: {}", tail_of(log));
}

Status slirp_api(const std::string& socket_path, const std::string& request) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return fail_errno("socket");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof addr.sun_path)
        return fail_invalid("{}: path too long for a unix socket", socket_path);
    socket_path.copy(addr.sun_path, socket_path.size());
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        return fail_errno("connect {}", socket_path);
    if (::write(fd.get(), request.data(), request.size()) != static_cast<ssize_t>(request.size()))
        return fail_errno("write {}", socket_path);
    ::shutdown(fd.get(), SHUT_WR);
    std::string reply;
    char buf[512];
    for (ssize_t n; (n = ::read(fd.get(), buf, sizeof buf)) > 0;)
        reply.append(buf, static_cast<size_t>(n));
    if (reply.find("\"error\"") != std::string::npos)
        return fail_invalid("slirp4netns refused {}: {}", request, reply);
    return {};
}

// slirp4netns writes "1" to --ready-fd once the tap is configured; ports are added through
// its API socket afterwards.
Status start_slirp(RootlessNet& net, const std::vector<ForwardedPort>& ports,
                   const std::string& dir) {
    // A unix socket path has 108 bytes: slirp4netns binds it relative to the container dir
    // (its cwd), and we connect through a dir fd.
    std::string log = dir + "/slirp4netns.log";
    (void)::unlink((dir + "/slirp.sock").c_str());
    UniqueFd dir_fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir_fd) return fail_errno("open {}", dir);
    std::string api = fmt::format("/proc/self/fd/{}/slirp.sock", dir_fd.get());
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0) return fail_errno("pipe");
    UniqueFd ready_r(pipefd[0]), ready_w(pipefd[1]);
    std::vector<std::string> args = {
        "slirp4netns",       "--configure",
        "--mtu=65520",       "--disable-host-loopback",
        "--netns-type=path", fmt::format("--ready-fd={}", ready_w.get()),
        "--api-socket",      "slirp.sock",
        net.netns_file,      "tap0"};
    auto pid = spawn(args, log, ready_w.get(), dir);
    if (!pid) return fail(pid.error());
    net.pid = *pid;
    ready_w.reset();
    struct pollfd p {
        ready_r.get(), POLLIN, 0
    };
    char byte = 0;
    if (::poll(&p, 1, 5000) != 1 || ::read(ready_r.get(), &byte, 1) != 1 || byte != '1')
        return fail_invalid("slirp4netns did not become ready: {}", tail_of(log));
    for (const auto& port : ports) {
        std::string host = port.host_ip.empty() ? "0.0.0.0" : port.host_ip;
        HUSK_TRY(slirp_api(
            api, fmt::format(R"({{"execute":"add_hostfwd","arguments":{{"proto":"{}",)"
                             R"("host_addr":"{}","host_port":{},"guest_port":{}}}}})",
                             port.udp ? "udp" : "tcp", host, port.host_port, port.container_port)));
    }
    return {};
}

// A free port on the host for `-p 80`: what the kernel gives a bind to port 0.
Result<uint16_t> free_host_port(const std::string& ip, bool udp) {
    UniqueFd fd(::socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0));
    if (!fd) return fail_errno("socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    if (::inet_pton(AF_INET, ip.empty() ? "0.0.0.0" : ip.c_str(), &addr.sin_addr) != 1)
        return fail_invalid("-p: {:?} is not an IPv4 address", ip);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        return fail_errno("-p: pick a free port on {}", ip.empty() ? "0.0.0.0" : ip);
    socklen_t len = sizeof addr;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    return ntohs(addr.sin_port);
}

Result<std::pair<int, int>> port_range(const std::string& text, const std::string& spec) {
    try {
        size_t dash = text.find('-');
        int first = std::stoi(text.substr(0, dash));
        int last = dash == std::string::npos ? first : std::stoi(text.substr(dash + 1));
        if (first < 1 || last > 65535 || last < first) throw std::out_of_range(text);
        return std::pair{first, last};
    } catch (const std::exception&) {
        return fail_invalid("-p {}: bad port {:?}", spec, text);
    }
}

}  // namespace

bool is_rootless_network_mode(const std::string& mode) {
    return mode == "pasta" || mode == "slirp4netns";
}

Result<std::vector<ForwardedPort>> forwarded_ports(const std::vector<std::string>& publish) {
    std::vector<ForwardedPort> out;
    for (const auto& spec : publish) {
        std::string text = spec;
        bool udp = false;
        if (auto slash = text.find('/'); slash != std::string::npos) {
            udp = text.substr(slash + 1) == "udp";
            text.resize(slash);
        }
        std::vector<std::string> parts;
        for (size_t start = 0;;) {
            size_t colon = text.find(':', start);
            parts.push_back(text.substr(start, colon - start));
            if (colon == std::string::npos) break;
            start = colon + 1;
        }
        if (parts.size() > 3) return fail_invalid("-p {}: too many fields", spec);
        std::string ip = parts.size() == 3 ? parts[0] : "";
        std::string host = parts.size() >= 2 ? parts[parts.size() - 2] : "";
        auto container = port_range(parts.back(), spec);
        if (!container) return fail(container.error());
        int count = container->second - container->first + 1;
        int host_first = 0;
        if (!host.empty()) {
            auto h = port_range(host, spec);
            if (!h) return fail(h.error());
            if (h->second - h->first + 1 != count && h->first != h->second)
                return fail_invalid("-p {}: the host and container ranges differ in size", spec);
            host_first = h->first;
        }
        for (int i = 0; i < count; ++i) {
            ForwardedPort p;
            p.host_ip = ip;
            p.udp = udp;
            p.container_port = static_cast<uint16_t>(container->first + i);
            if (host_first != 0) {
                p.host_port = static_cast<uint16_t>(host_first + i);
            } else {
                auto free = free_host_port(ip, udp);
                if (!free) return fail(free.error());
                p.host_port = *free;
            }
            out.push_back(p);
        }
    }
    return out;
}

std::vector<std::string> published_specs(const std::vector<std::string>& publish, bool publish_all,
                                         const std::vector<std::string>& expose) {
    std::vector<std::string> out = publish;
    if (!publish_all) return out;
    // "PORT[/PROTO]" of every container port -p already forwards (ranges expanded).
    std::vector<std::string> taken;
    for (const auto& spec : publish) {
        std::string text = spec, proto = "tcp";
        if (auto slash = text.find('/'); slash != std::string::npos) {
            proto = text.substr(slash + 1);
            text.resize(slash);
        }
        auto range = port_range(text.substr(text.rfind(':') + 1), spec);
        if (!range) continue;  // refused later by forwarded_ports, with the reason
        for (int p = range->first; p <= range->second; ++p)
            taken.push_back(fmt::format("{}/{}", p, proto));
    }
    for (const auto& e : expose) {
        std::string norm = e.find('/') == std::string::npos ? e + "/tcp" : e;
        if (std::find(taken.begin(), taken.end(), norm) != taken.end()) continue;
        taken.push_back(norm);
        out.push_back(norm);
    }
    return out;
}

Result<RootlessNetDriver> parse_rootless_net_driver(const std::string& name) {
    if (name == "pasta") return RootlessNetDriver::pasta;
    if (name == "slirp4netns") return RootlessNetDriver::slirp4netns;
    return fail_invalid("rootless network {:?}: not one of pasta, slirp4netns", name);
}

const char* rootless_net_driver_name(RootlessNetDriver driver) {
    return driver == RootlessNetDriver::pasta ? "pasta" : "slirp4netns";
}

Result<RootlessNet> start_rootless_network(RootlessNetDriver driver, pid_t container_pid,
                                           const std::vector<ForwardedPort>& ports,
                                           const std::string& dir) {
    RootlessNet net;
    net.driver = driver;
    net.netns_file = dir + "/netns";
    // A file to bind the namespace onto, in the rootless mount namespace (gone with it).
    UniqueFd file(::open(net.netns_file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    if (!file) return fail_errno("create {}", net.netns_file);
    file.reset();
    std::string source = fmt::format("/proc/{}/ns/net", container_pid);
    if (::mount(source.c_str(), net.netns_file.c_str(), nullptr, MS_BIND, nullptr) != 0) {
        int saved = errno;
        (void)::unlink(net.netns_file.c_str());
        errno = saved;
        return fail_errno("bind {} to {}", source, net.netns_file);
    }
    auto undo = ScopeExit([&] { stop_rootless_network(net); });
    Status started = driver == RootlessNetDriver::pasta ? start_pasta(net, ports, dir)
                                                        : start_slirp(net, ports, dir);
    if (!started)
        return fail(
            started.error().wrap("rootless network ({})", rootless_net_driver_name(driver)));
    undo.dismiss();
    return net;
}

Status save_rootless_attachment(const std::string& dir, const RootlessNet& net,
                                const std::vector<ForwardedPort>& ports) {
    nlohmann::json j = {{"network", rootless_net_driver_name(net.driver)},
                        {"ports", nlohmann::json::array()}};
    for (const auto& p : ports)
        j["ports"].push_back({{"host_ip", p.host_ip.empty() ? "0.0.0.0" : p.host_ip},
                              {"host_port", p.host_port},
                              {"container_port", p.container_port},
                              {"proto", p.udp ? "udp" : "tcp"}});
    return write_file_atomic(dir + "/network.json", j.dump(2) + "\n", 0644,
                             Durability::survive_crash);
}

void remove_rootless_attachment(const std::string& dir) {
    (void)::unlink((dir + "/network.json").c_str());
}

void stop_rootless_network(const RootlessNet& net) {
    kill_and_reap(net.pid);
    if (!net.netns_file.empty()) {
        ::umount2(net.netns_file.c_str(), MNT_DETACH);
        (void)::unlink(net.netns_file.c_str());
    }
}

}  // namespace husk::engine
