#include "runtime/terminal.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "common/unix_socket.hpp"

namespace husk::runtime {

Result<UniqueFd> connect_console_socket(const std::string& path) {
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path)
        return fail_invalid("--console-socket {:?}: not a usable socket path", path);
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return fail_errno("--console-socket: socket");
    if (::connect(fd.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) != 0)
        return fail_errno("--console-socket {}", path);
    return fd;
}

Status send_console(int socket_fd, int master_fd, const std::string& name) {
    if (auto sent = send_with_fd(socket_fd, name.data(), name.size(), master_fd); !sent)
        return fail(sent.error().wrap("send the terminal to --console-socket"));
    return {};
}

Result<UniqueFd> setup_console(const oci::Process& process) {
    // /dev/ptmx is the container's (a link into its devpts): the pty belongs to its instance.
    UniqueFd master(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master) return fail_errno("process.terminal: open /dev/ptmx");
    if (::unlockpt(master.get()) != 0) return fail_errno("process.terminal: unlockpt");
    char name[64];
    if (::ptsname_r(master.get(), name, sizeof name) != 0)
        return fail_errno("process.terminal: ptsname");
    UniqueFd slave(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave) return fail_errno("process.terminal: open {}", name);
    if (process.console_size) {
        struct winsize size {};
        size.ws_row = static_cast<unsigned short>(process.console_size->height);
        size.ws_col = static_cast<unsigned short>(process.console_size->width);
        if (::ioctl(master.get(), TIOCSWINSZ, &size) != 0) return fail_errno("process.consoleSize");
    }
    // The process's user must be able to use its own terminal after the identity switch.
    if (::fchown(slave.get(), process.user.uid, static_cast<gid_t>(-1)) != 0 && errno != EINVAL)
        return fail_errno("process.terminal: chown {}", name);
    if (::setsid() < 0) return fail_errno("process.terminal: setsid");
    if (::ioctl(slave.get(), TIOCSCTTY, 0) != 0)
        return fail_errno("process.terminal: make {} the controlling terminal", name);
    for (int fd = 0; fd <= 2; ++fd)
        if (::dup2(slave.get(), fd) < 0) return fail_errno("process.terminal: dup2");
    return master;
}

}  // namespace husk::runtime
