// A seccomp notify agent for the tests: listens on a unix socket, receives the listener fd
// and the container process state (SCM_RIGHTS) from the runtime, writes the state to
// OUT.state, then answers every notification with errno EXDEV, appending the syscall number
// to OUT.log. Usage: seccomp-listener SOCKET OUT
#define _GNU_SOURCE
#include <errno.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc != 3) return 2;
    int srv = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    strncpy(addr.sun_path, argv[1], sizeof addr.sun_path - 1);
    unlink(argv[1]);
    if (bind(srv, (struct sockaddr*)&addr, sizeof addr) || listen(srv, 1)) return perror("bind"), 1;
    char ready[4096];
    snprintf(ready, sizeof ready, "%s.ready", argv[2]);
    fclose(fopen(ready, "w"));
    int conn = accept(srv, NULL, NULL);
    if (conn < 0) return perror("accept"), 1;

    char buf[65536];
    char control[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {buf, sizeof buf - 1};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    ssize_t n = recvmsg(conn, &msg, 0);
    if (n < 0) return perror("recvmsg"), 1;
    buf[n] = 0;
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_type != SCM_RIGHTS) return fprintf(stderr, "no fd\n"), 1;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    char path[4096];
    snprintf(path, sizeof path, "%s.state", argv[2]);
    FILE* f = fopen(path, "w");
    fputs(buf, f);
    fclose(f);

    struct seccomp_notif_sizes sizes;
    if (syscall(__NR_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes)) return perror("sizes"), 1;
    struct seccomp_notif* req = calloc(1, sizes.seccomp_notif);
    struct seccomp_notif_resp* resp = calloc(1, sizes.seccomp_notif_resp);
    snprintf(path, sizeof path, "%s.log", argv[2]);
    for (;;) {
        memset(req, 0, sizes.seccomp_notif);
        if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, req) != 0) {
            if (errno == EINTR) continue;
            break;  // ENOENT/EBADF: the filter's last user is gone
        }
        f = fopen(path, "a");
        fprintf(f, "%d\n", req->data.nr);
        fclose(f);
        memset(resp, 0, sizes.seccomp_notif_resp);
        resp->id = req->id;
        resp->error = -EXDEV;
        ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp);
    }
    return 0;
}
