// `husk exec`: a process in a running container, in-process through the runtime (no
// monitor: its stdio is this terminal's; with -t a pty relayed by this process).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <memory>

#include "cli.hpp"
#include "container_cli.hpp"
#include "engine/sockets.hpp"
#include "engine/spec_builder.hpp"
#include "runtime/exec.hpp"

namespace husk::cli {
namespace {

struct ExecFlags {
    bool interactive = false, tty = false, detach = false, privileged = false;
    std::vector<std::string> env;
    std::string user, workdir;
    std::vector<std::string> rest;
};

int exit_code_for(const Error& e) {
    const std::string& m = e.message();
    if (m.find("process.args") != std::string::npos) {
        if (m.find("not found") != std::string::npos || e.errnum() == ENOENT) return 127;
        return 126;
    }
    return exit_husk_error;
}

// -t: the runtime sends the pty master to a socket we listen on; a child runs the exec
// (it blocks until the process exits) while this process relays the terminal.
int exec_with_tty(runtime::StateStore& store, runtime::ExecOptions options, const std::string& dir,
                  bool interactive) {
    std::string sock_name = "exec-" + std::to_string(::getpid()) + ".sock";
    auto listener = engine::listen_unix(dir, sock_name);
    if (!listener) return report(listener.error());
    UniqueFd dirfd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    options.console_socket = "/proc/self/fd/" + std::to_string(dirfd.get()) + "/" + sock_name;
    pid_t child = ::fork();
    if (child == 0) {
        auto code = runtime::exec_in_container(store, options);
        if (!code) {
            std::cerr << "husk: " << code.error().what() << "\n";
            ::_exit(exit_code_for(code.error()));
        }
        ::_exit(*code);
    }
    UniqueFd conn(::accept4(listener->get(), nullptr, nullptr, SOCK_CLOEXEC));
    std::string path = dir + "/" + sock_name;
    ::unlink(path.c_str());
    UniqueFd master;
    if (conn) {
        if (auto m = engine::receive_fd(conn.get())) master = std::move(*m);
    }
    struct termios saved {};
    bool raw = false;
    if (::isatty(0) && ::tcgetattr(0, &saved) == 0) {
        struct termios t = saved;
        ::cfmakeraw(&t);
        raw = ::tcsetattr(0, TCSANOW, &t) == 0;
        struct winsize ws {};
        if (master && ::ioctl(1, TIOCGWINSZ, &ws) == 0) ::ioctl(master.get(), TIOCSWINSZ, &ws);
    }
    bool in_live = interactive;
    while (master) {
        struct pollfd fds[2] = {{master.get(), POLLIN, 0}, {in_live ? 0 : -1, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        char buf[65536];
        if (fds[1].revents & (POLLIN | POLLHUP)) {
            ssize_t n = ::read(0, buf, sizeof buf);
            if (n > 0)
                (void)!::write(master.get(), buf, static_cast<size_t>(n));
            else {
                in_live = false;
                char eot = 4;
                (void)!::write(master.get(), &eot, 1);
            }
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = ::read(master.get(), buf, sizeof buf);
            if (n <= 0) break;
            (void)!::write(1, buf, static_cast<size_t>(n));
        }
    }
    if (raw) ::tcsetattr(0, TCSANOW, &saved);
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

void register_exec_commands(CLI::App& app, Globals& g) {
    auto f = std::make_shared<ExecFlags>();
    auto* exec = app.add_subcommand("exec", "run a command in a running container");
    exec->add_flag("-i,--interactive", f->interactive, "keep stdin open");
    exec->add_flag("-t,--tty", f->tty, "allocate a pseudo-terminal");
    exec->add_flag("-d,--detach", f->detach, "run in the background");
    exec->add_flag("--privileged", f->privileged, "every capability the container could have");
    exec->add_option("-e,--env", f->env, "set an environment variable");
    exec->add_option("-u,--user", f->user, "user[:group]");
    exec->add_option("-w,--workdir", f->workdir, "working directory");
    exec->prefix_command();
    exec->callback([&g, exec, f] {
        f->rest = exec->remaining();
        if (f->rest.size() < 2) {
            g.exit_code = report(Error::invalid("\"exec\" requires a container and a command"));
            return;
        }
        engine::Engine eng(g.root, g.runroot);
        auto id = eng.store().resolve(f->rest[0]);
        if (!id) {
            g.exit_code = report(id.error());
            return;
        }
        auto v = eng.view(*id);
        if (!v) {
            g.exit_code = report(v.error());
            return;
        }
        if (v->status != "running") {
            g.exit_code =
                report(Error::invalid("container {} is not running ({})", f->rest[0], v->status));
            return;
        }
        runtime::ExecOptions options;
        options.id = *id;
        options.args.assign(f->rest.begin() + 1, f->rest.end());
        for (const auto& e : f->env) {
            if (e.find('=') != std::string::npos)
                options.env.push_back(e);
            else if (const char* val = std::getenv(e.c_str()))
                options.env.push_back(e + "=" + val);
        }
        options.cwd = f->workdir;
        if (!f->user.empty()) {
            auto ids = engine::resolve_user(v->record.rootfs, f->user);
            if (!ids) {
                g.exit_code = report(ids.error());
                return;
            }
            options.user = std::to_string(ids->first) + ":" + std::to_string(ids->second);
        }
        options.detach = f->detach;
        options.tty = f->tty && !f->detach;
        runtime::StateStore store(eng.store().runtime_root());
        if (!f->interactive && !f->detach) {
            // Without -i the process reads nothing, as in Docker.
            int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
            ::dup2(null_fd, 0);
            ::close(null_fd);
        }
        if (options.tty) {
            g.exit_code = exec_with_tty(store, options, eng.store().dir(*id), f->interactive);
            return;
        }
        auto code = runtime::exec_in_container(store, options);
        if (!code) {
            std::cerr << "husk: " << code.error().what() << "\n";
            g.exit_code = exit_code_for(code.error());
            return;
        }
        g.exit_code = *code;
    });
}

}  // namespace husk::cli
