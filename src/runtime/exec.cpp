#include "runtime/exec.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <optional>

#include "common/files.hpp"
#include "common/log.hpp"
#include "common/scope_exit.hpp"
#include "oci/process_parse.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/capabilities.hpp"
#include "runtime/cgroups.hpp"
#include "runtime/lsm.hpp"
#include "runtime/process_setup.hpp"
#include "runtime/seccomp.hpp"
#include "runtime/sync.hpp"
#include "runtime/terminal.hpp"

namespace husk::runtime {
namespace {

const char* proc_ns_name(oci::NamespaceType type) {
    switch (type) {
        case oci::NamespaceType::pid:
            return "pid";
        case oci::NamespaceType::network:
            return "net";
        case oci::NamespaceType::mount:
            return "mnt";
        case oci::NamespaceType::ipc:
            return "ipc";
        case oci::NamespaceType::uts:
            return "uts";
        case oci::NamespaceType::user:
            return "user";
        case oci::NamespaceType::cgroup:
            return "cgroup";
        case oci::NamespaceType::time:
            return "time";
    }
    return "unknown";
}

struct Join {
    oci::NamespaceType type;
    UniqueFd fd;
};

// The init's namespaces that differ from ours, user first: once in the container's user
// namespace we hold the capabilities over the others it owns. (Joining the namespace one is
// already in fails with EINVAL for a user namespace, so equal ones are skipped.)
Result<std::vector<Join>> open_init_namespaces(pid_t pid, const oci::Spec& spec) {
    std::vector<Join> out;
    for (const auto& ns : spec.linux.namespaces) {
        std::string name = proc_ns_name(ns.type);
        std::string path = fmt::format("/proc/{}/ns/{}", pid, name);
        UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) return fail_errno("open the container's {} namespace {}", name, path);
        struct stat theirs {
        }, ours{};
        if (::fstat(fd.get(), &theirs) != 0) return fail_errno("stat {}", path);
        if (::stat(("/proc/self/ns/" + name).c_str(), &ours) == 0 && ours.st_ino == theirs.st_ino &&
            ours.st_dev == theirs.st_dev)
            continue;
        out.push_back({ns.type, std::move(fd)});
    }
    std::stable_partition(out.begin(), out.end(),
                          [](const Join& j) { return j.type == oci::NamespaceType::user; });
    return out;
}

Status add_capability(const std::string& name, oci::Capabilities& caps) {
    cap_value_t value = 0;
    bool spelled_ok = name.size() > 4 && name.starts_with("CAP_") &&
                      std::all_of(name.begin(), name.end(),
                                  [](char c) { return (c >= 'A' && c <= 'Z') || c == '_'; });
    if (!spelled_ok || cap_from_name(name.c_str(), &value) != 0)
        return fail_invalid("--cap: unknown capability {:?}", name);
    for (auto* set : {&caps.bounding, &caps.effective, &caps.permitted})
        if (std::find(set->begin(), set->end(), value) == set->end()) set->push_back(value);
    return {};
}

Status parse_user_flag(const std::string& text, oci::User& user) {
    auto number = [&](const std::string& part, uint32_t& out) -> bool {
        if (part.empty() || part.size() > 10 ||
            !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return false;
        unsigned long long n = std::stoull(part);
        if (n > UINT32_MAX) return false;
        out = static_cast<uint32_t>(n);
        return true;
    };
    size_t colon = text.find(':');
    uint32_t uid = 0, gid = user.gid;
    if (!number(text.substr(0, colon), uid) ||
        (colon != std::string::npos && !number(text.substr(colon + 1), gid)))
        return fail_invalid("--user {:?}: expected UID[:GID] (numbers; names are not looked up)",
                            text);
    user.uid = uid;
    user.gid = gid;
    return {};
}

// The process to run: --process as given (runc ignores the other flags then), else the
// container's own process with the command line's overrides.
Result<oci::Process> build_process(const oci::Spec& spec, const ExecOptions& options) {
    if (!options.process_file.empty()) {
        auto text = read_file(options.process_file);
        if (!text) return fail(text.error().wrap("--process"));
        return oci::parse_process_json(*text, "--process " + options.process_file);
    }
    if (options.args.empty())
        return fail_invalid("exec: a command to run is required (or --process FILE)");
    oci::Process process = spec.process;
    process.args = options.args;
    // The container's terminal is its init's: exec gets one only by asking (-t), as in runc.
    process.terminal = options.tty;
    for (const auto& e : options.env) {
        size_t eq = e.find('=');
        if (eq == std::string::npos || eq == 0)
            return fail_invalid("--env {:?}: expected KEY=VALUE", e);
        // A later KEY= replaces the container's, as a shell would see it.
        std::string key = e.substr(0, eq + 1);
        std::erase_if(process.env, [&](const std::string& old) { return old.starts_with(key); });
        process.env.push_back(e);
    }
    if (!options.cwd.empty()) {
        if (options.cwd.front() != '/')
            return fail_invalid("--cwd {:?}: must be an absolute path", options.cwd);
        process.cwd = options.cwd;
    }
    if (!options.user.empty()) HUSK_TRY(parse_user_flag(options.user, process.user));
    if (!options.caps.empty()) {
        if (!process.capabilities) process.capabilities.emplace();
        for (const auto& name : options.caps) HUSK_TRY(add_capability(name, *process.capabilities));
    }
    process.no_new_privileges |= options.no_new_privs;
    return process;
}

struct ChildArgs {
    const oci::Process* process = nullptr;
    std::vector<Join>* joins = nullptr;
    int root_fd = -1;  // the init's root, seen from the host (/proc/<pid>/root)
    int sync_fd = -1;
    unsigned preserve_fds = 0;
    const SeccompProgram* seccomp = nullptr;
};

// setns into the mount namespace puts root and cwd at the namespace's root, which is the
// container's root after pivot_root. A container whose init fell back to MS_MOVE + chroot
// (an initramfs host) has its root below that: go where the init is.
Status enter_init_root(int root_fd) {
    struct stat here {
    }, there{};
    if (::stat("/", &here) != 0) return fail_errno("stat /");
    if (::fstat(root_fd, &there) != 0) return fail_errno("stat the container's root");
    if (here.st_dev == there.st_dev && here.st_ino == there.st_ino) return {};
    if (::fchdir(root_fd) != 0 || ::chroot(".") != 0)
        return fail_errno("enter the container's root");
    return {};
}

Status child_setup(const ChildArgs& args) {
    auto go = sync_receive(args.sync_fd);
    if (!go) return fail(go.error());
    if (go->type != SyncType::go) return fail_invalid("unexpected message from the runtime");
    for (auto& join : *args.joins) {
        if (::setns(join.fd.get(), oci::namespace_clone_flag(join.type)) != 0)
            return fail_errno("join the container's {} namespace",
                              oci::namespace_type_name(join.type));
        join.fd.reset();
    }
    HUSK_TRY(enter_init_root(args.root_fd));
    ::close(args.root_fd);
    if (::chdir("/") != 0) return fail_errno("chdir /");

    const oci::Process& process = *args.process;
    if (process.terminal) {
        // Inside the container's root: /dev/ptmx is its devpts, as for the init.
        auto master = setup_console(process);
        if (!master) return fail(master.error());
        HUSK_TRY(sync_send(args.sync_fd, SyncType::console, nullptr, master->get()));
    }
    HUSK_TRY(apply_rlimits(process));
    HUSK_TRY(apply_oom_score_adj(process));
    HUSK_TRY(apply_exec_labels(process));
    // Same order as the init (init.cpp): without no_new_privs the filter needs
    // CAP_SYS_ADMIN, which the identity switch may drop.
    if (args.seccomp != nullptr && !process.no_new_privileges) {
        auto fd = load_seccomp(*args.seccomp);
        if (!fd) return fail(fd.error().wrap("linux.seccomp"));
    }
    HUSK_TRY(apply_identity(process));
    if (::chdir(process.cwd.c_str()) != 0) return fail_errno("process.cwd {}", process.cwd);
    if (process.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return fail_errno("process.noNewPrivileges");
    return {};
}

[[noreturn]] void report_and_exit(int sync_fd, const Error& error) {
    (void)sync_send(sync_fd, SyncType::error, &error);
    ::_exit(1);
}

[[noreturn]] void run_exec_child(const ChildArgs& args) {
    // Die with the runtime while it waits for us; the dumpable flag (cleared by the parent
    // before the clone) keeps our /proc/<pid>/exe, the runtime binary, out of the
    // container's reach until the exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (auto st = child_setup(args); !st) report_and_exit(args.sync_fd, st.error());
    const oci::Process& process = *args.process;
    auto executable = find_executable(process);
    if (!executable) report_and_exit(args.sync_fd, executable.error());
    std::vector<char*> argv, envp;
    for (const auto& a : process.args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : process.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    if (process.user.umask) ::umask(*process.user.umask);
    reset_signal_state();
    ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    if (args.seccomp != nullptr && process.no_new_privileges) {
        auto fd = load_seccomp(*args.seccomp);
        if (!fd) report_and_exit(args.sync_fd, fd.error().wrap("linux.seccomp"));
    }
    // Only the fds the caller passed on (--preserve-fds) survive (CVE-2024-21626); the
    // sync socket closes at the exec, which tells the runtime it happened.
    ::syscall(SYS_close_range, 3U + args.preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
    ::execve(executable->c_str(), argv.data(), envp.data());
    Error err = Error::from_errno("exec {}", *executable);
    if (!sync_send(args.sync_fd, SyncType::error, &err)) {
        std::string msg = fmt::format("husk-runtime: {}\n", err.what());
        (void)!::write(STDERR_FILENO, msg.data(), msg.size());
    }
    ::_exit(127);
}

std::atomic<pid_t> g_exec_child{0};

void forward_signal(int signal) {
    pid_t pid = g_exec_child.load();
    if (pid > 0) ::kill(pid, signal);
}

}  // namespace

Result<int> exec_in_container(const StateStore& store, const ExecOptions& options) {
    HUSK_TRY(validate_container_id(options.id));
    auto state = store.load(options.id);
    if (!state) return fail(state.error());
    switch (store.status(*state)) {
        case ContainerStatus::stopped:
            return fail_invalid("cannot exec in a stopped container {:?}", options.id);
        case ContainerStatus::paused:
            // A frozen cgroup would freeze the new process as it joins (runc refuses too).
            return fail_invalid("cannot exec in a paused container {:?}", options.id);
        case ContainerStatus::creating:
            return fail_invalid("cannot exec in container {:?}: it is still being created",
                                options.id);
        default:
            break;
    }
    for (unsigned fd = 3; fd < 3 + options.preserve_fds; ++fd)
        if (::fcntl(static_cast<int>(fd), F_GETFD) < 0)
            return fail_invalid("--preserve-fds {}: fd {} is not open", options.preserve_fds, fd);

    auto spec = oci::load_config(state->bundle);
    if (!spec) return fail(spec.error().wrap("container {:?}", options.id));
    auto process = build_process(*spec, options);
    if (!process) return fail(process.error());
    UniqueFd console_socket;
    if (process->terminal) {
        if (options.console_socket.empty())
            return fail_invalid("process.terminal (exec -t): requires --console-socket");
        auto connected = connect_console_socket(options.console_socket);
        if (!connected) return fail(connected.error());
        console_socket = std::move(*connected);
    }
    if (process->capabilities) {
        for (const auto& name : drop_unavailable(*process->capabilities))
            log::warn(
                "capability {} is not available to husk-runtime on this host; the "
                "process will not have it",
                name);
        (void)drop_unraisable_ambient(*process->capabilities);
    }
    std::optional<SeccompProgram> seccomp;
    if (spec->linux.seccomp) {
        auto program = prepare_seccomp(*spec->linux.seccomp, store.root() + "/@cache/seccomp");
        if (!program) return fail(program.error());
        seccomp = std::move(*program);
    }

    // The pidfd pins the init while its namespaces are opened: a reused pid would otherwise
    // hand us some other process's.
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, state->pid, 0)));
    if (!pidfd || process_start_time(state->pid) != state->init_start_time)
        return fail_invalid("cannot exec in a stopped container {:?}", options.id);
    auto joins = open_init_namespaces(state->pid, *spec);
    if (!joins) return fail(joins.error());
    std::string root_path = fmt::format("/proc/{}/root", state->pid);
    UniqueFd root_fd(::open(root_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root_fd) return fail_errno("open the container's root {}", root_path);
    if (process_start_time(state->pid) != state->init_start_time)
        return fail_invalid("cannot exec in a stopped container {:?}", options.id);

    // Joining a pid namespace applies to our next child: the process.
    for (auto it = joins->begin(); it != joins->end(); ++it) {
        if (it->type != oci::NamespaceType::pid) continue;
        if (::setns(it->fd.get(), CLONE_NEWPID) != 0)
            return fail_errno("join the container's pid namespace");
        joins->erase(it);
        break;
    }

    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
        return fail_errno("socketpair");
    UniqueFd parent_end(pair[0]), child_end(pair[1]);

    ChildArgs child;
    child.process = &*process;
    child.joins = &*joins;
    child.root_fd = root_fd.get();
    child.sync_fd = child_end.get();
    child.preserve_fds = options.preserve_fds;
    child.seccomp = seccomp ? &*seccomp : nullptr;

    if (!options.detach) {
        struct sigaction sa {};
        sa.sa_handler = forward_signal;
        sa.sa_flags = SA_RESTART;
        for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH})
            ::sigaction(sig, &sa, nullptr);
    }

    auto cgroup = Cgroup::from_dirs(state->cgroup_dirs, {});
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    ::fflush(nullptr);
    // Born in the container's v2 cgroup (CLONE_INTO_CGROUP); v1 hierarchies are joined
    // below, before the child is told to go on, so nothing of it runs outside the cgroup.
    UniqueFd unified = cgroup.open_unified();
    struct clone_args clone_args {};
    clone_args.flags = unified ? CLONE_INTO_CGROUP : 0;
    clone_args.exit_signal = SIGCHLD;
    clone_args.cgroup = static_cast<__u64>(unified ? unified.get() : 0);
    long rc = ::syscall(SYS_clone3, &clone_args, sizeof clone_args);
    bool born_in_cgroup = rc >= 0 && unified;
    if (rc < 0 && (errno == ENOSYS || errno == EINVAL || errno == EBUSY || errno == EOPNOTSUPP))
        rc = ::syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, 0);
    if (rc < 0) return fail_errno("clone the exec process");
    if (rc == 0) {
        parent_end.reset();
        run_exec_child(child);
    }
    pid_t pid = static_cast<pid_t>(rc);
    child_end.reset();
    unified.reset();
    root_fd.reset();
    joins->clear();
    g_exec_child.store(pid);
    auto kill_child = ScopeExit([&] {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
    });

    HUSK_TRY_CTX(cgroup.add_process(pid, born_in_cgroup), "exec in container {:?}", options.id);
    HUSK_TRY(sync_send(parent_end.get(), SyncType::go));
    auto reply = sync_receive(parent_end.get());
    if (reply && reply->type == SyncType::console && reply->fd) {
        HUSK_TRY_CTX(send_console(console_socket.get(), reply->fd.get(), "/dev/ptmx"),
                     "exec in container {:?}", options.id);
        console_socket.reset();
        reply = sync_receive(parent_end.get());
    }
    if (!reply && reply.error().errnum() != EPIPE)
        return fail(reply.error().wrap("exec in container {:?}", options.id));
    if (reply) {
        Error err = reply->type == SyncType::error ? Error(reply->errnum, reply->text)
                                                   : Error::invalid("unexpected message");
        return fail(err.wrap("exec in container {:?}", options.id));
    }
    // EOF: the socket closed at the exec (or the process died first: its status tells).
    if (!options.pid_file.empty())
        HUSK_TRY_CTX(write_file_atomic(options.pid_file, std::to_string(pid), 0644,
                                       Durability::survive_crash),
                     "--pid-file");
    kill_child.dismiss();
    if (options.detach) return 0;

    int wstatus = 0;
    while (::waitpid(pid, &wstatus, 0) < 0) {
        if (errno != EINTR) return fail_errno("wait for the exec process {}", pid);
    }
    g_exec_child.store(0);
    return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
}

}  // namespace husk::runtime
