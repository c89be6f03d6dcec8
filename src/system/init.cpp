#include "system/init.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <fmt/core.h>

#include "system/bootstrap.hpp"

namespace husk::system {
namespace {

// The initial PID namespace has a fixed inode number (PROC_PID_INIT_INO).
constexpr ino_t initial_pid_ns_inode = 0xEFFFFFFCU;

int status_code(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
}

// Reaps every exited child without blocking; records `main`'s status when it is among them.
void reap(pid_t main, bool& main_done, int& main_status) {
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == main) {
            main_done = true;
            main_status = status_code(status);
        }
    }
}

// As the machine's init: every process left gets SIGTERM, then SIGKILL, then the disks are
// synced and the machine powered off.
[[noreturn]] void power_off(int code) {
    ::kill(-1, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (std::chrono::steady_clock::now() < deadline) {
        int status;
        pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid < 0 && errno == ECHILD) break;
        if (pid == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(-1, SIGKILL);
    while (::waitpid(-1, nullptr, 0) > 0) {
    }
    ::sync();
    fmt::print(stderr, "husk system init: powering off (status {})\n", code);
    ::reboot(RB_POWER_OFF);
    // Only reached without CAP_SYS_BOOT; exiting as PID 1 panics the kernel, which at least
    // stops the machine.
    ::_exit(code);
}

}  // namespace

bool is_machine_init() {
    if (::getpid() != 1) return false;
    struct stat st {};
    if (::stat("/proc/self/ns/pid", &st) != 0) return true;  // no /proc: a bare guest's init
    return st.st_ino == initial_pid_ns_inode;
}

int run_init(const std::vector<std::string>& argv, const InitOptions& options) {
    if (argv.empty()) {
        fmt::print(stderr, "husk system init: no command given (husk system init -- CMD...)\n");
        return 125;
    }
    if (options.bootstrap) {
        for (auto& step : bootstrap({.network = options.network}))
            if (options.verbose || step.state == StepState::cannot)
                fmt::print(stderr, "husk system init: {}: {}: {}\n", step.step,
                           step_state_name(step.state), step.detail);
    }
    // The kernel starts init with almost no environment: give CMD a usable PATH.
    if (!::getenv("PATH"))
        ::setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
    // Orphans of CMD come to us even when we are not PID 1.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);

    sigset_t all, previous;
    ::sigfillset(&all);
    ::sigprocmask(SIG_BLOCK, &all, &previous);
    pid_t child = ::fork();
    if (child < 0) {
        fmt::print(stderr, "husk system init: fork: {}\n", strerror(errno));
        return 125;
    }
    if (child == 0) {
        ::sigprocmask(SIG_SETMASK, &previous, nullptr);
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        int err = errno;
        fmt::print(stderr, "husk system init: exec {}: {}\n", argv[0], strerror(err));
        ::_exit(err == ENOENT ? 127 : 126);
    }

    bool main_done = false;
    int main_status = 0;
    while (!main_done) {
        siginfo_t info{};
        int sig = ::sigwaitinfo(&all, &info);
        if (sig < 0) continue;
        if (sig == SIGCHLD) {
            reap(child, main_done, main_status);
            continue;
        }
        // Everything else is CMD's to handle (SIGKILL and SIGSTOP never reach us).
        ::kill(child, sig);
    }
    // Orphans that already exited; live ones are left alone unless we are the machine.
    bool ignored = false;
    int unused = 0;
    reap(-1, ignored, unused);
    if (is_machine_init()) power_off(main_status);
    ::sigprocmask(SIG_SETMASK, &previous, nullptr);
    return main_status;
}

}  // namespace husk::system
