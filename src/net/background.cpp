#include "net/background.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "net/netlink.hpp"

namespace husk::net {

namespace {
bool enabled = false;
bool pending = false;

void delete_links(const std::vector<std::string>& links) {
    if (links.empty()) return;
    auto nl = Netlink::open();
    if (!nl) return;
    for (const auto& l : links) (void)nl->delete_link(l);
}
}  // namespace

void set_background_cleanup(bool on) {
    enabled = on;
}
bool background_cleanup() {
    return enabled;
}
void left_open() {
    pending = true;
}

void finish_in_background(const std::vector<std::string>& links, int lock_fd) {
    if (!enabled) {
        delete_links(links);
        return;
    }
    if (!pending && links.empty()) return;
    // One fork, not waited for: the caller is about to exit, and the worker is then
    // reparented to init (or the caller's subreaper, which reaps whatever it inherits).
    pid_t child = ::fork();
    if (child < 0) {
        delete_links(links);  // no child: do it here, the sockets close at exit
        return;
    }
    if (child > 0) {
        pending = false;
        return;
    }
    ::setsid();
    // The caller's stdout and stderr are pipes someone reads to EOF: let go of them. Every
    // other descriptor of the caller is kept: the nfnetlink sockets left open are the point.
    int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd >= 0)
        for (int fd = 0; fd < 3; ++fd) ::dup2(null_fd, fd);
    delete_links(links);
    if (lock_fd >= 0) ::close(lock_fd);  // the store is consistent again
    ::_exit(0);                          // closes the sockets: the waits happen here
}

}  // namespace husk::net
