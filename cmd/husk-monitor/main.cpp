// husk-monitor: one per running container, no daemon. `husk start`/`run` forks and execs it
// in a new session; it creates and starts the container in-process (so it is the init's
// parent and gets its exit status), owns the container's stdio (json-file logs, attached
// clients), records the exit code and time, applies the restart policy, runs healthchecks
// and exits with its container. It links only the runtime and a few engine files.
//
//   husk-monitor ROOT RUNROOT ID [SYNC_FD]
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/files.hpp"
#include "common/log.hpp"
#include "common/safe_path.hpp"
#include "engine/attach_protocol.hpp"
#include "engine/container_network.hpp"
#include "engine/ids.hpp"
#include "engine/json_log.hpp"
#include "engine/rootless_net.hpp"
#include "engine/sockets.hpp"
#include "engine/store.hpp"
#include "health.hpp"
#include "runtime/container.hpp"
#include "runtime/state.hpp"
#include "runtime/trace.hpp"

namespace husk::monitor {
namespace {

using engine::Frame;

struct Client {
    UniqueFd fd;
    engine::FrameReader reader;
};

class Monitor {
public:
    Monitor(engine::ContainerStore store, engine::ContainerRecord record)
        : store_(std::move(store)),
          record_(std::move(record)),
          dir_(store_.dir(record_.id)),
          runtime_(store_.runtime_root()),
          logs_(dir_ + "/container.log", record_.log),
          health_(record_) {}

    int run(int sync_fd);

private:
    [[nodiscard]] Result<pid_t> start_container();
    void loop();
    void pump_output(int fd, int stream, bool drain);
    void broadcast(Frame type, std::string_view payload);
    void handle_client(size_t index);
    void reap();
    bool should_restart(int exit_code);
    void save() {
        if (auto st = store_.save_runtime(record_.id, state_); !st)
            log::error("save state: {}", st.error().what());
    }
    void remove_with_husk();
    // `husk run --debug`: the timeline of this start, into <dir>/trace.log, which the
    // client prints. Only the first start is traced.
    void write_trace();
    bool stop_requested() const { return path_exists(dir_ + "/stop-requested"); }

    engine::ContainerStore store_;
    engine::ContainerRecord record_;
    std::string dir_;
    runtime::Runtime runtime_;
    engine::RootlessNet rootless_net_;  // pasta or slirp4netns of a rootless container
    void stop_rootless_net() {
        engine::stop_rootless_network(rootless_net_);
        if (rootless_net_.pid != 0) engine::remove_rootless_attachment(dir_);
        rootless_net_ = {};
    }
    engine::JsonLogWriter logs_;
    HealthChecker health_;
    engine::ContainerRuntime state_;

    UniqueFd sigfd_, listener_;
    UniqueFd out_r_, out_w_, err_r_, err_w_, in_r_, in_w_, master_;
    std::vector<Client> clients_;
    pid_t init_pid_ = 0;
    int init_status_ = -1;  // wait status once reaped
};

// A binary next to this one (or $ENV): husk-net attaches and detaches networks, husk
// removes an image container, so the monitor stays free of the network and image code.
std::string sibling(const char* env, const char* name) {
    if (const char* v = std::getenv(env); v != nullptr && *v != '\0') return v;
    char self[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return name;
    self[n] = '\0';
    std::string path(self);
    return path.substr(0, path.rfind('/')) + "/" + name;
}
std::string husk_binary() {
    return sibling("HUSK_BINARY", "husk");
}
std::string net_binary() {
    return sibling("HUSK_NET", "husk-net");
}

int exit_code_for_error(const Error& e) {
    const std::string& m = e.message();
    if (m.find("process.args") != std::string::npos) {
        if (m.find("not found") != std::string::npos || e.errnum() == ENOENT) return 127;
        return 126;
    }
    if (m.find("process.cwd") != std::string::npos) return 126;
    return 125;
}

Result<pid_t> Monitor::start_container() {
    runtime::CreateOptions options;
    options.id = record_.id;
    options.bundle = dir_ + "/bundle";
    UniqueFd console_listener, dirfd;
    if (record_.tty) {
        auto l = engine::listen_unix(dir_, "console.sock");
        if (!l) return fail(l.error());
        console_listener = std::move(*l);
        // The runtime connects in this process: a path through our dir fd has no length limit.
        dirfd.reset(::open(dir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        options.console_socket = fd_path(dirfd.get()) + "/console.sock";
    }
    // The init inherits fds 0-2: the container's stdio for this run.
    int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    ::dup2(in_r_ ? in_r_.get() : null_fd, 0);
    ::dup2(record_.tty ? null_fd : out_w_.get(), 1);
    ::dup2(record_.tty ? null_fd : err_w_.get(), 2);
    // Signal dispositions and the mask are inherited across clone and exec: the container
    // must start with the defaults, not with what the monitor ignores or blocks (a shell
    // cannot trap a signal that was ignored when it started).
    sigset_t none, saved;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, &saved);
    for (int sig : {SIGPIPE, SIGHUP, SIGINT}) ::signal(sig, SIG_DFL);
    auto created = runtime_.create(options);
    for (int sig : {SIGPIPE, SIGHUP, SIGINT}) ::signal(sig, SIG_IGN);
    ::sigprocmask(SIG_SETMASK, &saved, nullptr);
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    ::dup2(null_fd, 2);
    ::close(null_fd);
    if (record_.tty) ::unlink((dir_ + "/console.sock").c_str());
    if (!created) return fail(created.error());
    if (record_.tty) {
        UniqueFd conn(::accept4(console_listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!conn) return fail_errno("accept on the console socket");
        auto master = engine::receive_fd(conn.get());
        if (!master) return fail(master.error());
        master_ = std::move(*master);
        ::fcntl(master_.get(), F_SETFL, O_NONBLOCK);
    }
    auto st = runtime_.store().load(record_.id);
    if (!st) return fail(st.error());
    if (engine::is_rootless_network_mode(record_.network_mode)) {
        // Rootless: a user-mode stack in the namespace instead of a veth (docs/rootless.md).
        auto ports = engine::forwarded_ports(engine::published_specs(
            record_.network.publish, record_.network.publish_all, record_.network.expose));
        if (!ports) return fail(ports.error());
        auto driver = engine::parse_rootless_net_driver(record_.network_mode);
        if (!driver) return fail(driver.error());
        auto net = engine::start_rootless_network(*driver, st->pid, *ports, dir_);
        if (!net) return fail(net.error());
        rootless_net_ = *net;
        HUSK_TRY(engine::save_rootless_attachment(dir_, *net, *ports));
    }
    if (engine::uses_network_driver(record_)) {
        // The namespace exists and nothing runs in it yet: the veth, address and ports are
        // in place before the container's process starts.
        runtime::trace::Step t_net("network attach", "husk-net attach {}", record_.network_mode);
        auto attached = engine::attach_network(record_, net_binary(), store_.root(), dir_, st->pid);
        if (!attached) return fail(attached.error().wrap("network {}", record_.network_mode));
        for (const auto& s : attached->sysctls_changed) log::warn("set sysctl {}", s);
    }
    {
        runtime::trace::Step t_start("start", "the init execs the process");
        HUSK_TRY(runtime_.start(record_.id));
    }
    if (runtime::trace::enabled()) write_trace();
    return st->pid;
}

void Monitor::broadcast(Frame type, std::string_view payload) {
    for (auto& c : clients_)
        if (c.fd && !send_frame(c.fd.get(), type, payload)) c.fd.reset();
}

void Monitor::pump_output(int fd, int stream, bool drain) {
    char buf[65536];
    while (true) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            return;
        }
        std::string_view data(buf, static_cast<size_t>(n));
        logs_.write(stream, data);
        broadcast(stream == 2 ? Frame::stderr_data : Frame::stdout_data, data);
        if (!drain) return;
    }
}

void Monitor::handle_client(size_t index) {
    auto& c = clients_[index];
    char buf[65536];
    ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
    if (n <= 0) {
        c.fd.reset();
        return;
    }
    c.reader.feed(buf, static_cast<size_t>(n));
    Frame type{};
    std::string payload;
    while (c.reader.next(type, payload)) {
        int target = master_ ? master_.get() : in_w_.get();
        switch (type) {
            case Frame::stdin_data:
                if (target >= 0) {
                    size_t off = 0;
                    while (off < payload.size()) {
                        ssize_t w = ::write(target, payload.data() + off, payload.size() - off);
                        if (w < 0 && errno == EINTR) continue;
                        if (w < 0 && errno == EAGAIN) {
                            struct pollfd p {
                                target, POLLOUT, 0
                            };
                            ::poll(&p, 1, 1000);
                            continue;
                        }
                        if (w <= 0) break;
                        off += static_cast<size_t>(w);
                    }
                }
                break;
            case Frame::stdin_eof:
                if (master_) {
                    char eot = 4;  // ^D: the pty's end of input
                    (void)!::write(master_.get(), &eot, 1);
                } else {
                    in_w_.reset();
                }
                break;
            case Frame::resize:
                if (master_) {
                    struct winsize ws {};
                    unsigned rows = 0, cols = 0;
                    if (std::sscanf(payload.c_str(), "%u %u", &rows, &cols) == 2) {
                        ws.ws_row = static_cast<unsigned short>(rows);
                        ws.ws_col = static_cast<unsigned short>(cols);
                        ::ioctl(master_.get(), TIOCSWINSZ, &ws);
                    }
                }
                break;
            default:
                break;
        }
    }
}

void Monitor::reap() {
    while (true) {
        int status = 0;
        pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0) return;
        if (pid == init_pid_)
            init_status_ = status;
        else
            health_.reaped(pid, status, state_);
    }
}

void Monitor::loop() {
    while (init_status_ < 0) {
        std::vector<pollfd> fds;
        fds.push_back({sigfd_.get(), POLLIN, 0});
        fds.push_back({listener_ ? listener_.get() : -1, POLLIN, 0});
        int out_fd = master_ ? master_.get() : out_r_.get();
        fds.push_back({out_fd, POLLIN, 0});
        fds.push_back({master_ ? -1 : err_r_.get(), POLLIN, 0});
        fds.push_back({health_.output_fd(), POLLIN, 0});
        size_t first_client = fds.size();
        for (auto& c : clients_) fds.push_back({c.fd ? c.fd.get() : -1, POLLIN, 0});
        int timeout = health_.next_timeout_ms();
        int n = ::poll(fds.data(), fds.size(), timeout);
        if (n < 0 && errno != EINTR) break;
        if (fds[0].revents & POLLIN) {
            signalfd_siginfo si{};
            while (::read(sigfd_.get(), &si, sizeof si) == sizeof si) {
            }
            reap();
        }
        if (fds[1].revents & POLLIN) {
            UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
            if (conn) clients_.push_back({std::move(conn), {}});
        }
        if (fds[2].revents & (POLLIN | POLLHUP)) pump_output(out_fd, 1, false);
        if (fds[3].revents & (POLLIN | POLLHUP)) pump_output(err_r_.get(), 2, false);
        if (fds[4].revents & (POLLIN | POLLHUP)) health_.read_output();
        for (size_t i = first_client; i < fds.size(); ++i)
            if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) handle_client(i - first_client);
        std::erase_if(clients_, [](const Client& c) { return !c.fd; });
        if (health_.tick(record_.id, store_.runtime_root(), init_pid_, state_)) save();
    }
}

bool Monitor::should_restart(int exit_code) {
    const auto& p = record_.restart;
    if (stop_requested()) return false;
    if (p.name == "always" || p.name == "unless-stopped") return true;
    if (p.name == "on-failure")
        return exit_code != 0 && (p.max_retries == 0 || state_.restart_count < p.max_retries);
    return false;
}

void Monitor::write_trace() {
    log::configure(dir_ + "/trace.log", log::Format::text, true);
    runtime::trace::report();
    log::configure(dir_ + "/monitor.log", log::Format::text, false);
}

void Monitor::remove_with_husk() {
    std::string husk = husk_binary();
    pid_t pid = ::fork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        // This monitor is still alive: `rm -f` must not wait for it.
        ::unlink((dir_ + "/state.json").c_str());
        const char* argv[] = {
            "husk", "--root", store_.root().c_str(), "--runroot", store_.runroot().c_str(), "rm",
            "-f",   "-v",     record_.id.c_str(),    nullptr};
        ::execv(husk.c_str(), const_cast<char* const*>(argv));
        ::_exit(127);
    }
    if (pid > 0)
        while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
}

int Monitor::run(int sync_fd) {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    ::sigprocmask(SIG_BLOCK, &mask, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    // The monitor must not die with a terminal or a client: it owns the container.
    ::signal(SIGHUP, SIG_IGN);
    ::signal(SIGINT, SIG_IGN);
    sigfd_.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    if (sync_fd >= 0) {
        ::fcntl(sync_fd, F_SETFD, FD_CLOEXEC);
        clients_.push_back({UniqueFd(sync_fd), {}});
    }
    if (auto l = engine::listen_unix(dir_, "attach.sock")) listener_ = std::move(*l);
    (void)logs_.open();

    int pipes[2];
    if (!record_.tty) {
        if (::pipe2(pipes, O_CLOEXEC) == 0) out_r_.reset(pipes[0]), out_w_.reset(pipes[1]);
        if (::pipe2(pipes, O_CLOEXEC) == 0) err_r_.reset(pipes[0]), err_w_.reset(pipes[1]);
        ::fcntl(out_r_.get(), F_SETFL, O_NONBLOCK);
        ::fcntl(err_r_.get(), F_SETFL, O_NONBLOCK);
    }
    if (record_.open_stdin && !record_.tty) {
        if (::pipe2(pipes, O_CLOEXEC) == 0) in_r_.reset(pipes[0]), in_w_.reset(pipes[1]);
    }

    state_.monitor_pid = ::getpid();
    state_.monitor_start = runtime::process_start_time(::getpid());
    int exit_code = 0;
    int64_t backoff_ms = 100;
    while (true) {
        ::unlink((dir_ + "/stop-requested").c_str());
        auto pid = start_container();
        if (!pid) {
            exit_code = exit_code_for_error(pid.error());
            log::error("start container {}: {}", record_.id, pid.error().what());
            state_.status = "exited";
            state_.exit_code = exit_code;
            state_.error = pid.error().what();
            state_.finished_at = engine::now_rfc3339();
            state_.pid = 0;
            save();
            (void)runtime_.remove(record_.id, true);
            stop_rootless_net();
            engine::detach_network(record_, net_binary(), store_.root(), dir_);
            broadcast(Frame::error, std::to_string(exit_code) + " " + pid.error().what());
            break;
        }
        init_pid_ = *pid;
        init_status_ = -1;
        reap();  // a child that ended while SIGCHLD was unblocked above
        state_.status = "running";
        state_.pid = *pid;
        state_.started_at = engine::now_rfc3339();
        state_.error.clear();
        health_.container_started(state_);
        save();
        broadcast(Frame::started, std::to_string(*pid));
        loop();
        if (init_status_ < 0) break;  // poll failed: nothing sane left to do
        if (out_r_) pump_output(out_r_.get(), 1, true);
        if (err_r_) pump_output(err_r_.get(), 2, true);
        if (master_) pump_output(master_.get(), 1, true);
        logs_.flush();
        master_.reset();
        health_.container_stopped();
        exit_code =
            WIFEXITED(init_status_) ? WEXITSTATUS(init_status_) : 128 + WTERMSIG(init_status_);
        if (auto st = runtime_.remove(record_.id, true); !st)
            log::error("remove runtime state: {}", st.error().what());
        stop_rootless_net();
        engine::detach_network(record_, net_binary(), store_.root(), dir_);
        state_.pid = 0;
        state_.exit_code = exit_code;
        state_.finished_at = engine::now_rfc3339();
        if (!should_restart(exit_code)) {
            state_.status = "exited";
            save();
            break;
        }
        state_.status = "restarting";
        ++state_.restart_count;
        save();
        // Docker's back-off: 100 ms, doubling, capped; `stop` during the wait wins.
        for (int64_t waited = 0; waited < backoff_ms && !stop_requested(); waited += 20)
            ::usleep(20000);
        if (stop_requested()) {
            state_.status = "exited";
            save();
            break;
        }
        backoff_ms = std::min<int64_t>(backoff_ms * 2, 60000);
    }
    bool purge = false;
    if (record_.auto_remove) {
        // --rm: the monitor removes the container (the client may be gone); clients get the
        // exit code once it is removed, as `docker run --rm` returns after removal.
        ::unlink((dir_ + "/attach.sock").c_str());
        // Volumes (anonymous ones go with --rm, as Docker's) are husk's code, too.
        bool volumes = std::any_of(record_.mounts.begin(), record_.mounts.end(),
                                   [](const engine::MountRecord& m) { return m.type == "volume"; });
        if (record_.image_id.empty() && !volumes) {
            // The container is gone once its record is; the files go after the exit code,
            // so `run --rm` does not wait for the disk.
            purge = store_.remove_record(record_.id, record_.name).has_value();
        } else {
            // An image's rootfs goes back to the image store: `husk rm` does that, and the
            // monitor stays free of the image code.
            remove_with_husk();
        }
    }
    broadcast(Frame::exit_code, std::to_string(exit_code));
    if (purge) (void)remove_tree(store_.dir(record_.id));
    return 0;
}

}  // namespace
}  // namespace husk::monitor

int main(int argc, char** argv) {
    using namespace husk;
    if (argc < 4) {
        std::fprintf(stderr, "usage: husk-monitor ROOT RUNROOT ID [SYNC_FD]\n");
        return 2;
    }
    engine::ContainerStore store(argv[1], argv[2]);
    std::string id = argv[3];
    int sync_fd = argc > 4 ? std::atoi(argv[4]) : -1;
    log::configure(store.dir(id) + "/monitor.log", log::Format::text, false);
    if (const char* t = std::getenv("HUSK_MONITOR_TRACE"); t != nullptr && *t == '1')
        runtime::trace::enable(runtime::trace::now_ns());
    auto record = store.load(id);
    if (!record) {
        if (sync_fd >= 0)
            (void)engine::send_frame(sync_fd, engine::Frame::error, "125 " + record.error().what());
        return 1;
    }
    monitor::Monitor m(std::move(store), std::move(*record));
    return m.run(sync_fd);
}
