#include "health.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/ids.hpp"

namespace husk::monitor {
namespace {

constexpr int64_t kSecond = 1000000000;
constexpr size_t kMaxOutput = 4096;  // Docker keeps the first 4 KiB of a check's output
constexpr size_t kMaxLog = 5;        // and the last five results

int64_t mono_ns() {
    struct timespec ts {};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * kSecond + ts.tv_nsec;
}

}  // namespace

HealthChecker::HealthChecker(const engine::ContainerRecord& record, std::string runtime_binary)
    : runtime_binary_(std::move(runtime_binary)) {
    if (!record.healthcheck) return;
    const auto& hc = *record.healthcheck;
    if (hc.test.empty() || hc.test[0] == "NONE") return;
    if (hc.test[0] == "CMD-SHELL" && hc.test.size() >= 2)
        args_ = {"/bin/sh", "-c", hc.test[1]};
    else if (hc.test[0] == "CMD")
        args_.assign(hc.test.begin() + 1, hc.test.end());
    else
        args_ = {"/bin/sh", "-c", hc.test[0]};
    if (args_.empty()) return;
    enabled_ = true;
    interval_ns_ = hc.interval > 0 ? hc.interval : 30 * kSecond;
    timeout_ns_ = hc.timeout > 0 ? hc.timeout : 30 * kSecond;
    start_period_ns_ = hc.start_period;
    retries_ = hc.retries > 0 ? hc.retries : 3;
}

int HealthChecker::next_timeout_ms() const {
    if (!enabled_ || next_at_ == 0) return -1;
    int64_t target = check_pid_ ? deadline_ : next_at_;
    int64_t left = target - mono_ns();
    if (left <= 0) return 0;
    return static_cast<int>(left / 1000000 + 1);
}

void HealthChecker::container_started(engine::ContainerRuntime& state) {
    if (!enabled_) return;
    state.health = "starting";
    state.failing_streak = 0;
    started_ = mono_ns();
    start_period_end_ = started_ + start_period_ns_;
    next_at_ = started_ + interval_ns_;
}

void HealthChecker::container_stopped() {
    if (check_pid_) ::kill(-check_pid_, SIGKILL);
    next_at_ = 0;
}

bool HealthChecker::read_output() {
    char buf[4096];
    ssize_t n = ::read(output_.get(), buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;
    if (n <= 0) {
        output_.reset();
        return false;
    }
    if (output_text_.size() < kMaxOutput)
        output_text_.append(buf,
                            std::min(static_cast<size_t>(n), kMaxOutput - output_text_.size()));
    return true;
}

bool HealthChecker::tick(const std::string& id, const std::string& runtime_root, pid_t init_pid,
                         engine::ContainerRuntime& state) {
    (void)state;
    bool changed = std::exchange(changed_, false);
    if (!enabled_ || next_at_ == 0 || init_pid == 0) return changed;
    int64_t now = mono_ns();
    if (check_pid_) {
        if (now >= deadline_ && !timed_out_) {
            timed_out_ = true;
            ::kill(-check_pid_, SIGKILL);
        }
        return changed;
    }
    if (now < next_at_) return changed;
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0) return changed;
    output_text_.clear();
    start_time_ = engine::now_rfc3339();
    pid_t pid = ::fork();
    if (pid == 0) {
        sigset_t all;
        sigemptyset(&all);
        ::sigprocmask(SIG_SETMASK, &all, nullptr);
        for (int sig : {SIGPIPE, SIGHUP, SIGINT}) ::signal(sig, SIG_DFL);
        // Its own process group: a timeout kills the exec'd process too.
        ::setpgid(0, 0);
        int null_fd = ::open("/dev/null", O_RDONLY);
        ::dup2(null_fd, 0);
        ::dup2(pipefd[1], 1);
        ::dup2(pipefd[1], 2);
        // husk-runtime's exec: the runtime's code never runs in the monitor itself.
        std::vector<const char*> argv = {"husk-runtime", "--root", runtime_root.c_str(), "exec",
                                         id.c_str()};
        for (const auto& a : args_) argv.push_back(a.c_str());
        argv.push_back(nullptr);
        ::execv(runtime_binary_.c_str(), const_cast<char* const*>(argv.data()));
        ::_exit(126);
    }
    ::close(pipefd[1]);
    if (pid < 0) {
        ::close(pipefd[0]);
        return changed;
    }
    ::fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
    output_.reset(pipefd[0]);
    check_pid_ = pid;
    timed_out_ = false;
    deadline_ = now + timeout_ns_;
    next_at_ = now + interval_ns_;
    return changed;
}

void HealthChecker::reaped(pid_t pid, int status, engine::ContainerRuntime& state) {
    if (pid != check_pid_) return;  // an orphan the subreaper inherited
    check_pid_ = 0;
    // Whatever the check wrote is in the pipe now; a process it left behind may still hold
    // the write end, so read what is there without waiting for EOF.
    while (output_ && read_output()) {
    }
    output_.reset();
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (timed_out_) {
        code = -1;
        output_text_ = "Health check exceeded timeout";
    }
    record_result(code, state);
    changed_ = true;
}

void HealthChecker::record_result(int exit_code, engine::ContainerRuntime& state) {
    state.health_log.push_back({start_time_, engine::now_rfc3339(), exit_code, output_text_});
    if (state.health_log.size() > kMaxLog) state.health_log.erase(state.health_log.begin());
    if (exit_code == 0) {
        state.health = "healthy";
        state.failing_streak = 0;
        return;
    }
    if (mono_ns() < start_period_end_) return;  // failures while starting do not count
    ++state.failing_streak;
    if (state.failing_streak >= retries_) state.health = "unhealthy";
}

}  // namespace husk::monitor
