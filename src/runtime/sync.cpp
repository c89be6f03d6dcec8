#include "runtime/sync.hpp"

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

Status sync_send(int fd, SyncType type, const Error* error) {
    Wire wire{};
    wire.type = static_cast<uint32_t>(type);
    size_t length = offsetof(Wire, text);
    if (error != nullptr) {
        wire.errnum = error->errnum();
        size_t n = std::min(error->message().size(), sizeof wire.text);
        std::memcpy(wire.text, error->message().data(), n);
        length += n;
    }
    for (;;) {
        if (::send(fd, &wire, length, MSG_NOSIGNAL) >= 0) return {};
        if (errno != EINTR) return fail_errno("sync with the container init");
    }
}

Result<SyncMessage> sync_receive(int fd) {
    Wire wire{};
    ssize_t n;
    do {
        n = ::recv(fd, &wire, sizeof wire, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return fail_errno("sync with the container init");
    if (n == 0) return fail(Error(EPIPE, "the container init exited during setup"));
    if (static_cast<size_t>(n) < offsetof(Wire, text)) return fail_invalid("short sync message");
    SyncMessage msg;
    msg.type = static_cast<SyncType>(wire.type);
    msg.errnum = wire.errnum;
    msg.text.assign(wire.text, static_cast<size_t>(n) - offsetof(Wire, text));
    return msg;
}

}  // namespace husk::runtime
