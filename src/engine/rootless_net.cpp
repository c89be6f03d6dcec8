#include "engine/rootless_net.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>

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
Result<pid_t> spawn(const std::vector<std::string>& args, const std::string& log, int keep = -1) {
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
        if (keep >= 0) ::fcntl(keep, F_SETFD, 0);
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
    std::string api = dir + "/slirp.sock", log = dir + "/slirp4netns.log";
    (void)::unlink(api.c_str());
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0) return fail_errno("pipe");
    UniqueFd ready_r(pipefd[0]), ready_w(pipefd[1]);
    std::vector<std::string> args = {
        "slirp4netns",       "--configure",
        "--mtu=65520",       "--disable-host-loopback",
        "--netns-type=path", fmt::format("--ready-fd={}", ready_w.get()),
        "--api-socket",      api,
        net.netns_file,      "tap0"};
    auto pid = spawn(args, log, ready_w.get());
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

}  // namespace

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

void stop_rootless_network(const RootlessNet& net) {
    kill_and_reap(net.pid);
    if (!net.netns_file.empty()) {
        ::umount2(net.netns_file.c_str(), MNT_DETACH);
        (void)::unlink(net.netns_file.c_str());
    }
}

}  // namespace husk::engine
