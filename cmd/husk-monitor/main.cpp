// husk-monitor: one per running container, no daemon. `husk start`/`run` forks a process
// that creates and starts the container and then execs this binary, which from then on owns
// the container's stdio (json-file logs, attached clients), records the exit code and time,
// applies the restart policy, runs healthchecks and exits with its container. The runtime's
// code never runs here: the first start is done before the exec, restarts by a `husk`
// helper, the runtime's delete and healthchecks by husk-runtime. So the resident process
// maps only this loop (on this kernel an executable's whole image is resident: see
// docs/PERFORMANCE.md), and is the init's parent or, as a child subreaper, its adopter.
//
//   husk-monitor ROOT RUNROOT ID SYNC_FD CREATE_REPORT   (fds 4-10: engine/monitor_handoff.hpp)
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
#include "engine/binaries.hpp"
#include "engine/container_network.hpp"
#include "engine/ids.hpp"
#include "engine/json_log.hpp"
#include "engine/monitor_handoff.hpp"
#include "engine/rootless_net.hpp"
#include "engine/sockets.hpp"
#include "engine/store.hpp"
#include "health.hpp"
#include "runtime/state.hpp"

namespace husk::monitor {
namespace {

using engine::Frame;

// Binaries next to this one (or $ENV): husk-net detaches networks, husk-runtime deletes the
// runtime's state, husk restarts a container and removes an image container, so the
// monitor stays free of the runtime, network and image code.
std::string husk_binary() {
    return engine::sibling_binary("HUSK_BINARY", "husk");
}
std::string net_binary() {
    return engine::sibling_binary("HUSK_NET", "husk-net");
}
std::string runtime_binary() {
    return engine::sibling_binary("HUSK_RUNTIME_BINARY", "husk-runtime");
}

// Runs BINARY with `argv` (fds 0-2 on /dev/null unless kept, signals reset) and waits.
int run_and_wait(const std::string& binary, const std::vector<std::string>& args,
                 const std::vector<std::pair<int, int>>& fds = {}) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        for (int sig : {SIGPIPE, SIGHUP, SIGINT}) ::signal(sig, SIG_DFL);
        // Each source out of the way of every target first (a target may be another's
        // source, and dup2 onto itself would keep FD_CLOEXEC), then into its place.
        std::vector<std::pair<int, int>> moved;
        for (auto [from, to] : fds) moved.emplace_back(::fcntl(from, F_DUPFD_CLOEXEC, 100), to);
        for (auto [from, to] : moved) ::dup2(from, to);  // the copies are not FD_CLOEXEC
        ::execv(binary.c_str(), argv.data());
        ::_exit(127);
    }
    int status = 0;
    if (pid < 0) return -1;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

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
          logs_(dir_ + "/container.log", record_.log),
          health_(record_, runtime_binary()) {}

    int run(int sync_fd, engine::CreateReport first, const engine::MonitorFds& fds);

private:
    [[nodiscard]] Result<pid_t> start_container(std::optional<engine::CreateReport> first);
    [[nodiscard]] engine::CreateReport create_with_helper();
    void take_fds(const engine::MonitorFds& fds);
    void remove_runtime_state();
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
    // --rm, once the record is gone and the exit code sent: becomes `husk container-cleanup`
    // (Engine::purge), which takes the runtime state, the rootfs and the directory.
    void exec_cleanup();
    std::vector<std::string> cleanup_args() const;
    bool stop_requested() const { return path_exists(dir_ + "/stop-requested"); }
    engine::ContainerStore store_;
    engine::ContainerRecord record_;
    std::string dir_;
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

int exit_code_for_error(const Error& e) {
    const std::string& m = e.message();
    if (m.find("process.args") != std::string::npos) {
        if (m.find("not found") != std::string::npos || e.errnum() == ENOENT) return 127;
        return 126;
    }
    if (m.find("process.cwd") != std::string::npos) return 126;
    return 125;
}

// The first start was done before this process was exec'd; a restart runs the `husk`
// helper, whose init this process adopts (a child subreaper) when the helper exits.
Result<pid_t> Monitor::start_container(std::optional<engine::CreateReport> first) {
    engine::CreateReport report = first && first->pid != engine::CreateReport::not_created
                                      ? std::move(*first)
                                      : create_with_helper();
    rootless_net_ = report.rootless_net;
    if (report.pid <= 0) return fail(report.error);
    return report.pid;
}

engine::CreateReport Monitor::create_with_helper() {
    engine::CreateReport report;
    UniqueFd console_listener, dirfd;
    std::string console_socket;
    if (record_.tty) {
        auto l = engine::listen_unix(dir_, "console.sock");
        if (!l) {
            report.error = l.error();
            return report;
        }
        console_listener = std::move(*l);
        // A path through a dir fd the helper inherits (at fd 4): no length limit.
        dirfd.reset(::open(dir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        console_socket = "/proc/self/fd/4/console.sock";
    }
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) {
        report.error = Error::from_errno("pipe");
        return report;
    }
    UniqueFd r(p[0]), w(p[1]);
    // The helper's fds: 3 the report, 4 the dir, 5-7 the container's stdio.
    std::vector<std::pair<int, int>> fds = {{w.get(), 3}};
    std::vector<std::string> args = {"husk",      "--root",         store_.root(),
                                     "--runroot", store_.runroot(), "container-start-helper",
                                     record_.id,  "--report-fd",    "3"};
    if (dirfd)
        fds.emplace_back(dirfd.get(), 4), args.push_back("--console-socket"),
            args.push_back(console_socket);
    auto pass = [&](const UniqueFd& fd, int target, const char* flag) {
        if (!fd) return;
        fds.emplace_back(fd.get(), target);
        args.push_back(flag);
        args.push_back(std::to_string(target));
    };
    pass(in_r_, 5, "--stdin");
    pass(out_w_, 6, "--stdout");
    pass(err_w_, 7, "--stderr");
    // The report is read after the helper exits: it is a few hundred bytes at most, far
    // below a pipe's buffer.
    int code = run_and_wait(husk_binary(), args, fds);
    w.reset();
    std::string text;
    char buf[4096];
    for (ssize_t n; (n = ::read(r.get(), buf, sizeof buf)) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        text.append(buf, static_cast<size_t>(n));
    }
    report = engine::decode_create_report(text);
    if (text.empty())
        report.error =
            Error(0, fmt::format("{} container-start-helper exited with {}", husk_binary(), code));
    if (record_.tty) ::unlink((dir_ + "/console.sock").c_str());
    if (record_.tty && report.pid > 0) {
        // The runtime sent the terminal's master over a connection waiting in the backlog.
        UniqueFd conn(::accept4(console_listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
        Result<UniqueFd> master =
            conn ? engine::receive_fd(conn.get()) : fail_errno("accept on the console socket");
        if (!master) {
            ::kill(report.pid, SIGKILL);
            report.error = master.error();
            return report;
        }
        master_ = std::move(*master);
        ::fcntl(master_.get(), F_SETFL, O_NONBLOCK);
    }
    return report;
}

// The runtime's delete (state dir, cgroups, leftover processes), by husk-runtime.
void Monitor::remove_runtime_state() {
    int code = run_and_wait(runtime_binary(), {"husk-runtime", "--root", store_.runtime_root(),
                                               "delete", "--force", record_.id});
    if (code != 0) log::error("husk-runtime delete --force {}: exit status {}", record_.id, code);
}

void Monitor::take_fds(const engine::MonitorFds& fds) {
    out_r_.reset(fds.out_r);
    out_w_.reset(fds.out_w);
    err_r_.reset(fds.err_r);
    err_w_.reset(fds.err_w);
    in_r_.reset(fds.in_r);
    in_w_.reset(fds.in_w);
    master_.reset(fds.master);
    for (int fd : {fds.out_r, fds.err_r, fds.master})
        if (fd >= 0) ::fcntl(fd, F_SETFL, O_NONBLOCK);
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

std::vector<std::string> Monitor::cleanup_args() const {
    return {"husk",    "--root", store_.root(), "--runroot", store_.runroot(), "container-cleanup",
            record_.id};
}

void Monitor::exec_cleanup() {
    std::string husk = husk_binary();
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<std::string> args = cleanup_args();
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(husk.c_str(), argv.data());
    // `husk container prune` finishes it.
    log::error("exec {} container-cleanup: {}", husk, std::strerror(errno));
}

int Monitor::run(int sync_fd, engine::CreateReport first, const engine::MonitorFds& fds) {
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

    take_fds(fds);

    state_.monitor_pid = ::getpid();
    state_.monitor_start = runtime::process_start_time(::getpid());
    int exit_code = 0;
    int64_t backoff_ms = 100;
    std::optional<engine::CreateReport> first_start = std::move(first);
    bool removing = false;
    while (true) {
        if (!first_start) ::unlink((dir_ + "/stop-requested").c_str());
        auto pid = start_container(std::exchange(first_start, std::nullopt));
        if (!pid) {
            exit_code = exit_code_for_error(pid.error());
            log::error("start container {}: {}", record_.id, pid.error().what());
            state_.status = "exited";
            state_.exit_code = exit_code;
            state_.error = pid.error().what();
            state_.finished_at = engine::now_rfc3339();
            state_.pid = 0;
            save();
            remove_runtime_state();
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
        // `run --rm`: the runtime's state (an id no later container reuses) goes with the
        // cleanup after the exit code is sent, below.
        removing = record_.auto_remove && !should_restart(exit_code);
        if (!removing) remove_runtime_state();
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
    // --rm: the container is gone once its record is (the name is free, no command finds
    // it); clients get the exit code after that, as `docker run --rm` returns after the
    // removal. The rest (runtime state, rootfs, volumes, files) does not make them wait.
    if (record_.auto_remove) {
        ::unlink((dir_ + "/attach.sock").c_str());
        removing = store_.remove_record(record_.id, record_.name).has_value();
        // Anonymous volumes go before `run --rm` returns, as Docker's: a `volume ls` after
        // it must not list them.
        bool volumes = std::any_of(record_.mounts.begin(), record_.mounts.end(),
                                   [](const engine::MountRecord& m) { return m.type == "volume"; });
        if (removing && volumes) {
            run_and_wait(husk_binary(), cleanup_args());
            removing = false;
        }
    }
    broadcast(Frame::exit_code, std::to_string(exit_code));
    if (removing) exec_cleanup();
    return 0;
}

}  // namespace
}  // namespace husk::monitor

int main(int argc, char** argv) {
    using namespace husk;
    if (argc < 6) {
        std::fprintf(stderr,
                     "usage: husk-monitor ROOT RUNROOT ID SYNC_FD CREATE_REPORT (run by husk)\n");
        return 2;
    }
    // What the process that created the container left at fds 4-10 (monitor_handoff.hpp),
    // taken before anything here opens a file and could land on one of those numbers.
    engine::MonitorFds fds;
    for (auto [fd, number] : fds.slots())
        if (::fcntl(number, F_SETFD, FD_CLOEXEC) == 0) *fd = number;
    engine::ContainerStore store(argv[1], argv[2]);
    std::string id = argv[3];
    int sync_fd = std::atoi(argv[4]);
    auto first = engine::decode_create_report(argv[5]);
    log::configure(store.dir(id) + "/monitor.log", log::Format::text, false);
    auto record = store.load(id);
    if (!record) {
        if (first.pid > 0) ::kill(first.pid, SIGKILL);
        (void)engine::send_frame(sync_fd, engine::Frame::error, "125 " + record.error().what());
        return 1;
    }
    monitor::Monitor m(std::move(store), std::move(*record));
    return m.run(sync_fd, std::move(first), fds);
}
