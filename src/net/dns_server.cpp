#include "net/dns_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <sstream>

#include "common/files.hpp"
#include "common/unique_fd.hpp"
#include "net/dns.hpp"
#include "net/store.hpp"

namespace husk::net {

std::string dns_question(const std::string& q, uint16_t* qtype) {
    if (q.size() < 12) return {};
    auto u16 = [&](size_t at) {
        return static_cast<uint16_t>((static_cast<uint8_t>(q[at]) << 8) |
                                     static_cast<uint8_t>(q[at + 1]));
    };
    if (u16(4) != 1 || (static_cast<uint8_t>(q[2]) & 0x80)) return {};  // one question, a query
    std::string name;
    size_t i = 12;
    while (i < q.size()) {
        size_t len = static_cast<uint8_t>(q[i]);
        if (len == 0) break;
        if (len > 63 || i + 1 + len > q.size()) return {};
        if (!name.empty()) name += '.';
        for (size_t k = 0; k < len; ++k)
            name += static_cast<char>(std::tolower(static_cast<unsigned char>(q[i + 1 + k])));
        i += 1 + len;
    }
    if (i + 5 > q.size()) return {};
    if (qtype) *qtype = u16(i + 1);
    return name;
}

std::string dns_answer(const std::string& q, const std::string& name, uint32_t ipv4) {
    (void)name;
    return dns_answer_for(q, ipv4, std::nullopt);
}

std::string dns_answer_for(const std::string& q, std::optional<uint32_t> ipv4,
                           std::optional<Ipv6> ipv6) {
    uint16_t qtype = 0;
    std::string asked = dns_question(q, &qtype);
    if (asked.empty()) return {};
    size_t qend = 12;
    while (static_cast<uint8_t>(q[qend]) != 0) qend += 1 + static_cast<uint8_t>(q[qend]);
    qend += 5;
    std::string r = q.substr(0, qend);
    r[2] = static_cast<char>(0x84 | (q[2] & 0x01));  // response, authoritative, RD copied
    r[3] = static_cast<char>(0x80);                  // recursion available, NOERROR
    bool a = ipv4 && (qtype == 1 || qtype == 255);
    bool aaaa = ipv6 && (qtype == 28 || qtype == 255);
    r[6] = 0;
    r[7] = static_cast<char>((a ? 1 : 0) + (aaaa ? 1 : 0));  // none: NODATA for that type
    r[8] = r[9] = r[10] = r[11] = 0;
    if (a) {
        const unsigned char rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4};  // ptr, A, IN, ttl 5
        r.append(reinterpret_cast<const char*>(rr), sizeof rr);
        uint32_t be = htonl(*ipv4);
        r.append(reinterpret_cast<const char*>(&be), 4);
    }
    if (aaaa) {
        const unsigned char rr[] = {0xc0, 0x0c, 0, 28, 0, 1, 0, 0, 0, 5, 0, 16};  // AAAA
        r.append(reinterpret_cast<const char*>(rr), sizeof rr);
        r.append(reinterpret_cast<const char*>(ipv6->bytes.data()), 16);
    }
    return r;
}

size_t dns_udp_limit(const std::string& q) {
    // The client's EDNS buffer size (an OPT record right after the one question), else 512.
    size_t i = 12;
    while (i < q.size() && static_cast<uint8_t>(q[i]) != 0) i += 1 + static_cast<uint8_t>(q[i]);
    i += 5;
    bool has_additional = q.size() >= 12 && (q[10] != 0 || q[11] != 0);
    if (!has_additional || i + 5 > q.size() || q[i] != 0 || q[i + 1] != 0 ||
        static_cast<uint8_t>(q[i + 2]) != 41)
        return 512;
    size_t size = (static_cast<uint8_t>(q[i + 3]) << 8) | static_cast<uint8_t>(q[i + 4]);
    return std::clamp<size_t>(size, 512, 65535);
}

std::string dns_truncated(const std::string& reply) {
    // The header and the question, TC set, no records: the client asks again over TCP.
    if (reply.size() < 12) return reply;
    size_t i = 12;
    while (i < reply.size() && static_cast<uint8_t>(reply[i]) != 0)
        i += 1 + static_cast<uint8_t>(reply[i]);
    i = std::min(i + 5, reply.size());
    std::string r = reply.substr(0, i);
    r[2] = static_cast<char>(r[2] | 0x02);
    for (int k = 6; k < 12; ++k) r[static_cast<size_t>(k)] = 0;
    return r;
}

namespace {

std::string error_reply(const std::string& q, uint8_t rcode) {
    std::string r = q.substr(0, std::min<size_t>(q.size(), 512));
    if (r.size() < 12) return {};
    r[2] = static_cast<char>(0x80 | (q[2] & 0x01));
    r[3] = static_cast<char>(0x80 | rcode);
    return r;
}

std::string upstream_server() {
    auto text = read_file(host_resolv_conf_path());
    if (!text) return {};
    std::istringstream in(*text);
    std::string key, value;
    while (in >> key) {
        if (key == "nameserver" && in >> value && !value.starts_with("127.") &&
            value.find(':') == std::string::npos)
            return value;
    }
    return {};
}

// Reads exactly n bytes within `ms` milliseconds overall.
bool read_full(int fd, char* out, size_t n, int ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    for (size_t got = 0; got < n;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now())
                        .count();
        pollfd p{fd, POLLIN, 0};
        if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) != 1) return false;
        ssize_t r = ::read(fd, out + got, n - got);
        if (r <= 0) return false;
        got += static_cast<size_t>(r);
    }
    return true;
}

bool write_full(int fd, const std::string& data) {
    for (size_t done = 0; done < data.size();) {
        ssize_t w = ::write(fd, data.data() + done, data.size() - done);
        if (w <= 0) return false;
        done += static_cast<size_t>(w);
    }
    return true;
}

// One DNS message over a TCP stream: a 2-byte length, then the message.
std::string read_tcp_message(int fd, int ms) {
    unsigned char len[2];
    if (!read_full(fd, reinterpret_cast<char*>(len), 2, ms)) return {};
    std::string msg((len[0] << 8) | len[1], '\0');
    if (msg.empty() || !read_full(fd, msg.data(), msg.size(), ms)) return {};
    return msg;
}

std::string tcp_framed(const std::string& msg) {
    std::string out(2, '\0');
    out[0] = static_cast<char>(msg.size() >> 8);
    out[1] = static_cast<char>(msg.size() & 0xff);
    return out + msg;
}

std::string forward_tcp(const std::string& query, const sockaddr_in& sa) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return {};
    timeval tv{2, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) return {};
    if (!write_full(fd.get(), tcp_framed(query))) return {};
    return read_tcp_message(fd.get(), 2000);
}

// Asks the host's nameserver over UDP, and again over TCP when the answer came truncated.
std::string forward(const std::string& query, const std::string& server) {
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(53);
    if (!fd || ::inet_pton(AF_INET, server.c_str(), &sa.sin_addr) != 1) return {};
    if (::sendto(fd.get(), query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&sa),
                 sizeof sa) < 0)
        return {};
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 2000) != 1) return {};
    char buf[65536];
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 12) return {};
    std::string reply(buf, static_cast<size_t>(n));
    if (static_cast<uint8_t>(reply[2]) & 0x02) {
        std::string full = forward_tcp(query, sa);
        if (!full.empty()) return full;
    }
    return reply;
}

// The answer to one query: a container of the network, else the host's nameserver for
// dotted names, else NXDOMAIN.
std::string answer(const Network& n, const std::string& q, const std::string& upstream) {
    uint16_t qtype = 0;
    std::string name = dns_question(q, &qtype);
    if (name.empty()) return {};
    for (const auto& [id, e] : n.endpoints) {
        bool match = name == id || name == e.hostname;
        for (const auto& a : e.aliases) match |= name == a;
        if (match) return dns_answer_for(q, e.ip.value, e.ip6);
    }
    std::string reply;
    if (name.find('.') != std::string::npos && !upstream.empty()) reply = forward(q, upstream);
    if (reply.empty()) reply = error_reply(q, 3);  // NXDOMAIN
    return reply;
}

}  // namespace

Status serve_dns(const std::string& root, const std::string& network) {
    auto store = Store::open(root);
    if (!store) return fail(store.error());
    auto rec = store->get(network);
    if (!rec) return fail(rec.error());
    if (!*rec) return fail_invalid("network {} not found", network);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(53);
    sa.sin_addr.s_addr = htonl((*rec)->gateway.value);
    UniqueFd udp(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!udp) return fail_errno("dns socket");
    if (::bind(udp.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
        return fail_errno("bind {}:53 for network {}", (*rec)->gateway.str(), network);
    // TCP on the same port: for answers too large for UDP (RFC 7766).
    UniqueFd tcp(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!tcp) return fail_errno("dns socket");
    int one = 1;
    ::setsockopt(tcp.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(tcp.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        ::listen(tcp.get(), 16) != 0)
        return fail_errno("bind {}:53/tcp for network {}", (*rec)->gateway.str(), network);
    ::signal(SIGPIPE, SIG_IGN);
    std::string upstream = upstream_server();
    for (;;) {
        pollfd p[2] = {{udp.get(), POLLIN, 0}, {tcp.get(), POLLIN, 0}};
        int ready = ::poll(p, 2, 1000);
        auto now = store->get(network);
        // The network went away (rm, prune) or emptied: nothing left to answer for.
        if (!now || !*now || (*now)->endpoints.empty() || (*now)->id != (*rec)->id) return {};
        if (ready <= 0) continue;
        if (p[0].revents & POLLIN) {
            char buf[1500];
            sockaddr_in from{};
            socklen_t flen = sizeof from;
            ssize_t n = ::recvfrom(udp.get(), buf, sizeof buf, 0,
                                   reinterpret_cast<sockaddr*>(&from), &flen);
            if (n > 0) {
                std::string q(buf, static_cast<size_t>(n));
                std::string reply = answer(**now, q, upstream);
                if (reply.size() > dns_udp_limit(q)) reply = dns_truncated(reply);
                if (!reply.empty())
                    ::sendto(udp.get(), reply.data(), reply.size(), 0,
                             reinterpret_cast<sockaddr*>(&from), flen);
            }
        }
        if (p[1].revents & POLLIN) {
            UniqueFd c(::accept4(tcp.get(), nullptr, nullptr, SOCK_CLOEXEC));
            if (!c) continue;
            timeval tv{2, 0};
            ::setsockopt(c.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
            // Queries on one connection until the client closes it or idles for a second
            // (resolvers send A and AAAA back to back).
            for (int k = 0; k < 8; ++k) {
                std::string q = read_tcp_message(c.get(), 1000);
                if (q.empty()) break;
                std::string reply = answer(**now, q, upstream);
                if (reply.empty() || !write_full(c.get(), tcp_framed(reply))) break;
            }
        }
    }
}

void start_dns(const std::string& root, const std::string& network) {
    pid_t pid = ::fork();
    if (pid < 0) return;
    if (pid > 0) {
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        return;
    }
    // Child: detach from the caller's session, then fork the server so it is reparented
    // and never becomes the caller's zombie.
    ::setsid();
    if (::fork() != 0) ::_exit(0);
    // Nothing of the caller's may stay open here: the store lock (a flock held by an
    // inherited descriptor would never be released) or a pipe a caller waits to see closed.
    ::close_range(3, ~0U, 0);
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        ::dup2(null, 0);
        ::dup2(null, 1);
        ::dup2(null, 2);
    }
    ::signal(SIGHUP, SIG_IGN);
    auto st = serve_dns(root, network);  // EADDRINUSE: another server already answers
    ::_exit(st ? 0 : 1);
}

}  // namespace husk::net
