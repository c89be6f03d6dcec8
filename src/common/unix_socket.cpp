#include "common/unix_socket.hpp"

#include <sys/socket.h>

#include <cstring>

namespace husk {

Status send_with_fd(int socket_fd, const void* data, size_t length, int fd) {
    struct iovec iov {
        const_cast<void*>(data), length
    };
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (fd >= 0) {
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
    }
    for (;;) {
        if (::sendmsg(socket_fd, &msg, MSG_NOSIGNAL) >= 0) return {};
        if (errno != EINTR) return fail_errno("sendmsg");
    }
}

}  // namespace husk
