#include "engine/rootless_ns.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "common/files.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"
#include "runtime/rootless.hpp"
#include "runtime/state.hpp"

namespace husk::engine {
namespace {

std::string home_dir() {
    if (const char* home = ::getenv("HOME"); home != nullptr && home[0] == '/') return home;
    struct passwd pw {};
    struct passwd* found = nullptr;
    char buf[4096];
    if (::getpwuid_r(::geteuid(), &pw, buf, sizeof buf, &found) == 0 && found != nullptr)
        return found->pw_dir;
    return {};
}

// $VAR when it is an absolute path (the XDG spec says to ignore relative ones), else
// ~/<fallback>.
Result<std::string> xdg_dir(const char* var, const char* fallback) {
    if (const char* v = ::getenv(var); v != nullptr && v[0] == '/') return std::string(v);
    std::string home = home_dir();
    if (home.empty())
        return fail_invalid("neither {} nor HOME is set, and uid {} has no home directory", var,
                            ::geteuid());
    return home + "/" + fallback;
}

std::vector<oci::IdMapping> maps_for(uint32_t own, const std::vector<runtime::SubIdRange>& ranges) {
    std::vector<oci::IdMapping> out = {{0, own, 1}};
    uint64_t next = 1;
    for (const auto& r : ranges) {
        if (next + r.count > UINT32_MAX) break;
        out.push_back({static_cast<uint32_t>(next), r.start, r.count});
        next += r.count;
    }
    return out;
}

struct Holder {
    pid_t pid = 0;
    uint64_t start_time = 0;
};

std::optional<Holder> live_holder(const std::string& pid_file) {
    auto text = read_file(pid_file);
    if (!text) return std::nullopt;
    std::istringstream in(*text);
    Holder h;
    if (!(in >> h.pid >> h.start_time) || h.pid <= 0) return std::nullopt;
    if (runtime::process_start_time(h.pid) != h.start_time) return std::nullopt;
    return h;
}

// The holder: unshares, waits for its maps, then only keeps the namespaces alive.
[[noreturn]] void run_holder(int ready_fd, int go_fd) {
    char byte = ::unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0 ? 'u' : 'e';
    int err = errno;
    (void)!::write(ready_fd, &byte, 1);
    if (byte == 'e') {
        (void)!::write(ready_fd, &err, sizeof err);
        ::_exit(1);
    }
    if (::read(go_fd, &byte, 1) != 1) ::_exit(1);
    ::setsid();
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        ::dup2(null, 0);
        ::dup2(null, 1);
        ::dup2(null, 2);
    }
    ::syscall(SYS_close_range, 3, ~0U, 0);
    (void)!::chdir("/");
    ::prctl(PR_SET_NAME, "husk-userns", 0, 0, 0);
    ::signal(SIGHUP, SIG_IGN);
    ::signal(SIGINT, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (;;) ::pause();
}

Result<Holder> spawn_holder() {
    std::string user = runtime::current_user_name();
    uint32_t uid = ::geteuid(), gid = ::getegid();
    auto uid_ranges = runtime::read_subid_ranges("/etc/subuid", user, uid);
    if (!uid_ranges) return fail(uid_ranges.error());
    auto gid_ranges = runtime::read_subid_ranges("/etc/subgid", user, gid);
    if (!gid_ranges) return fail(gid_ranges.error());
    auto uid_maps = maps_for(uid, *uid_ranges);
    auto gid_maps = maps_for(gid, *gid_ranges);
    if (uid_maps.size() == 1 || gid_maps.size() == 1) {
        // Both or neither: a uid range without a gid range would leave files with owners
        // that have no group.
        uid_maps.resize(1);
        gid_maps.resize(1);
        log::warn(
            "user {} has no range in /etc/subuid and /etc/subgid: the user namespace maps "
            "only uid {} (root inside); images whose files have other owners keep them as "
            "root's (add ranges: usermod --add-subuids 100000-165535 --add-subgids "
            "100000-165535 {})",
            user, uid, user);
    }
    int ready[2], go[2];
    if (::pipe2(ready, O_CLOEXEC) != 0 || ::pipe2(go, O_CLOEXEC) != 0)
        return fail_errno("pipe for the user namespace holder");
    UniqueFd ready_r(ready[0]), ready_w(ready[1]), go_r(go[0]), go_w(go[1]);
    pid_t pid = ::fork();
    if (pid < 0) return fail_errno("fork the user namespace holder");
    if (pid == 0) run_holder(ready_w.get(), go_r.get());
    ready_w.reset();
    go_r.reset();
    bool ok = false;
    auto cleanup = [&] {
        if (ok) return;
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
    };
    char byte = 0;
    if (::read(ready_r.get(), &byte, 1) != 1 || byte != 'u') {
        int err = 0;
        if (byte == 'e') (void)!::read(ready_r.get(), &err, sizeof err);
        cleanup();
        return fail(Error(err,
                          "create the rootless user namespace (unshare CLONE_NEWUSER; "
                          "is kernel.unprivileged_userns_clone or "
                          "user.max_user_namespaces 0?)"));
    }
    if (auto mapped = runtime::write_id_maps(pid, uid_maps, gid_maps); !mapped) {
        cleanup();
        return fail(mapped.error().wrap("map ids of the rootless user namespace"));
    }
    if (::write(go_w.get(), "g", 1) != 1) {
        cleanup();
        return fail_errno("start the user namespace holder");
    }
    ok = true;
    return Holder{pid, runtime::process_start_time(pid)};
}

}  // namespace

Result<UserDirs> rootless_dirs() {
    UserDirs dirs;
    auto data = xdg_dir("XDG_DATA_HOME", ".local/share");
    if (!data) return fail(data.error());
    auto config = xdg_dir("XDG_CONFIG_HOME", ".config");
    if (!config) return fail(config.error());
    auto run = runtime::user_runtime_dir("husk");
    if (!run) return fail(run.error());
    dirs.root = *data + "/husk";
    dirs.config = *config + "/husk";
    dirs.runroot = *run;
    return dirs;
}

namespace {

// The host id of our 0, and the number of ids the namespace has.
Result<std::pair<uint32_t, uint64_t>> read_map(const std::string& file) {
    auto text = read_file(file);
    if (!text) return fail(text.error());
    std::istringstream in(*text);
    uint64_t inside = 0, outside = 0, count = 0, total = 0;
    std::optional<uint32_t> own;
    while (in >> inside >> outside >> count) {
        if (inside == 0) own = static_cast<uint32_t>(outside);
        total += count;
    }
    if (!own) return fail_invalid("{}: no mapping for 0", file);
    return std::pair{*own, total};
}

Result<std::vector<std::array<uint32_t, 3>>> nest(uint32_t id, uint64_t total, const char* what) {
    if (total <= id)
        return fail_invalid(
            "your {} {} must exist inside, but the rootless namespace has {} ids only: add a "
            "larger range to /etc/sub{}",
            what, id, total, what);
    std::vector<std::array<uint32_t, 3>> out;
    if (id > 0) out.push_back({0, 1, id});
    out.push_back({id, 0, 1});
    if (total > id + 1uLL) out.push_back({id + 1, id + 1, static_cast<uint32_t>(total - id - 1)});
    return out;
}

}  // namespace

Result<KeepIdMaps> keep_id_maps() {
    auto u = read_map("/proc/self/uid_map");
    if (!u) return fail(u.error());
    auto g = read_map("/proc/self/gid_map");
    if (!g) return fail(g.error());
    KeepIdMaps m;
    m.uid = u->first;
    m.gid = g->first;
    auto um = nest(m.uid, u->second, "uid");
    if (!um) return fail(um.error());
    auto gm = nest(m.gid, g->second, "gid");
    if (!gm) return fail(gm.error());
    m.uid_maps = *um;
    m.gid_maps = *gm;
    return m;
}

bool already_in_user_namespace() {
    return runtime::in_user_namespace();
}

namespace {
bool g_entered_by_setns = false;
}  // namespace

bool entered_user_namespace_by_setns() {
    return g_entered_by_setns;
}

Status enter_rootless_namespace(const std::string& state_dir) {
    HUSK_TRY(make_dirs(state_dir, 0700));
    std::string lock_path = state_dir + "/userns.lock";
    UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!lock) return fail_errno("open {}", lock_path);
    if (::flock(lock.get(), LOCK_EX) != 0) return fail_errno("lock {}", lock_path);
    std::string pid_file = state_dir + "/userns.pid";
    auto holder = live_holder(pid_file);
    if (!holder) {
        auto made = spawn_holder();
        if (!made) return fail(made.error());
        holder = *made;
        HUSK_TRY(write_file_atomic(pid_file,
                                   fmt::format("{} {}\n", holder->pid, holder->start_time), 0600,
                                   Durability::survive_crash));
    }
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, holder->pid, 0));
    if (pidfd < 0) return fail_errno("pidfd_open the user namespace holder {}", holder->pid);
    UniqueFd guard(pidfd);
    if (runtime::process_start_time(holder->pid) != holder->start_time)
        return fail_invalid("the user namespace holder {} exited meanwhile", holder->pid);
    // Joining a mount namespace moves root and cwd to its root: come back to the same path
    // (the holder's mount table is the host's, copied and kept as a slave of it).
    char cwd[PATH_MAX];
    bool have_cwd = ::getcwd(cwd, sizeof cwd) != nullptr;
    UniqueFd cwd_fd(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (::setns(pidfd, CLONE_NEWUSER | CLONE_NEWNS) != 0)
        return fail_errno("join the rootless user namespace of holder {}", holder->pid);
    g_entered_by_setns = true;
    if (!have_cwd || ::chdir(cwd) != 0) {
        if (cwd_fd) (void)!::fchdir(cwd_fd.get());
    }
    return {};
}

}  // namespace husk::engine
