#include "engine/engine.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "common/files.hpp"
#include "common/log.hpp"
#include "common/safe_path.hpp"
#include "engine/attach_protocol.hpp"
#include "engine/binaries.hpp"
#include "engine/container_network.hpp"
#include "engine/container_start.hpp"
#include "engine/ids.hpp"
#include "engine/process_defaults.hpp"
#include "engine/rootless_ns.hpp"
#include "engine/sockets.hpp"
#include "engine/spec_builder.hpp"
#include "engine/volume_init.hpp"
#include "net/attach.hpp"
#include "runtime/cgroups.hpp"
#include "runtime/container.hpp"
#include "runtime/state.hpp"
#include "runtime/trace.hpp"

namespace husk::engine {
namespace {

// The fds the monitor takes over from the process that created the container (MonitorFds
// in monitor_handoff.hpp): moved to their numbers just before the exec.
void place_fd(int& fd, int target) {
    if (fd < 0) return;
    ::dup2(fd, target);  // the copy has no FD_CLOEXEC
    fd = target;
}

// The monitor-to-be (a fork of this process, in its own session, the sync socket at fd
// 3): creates and starts the container with the runtime code this binary already has
// mapped, then execs husk-monitor, which holds the container from then on and never maps
// that code (its RSS stays the size of its loop). Whatever happened is in the report the
// monitor gets as an argument: on failure it records and cleans up as for any other exit.
[[noreturn]] void create_then_exec_monitor(const ContainerStore& store, const std::string& id,
                                           bool trace, const std::string& monitor_binary,
                                           const ContainerRecord* known) {
    const std::string dir = store.dir(id);
    log::configure(dir + "/monitor.log", log::Format::text, false);
    // `run --debug` enabled the trace before it forked this process (its steps are in the
    // buffer already); `start` has not.
    if (trace) runtime::trace::enable(runtime::trace::now_ns());
    runtime::trace::set_who("runtime");
    Result<ContainerRecord> record = known ? Result<ContainerRecord>(*known) : store.load(id);
    if (!record) {
        (void)send_frame(3, Frame::error, "125 " + record.error().what());
        ::_exit(125);
    }
    // The monitor's dispositions, before anything can happen: no terminal or client can
    // kill it; SIGCHLD stays pending (also across the exec) until its signalfd reads it.
    ::signal(SIGPIPE, SIG_IGN);
    ::signal(SIGHUP, SIG_IGN);
    ::signal(SIGINT, SIG_IGN);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    ::sigprocmask(SIG_BLOCK, &chld, nullptr);
    ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    // A rootless husk joined its user namespace after its exec: only a process exec'd inside
    // can create containers there (rootless_ns.hpp), so the monitor then runs the `husk`
    // helper for the first start too.
    const bool create_here = !entered_user_namespace_by_setns();

    ::unlink((dir + "/stop-requested").c_str());  // a previous run's
    MonitorFds fds;
    int p[2];
    if (!record->tty) {
        if (::pipe2(p, O_CLOEXEC) == 0) fds.out_r = p[0], fds.out_w = p[1];
        if (::pipe2(p, O_CLOEXEC) == 0) fds.err_r = p[0], fds.err_w = p[1];
        if (record->open_stdin && ::pipe2(p, O_CLOEXEC) == 0) fds.in_r = p[0], fds.in_w = p[1];
    }
    ContainerStdio stdio{fds.in_r, fds.out_w, fds.err_w, {}};
    UniqueFd console_listener, dirfd;
    if (record->tty && create_here) {
        auto l = listen_unix(dir, "console.sock");
        if (l) {
            console_listener = std::move(*l);
            // The runtime connects through a dir fd: such a path has no length limit.
            dirfd.reset(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
            stdio.console_socket = fd_path(dirfd.get()) + "/console.sock";
        }
    }
    CreateReport report;
    if (!create_here)
        report.pid = CreateReport::not_created;
    else if (record->tty && !console_listener)
        report.error = Error(0, "cannot listen on " + dir + "/console.sock");
    else
        report = create_and_start(store, *record, stdio);
    if (record->tty && create_here) {
        if (report.pid > 0) {
            UniqueFd conn(::accept4(console_listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
            Result<UniqueFd> master =
                conn ? receive_fd(conn.get()) : fail_errno("accept on the console socket");
            if (master) {
                fds.master = master->release();
            } else {
                // The container runs without its terminal: stop it; the monitor reaps it.
                ::kill(report.pid, SIGKILL);
                report.error = master.error();
            }
        }
        ::unlink((dir + "/console.sock").c_str());
        console_listener.reset();
        dirfd.reset();
    }
    // Out of the way of the targets first, then each to its place.
    for (auto [fd, target] : fds.slots())
        if (*fd >= 0) {
            int high = ::fcntl(*fd, F_DUPFD_CLOEXEC, 64);
            ::close(*fd);
            *fd = high;
        }
    for (auto [fd, target] : fds.slots()) place_fd(*fd, target);
    ::syscall(SYS_close_range, MonitorFds::master_fd + 1U, ~0U, 0U);
    std::string root = store.root(), runroot = store.runroot(), text = encode_create_report(report);
    const char* argv[] = {"husk-monitor", root.c_str(), runroot.c_str(), id.c_str(), "3",
                          text.c_str(),   nullptr};
    ::execv(monitor_binary.c_str(), const_cast<char* const*>(argv));
    std::string msg = "125 exec " + monitor_binary + ": " + std::strerror(errno);
    if (report.pid > 0) ::kill(report.pid, SIGKILL);
    (void)send_frame(3, Frame::error, msg);
    ::_exit(125);
}

bool monitor_alive(const ContainerRuntime& rt) {
    return rt.monitor_pid > 0 && rt.monitor_start != 0 &&
           runtime::process_start_time(rt.monitor_pid) == rt.monitor_start;
}

void touch(const std::string& path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) ::close(fd);
}

}  // namespace

bool wait_pid_exit(int pid, uint64_t start_time, int timeout_ms) {
    if (pid <= 0) return true;
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) return true;  // gone already
    // The pid may have been reused between reading the state and opening the pidfd.
    if (start_time != 0 && runtime::process_start_time(pid) != start_time) {
        ::close(fd);
        return true;
    }
    struct pollfd p {
        fd, POLLIN, 0
    };
    int rc;
    do {
        rc = ::poll(&p, 1, timeout_ms);
    } while (rc < 0 && errno == EINTR);
    ::close(fd);
    if (rc > 0) return true;
    // A zombie (the monitor has not reaped it yet) counts as exited.
    return runtime::process_start_time(pid) == 0;
}

std::string human_duration(int64_t ns) {
    int64_t s = ns / 1000000000;
    if (s < 1) return "Less than a second";
    if (s == 1) return "1 second";
    if (s < 60) return std::to_string(s) + " seconds";
    int64_t m = s / 60;
    if (m == 1) return "About a minute";
    if (m < 60) return std::to_string(m) + " minutes";
    int64_t h = m / 60;
    if (h == 1) return "About an hour";
    if (h < 48) return std::to_string(h) + " hours";
    return std::to_string(h / 24) + " days";
}

Engine::Engine(std::string root, std::string runroot)
    : store_(std::move(root), std::move(runroot)),
      monitor_binary_(sibling_binary("HUSK_MONITOR", "husk-monitor")),
      init_binary_(sibling_binary("HUSK_INIT", "husk-init")) {}

Status Engine::create(ContainerRecord& record, const RootfsRequest& request) {
    // The container's cgroup join, a few ms from now, then shares this grace period.
    runtime::warm_up_cgroup_migration();
    record.id = new_container_id();
    record.created = now_rfc3339();
    if (record.hostname.empty()) record.hostname = record.id.substr(0, 12);
    // The directory under its lock, the rootfs and files inside it, then the record, once,
    // complete, and its name: until then no command finds the container, and if this
    // process dies, `container prune` purges what it made.
    runtime::trace::Step t_dir("container dir", "{}", store_.dir(record.id));
    auto creating = store_.begin_create(record.id);
    if (!creating) return fail(creating.error());
    t_dir.done();
    RootfsRequest req = request;
    req.store_root = store_.root();
    req.container_id = record.id;
    req.container_dir = store_.dir(record.id);
    bool prepared = false;
    auto undo = [&] {
        if (prepared) (void)release_rootfs(store_.root(), record.id);
        remove_anonymous_volumes(record, volumes_root());
        (void)remove_tree(store_.dir(record.id));
    };
    runtime::trace::Step t_rootfs("rootfs", "{}",
                                  req.rootfs_dir.empty() ? req.image : req.rootfs_dir);
    auto rootfs = prepare_rootfs(req);
    t_rootfs.done();
    if (!rootfs) {
        undo();
        return fail(rootfs.error());
    }
    prepared = true;
    record.image = rootfs->image;
    record.image_id = rootfs->image_id;
    record.rootfs = rootfs->path;
    if (auto st = apply_image_defaults(record, rootfs->config.config); !st) {
        undo();
        return st;
    }
    if (auto st = init_volumes(record, rootfs->config, volumes_root()); !st) {
        undo();
        return st;
    }
    // -P publishes the image's EXPOSEd ports too.
    for (const auto& port : rootfs->config.config.exposed_ports)
        if (std::find(record.network.expose.begin(), record.network.expose.end(), port) ==
            record.network.expose.end())
            record.network.expose.push_back(port);
    bool has_hostname = false;
    for (const auto& e : record.env) has_hostname = has_hostname || e.starts_with("HOSTNAME=");
    if (!has_hostname)
        record.env.insert(record.env.begin() + (record.env.empty() ? 0 : 1),
                          "HOSTNAME=" + record.hostname);
    runtime::trace::Step t_files("hosts, resolv.conf, hostname", "network {}", record.network_mode);
    if (auto st = write_network_files(record, store_.dir(record.id)); !st) {
        undo();
        return st;
    }
    t_files.done();
    runtime::trace::Step t_spec("OCI config", "bundle/config.json");
    auto spec = build_spec(record, spec_paths(record.id));
    if (!spec) {
        undo();
        return fail(spec.error());
    }
    std::string bundle = store_.dir(record.id) + "/bundle";
    Status st = ::mkdir(bundle.c_str(), 0700) == 0 ? Status{} : fail_errno("mkdir {}", bundle);
    if (st) st = write_file_atomic(bundle + "/config.json", *spec, 0600, Durability::survive_crash);
    t_spec.done();
    runtime::trace::Step t_record("record, name", "config.json");
    if (st) st = store_.commit_create(record);
    if (!st) {
        undo();
        return st;
    }
    return {};
}

SpecPaths Engine::spec_paths(const std::string& id) const {
    return SpecPaths{volumes_root(), init_binary_, store_.dir(id), store_.root() + "/containers",
                     ""};
}

Status Engine::join_network_of(const ContainerRecord& record) {
    std::string other = joined_container(record);
    auto v = view(other);
    if (!v) return fail(v.error().wrap("--network container:{}", other.substr(0, 12)));
    if (v->status != "running" && v->status != "paused")
        return fail_invalid("cannot join the network of container {}: it is {}", v->record.name,
                            v->status);
    SpecPaths paths = spec_paths(record.id);
    paths.joined_netns = "/proc/" + std::to_string(v->state.pid) + "/ns/net";
    auto spec = build_spec(record, paths);
    if (!spec) return fail(spec.error());
    return write_file_atomic(store_.dir(record.id) + "/bundle/config.json", *spec, 0600,
                             Durability::survive_crash);
}

void Engine::detach_networks(const std::string& id) const {
    std::string file = store_.dir(id) + "/network.json";
    if (!path_exists(file)) return;
    if (auto st = net::detach(store_.root(), id); !st)
        log::debug("detach {} from its networks: {}", id, st.error().what());
    ::unlink(file.c_str());
}

std::expected<StartResult, StartError> Engine::start(const std::string& id, bool trace,
                                                     const ContainerRecord* just_created) {
    runtime::warm_up_cgroup_migration();
    auto lock = store_.lock(id);
    if (!lock) return std::unexpected(StartError{125, lock.error()});
    // `run`: the record this process just wrote, never started: nothing to check or read.
    const ContainerRecord* record = just_created;
    std::optional<ContainerView> v;
    if (!record) {
        auto found = view(id);
        if (!found) return std::unexpected(StartError{125, found.error()});
        v = std::move(*found);
        if (v->status == "running" || v->status == "restarting" || v->status == "paused")
            return StartResult{};  // Docker: starting a running container is a no-op
        // The previous run's monitor records the exit and then goes: let it finish first.
        if (v->monitored) wait_pid_exit(v->state.monitor_pid, v->state.monitor_start, 5000);
        if (v->status != "created") reap_orphan(id, *v);
        record = &v->record;
    }
    // The namespace of the container joined is that of its current init: found now.
    if (!joined_container(*record).empty())
        if (auto st = join_network_of(*record); !st)
            return std::unexpected(StartError{125, st.error()});

    // A caller started with fds 0-2 closed would otherwise get the socket there.
    for (int fd = 0; fd <= 2; ++fd)
        if (::fcntl(fd, F_GETFD) < 0) ::open("/dev/null", O_RDWR);
    int sp[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0)
        return std::unexpected(StartError{125, Error::from_errno("socketpair")});
    UniqueFd ours(sp[0]), theirs(sp[1]);
    std::string root = store_.root(), runroot = store_.runroot();
    pid_t pid = ::fork();
    if (pid < 0) return std::unexpected(StartError{125, Error::from_errno("fork monitor")});
    if (pid == 0) {
        // The monitor: its own session (no terminal's signals reach it), stdio on /dev/null
        // (a caller's pipe must see EOF when `husk run -d` exits), the sync socket at fd 3.
        ::setsid();
        int sync_fd = ::fcntl(theirs.get(), F_DUPFD, 10);
        int null_fd = ::open("/dev/null", O_RDWR);
        ::dup2(null_fd, 0);
        ::dup2(null_fd, 1);
        ::dup2(null_fd, 2);
        ::dup2(sync_fd, 3);  // dup2 clears FD_CLOEXEC on the copy
        ::syscall(SYS_close_range, 4U, ~0U, 0U);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        create_then_exec_monitor(store_, id, trace, monitor_binary_, record);
    }
    theirs.reset();
    // Exactly one frame: the container's output may follow in the same socket buffer, and
    // it belongs to whoever attaches next.
    auto frame = read_one_frame(ours.get());
    if (!frame) {
        return std::unexpected(StartError{125, frame.error().wrap("start container {}", id)});
    }
    if (frame->first == Frame::error) {
        const std::string& p = frame->second;
        int code = std::atoi(p.c_str());
        auto space = p.find(' ');
        std::string msg = space == std::string::npos ? p : p.substr(space + 1);
        return std::unexpected(StartError{code == 0 ? 125 : code, Error::invalid("{}", msg)});
    }
    if (frame->first != Frame::started)
        return std::unexpected(StartError{125, Error::invalid("start container {}: unexpected "
                                                              "message from its monitor",
                                                              id)});
    StartResult result;
    result.pid = std::atoi(frame->second.c_str());
    result.connection = std::move(ours);
    return result;
}

void Engine::collect_garbage(bool wait) {
    for (const auto& id : store_.unrecorded()) {
        // Busy: being created, or purged by its monitor's cleanup right now.
        if (!wait && !store_.lock(id, false)) continue;
        if (auto st = purge(id); !st) log::debug("purge container {}: {}", id, st.error().what());
    }
    runtime::Runtime rt(store_.runtime_root());
    auto states = rt.list();
    if (!states) return;
    for (const auto& [state, status] : *states) {
        if (path_exists(store_.dir(state.id))) continue;
        if (status == runtime::ContainerStatus::running) continue;  // not ours to stop
        if (auto st = rt.remove(state.id, true); !st)
            log::debug("remove the runtime state of {}: {}", state.id, st.error().what());
    }
}

Status Engine::purge(const std::string& id) {
    if (!path_exists(store_.dir(id))) return {};
    auto lock = store_.lock(id);
    if (!lock) return fail(lock.error());
    if (path_exists(store_.dir(id) + "/config.json")) return {};  // a create just finished
    HUSK_TRY(release_resources(id));
    // Docker's --rm takes the container's anonymous volumes with it.
    if (auto record = store_.load_removed(id); record && record->auto_remove)
        remove_anonymous_volumes(*record, volumes_root());
    if (!path_exists(store_.dir(id))) return {};
    return remove_tree(store_.dir(id));
}

Status Engine::release_resources(const std::string& id) const {
    runtime::Runtime rt(store_.runtime_root());
    if (auto st = rt.remove(id, true); !st && st.error().errnum() != ENOENT)
        HUSK_TRY_CTX(std::move(st), "remove the runtime state of container {}", id);
    detach_networks(id);
    return release_rootfs(store_.root(), id);
}

Result<ContainerView> Engine::find(const std::string& ref) const {
    auto id = store_.resolve(ref);
    if (!id) return fail(id.error());
    return view(*id);
}

Result<ContainerView> Engine::view(const std::string& id) const {
    ContainerView v;
    auto record = store_.load(id);
    if (!record) return fail(record.error());
    v.record = std::move(*record);
    auto rt = store_.load_runtime(id);
    if (rt) v.state = std::move(*rt);
    v.status = v.state.status;
    v.monitored = monitor_alive(v.state);
    v.network = load_attachment(store_.dir(id));
    runtime::StateStore rstore(store_.runtime_root());
    if (v.status == "running" || v.status == "restarting") {
        auto rs = rstore.load(id);
        std::optional<runtime::ContainerStatus> live;
        if (rs) live = rstore.status(*rs);
        if (live == runtime::ContainerStatus::paused) v.status = "paused";
        if (!v.monitored) {
            // The monitor died: the container may still run (it is nobody's child now), or
            // it is gone and nobody recorded how it ended.
            if (live == runtime::ContainerStatus::running ||
                live == runtime::ContainerStatus::paused) {
                v.status = live == runtime::ContainerStatus::paused ? "paused" : "running";
                if (rs) v.state.pid = rs->pid;
            } else {
                v.status = "exited";
                v.state.status = "exited";
                v.state.pid = 0;
                if (v.state.finished_at.empty()) {
                    v.state.exit_code = 255;
                    v.state.error = "the container's monitor died before recording its exit";
                }
            }
        }
    } else if (v.status == "created" && v.monitored) {
        // The monitor is starting it.
        v.status = "created";
    }
    return v;
}

void Engine::wait_monitor_done(const std::string& id, int timeout_ms) const {
    auto rt = store_.load_runtime(id);
    if (!rt || !monitor_alive(*rt)) return;
    wait_pid_exit(rt->monitor_pid, rt->monitor_start, timeout_ms);
}

void Engine::reap_orphan(const std::string& id, ContainerView& v) const {
    runtime::Runtime rt(store_.runtime_root());
    (void)rt.remove(id, true);
    detach_networks(id);
    if (v.status == "exited" && v.state.status == "exited") (void)store_.save_runtime(id, v.state);
}

Status Engine::stop(const std::string& id, std::optional<int> timeout) {
    auto v = view(id);
    if (!v) return fail(v.error());
    touch(store_.dir(id) + "/stop-requested");
    if (v->status != "running" && v->status != "paused" && v->status != "restarting") {
        if (!v->monitored) reap_orphan(id, *v);
        return {};
    }
    runtime::Runtime rt(store_.runtime_root());
    int seconds = timeout.value_or(v->record.stop_timeout);
    auto rs = rt.store().load(id);
    if (rs && v->status != "restarting") {
        if (v->status == "paused") (void)rt.resume(id);
        auto sig = runtime::parse_signal(v->record.stop_signal);
        int signal = sig ? *sig : SIGTERM;
        if (seconds != 0) (void)rt.kill(id, signal, false);
        bool exited = seconds > 0 && wait_pid_exit(rs->pid, rs->init_start_time, seconds * 1000);
        if (seconds < 0) exited = wait_pid_exit(rs->pid, rs->init_start_time, -1);
        if (!exited) {
            (void)rt.kill(id, SIGKILL, true);
            wait_pid_exit(rs->pid, rs->init_start_time, 10000);
        }
    }
    wait_monitor_done(id, 10000);
    auto after = view(id);
    if (after && !after->monitored) {
        if (after->state.finished_at.empty() || after->state.status != "exited") {
            after->state.status = "exited";
            after->state.exit_code = 137;
            after->state.finished_at = now_rfc3339();
        }
        reap_orphan(id, *after);
    }
    return {};
}

Status Engine::kill(const std::string& id, const std::string& signal) {
    auto sig = runtime::parse_signal(signal);
    if (!sig) return fail(sig.error().wrap("--signal"));
    auto v = view(id);
    if (!v) return fail(v.error());
    if (v->status != "running" && v->status != "paused")
        return fail_invalid("cannot kill container {}: it is not running", v->record.name);
    // As `docker kill`: the restart policy does not bring it back.
    touch(store_.dir(id) + "/stop-requested");
    runtime::Runtime rt(store_.runtime_root());
    HUSK_TRY(rt.kill(id, *sig, false));
    return {};
}

Status Engine::remove(const std::string& id, bool force, bool volumes) {
    auto lock = store_.lock(id);
    if (!lock) return fail(lock.error());
    auto v = view(id);
    if (!v) return fail(v.error());
    if (v->status == "running" || v->status == "paused" || v->status == "restarting") {
        if (!force)
            return fail_invalid(
                "cannot remove container {}: the container is {}: stop it first or use -f",
                v->record.name, v->status);
        touch(store_.dir(id) + "/stop-requested");
    }
    runtime::Runtime rt(store_.runtime_root());
    if (auto st = rt.remove(id, true); !st && st.error().errnum() != ENOENT)
        log::debug("remove runtime state of {}: {}", id, st.error().what());
    if (v->monitored) {
        // It records the exit and goes; a monitor that hangs is not allowed to keep the
        // directory busy.
        if (!wait_pid_exit(v->state.monitor_pid, v->state.monitor_start, 5000))
            ::kill(v->state.monitor_pid, SIGKILL);
    }
    // All it holds outside its directory first: a container whose rootfs cannot be
    // released stays, for another try.
    HUSK_TRY_CTX(release_resources(id), "remove container {}", v->record.name);
    HUSK_TRY(store_.remove_record(id, v->record.name));
    if (volumes) remove_anonymous_volumes(v->record, volumes_root());
    return remove_tree(store_.dir(id));
}

namespace {

// The exit code a --rm container's monitor sends to every attached client just before it
// removes the record; nullopt when the connection ends without one.
std::optional<int> exit_code_from_monitor(const std::string& dir) {
    auto conn = connect_unix(dir, "attach.sock");
    if (!conn) return std::nullopt;
    FrameReader reader;
    char buf[65536];
    while (true) {
        ssize_t n = ::recv(conn->get(), buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return std::nullopt;
        reader.feed(buf, static_cast<size_t>(n));
        Frame type{};
        std::string payload;
        while (reader.next(type, payload))  // the container's output is not ours to print
            if (type == Frame::exit_code) return std::atoi(payload.c_str());
    }
}

}  // namespace

Result<int> Engine::wait(const std::string& id) {
    int last = 0;
    while (true) {
        auto v = view(id);
        if (!v) {
            // Removed meanwhile (--rm): its state.json, written before the record went, has
            // the exit code until the cleanup deletes the directory.
            if (v.error().errnum() != ENOENT) return fail(v.error());
            auto rt = store_.load_runtime(id);
            return rt && rt->status == "exited" ? rt->exit_code : last;
        }
        last = v->state.exit_code;
        if (v->status == "exited") return v->state.exit_code;
        if (v->monitored && v->record.auto_remove && v->status == "running") {
            // Its record goes with its exit: the monitor's own word is the way to know.
            if (auto code = exit_code_from_monitor(store_.dir(id))) return *code;
        }
        if (v->monitored && v->status != "created") {
            wait_pid_exit(v->state.monitor_pid, v->state.monitor_start, 200);
        } else {
            ::usleep(50000);
        }
    }
}

Status Engine::pause(const std::string& id, bool pause) {
    auto v = view(id);
    if (!v) return fail(v.error());
    runtime::Runtime rt(store_.runtime_root());
    if (pause) {
        if (v->status != "running")
            return fail_invalid("container {} is not running", v->record.name);
        return rt.pause(id);
    }
    if (v->status != "paused") return fail_invalid("container {} is not paused", v->record.name);
    return rt.resume(id);
}

Result<std::vector<int>> Engine::top_pids(const std::string& id) const {
    auto v = view(id);
    if (!v) return fail(v.error());
    if (v->status != "running" && v->status != "paused")
        return fail_invalid("container {} is not running", v->record.name);
    runtime::Runtime rt(store_.runtime_root());
    auto pids = rt.processes(id);
    if (!pids) return fail(pids.error());
    return std::vector<int>(pids->begin(), pids->end());
}

}  // namespace husk::engine
