#include "runtime/init.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "common/files.hpp"
#include "runtime/hooks.hpp"
#include "runtime/lsm.hpp"
#include "runtime/process_setup.hpp"
#include "runtime/sync.hpp"
#include "runtime/terminal.hpp"
#include "runtime/trace.hpp"

namespace husk::runtime {
namespace {

Status join_namespaces(const InitArgs& args) {
    for (const auto& [type, fd] : args.join) {
        trace::Step t("setns", "join the {} namespace", oci::namespace_type_name(type));
        if (::setns(fd, oci::namespace_clone_flag(type)) != 0)
            return fail_errno("join the {} namespace", oci::namespace_type_name(type));
        ::close(fd);
    }
    return {};
}

// After the clone (or setns) into a user namespace our ids are still the host's, which
// the namespace does not map: files created now would fail with EOVERFLOW and we would own
// nothing. Become the namespace's root (any host uid it maps 0 to), as runc does; the host's
// supplementary groups are unmapped too, so they go, unless the namespace denies setgroups
// (a rootless parent had to) and the list is already beyond our reach.
Status become_user_namespace_root() {
    if (::setresgid(0, 0, 0) != 0)
        return fail_errno("setgid 0 in the user namespace (is gid 0 in linux.gidMappings?)");
    if (::setresuid(0, 0, 0) != 0)
        return fail_errno("setuid 0 in the user namespace (is uid 0 in linux.uidMappings?)");
    if (::setgroups(0, nullptr) != 0 && errno != EPERM)
        return fail_errno("clear the supplementary groups in the user namespace");
    return {};
}

// The parent moves us into the cgroup while we build the rootfs: on cgroup v1 the first
// write to cgroup.procs waits out an RCU grace period (milliseconds), so the two overlap.
Status wait_for_cgroup_then_unshare(const InitArgs& args) {
    trace::Step t("wait for cgroup", "runtime writes cgroup.procs, then unshare cgroup ns");
    auto joined = sync_receive(args.sync_fd);
    if (!joined) return fail(joined.error());
    if (joined->type != SyncType::cgroup_joined)
        return fail_invalid("unexpected message from the runtime");
    // Now in the container's cgroup: the namespace's root is there.
    if (args.new_cgroup_ns && ::unshare(CLONE_NEWCGROUP) != 0)
        return fail_errno("create the cgroup namespace");
    return {};
}

Status enter_new_time_namespace(const InitArgs& args) {
    if (args.new_time_ns) {
        trace::Step t("unshare time namespace");
        if (::unshare(CLONE_NEWTIME) != 0) return fail_errno("create the time namespace");
        // The offsets must be in place before the first process enters (at exec).
        std::string offsets;
        for (const auto& [clock, offset] : args.spec->linux.time_offsets)
            offsets += fmt::format("{} {} {}\n", clock, offset.secs, offset.nanosecs);
        if (!offsets.empty())
            HUSK_TRY_CTX(write_file("/proc/self/timens_offsets", offsets), "linux.timeOffsets");
    }
    return {};
}

Status apply_uts(const oci::Spec& spec) {
    if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()) != 0)
        return fail_errno("hostname {:?}", spec.hostname);
    if (!spec.domainname.empty() &&
        ::setdomainname(spec.domainname.data(), spec.domainname.size()) != 0)
        return fail_errno("domainname {:?}", spec.domainname);
    return {};
}

Status apply_sysctl(const oci::Spec& spec) {
    for (const auto& [key, value] : spec.linux.sysctl) {
        std::string path = "/proc/sys/" + key;
        std::replace(path.begin() + 10, path.end(), '.', '/');
        HUSK_TRY_CTX(write_file(path, value), "linux.sysctl {}", key);
    }
    return {};
}

// The state JSON the runtime sent for the hooks the init runs itself.
std::string g_hook_state;

// prestart and createRuntime run in the runtime (it is told the mounts are made), then
// createContainer here: in the container's namespaces, before pivot_root.
Status run_create_hooks(const InitArgs& args) {
    HUSK_TRY(sync_send(args.sync_fd, SyncType::hooks));
    auto done = sync_receive(args.sync_fd);
    if (!done) return fail(done.error());
    if (done->type != SyncType::hooks_done || !done->fd)
        return fail_invalid("unexpected message from the runtime");
    struct stat st {};
    if (::fstat(done->fd.get(), &st) != 0) return fail_errno("stat the hooks' state");
    g_hook_state.resize(static_cast<size_t>(st.st_size));
    if (::pread(done->fd.get(), g_hook_state.data(), g_hook_state.size(), 0) != st.st_size)
        return fail_errno("read the hooks' state");
    return run_hooks(args.spec->hooks.create_container, "createContainer", g_hook_state);
}

// Everything between the clone and "ready", in the order the kernel needs it.
Status setup(const InitArgs& args, UniqueFd& listener) {
    const oci::Spec& spec = *args.spec;
    trace::Step t_go("wait for go", "runtime writes id maps");
    auto go = sync_receive(args.sync_fd);
    if (!go) return fail(go.error());
    if (go->type != SyncType::go) return fail_invalid("unexpected message from the runtime");
    if (args.dumpable_until_go) ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

    t_go.done();
    HUSK_TRY(join_namespaces(args));
    trace::Step t_ids("become ns root, hostname");
    if (args.rootfs.user_namespace) HUSK_TRY(become_user_namespace_root());
    HUSK_TRY(enter_new_time_namespace(args));
    HUSK_TRY(apply_uts(spec));
    t_ids.done();
    // A cgroup2 mount's root is its mounter's cgroup namespace: the namespace must exist
    // first, or the container sees the host's whole tree (and a rootless init, with no
    // capability over the host's cgroup namespace, cannot mount it at all). On v2 the init
    // is born in its cgroup, so waiting here costs nothing.
    const auto& dirs = args.rootfs.cgroup_dirs;
    bool cgroup2_mount =
        std::any_of(args.rootfs.mounts.begin(), args.rootfs.mounts.end(), [&](const MountStep& m) {
            return m.is_cgroup &&
                   (m.fstype == "cgroup2" || (dirs.size() == 1 && dirs[0].controllers.empty()));
        });
    if (cgroup2_mount) HUSK_TRY(wait_for_cgroup_then_unshare(args));
    if (auto st = prepare_rootfs(args.rootfs); !st) {
        Error err = st.error().wrap("prepare rootfs {}", args.rootfs.rootfs);
        if (err.errnum() == EACCES && args.rootfs.user_namespace)
            err = err.wrap(
                "the container's root is the host uid linux.uidMappings maps 0 to: it "
                "must be able to search every directory up to the rootfs and its "
                "bind sources");
        return fail(err);
    }
    if (args.hooks) {
        // The runtime's hooks expect the init in its cgroup (and it is by now: the runtime
        // writes cgroup.procs while we mount).
        if (!cgroup2_mount) HUSK_TRY(wait_for_cgroup_then_unshare(args));
        HUSK_TRY(run_create_hooks(args));
    }
    trace::Step t_pivot("pivot_root", "{}", args.rootfs.rootfs);
    HUSK_TRY(enter_rootfs(args.rootfs.rootfs));
    t_pivot.done();
    trace::Step t_sysctl("sysctl", "{} keys", spec.linux.sysctl.size());
    HUSK_TRY(apply_sysctl(spec));
    t_sysctl.done();
    trace::Step t_finish("masks, read-only paths", "{} masked, {} read-only{}",
                         spec.linux.masked_paths.size(), spec.linux.readonly_paths.size(),
                         spec.root.readonly ? ", read-only root" : "");
    HUSK_TRY(finish_rootfs(spec));
    t_finish.done();
    if (args.console) {
        // After pivot_root and the mounts: the pty is one of the container's devpts.
        auto master = setup_console(spec.process);
        if (!master) return fail(master.error());
        HUSK_TRY(sync_send(args.sync_fd, SyncType::console, nullptr, master->get()));
    }
    if (!args.hooks && !cgroup2_mount) HUSK_TRY(wait_for_cgroup_then_unshare(args));

    const auto& process = spec.process;
    trace::Step t_limits("rlimits, oom score, labels", "{} rlimits", process.rlimits.size());
    HUSK_TRY(apply_rlimits(process));
    HUSK_TRY(apply_oom_score_adj(process));
    HUSK_TRY(apply_personality(spec.linux));
    HUSK_TRY(apply_exec_labels(process));
    t_limits.done();
    // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which the identity switch
    // may drop: load it while we still have it (runc's order). With no_new_privs it is loaded
    // last, in run_init, so the fewest syscalls run under it.
    if (args.seccomp != nullptr && !process.no_new_privileges) {
        trace::Step t("load seccomp", "before the uid switch (no noNewPrivileges)");
        auto fd = load_seccomp(*args.seccomp);
        if (!fd) return fail(fd.error().wrap("linux.seccomp"));
        listener = std::move(*fd);
    }
    trace::Step t_ident("identity, capabilities", "uid {} gid {}", process.user.uid,
                        process.user.gid);
    HUSK_TRY(apply_identity(process));
    t_ident.done();
    if (::chdir(process.cwd.c_str()) != 0) return fail_errno("process.cwd {}", process.cwd);
    if (process.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return fail_errno("process.noNewPrivileges");
    return {};
}

void wait_for_start(const InitArgs& args) {
    if (args.fifo_fd >= 0) {
        char byte;
        ssize_t n;
        do {
            n = ::read(args.fifo_fd, &byte, 1);
        } while (n < 0 && errno == EINTR);
        if (n != 1) ::_exit(1);
        return;
    }
    auto msg = sync_receive(args.sync_fd);
    if (!msg || msg->type != SyncType::start) ::_exit(1);
}

[[noreturn]] void report_and_exit(int sync_fd, const Error& error) {
    (void)sync_send(sync_fd, SyncType::error, &error);
    ::_exit(1);
}

}  // namespace

void run_init(const InitArgs& args) {
    trace::set_who("init");
    // Die with the runtime while it still waits for us; stay out of reach of the
    // container's processes (no /proc/<pid>/exe, no ptrace) until the exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (!args.dumpable_until_go) ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    for (int fd : args.close_fds) ::close(fd);

    UniqueFd listener;
    if (auto st = setup(args, listener); !st) report_and_exit(args.sync_fd, st.error());
    trace::Step t_find("find executable", "{}", args.spec->process.args.front());
    auto executable = find_executable(args.spec->process);
    t_find.done();
    if (!executable) report_and_exit(args.sync_fd, executable.error());

    std::vector<char*> argv, envp;
    for (const auto& a : args.spec->process.args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : args.spec->process.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    if (args.spec->process.user.umask) ::umask(*args.spec->process.user.umask);

    reset_signal_state();
    ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    if (args.seccomp != nullptr && args.spec->process.no_new_privileges) {
        trace::Step t("load seccomp", "last step before exec (noNewPrivileges)");
        auto fd = load_seccomp(*args.seccomp);
        if (!fd) report_and_exit(args.sync_fd, fd.error().wrap("linux.seccomp"));
        listener = std::move(*fd);
    }
    // From here on the filter applies: only sendmsg, read/recvmsg, close_range and execve
    // remain before the container's process runs. The listener goes to the runtime, which
    // passes it on to linux.seccomp.listenerPath; the container never holds it.
    if (!sync_send(args.sync_fd, SyncType::ready, nullptr, listener.get())) ::_exit(1);
    listener.reset();
    wait_for_start(args);
    if (!args.spec->hooks.start_container.empty()) {
        // After start nobody waits on the sync socket: the error goes to the container's
        // stderr and the container stops (as with runc).
        std::string state = g_hook_state;
        if (auto at = state.find("\"status\": \"creating\""); at != std::string::npos)
            state.replace(at, 20, "\"status\": \"created\"");
        if (auto st = run_hooks(args.spec->hooks.start_container, "startContainer", state); !st) {
            std::string msg = fmt::format("husk-runtime: {}\n", st.error().what());
            (void)!::write(STDERR_FILENO, msg.data(), msg.size());
            ::_exit(1);
        }
    }

    // No fd of the runtime's may survive into the container (CVE-2024-21626).
    ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
    ::execve(executable->c_str(), argv.data(), envp.data());
    std::string msg = fmt::format("husk-runtime: exec {}: {}\n", *executable, std::strerror(errno));
    (void)!::write(STDERR_FILENO, msg.data(), msg.size());
    ::_exit(127);
}

}  // namespace husk::runtime
