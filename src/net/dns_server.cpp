#include "net/dns_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <sstream>

#include "common/files.hpp"
#include "common/unique_fd.hpp"
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
    uint16_t qtype = 0;
    std::string asked = dns_question(q, &qtype);
    if (asked.empty()) return {};
    size_t qend = 12;
    while (static_cast<uint8_t>(q[qend]) != 0) qend += 1 + static_cast<uint8_t>(q[qend]);
    qend += 5;
    std::string r = q.substr(0, qend);
    r[2] = static_cast<char>(0x84 | (q[2] & 0x01));  // response, authoritative, RD copied
    r[3] = static_cast<char>(0x80);                  // recursion available, NOERROR
    bool a = qtype == 1 || qtype == 255;
    r[6] = 0;
    r[7] = a ? 1 : 0;  // one answer for A, none (NODATA) for other types
    r[8] = r[9] = r[10] = r[11] = 0;
    if (a) {
        const unsigned char rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4};  // ptr, A, IN, ttl 5
        r.append(reinterpret_cast<const char*>(rr), sizeof rr);
        uint32_t be = htonl(ipv4);
        r.append(reinterpret_cast<const char*>(&be), 4);
    }
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
    auto text = read_file("/etc/resolv.conf");
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
    char buf[1500];
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

}  // namespace

Status serve_dns(const std::string& root, const std::string& network) {
    auto store = Store::open(root);
    if (!store) return fail(store.error());
    auto rec = store->get(network);
    if (!rec) return fail(rec.error());
    if (!*rec) return fail_invalid("network {} not found", network);
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) return fail_errno("dns socket");
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(53);
    sa.sin_addr.s_addr = htonl((*rec)->gateway.value);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
        return fail_errno("bind {}:53 for network {}", (*rec)->gateway.str(), network);
    std::string upstream = upstream_server();
    for (;;) {
        pollfd p{fd.get(), POLLIN, 0};
        int ready = ::poll(&p, 1, 1000);
        auto now = store->get(network);
        // The network went away (rm, prune) or emptied: nothing left to answer for.
        if (!now || !*now || (*now)->endpoints.empty() || (*now)->id != (*rec)->id) return {};
        if (ready != 1) continue;
        char buf[1500];
        sockaddr_in from{};
        socklen_t flen = sizeof from;
        ssize_t n =
            ::recvfrom(fd.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &flen);
        if (n <= 0) continue;
        std::string q(buf, static_cast<size_t>(n));
        uint16_t qtype = 0;
        std::string name = dns_question(q, &qtype);
        if (name.empty()) continue;
        std::string reply;
        for (const auto& [id, e] : (*now)->endpoints) {
            bool match = name == id || name == e.hostname;
            for (const auto& a : e.aliases) match |= name == a;
            if (match) {
                reply = dns_answer(q, name, e.ip.value);
                break;
            }
        }
        if (reply.empty() && name.find('.') != std::string::npos && !upstream.empty())
            reply = forward(q, upstream);
        if (reply.empty()) reply = error_reply(q, 3);  // NXDOMAIN
        ::sendto(fd.get(), reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), flen);
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
