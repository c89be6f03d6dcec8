#include "net/port_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "net/store.hpp"

namespace husk::net {

namespace {

// The container's address as a sockaddr of its own family.
bool target_addr(const std::string& ip, uint16_t port, sockaddr_storage& ss, socklen_t& len) {
    ss = {};
    if (ip.find(':') != std::string::npos) {
        auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
        sa->sin6_family = AF_INET6;
        sa->sin6_port = htons(port);
        len = sizeof *sa;
        return ::inet_pton(AF_INET6, ip.c_str(), &sa->sin6_addr) == 1;
    }
    auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    len = sizeof *sa;
    return ::inet_pton(AF_INET, ip.c_str(), &sa->sin_addr) == 1;
}

// Connects within 2 s; -1 when the container does not answer.
int connect_target(const std::string& ip, uint16_t port, int type) {
    sockaddr_storage ss;
    socklen_t len = 0;
    if (!target_addr(ip, port, ss, len)) return -1;
    int fd = ::socket(ss.ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS) {
        ::close(fd);
        return -1;
    }
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t elen = sizeof err;
    if (::poll(&p, 1, 2000) != 1 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 ||
        err != 0) {
        ::close(fd);
        return -1;
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

// Copies both ways until both sides closed; a half-close is passed on.
void relay(int a, int b) {
    bool open_a = true, open_b = true;
    char buf[65536];
    while (open_a || open_b) {
        pollfd p[2] = {{open_a ? a : -1, POLLIN, 0}, {open_b ? b : -1, POLLIN, 0}};
        if (::poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return;
        }
        for (int i = 0; i < 2; ++i) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            int from = i == 0 ? a : b, to = i == 0 ? b : a;
            ssize_t n = ::read(from, buf, sizeof buf);
            if (n <= 0) {
                ::shutdown(to, SHUT_WR);
                (i == 0 ? open_a : open_b) = false;
                if (n < 0) return;
                continue;
            }
            for (ssize_t done = 0; done < n;) {
                ssize_t w = ::write(to, buf + done, static_cast<size_t>(n - done));
                if (w <= 0) return;
                done += w;
            }
        }
    }
}

bool endpoint_alive(const Store& store, const std::string& network, const std::string& network_id,
                    const std::string& container_id, const std::string& host_veth) {
    auto rec = store.get(network);
    if (!rec || !*rec || (*rec)->id != network_id) return false;
    if (!(*rec)->endpoints.contains(container_id)) return false;
    return ::if_nametoindex(host_veth.c_str()) != 0;
}

struct UdpSession {
    sockaddr_in6 client{};
    int fd = -1;
    std::chrono::steady_clock::time_point last;
};

[[noreturn]] void serve(const std::string& root, const std::string& network,
                        const std::string& network_id, const std::string& container_id,
                        const std::string& host_veth, std::vector<ProxyListener>& listeners) {
    auto store = Store::open(root);
    if (!store) ::_exit(1);
    ::signal(SIGCHLD, SIG_IGN);  // relay children are reaped by the kernel
    // Per UDP listener: client address -> connected socket to the container.
    std::map<size_t, std::vector<UdpSession>> udp;
    auto next_check = std::chrono::steady_clock::now();
    for (;;) {
        auto now = std::chrono::steady_clock::now();
        if (now >= next_check) {
            if (!endpoint_alive(*store, network, network_id, container_id, host_veth)) ::_exit(0);
            next_check = now + std::chrono::seconds(1);
        }
        std::vector<pollfd> fds;
        std::vector<std::pair<size_t, int>> owner;  // (listener, session index or -1)
        for (size_t i = 0; i < listeners.size(); ++i) {
            fds.push_back({listeners[i].fd.get(), POLLIN, 0});
            owner.emplace_back(i, -1);
            auto& sessions = udp[i];
            for (size_t k = 0; k < sessions.size(); ++k) {
                fds.push_back({sessions[k].fd, POLLIN, 0});
                owner.emplace_back(i, static_cast<int>(k));
            }
        }
        if (::poll(fds.data(), fds.size(), 500) <= 0) continue;
        for (size_t f = 0; f < fds.size(); ++f) {
            if (!(fds[f].revents & POLLIN)) continue;
            auto [li, si] = owner[f];
            auto& l = listeners[li];
            if (l.binding.proto == Proto::tcp) {
                int client = ::accept4(l.fd.get(), nullptr, nullptr, SOCK_CLOEXEC);
                if (client < 0) continue;
                pid_t pid = ::fork();
                if (pid == 0) {
                    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
                    int up = connect_target(l.target, l.binding.container_port, SOCK_STREAM);
                    if (up >= 0) relay(client, up);
                    ::_exit(0);
                }
                ::close(client);
                continue;
            }
            char buf[65536];
            auto& sessions = udp[li];
            if (si < 0) {
                sockaddr_in6 from{};
                socklen_t flen = sizeof from;
                ssize_t n = ::recvfrom(l.fd.get(), buf, sizeof buf, 0,
                                       reinterpret_cast<sockaddr*>(&from), &flen);
                if (n < 0) continue;
                auto it = std::find_if(sessions.begin(), sessions.end(), [&](const UdpSession& s) {
                    return s.client.sin6_port == from.sin6_port &&
                           std::equal(std::begin(s.client.sin6_addr.s6_addr),
                                      std::end(s.client.sin6_addr.s6_addr),
                                      std::begin(from.sin6_addr.s6_addr));
                });
                if (it == sessions.end()) {
                    int up = connect_target(l.target, l.binding.container_port, SOCK_DGRAM);
                    if (up < 0) continue;
                    sessions.push_back({from, up, now});
                    it = sessions.end() - 1;
                }
                it->last = now;
                (void)::send(it->fd, buf, static_cast<size_t>(n), 0);
            } else {
                auto& s = sessions[static_cast<size_t>(si)];
                ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
                if (n < 0) continue;
                s.last = now;
                (void)::sendto(l.fd.get(), buf, static_cast<size_t>(n), 0,
                               reinterpret_cast<sockaddr*>(&s.client), sizeof s.client);
            }
        }
        // UDP has no close: a session idle for a minute is forgotten.
        for (auto& [li, sessions] : udp)
            std::erase_if(sessions, [&](const UdpSession& s) {
                bool idle = now - s.last > std::chrono::seconds(60);
                if (idle) ::close(s.fd);
                return idle;
            });
    }
}

}  // namespace

Result<ProxyListener> bind_proxy_listener(const PortBinding& b, const std::string& target) {
    bool tcp = b.proto == Proto::tcp;
    UniqueFd fd(::socket(AF_INET6, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0));
    if (!fd) return fail_errno("socket for {}", b.str());
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (tcp) ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(b.host_port);
    std::copy(b.host_ip6->bytes.begin(), b.host_ip6->bytes.end(), sa.sin6_addr.s6_addr);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
        return fail_errno("publish {}: bind {}:{}", b.str(), b.host_str(), b.host_port);
    if (tcp && ::listen(fd.get(), 128) != 0) return fail_errno("publish {}: listen", b.str());
    return ProxyListener{b, target, std::move(fd)};
}

void start_proxy(const std::string& root, const std::string& network, const std::string& network_id,
                 const std::string& container_id, const std::string& host_veth,
                 std::vector<ProxyListener> listeners) {
    if (listeners.empty()) return;
    pid_t pid = ::fork();
    if (pid < 0) return;
    if (pid > 0) {
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        return;  // the listeners close here; the server holds its own copies
    }
    ::setsid();
    if (::fork() != 0) ::_exit(0);
    // Keep only the listeners: never the store lock or a caller's pipe (see start_dns).
    std::vector<int> keep;
    for (const auto& l : listeners) keep.push_back(l.fd.get());
    std::sort(keep.begin(), keep.end());
    unsigned from = 3;
    for (int k : keep) {
        if (static_cast<unsigned>(k) > from) ::close_range(from, static_cast<unsigned>(k) - 1, 0);
        from = static_cast<unsigned>(k) + 1;
    }
    ::close_range(from, ~0U, 0);
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        ::dup2(null, 0);
        ::dup2(null, 1);
        ::dup2(null, 2);
        if (null > 2 && !std::binary_search(keep.begin(), keep.end(), null)) ::close(null);
    }
    ::signal(SIGHUP, SIG_IGN);
    serve(root, network, network_id, container_id, host_veth, listeners);
}

}  // namespace husk::net
