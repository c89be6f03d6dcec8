#include "runtime/sync.hpp"

#include "common/unix_socket.hpp"

#include <sys/socket.h>

#include <cstring>

namespace husk::runtime {
namespace {

struct Wire {
    uint32_t type;
    int32_t errnum;
    char text[4000];
};

}  // namespace

Status sync_send(int fd, SyncType type, const Error* error, int pass_fd) {
    Wire wire{};
    wire.type = static_cast<uint32_t>(type);
    size_t length = offsetof(Wire, text);
    if (error != nullptr) {
        wire.errnum = error->errnum();
        size_t n = std::min(error->message().size(), sizeof wire.text);
        std::memcpy(wire.text, error->message().data(), n);
        length += n;
    }
    if (auto sent = send_with_fd(fd, &wire, length, pass_fd); !sent)
        return fail(sent.error().wrap("sync with the container init"));
    return {};
}

Result<SyncMessage> sync_receive(int fd) {
    Wire wire{};
    struct iovec iov {
        &wire, sizeof wire
    };
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    struct msghdr hdr {};
    hdr.msg_iov = &iov;
    hdr.msg_iovlen = 1;
    hdr.msg_control = control;
    hdr.msg_controllen = sizeof control;
    ssize_t n;
    bool reset_seen = false;
    for (;;) {
        n = ::recvmsg(fd, &hdr, MSG_CMSG_CLOEXEC);
        if (n >= 0 || errno == EINTR) {
            if (n >= 0) break;
            continue;
        }
        // An init that failed and exited while a message to it was still unread makes the
        // kernel report ECONNRESET once, ahead of the error message it queued for us: read on
        // to get that message (the reset is cleared by reporting it).
        if (errno == ECONNRESET && !reset_seen) {
            reset_seen = true;
            continue;
        }
        break;
    }
    if (n < 0) return fail_errno("sync with the container init");
    if (n == 0) return fail(Error(EPIPE, "the container init exited during setup"));
    if (static_cast<size_t>(n) < offsetof(Wire, text)) return fail_invalid("short sync message");
    SyncMessage msg;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&hdr); c != nullptr; c = CMSG_NXTHDR(&hdr, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
            c->cmsg_len == CMSG_LEN(sizeof(int))) {
            int passed;
            std::memcpy(&passed, CMSG_DATA(c), sizeof(int));
            msg.fd.reset(passed);
        }
    }
    msg.type = static_cast<SyncType>(wire.type);
    msg.errnum = wire.errnum;
    msg.text.assign(wire.text, static_cast<size_t>(n) - offsetof(Wire, text));
    return msg;
}

}  // namespace husk::runtime
