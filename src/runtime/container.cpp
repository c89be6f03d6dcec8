#include "runtime/container.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <linux/sched.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstring>
#include <ctime>

#include "common/files.hpp"
#include "common/log.hpp"
#include "common/scope_exit.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/capabilities.hpp"
#include "runtime/cgroup_control.hpp"
#include "runtime/cgroup_limits.hpp"
#include "runtime/cgroups_systemd.hpp"
#include "runtime/hooks.hpp"
#include "runtime/idmap.hpp"
#include "runtime/init.hpp"
#include "runtime/lsm.hpp"
#include "runtime/mount_plan.hpp"
#include "runtime/rootless.hpp"
#include "runtime/seccomp.hpp"
#include "runtime/sync.hpp"
#include "runtime/systemd_bus.hpp"
#include "runtime/terminal.hpp"
#include "runtime/trace.hpp"

namespace husk::runtime {
namespace {

std::string rfc3339_now() {
    struct timespec ts {};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm {};
    ::gmtime_r(&ts.tv_sec, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    return fmt::format("{}.{:09}Z", buf, ts.tv_nsec);
}

Result<std::string> real_path(const std::string& path, const std::string& what) {
    char buf[PATH_MAX];
    if (::realpath(path.c_str(), buf) == nullptr) return fail_errno("{} {}", what, path);
    return std::string(buf);
}

// Opens the namespaces to join and checks each is of the type the config says.
Result<std::vector<std::pair<oci::NamespaceType, UniqueFd>>> open_namespaces(
    const oci::Spec& spec) {
    std::vector<std::pair<oci::NamespaceType, UniqueFd>> out;
    for (size_t i = 0; i < spec.linux.namespaces.size(); ++i) {
        const auto& ns = spec.linux.namespaces[i];
        if (ns.path.empty()) continue;
        UniqueFd fd(::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) return fail_errno("linux.namespaces[{}].path {}", i, ns.path);
        int type = ::ioctl(fd.get(), NS_GET_NSTYPE);
        if (type < 0)
            return fail_errno("linux.namespaces[{}].path {}: not a namespace", i, ns.path);
        if (type != oci::namespace_clone_flag(ns.type))
            return fail_invalid("linux.namespaces[{}].path {}: not a {} namespace", i, ns.path,
                                oci::namespace_type_name(ns.type));
        out.emplace_back(ns.type, std::move(fd));
    }
    // The user namespace first: it decides what the others may be joined with.
    std::stable_partition(out.begin(), out.end(),
                          [](auto& p) { return p.first == oci::NamespaceType::user; });
    return out;
}

Status wait_for_exit(pid_t pid, uint64_t start_time, int timeout_ms) {
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) return errno == ESRCH ? Status{} : fail_errno("pidfd_open {}", pid);
    UniqueFd guard(pidfd);
    if (process_start_time(pid) != start_time) return {};
    struct pollfd p {
        pidfd, POLLIN, 0
    };
    int rc = ::poll(&p, 1, timeout_ms);
    if (rc == 0) return fail(Error(ETIMEDOUT, fmt::format("waiting for pid {} to exit", pid)));
    return {};
}

Status signal_process(pid_t pid, uint64_t start_time, int signal) {
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) return fail_errno("pidfd_open {}", pid);
    UniqueFd guard(pidfd);
    // The pidfd pins the process: if it is still the container's init now, it is the one
    // the signal reaches.
    if (process_start_time(pid) != start_time)
        return fail(Error(ESRCH, "the container's process is gone"));
    if (::syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0) != 0)
        return fail_errno("signal {} to pid {}", signal, pid);
    return {};
}

// Every process in the container's cgroup (for kill --all and a forced delete).
std::vector<pid_t> cgroup_pids(const ContainerState& state) {
    std::vector<pid_t> pids;
    if (state.cgroup_dirs.empty()) return pids;
    auto text = read_file(state.cgroup_dirs.front().path + "/cgroup.procs");
    if (!text) return pids;
    size_t pos = 0;
    while (pos < text->size()) {
        size_t end = text->find('\n', pos);
        if (end == std::string::npos) end = text->size();
        if (end > pos) pids.push_back(static_cast<pid_t>(std::stol(text->substr(pos, end - pos))));
        pos = end + 1;
    }
    return pids;
}

std::atomic<pid_t> g_forward_to{0};

// "user,mount,pid" from clone flags, for the trace.
std::string namespace_names(unsigned long flags) {
    std::string out;
    for (auto [flag, name] : {std::pair{CLONE_NEWUSER, "user"},
                              {CLONE_NEWNS, "mount"},
                              {CLONE_NEWPID, "pid"},
                              {CLONE_NEWNET, "network"},
                              {CLONE_NEWUTS, "uts"},
                              {CLONE_NEWIPC, "ipc"}})
        if (flags & static_cast<unsigned long>(flag))
            out += (out.empty() ? "" : ",") + std::string(name);
    return out.empty() ? "none" : out;
}

void forward_signal(int signal) {
    pid_t pid = g_forward_to.load();
    if (pid > 0) ::kill(pid, signal);
}

}  // namespace

Result<int> parse_signal(const std::string& name) {
    if (name.empty()) return fail_invalid("empty signal");
    if (std::isdigit(static_cast<unsigned char>(name[0]))) {
        char* end = nullptr;
        long n = std::strtol(name.c_str(), &end, 10);
        if (*end != '\0' || n <= 0 || n >= NSIG) return fail_invalid("invalid signal {:?}", name);
        return static_cast<int>(n);
    }
    std::string upper;
    for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (upper.starts_with("SIG")) upper = upper.substr(3);
    for (int sig = 1; sig < NSIG; ++sig) {
        const char* abbrev = ::sigabbrev_np(sig);
        if (abbrev != nullptr && upper == abbrev) return sig;
    }
    // Real-time signals: RTMIN, RTMAX, RTMIN+N, RTMAX-N (glibc has no abbreviations for them).
    if (upper.starts_with("RTMIN") || upper.starts_with("RTMAX")) {
        bool from_min = upper[3] == 'I';
        int sig = from_min ? SIGRTMIN : SIGRTMAX;
        std::string rest = upper.substr(5);
        if (!rest.empty()) {
            char expected = from_min ? '+' : '-';
            char* end = nullptr;
            long offset = rest.size() > 1 && rest[0] == expected &&
                                  std::isdigit(static_cast<unsigned char>(rest[1]))
                              ? std::strtol(rest.c_str() + 1, &end, 10)
                              : -1;
            if (offset < 0 || end == nullptr || *end != '\0')
                return fail_invalid("unknown signal {:?}", name);
            sig = from_min ? sig + static_cast<int>(offset) : sig - static_cast<int>(offset);
        }
        if (sig >= SIGRTMIN && sig <= SIGRTMAX) return sig;
    }
    return fail_invalid("unknown signal {:?}", name);
}

Runtime::Runtime(std::string root) : store_(std::move(root)), rootless_(detect_rootless()) {}

Result<pid_t> Runtime::spawn(const CreateOptions& options, bool keep_child) {
    HUSK_TRY(validate_container_id(options.id));
    if (!options.systemd_cgroup) warm_up_cgroup_migration();
    auto bundle = real_path(options.bundle, "bundle");
    if (!bundle) return fail(bundle.error());
    trace::Step t_config("parse config.json", "{}", *bundle);
    auto loaded = oci::load_config(*bundle);
    if (!loaded) return fail(loaded.error());
    oci::Spec spec = std::move(*loaded);
    t_config.done();

    std::string root_path =
        spec.root.path.front() == '/' ? spec.root.path : *bundle + "/" + spec.root.path;
    auto rootfs = real_path(root_path, "root.path");
    if (!rootfs) return fail(rootfs.error());
    struct stat st {};
    if (::stat(rootfs->c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return fail(Error(ENOTDIR, fmt::format("root.path {}", *rootfs)));

    const oci::Namespace* mount_ns = spec.find_namespace(oci::NamespaceType::mount);
    if (mount_ns == nullptr)
        return fail_invalid(
            "linux.namespaces: a mount namespace is required (the rootfs is set up in it)");
    if (!mount_ns->path.empty())
        return fail_invalid("linux.namespaces: joining a mount namespace by path is not supported");

    trace::Step t_plan("plan mounts", "{} mounts in config.json", spec.mounts.size());
    auto mounts = plan_mounts(spec, *bundle);
    if (!mounts) return fail(mounts.error());
    HUSK_TRY(check_lsm_support(spec, detect_lsms()));
    add_mount_label(*mounts, spec.linux.mount_label);
    auto idmapped_trees = prepare_idmapped_mounts(*mounts);
    if (!idmapped_trees) return fail(idmapped_trees.error());
    if (spec.process.capabilities) {
        for (const auto& name : drop_unavailable(*spec.process.capabilities))
            log::warn(
                "process.capabilities: {} is not available to husk-runtime on this host "
                "(missing from its bounding set); the container will not have it",
                name);
        for (const auto& name : drop_unraisable_ambient(*spec.process.capabilities))
            log::warn(
                "process.capabilities.ambient: {} is not both permitted and inheritable, "
                "so the kernel cannot raise it; the container will not have it",
                name);
    }
    t_plan.done();
    std::optional<SeccompProgram> seccomp;
    trace::Step t_seccomp("prepare seccomp", "{}",
                          spec.linux.seccomp ? "compile or cached BPF" : "none");
    if (spec.linux.seccomp) {
        auto program = prepare_seccomp(*spec.linux.seccomp, store_.root() + "/@cache/seccomp");
        if (!program) return fail(program.error());
        seccomp = std::move(*program);
    }
    t_seccomp.done();
    trace::Step t_ns("open namespaces to join");
    auto joins = open_namespaces(spec);
    t_ns.done();
    if (!joins) return fail(joins.error());
    UniqueFd console_socket;
    if (spec.process.terminal) {
        // runc's rule: the pty goes to whoever listens on the socket; there is no other way
        // to hand it over.
        if (options.console_socket.empty())
            return fail_invalid("process.terminal: true requires --console-socket");
        auto connected = connect_console_socket(options.console_socket);
        if (!connected) return fail(connected.error());
        console_socket = std::move(*connected);
    }
    trace::Step t_detect("detect cgroups", "plan linux.resources");
    auto cgroup_host = detect_cgroups();
    if (!cgroup_host) return fail(cgroup_host.error().wrap("detect cgroups"));
    std::string no_cgroup_reason;
    if (rootless_) *cgroup_host = rootless_cgroups(*cgroup_host, no_cgroup_reason);
    // Rootless, the device rules are dropped: without a cgroup they have nothing to attach
    // to, and with a delegated one the eBPF device program cannot be loaded without
    // privileges (EPERM); the devices are host binds the user could open anyway.
    oci::Resources wanted = spec.linux.resources;
    if (rootless_) wanted.devices.clear();
    auto limits = plan_resources(cgroup_caps(*cgroup_host), wanted);
    if (!limits && !no_cgroup_reason.empty())
        return fail(limits.error().wrap("linux.resources: rootless: {}", no_cgroup_reason));
    if (!limits) return fail(limits.error());
    auto device_limits = take_device_writes(*limits);
    if (!no_cgroup_reason.empty()) {
        if (!limits->empty())
            return fail_invalid("linux.resources: rootless: {}; drop the limits", no_cgroup_reason);
        device_limits.clear();
    }
    if (rootless_) HUSK_TRY(check_id_maps(spec.linux.uid_mappings, spec.linux.gid_mappings));
    t_detect.done();
    // The systemd driver: the scope's name, its properties and the connection are settled
    // before anything is made; the scope itself starts once the init exists (a scope starts
    // with its processes).
    std::optional<SystemdCgroupPath> systemd_path;
    std::optional<SystemdBus> systemd_bus;
    std::vector<UnitProperty> unit_properties, device_properties;
    std::string scope_cgroup;
    bool systemd_v2 = cgroup_host->layout == CgroupLayout::unified;
    if (options.systemd_cgroup) {
        trace::Step t_systemd("systemd driver", "scope name, properties, connect");
        if (!systemd_booted()) return fail(systemd_not_booted_error());
        auto parsed = parse_systemd_cgroups_path(spec.linux.cgroups_path, options.id);
        if (!parsed) return fail(parsed.error());
        if (cgroup_host->layout == CgroupLayout::none)
            return fail_invalid(
                "--systemd-cgroup: no cgroup filesystem is mounted (no cgroup or cgroup2 entry "
                "in /proc/self/mountinfo), so systemd cannot have made the container's scope");
        auto relative = systemd_scope_cgroup(*parsed);
        if (!relative) return fail(relative.error());
        auto props = resource_properties(spec.linux.resources, systemd_v2);
        if (!props) return fail(props.error());
        auto bus = SystemdBus::connect();
        if (!bus) return fail(bus.error());
        systemd_path = std::move(*parsed);
        systemd_bus.emplace(std::move(*bus));
        unit_properties = std::move(*props);
        device_properties = take_device_properties(unit_properties);
        scope_cgroup = std::move(*relative);
    } else if (spec.linux.cgroups_path.find(':') != std::string::npos) {
        return fail_invalid(
            "linux.cgroupsPath {:?} is a systemd slice path (slice:prefix:name): pass "
            "--systemd-cgroup to have systemd make the container's scope, or use a cgroup path "
            "like \"/husk/{}\"",
            spec.linux.cgroups_path, options.id);
    }
    trace::Step t_reserve("reserve state dir", "{}", store_.dir(options.id));

    // Side effects start here; each one is undone if a later step fails.
    HUSK_TRY(store_.reserve(options.id));
    // A create that fails once its hooks began continues at delete (runtime-spec lifecycle):
    // poststop runs last, after everything below was undone.
    std::string poststop_state;
    auto poststop_on_failure = ScopeExit([&] {
        if (!poststop_state.empty())
            run_hooks_warn(spec.hooks.poststop, "poststop", poststop_state);
    });
    auto remove_state = ScopeExit([&] { (void)store_.remove(options.id); });
    auto lock = store_.lock(options.id);
    if (!lock) return fail(lock.error());

    UniqueFd fifo;
    if (!keep_child) {
        std::string fifo_path = store_.fifo_path(options.id);
        if (::mkfifo(fifo_path.c_str(), 0600) != 0) return fail_errno("mkfifo {}", fifo_path);
        // Opened read-write so the open does not block; the init reads from it until start.
        fifo.reset(::open(fifo_path.c_str(), O_RDWR | O_CLOEXEC));
        if (!fifo) return fail_errno("open {}", fifo_path);
    }

    t_reserve.done();
    Cgroup cgroup;
    trace::Step t_cgroup("create cgroup", "layout {}", cgroup_layout_name(cgroup_host->layout));
    if (systemd_path) {
        // systemd makes the directories when the scope starts, after the clone; their paths
        // are known now (the init binds them at /sys/fs/cgroup on v1).
        std::vector<CgroupDir> dirs;
        for (const auto& h : cgroup_host->hierarchies)
            dirs.push_back(
                {h.mount_point, h.unified ? "" : h.controllers, h.mount_point + scope_cgroup});
        cgroup = Cgroup::from_dirs(std::move(dirs), {});
    } else if (cgroup_host->layout != CgroupLayout::none) {
        auto made = Cgroup::create(*cgroup_host, spec.linux.cgroups_path, options.id);
        if (!made) return fail(made.error());
        cgroup = std::move(*made);
    } else {
        log::debug("no cgroup filesystem mounted: the container runs without a cgroup");
    }
    auto destroy_cgroup = ScopeExit([&] { (void)cgroup.destroy(); });
    t_cgroup.done();
    if (!systemd_path) HUSK_TRY(apply_cgroup_writes(cgroup.dirs(), cgroup.created(), *limits));

    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
        return fail_errno("socketpair");
    UniqueFd parent_end(pair[0]), child_end(pair[1]);

    unsigned long flags = SIGCHLD;
    bool new_user = false;
    for (const auto& ns : spec.linux.namespaces) {
        if (!ns.path.empty()) continue;
        switch (ns.type) {
            case oci::NamespaceType::cgroup:
            case oci::NamespaceType::time:
                break;  // unshared by the init, see init.cpp
            case oci::NamespaceType::user:
                new_user = true;
                [[fallthrough]];
            default:
                flags |= static_cast<unsigned long>(oci::namespace_clone_flag(ns.type));
        }
    }

    InitArgs init;
    init.spec = &spec;
    init.rootfs.spec = &spec;
    init.rootfs.rootfs = *rootfs;
    init.rootfs.mounts = std::move(*mounts);
    init.rootfs.cgroup_dirs = cgroup.dirs();
    init.rootfs.user_namespace = spec.has_namespace(oci::NamespaceType::user);
    // Root of someone else's user namespace may not mknod either.
    init.rootfs.bind_devices = init.rootfs.user_namespace || rootless_;
    init.sync_fd = child_end.get();
    init.fifo_fd = fifo.get();
    init.close_fds.push_back(lock->get());
    init.seccomp = seccomp ? &*seccomp : nullptr;
    const oci::Hooks& hooks = spec.hooks;
    init.console = spec.process.terminal;
    init.hooks = !hooks.prestart.empty() || !hooks.create_runtime.empty() ||
                 !hooks.create_container.empty() || !hooks.start_container.empty();
    for (auto& [type, fd] : *joins) {
        // Recorded only for the namespaces this process joins (the init joins the others).
        trace::Step t_setns("setns", "join the {} namespace (runtime, before the clone)",
                            oci::namespace_type_name(type));
        if (type != oci::NamespaceType::pid && !(new_user && type != oci::NamespaceType::user))
            t_setns.cancel();
        if (type == oci::NamespaceType::pid) {
            // Joining a pid namespace applies to the caller's next child: the init.
            if (::setns(fd.get(), CLONE_NEWPID) != 0) return fail_errno("join the pid namespace");
            continue;
        }
        if (new_user && type != oci::NamespaceType::user) {
            // From inside its new user namespace the init holds no capability over a
            // namespace the host's owns: join it here, before the clone, so the init starts in
            // it (runc joins first and unshares the user namespace after, to the same end).
            if (::setns(fd.get(), oci::namespace_clone_flag(type)) != 0)
                return fail_errno("join the {} namespace", oci::namespace_type_name(type));
            continue;
        }
        init.join.emplace_back(type, fd.get());
    }
    for (const auto& ns : spec.linux.namespaces) {
        if (!ns.path.empty()) continue;
        init.new_cgroup_ns |= ns.type == oci::NamespaceType::cgroup;
        init.new_time_ns |= ns.type == oci::NamespaceType::time;
    }

    // Our own /proc/<pid>/exe is out of the container's reach too. An unprivileged runtime
    // must open the new init's uid_map (or let newuidmap open it), which a non-dumpable
    // process's /proc files (root's) forbid: the init then stays dumpable until its maps are
    // written ("go"), and this process turns non-dumpable right after the clone.
    init.dumpable_until_go = new_user && ::geteuid() != 0;
    if (!init.dumpable_until_go) ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    ::fflush(nullptr);
    trace::Step t_clone("clone3", "new namespaces: {}",
                        trace::enabled() ? namespace_names(flags) : "");
    // clone3 places the init in its v2 cgroup at birth (CLONE_INTO_CGROUP); v1 hierarchies
    // (and kernels without clone3) take a write to cgroup.procs below.
    UniqueFd unified = systemd_path ? UniqueFd() : cgroup.open_unified();
    struct clone_args clone_args {};
    clone_args.flags =
        (flags & ~static_cast<unsigned long>(CSIGNAL)) | (unified ? CLONE_INTO_CGROUP : 0);
    clone_args.exit_signal = SIGCHLD;
    clone_args.cgroup = static_cast<__u64>(unified ? unified.get() : 0);
    long rc = ::syscall(SYS_clone3, &clone_args, sizeof clone_args);
    bool born_in_cgroup = rc >= 0 && unified;
    if (rc < 0 && (errno == ENOSYS || errno == EINVAL || errno == EBUSY || errno == EOPNOTSUPP))
        rc = ::syscall(SYS_clone, flags, nullptr, nullptr, nullptr, 0);
    if (rc < 0) return fail_errno("clone the container init");
    if (rc == 0) {
        parent_end.reset();
        run_init(init);
    }
    pid_t pid = static_cast<pid_t>(rc);
    if (init.dumpable_until_go) ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    t_clone.done();
    child_end.reset();
    fifo.reset();
    unified.reset();
    auto kill_child = ScopeExit([&] {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
    });
    // Runs before kill_child: stopping the scope kills what is in it.
    bool scope_started = false;
    auto stop_scope = ScopeExit([&] {
        if (scope_started) (void)systemd_bus->stop_unit(systemd_path->unit());
    });

    trace::Step t_maps("write id maps", "{}", new_user ? "uid_map, gid_map" : "no user namespace");
    if (new_user) HUSK_TRY(write_id_maps(pid, spec.linux.uid_mappings, spec.linux.gid_mappings));
    t_maps.done();
    if (systemd_path) {
        // Before "go": the init binds the scope's v1 directories while it builds the rootfs.
        trace::Step t_scope("systemd scope", "StartTransientUnit {}, JobRemoved",
                            systemd_path->unit());
        auto props = scope_properties(*systemd_path, pid, systemd_v2);
        props.insert(props.end(), unit_properties.begin(), unit_properties.end());
        for (const auto& p : props) log::debug("{}: {}", systemd_path->unit(), property_text(p));
        auto started = systemd_bus->start_transient_unit(systemd_path->unit(), props);
        if (!started) {
            // An init that failed first (systemd then finds no such pid): its error is the one
            // to show.
            if (process_start_time(pid) == 0) {
                auto early = sync_receive(parent_end.get());
                if (early && early->type == SyncType::error)
                    return fail(
                        Error(early->errnum, early->text).wrap("create container {}", options.id));
            }
            return fail(started.error().wrap("create container {}", options.id));
        }
        scope_started = true;
        // The hierarchies systemd does not manage (v1 cpuset, net_cls, ...) get the scope's
        // path too; the init joins them all, then the limits go in as on cgroupfs.
        auto made = Cgroup::create(*cgroup_host, scope_cgroup, options.id);
        if (!made) return fail(made.error());
        cgroup = std::move(*made);
        HUSK_TRY(cgroup.add_process(pid));
        HUSK_TRY(apply_cgroup_writes(cgroup.dirs(), cgroup.created(), *limits));
    }
    HUSK_TRY(sync_send(parent_end.get(), SyncType::go));
    trace::Step t_join("join cgroup", "{}",
                       systemd_path     ? "joined the systemd scope before go"
                       : born_in_cgroup ? "v1 cgroup.procs (born in v2)"
                                        : "cgroup.procs");
    if (auto joined = systemd_path ? Status{} : cgroup.add_process(pid, born_in_cgroup); !joined) {
        // The init may have failed first (and so left the cgroup): its error is the one to show.
        ::kill(pid, SIGKILL);
        auto early = sync_receive(parent_end.get());
        if (early && early->type == SyncType::error)
            return fail(Error(early->errnum, early->text).wrap("create container {}", options.id));
        return fail(joined.error());
    }
    // If this fails, the init is gone; its own error is already queued for the receive below.
    (void)sync_send(parent_end.get(), SyncType::cgroup_joined);
    t_join.done();

    ContainerState state;
    state.id = options.id;
    state.pid = pid;
    state.bundle = *bundle;
    state.rootfs = *rootfs;
    state.created = rfc3339_now();
    state.annotations = spec.annotations;
    state.cgroup_dirs = cgroup.dirs();
    state.cgroup_created = cgroup.created();
    if (systemd_path) state.systemd_unit = systemd_path->unit();

    auto reply = sync_receive(parent_end.get());
    if (reply && reply->type == SyncType::hooks) {
        // The init made the mounts and waits before pivot_root: the runtime's create hooks
        // run now, prestart (deprecated) first.
        std::string json = state_json(state, ContainerStatus::creating);
        poststop_state = state_json(state, ContainerStatus::stopped);
        HUSK_TRY_CTX(run_hooks(hooks.prestart, "prestart", json), "create container {}",
                     options.id);
        HUSK_TRY_CTX(run_hooks(hooks.create_runtime, "createRuntime", json), "create container {}",
                     options.id);
        UniqueFd memfd(static_cast<int>(::syscall(SYS_memfd_create, "husk-state", MFD_CLOEXEC)));
        if (!memfd ||
            ::write(memfd.get(), json.data(), json.size()) != static_cast<ssize_t>(json.size()))
            return fail_errno("pass the state to the container's hooks");
        (void)sync_send(parent_end.get(), SyncType::hooks_done, nullptr, memfd.get());
        reply = sync_receive(parent_end.get());
    }
    // The init's messages come in its order: hooks (before pivot_root), then the pty.
    if (reply && reply->type == SyncType::console) {
        if (!reply->fd)
            return fail_invalid("create container {}: no pty from the init", options.id);
        HUSK_TRY_CTX(send_console(console_socket.get(), reply->fd.get(), "/dev/ptmx"),
                     "create container {}", options.id);
        console_socket.reset();
        reply = sync_receive(parent_end.get());
    }
    if (!reply)
        return fail(
            oom_context(cgroup.dirs(), reply.error()).wrap("create container {}", options.id));
    if (reply->type != SyncType::ready)
        return fail(Error(reply->errnum, reply->text).wrap("create container {}", options.id));
    trace::Step t_finish("device rules, state.json");
    HUSK_TRY(apply_cgroup_writes(cgroup.dirs(), cgroup.created(), device_limits));
    if (systemd_path)
        HUSK_TRY_CTX(systemd_bus->set_unit_properties(systemd_path->unit(), device_properties),
                     "create container {}", options.id);

    state.init_start_time = process_start_time(pid);
    HUSK_TRY(store_.save(state));
    HUSK_TRY(save_hooks(store_.dir(options.id), "poststart", hooks.poststart));
    HUSK_TRY(save_hooks(store_.dir(options.id), "poststop", hooks.poststop));
    if (!options.pid_file.empty())
        HUSK_TRY_CTX(write_file_atomic(options.pid_file, std::to_string(pid), 0644,
                                       Durability::survive_crash),
                     "--pid-file");
    if (reply->fd)
        HUSK_TRY(send_seccomp_listener(*spec.linux.seccomp, reply->fd.get(), pid,
                                       state_json(state, ContainerStatus::creating)));

    t_finish.done();
    if (keep_child && options.before_start) {
        trace::Step t_hook("before start", "the caller's setup (networks)");
        HUSK_TRY(options.before_start(pid));
    }
    if (keep_child) {
        trace::Step t_exec("start and exec", "{}", spec.process.args.front());
        HUSK_TRY(sync_send(parent_end.get(), SyncType::start));
        // poststart waits for the exec (its socket end closes then; see start()); so does
        // the trace, to time it.
        if (!hooks.poststart.empty() || trace::enabled()) (void)sync_receive(parent_end.get());
    }
    stop_scope.dismiss();
    kill_child.dismiss();
    destroy_cgroup.dismiss();
    remove_state.dismiss();
    poststop_on_failure.dismiss();
    return pid;
}

Status Runtime::create(const CreateOptions& options) {
    auto pid = spawn(options, false);
    if (!pid) return fail(pid.error());
    return {};
}

Status Runtime::start(const std::string& id) {
    auto lock = store_.lock(id);
    if (!lock) return fail(lock.error());
    auto state = store_.load(id);
    if (!state) return fail(state.error());
    auto status = store_.status(*state);
    if (status != ContainerStatus::created)
        return fail_invalid("cannot start container {:?}: it is {}, not created", id,
                            status_name(status));
    std::string fifo_path = store_.fifo_path(id);
    UniqueFd fifo(::open(fifo_path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fifo) {
        if (errno == ENXIO)
            return fail_invalid("cannot start container {:?}: its init is not running", id);
        return fail_errno("open {}", fifo_path);
    }
    if (::write(fifo.get(), "0", 1) != 1) return fail_errno("start container {:?}", id);
    ::unlink(fifo_path.c_str());
    if (path_exists(store_.dir(id) + "/poststart.json")) {
        // poststart runs once the process is executed (after startContainer): the init's
        // end of the fifo closes at its exec, and a fifo without readers reports POLLERR.
        struct pollfd p {
            fifo.get(), 0, 0
        };
        while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
        }
        run_poststart(*state);
    }
    return {};
}

void Runtime::run_poststart(const ContainerState& state) const {
    auto hooks = load_hooks(store_.dir(state.id), "poststart");
    if (!hooks) {
        log::warn("hooks.poststart: {}", hooks.error().what());
        return;
    }
    if (!hooks->empty())
        run_hooks_warn(*hooks, "poststart", state_json(state, ContainerStatus::running));
}

Result<int> Runtime::run(const CreateOptions& options, bool detach) {
    // Forward the usual signals to the container while we wait for it, as runc does.
    if (!detach) {
        struct sigaction sa {};
        sa.sa_handler = forward_signal;
        sa.sa_flags = SA_RESTART;
        for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH})
            ::sigaction(sig, &sa, nullptr);
    }
    auto pid = spawn(options, true);
    if (!pid) return fail(pid.error());
    if (auto state = store_.load(options.id)) run_poststart(*state);
    if (detach) return 0;
    g_forward_to.store(*pid);

    int wstatus = 0;
    trace::Step t_wait("container runs", "until pid {} exits", *pid);
    while (::waitpid(*pid, &wstatus, 0) < 0) {
        if (errno != EINTR) return fail_errno("wait for container {:?}", options.id);
    }
    t_wait.done();
    g_forward_to.store(0);
    int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    trace::Step t_delete("delete", "cgroup, state dir");
    HUSK_TRY(remove(options.id, true));
    return code;
}

Result<std::string> Runtime::state(const std::string& id) const {
    auto state = store_.load(id);
    if (!state) return fail(state.error());
    add_oom_annotation(*state);  // OOM kills are read from the cgroup, not stored
    return state_json(*state, store_.status(*state));
}

Status Runtime::kill(const std::string& id, int signal, bool all) {
    auto state = store_.load(id);
    if (!state) return fail(state.error());
    auto status = store_.status(*state);
    if (status == ContainerStatus::stopped)
        return fail_invalid("container {:?} is not running", id);
    if (all) {
        for (pid_t pid : cgroup_pids(*state)) ::kill(pid, signal);
        return {};
    }
    return signal_process(state->pid, state->init_start_time, signal);
}

Status Runtime::remove(const std::string& id, bool force) {
    HUSK_TRY(validate_container_id(id));
    auto lock = store_.lock(id);
    if (!lock) return fail(lock.error());
    auto state = store_.load(id);
    if (!state) {
        // A record without a state file is what a create killed half-way leaves: clear it.
        if (state.error().errnum() == ENOENT && path_exists(store_.dir(id)))
            return store_.remove(id);
        return fail(state.error());
    }
    auto status = store_.status(*state);
    if (status == ContainerStatus::running || status == ContainerStatus::paused) {
        if (!force)
            return fail_invalid("cannot delete container {:?}: it is {} (use --force)", id,
                                status_name(status));
    }
    if (status != ContainerStatus::stopped) {
        // Thaw first: a frozen process cannot act on SIGKILL.
        (void)freeze_cgroup(state->cgroup_dirs, false);
        for (pid_t pid : cgroup_pids(*state)) ::kill(pid, SIGKILL);
        (void)signal_process(state->pid, state->init_start_time, SIGKILL);
        HUSK_TRY(wait_for_exit(state->pid, state->init_start_time, 10000));
    }
    if (!state->systemd_unit.empty() && systemd_booted()) {
        // Stopping the scope removes its cgroup; a scope whose processes all exited is gone
        // already (systemd collects it), which stop_unit takes as done.
        auto bus = SystemdBus::connect();
        if (!bus) return fail(bus.error().wrap("delete container {:?}", id));
        HUSK_TRY_CTX(bus->stop_unit(state->systemd_unit), "delete container {:?}", id);
    }
    auto cgroup = Cgroup::from_dirs(state->cgroup_dirs, state->cgroup_created);
    HUSK_TRY(cgroup.destroy());
    // The container is gone; its poststop hooks run before delete returns (failures warn).
    auto poststop = load_hooks(store_.dir(id), "poststop");
    if (!poststop)
        log::warn("hooks.poststop: {}", poststop.error().what());
    else if (!poststop->empty())
        run_hooks_warn(*poststop, "poststop", state_json(*state, ContainerStatus::stopped));
    return store_.remove(id);
}

Result<std::vector<std::pair<ContainerState, ContainerStatus>>> Runtime::list() const {
    auto states = store_.list();
    if (!states) return fail(states.error());
    std::vector<std::pair<ContainerState, ContainerStatus>> out;
    for (auto& s : *states) {
        auto status = store_.status(s);
        out.emplace_back(std::move(s), status);
    }
    return out;
}

}  // namespace husk::runtime
