#include "image/fuse_overlay.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>

#include "common/files.hpp"
#include "common/proc.hpp"
#include "common/unique_fd.hpp"

namespace husk::image {
namespace {

constexpr long kFuseSuperMagic = 0x65735546;

bool is_fuse_mount(const std::string& path) {
    struct statfs sfs {};
    return ::statfs(path.c_str(), &sfs) == 0 && static_cast<long>(sfs.f_type) == kFuseSuperMagic;
}

// What fuse-overlayfs said, without the notice it prints on every start.
std::string log_text(const std::string& log_file) {
    auto text = read_file(log_file);
    if (!text) return "no message";
    std::istringstream in(*text);
    std::string line, out;
    while (std::getline(in, line)) {
        if (line.empty() || line.find("unknown argument ignored") != std::string::npos) continue;
        if (!out.empty()) out += "; ";
        out += line;
    }
    return out.empty() ? "no message" : out;
}

// Waits up to `ms` for the recorded process to end.
bool wait_gone(pid_t pid, uint64_t start, int ms) {
    for (int waited = 0; waited < ms; waited += 10) {
        if (process_start_time(pid) != start) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return process_start_time(pid) != start;
}

// Ends the process named by the pid file (it may already be gone) and removes the file.
void stop_recorded(const std::string& pid_file, int grace_ms) {
    auto text = read_file(pid_file);
    if (text) {
        long long pid = 0;
        unsigned long long start = 0;
        if (std::sscanf(text->c_str(), "%lld %llu", &pid, &start) == 2 && pid > 1 && start != 0 &&
            !wait_gone(static_cast<pid_t>(pid), start, grace_ms)) {
            ::kill(static_cast<pid_t>(pid), SIGKILL);
            wait_gone(static_cast<pid_t>(pid), start, 1000);
        }
    }
    ::unlink(pid_file.c_str());
}

}  // namespace

Result<std::string> fuse_overlay_binary() {
    std::string found;
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path != nullptr && *path != '\0' ? path
                                                             : "/usr/local/bin:/usr/bin:/bin");
    for (std::string dir; std::getline(dirs, dir, ':');) {
        if (dir.empty() || dir[0] != '/') continue;
        std::string candidate = dir + "/fuse-overlayfs";
        if (::access(candidate.c_str(), X_OK) == 0) {
            found = candidate;
            break;
        }
    }
    if (found.empty())
        return fail(Error(ENOENT, "fuse-overlayfs is not installed (package fuse-overlayfs)"));
    UniqueFd dev(::open("/dev/fuse", O_RDWR | O_CLOEXEC));
    if (!dev) return fail_errno("fuse-overlayfs cannot be used: open /dev/fuse");
    return found;
}

Status mount_fuse_overlay(const std::string& binary,
                          const std::vector<std::string>& lowers_top_first,
                          const std::string& upper, const std::string& work,
                          const std::string& target, const FuseOverlayFiles& files) {
    // Its options are one string split at ',' and ':' (no escapes in Debian's 1.10).
    std::vector<std::string> paths = lowers_top_first;
    paths.insert(paths.end(), {upper, work, target});
    for (auto& p : paths)
        if (p.find_first_of(",:") != std::string::npos)
            return fail_invalid(
                "fuse-overlayfs cannot take the path {} (',' and ':' separate "
                "its options)",
                p);
    std::string opts = "lowerdir=";
    for (size_t i = 0; i < lowers_top_first.size(); ++i) {
        if (i) opts += ":";
        opts += lowers_top_first[i];
    }
    opts += ",upperdir=" + upper + ",workdir=" + work;
    // Everything the child needs is made before fork: after it only async-signal-safe calls.
    std::vector<std::string> args = {binary, "-f", "-o", opts, target};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    UniqueFd log(::open(files.log_file.c_str(),
                        O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!log) return fail_errno("create {}", files.log_file);
    UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!null) return fail_errno("open /dev/null");
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return fail_errno("pipe for fuse-overlayfs");
    UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);

    // Twice forked, in a session of its own: it outlives this command (the mount lives until
    // the container is removed), no terminal signal of the caller reaches it, and nobody
    // here has to reap it.
    pid_t mid = ::fork();
    if (mid < 0) return fail_errno("fork for fuse-overlayfs");
    if (mid == 0) {
        ::setsid();
        pid_t daemon = ::fork();
        if (daemon == 0) {
            ::dup2(null.get(), 0);
            ::dup2(null.get(), 1);
            ::dup2(log.get(), 2);
            // A caller's ignored or blocked signals (the monitor blocks what its signalfd
            // reads) are not its business: it starts clean.
            for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
            sigset_t none;
            sigemptyset(&none);
            ::sigprocmask(SIG_SETMASK, &none, nullptr);
            // Inherited fds (a test harness's pipes) would keep its callers waiting, and the
            // caller's working directory must not stay busy for the mount's whole life.
            ::syscall(SYS_close_range, 3U, ~0U, 0U);
            if (::chdir("/") != 0) _exit(127);
            ::execv(argv[0], argv.data());
            _exit(127);
        }
        ssize_t n = ::write(write_end.get(), &daemon, sizeof daemon);
        _exit(daemon > 0 && n == sizeof daemon ? 0 : 1);
    }
    write_end.reset();
    int wstatus = 0;
    while (::waitpid(mid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    pid_t daemon = 0;
    if (::read(read_end.get(), &daemon, sizeof daemon) != sizeof daemon || daemon <= 0)
        return fail_errno("start fuse-overlayfs for {}", target);
    uint64_t start = process_start_time(daemon);
    HUSK_TRY(write_file_atomic(files.pid_file, fmt::format("{} {}\n", daemon, start)));

    // Ready when the target is a FUSE mount (statfs is answered by the process itself).
    for (int waited = 0; waited < 10000; waited += 5) {
        if (is_fuse_mount(target)) return {};
        if (start == 0 || process_start_time(daemon) != start) {
            ::umount2(target.c_str(), MNT_DETACH);
            ::unlink(files.pid_file.c_str());
            return fail(Error(EIO, fmt::format("fuse-overlayfs could not mount {}: {}", target,
                                               log_text(files.log_file))));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    stop_recorded(files.pid_file, 0);
    ::umount2(target.c_str(), MNT_DETACH);
    return fail(Error(ETIMEDOUT, fmt::format("fuse-overlayfs did not mount {} within 10 s: {}",
                                             target, log_text(files.log_file))));
}

Status unmount_fuse_overlay(const std::string& target, const FuseOverlayFiles& files) {
    // A busy mount (a process still inside) is detached: the process ends with its last user.
    if (::umount2(target.c_str(), 0) != 0) {
        int err = errno;
        if (err == EBUSY) {
            if (::umount2(target.c_str(), MNT_DETACH) != 0) return fail_errno("unmount {}", target);
        } else if (err != EINVAL && err != ENOENT) {
            errno = err;
            return fail_errno("unmount {}", target);
        }
    }
    // Unmounted (or never mounted in this namespace): its server must not outlive it.
    stop_recorded(files.pid_file, 2000);
    return {};
}

}  // namespace husk::image
