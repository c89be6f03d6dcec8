#include "runtime/hooks.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "common/files.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"

namespace husk::runtime {
namespace {

// What a failing hook said, kept short enough for one error line.
constexpr size_t kMaxOutput = 4096;

int64_t now_ms() {
    struct timespec ts {};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
}

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
}

Status run_hook(const oci::Hook& hook, const std::string& name, const std::string& state_json) {
    // The state goes in a memfd rather than a pipe: a hook that never reads stdin must not
    // block us on a full pipe.
    UniqueFd input(static_cast<int>(::syscall(SYS_memfd_create, "husk-hook-state", MFD_CLOEXEC)));
    if (!input) return fail_errno("{}: memfd_create", name);
    if (::write(input.get(), state_json.data(), state_json.size()) !=
        static_cast<ssize_t>(state_json.size()))
        return fail_errno("{}: write the state", name);
    ::lseek(input.get(), 0, SEEK_SET);
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return fail_errno("{}: pipe", name);
    UniqueFd out_read(fds[0]), out_write(fds[1]);

    std::vector<char*> argv, envp;
    if (hook.args.empty()) argv.push_back(const_cast<char*>(hook.path.c_str()));
    for (const auto& a : hook.args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : hook.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);

    ::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) return fail_errno("{}: fork", name);
    if (pid == 0) {
        ::dup2(input.get(), STDIN_FILENO);
        ::dup2(out_write.get(), STDOUT_FILENO);
        ::dup2(out_write.get(), STDERR_FILENO);
        // Only stdio: no fd of the runtime's (or the init's) goes to the hook.
        ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
        ::signal(SIGPIPE, SIG_DFL);
        ::execve(hook.path.c_str(), argv.data(), envp.data());
        std::string msg = fmt::format("exec {}: {}\n", hook.path, std::strerror(errno));
        (void)!::write(STDERR_FILENO, msg.data(), msg.size());
        ::_exit(127);
    }
    out_write.reset();
    input.reset();
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        return fail_errno("{}: pidfd_open", name);
    }

    std::string output;
    auto keep = [&](const char* buf, ssize_t got) {
        if (output.size() < kMaxOutput)
            output.append(buf,
                          std::min<size_t>(static_cast<size_t>(got), kMaxOutput - output.size()));
    };
    bool timed_out = false, eof = false;
    int64_t deadline = hook.timeout ? now_ms() + int64_t{*hook.timeout} * 1000 : -1;
    // Until it exits (the pidfd), not until its output closes: a daemon it leaves behind may
    // hold the pipe open for good.
    for (bool exited = false; !exited;) {
        struct pollfd p[2] = {{eof ? -1 : out_read.get(), POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
        int wait = deadline < 0 ? -1 : static_cast<int>(std::max<int64_t>(0, deadline - now_ms()));
        int n = ::poll(p, 2, wait);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail_errno("{}: poll", name);
        if (n == 0) {
            timed_out = true;
            break;
        }
        if (p[0].revents != 0) {
            char buf[1024];
            ssize_t got = ::read(out_read.get(), buf, sizeof buf);
            if (got <= 0)
                eof = true;
            else
                keep(buf, got);
        }
        if ((p[1].revents & POLLIN) != 0) exited = true;
    }
    if (!eof && !timed_out) {
        // What it wrote just before exiting is still in the pipe.
        ::fcntl(out_read.get(), F_SETFL, O_NONBLOCK);
        char buf[1024];
        for (ssize_t got; (got = ::read(out_read.get(), buf, sizeof buf)) > 0;) keep(buf, got);
    }
    if (timed_out) ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out)
        return fail(Error(ETIMEDOUT, fmt::format("{} {}: timed out after {} s (killed)", name,
                                                 hook.path, *hook.timeout)));
    std::string said = trimmed(output);
    std::string tail = said.empty() ? "" : ": " + said;
    if (WIFSIGNALED(status))
        return fail_invalid("{} {}: killed by signal {}{}", name, hook.path, WTERMSIG(status),
                            tail);
    if (WEXITSTATUS(status) != 0)
        return fail_invalid("{} {}: exit status {}{}", name, hook.path, WEXITSTATUS(status), tail);
    return {};
}

}  // namespace

Status run_hooks(const std::vector<oci::Hook>& hooks, const char* kind,
                 const std::string& state_json) {
    for (size_t i = 0; i < hooks.size(); ++i)
        HUSK_TRY(run_hook(hooks[i], fmt::format("hooks.{}[{}]", kind, i), state_json));
    return {};
}

void run_hooks_warn(const std::vector<oci::Hook>& hooks, const char* kind,
                    const std::string& state_json) {
    // Every hook runs: one failing does not excuse the others (the spec: log a warning and
    // continue).
    for (size_t i = 0; i < hooks.size(); ++i)
        if (auto st = run_hook(hooks[i], fmt::format("hooks.{}[{}]", kind, i), state_json); !st)
            log::warn("{}", st.error().what());
}

Status save_hooks(const std::string& state_dir, const char* kind,
                  const std::vector<oci::Hook>& hooks) {
    if (hooks.empty()) return {};
    return write_file_atomic(fmt::format("{}/{}.json", state_dir, kind), oci::hooks_json(hooks),
                             0600, Durability::survive_crash);
}

Result<std::vector<oci::Hook>> load_hooks(const std::string& state_dir, const char* kind) {
    std::string path = fmt::format("{}/{}.json", state_dir, kind);
    auto text = read_file(path);
    if (!text) {
        if (text.error().errnum() == ENOENT) return std::vector<oci::Hook>{};
        return fail(text.error());
    }
    return oci::parse_hook_list_json(*text, path);
}

}  // namespace husk::runtime
