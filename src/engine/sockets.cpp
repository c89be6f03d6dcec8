#include "engine/sockets.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "common/safe_path.hpp"

namespace husk::engine {
namespace {

Result<std::pair<UniqueFd, sockaddr_un>> address(const std::string& dir, const std::string& name) {
    UniqueFd dirfd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dirfd) return fail_errno("open {}", dir);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string path = fd_path(dirfd.get()) + "/" + name;
    if (path.size() >= sizeof addr.sun_path) return fail_invalid("socket name too long: {}", name);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return std::pair{std::move(dirfd), addr};
}

}  // namespace

Result<UniqueFd> listen_unix(const std::string& dir, const std::string& name) {
    auto a = address(dir, name);
    if (!a) return fail(a.error());
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return fail_errno("socket");
    ::unlinkat(a->first.get(), name.c_str(), 0);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a->second), sizeof a->second) != 0)
        return fail_errno("bind {}/{}", dir, name);
    if (::listen(fd.get(), 16) != 0) return fail_errno("listen {}/{}", dir, name);
    return fd;
}

Result<UniqueFd> connect_unix(const std::string& dir, const std::string& name) {
    auto a = address(dir, name);
    if (!a) return fail(a.error());
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return fail_errno("socket");
    while (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a->second), sizeof a->second) != 0) {
        if (errno == EINTR) continue;
        return fail_errno("connect {}/{}", dir, name);
    }
    return fd;
}

Result<UniqueFd> receive_fd(int socket_fd) {
    char data[256];
    iovec iov{data, sizeof data};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do {
        n = ::recvmsg(socket_fd, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return fail_errno("receive fd");
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
            return UniqueFd(fd);
        }
    }
    return fail_invalid("receive fd: no fd in the message");
}

}  // namespace husk::engine
