#pragma once
// Healthchecks run by the monitor (Docker's HEALTHCHECK / --health-*): the test runs in the
// container (an exec, in a child of the monitor) every interval; `retries` consecutive
// failures turn the status unhealthy, a success makes it healthy again. Failures during the
// start period do not count. A check that outlives its timeout is killed and fails.
#include <sys/types.h>

#include <cstdint>
#include <string>

#include "common/unique_fd.hpp"
#include "engine/record.hpp"

namespace husk::monitor {

class HealthChecker {
public:
    // Checks run as `RUNTIME_BINARY exec` (husk-runtime) in the container.
    HealthChecker(const engine::ContainerRecord& record, std::string runtime_binary);

    int output_fd() const { return output_ ? output_.get() : -1; }
    // How long poll may sleep before tick() has work; -1 without a healthcheck.
    int next_timeout_ms() const;
    void container_started(engine::ContainerRuntime& state);
    void container_stopped();
    // Reads what the running check wrote; false when nothing more is there now.
    bool read_output();
    // Starts a due check, kills an overdue one. True when `state` changed.
    bool tick(const std::string& id, const std::string& runtime_root, pid_t init_pid,
              engine::ContainerRuntime& state);
    void reaped(pid_t pid, int status, engine::ContainerRuntime& state);

private:
    void record_result(int exit_code, engine::ContainerRuntime& state);

    bool enabled_ = false;
    std::vector<std::string> args_;
    std::string runtime_binary_;
    int64_t interval_ns_ = 0, timeout_ns_ = 0, start_period_ns_ = 0;
    int retries_ = 3;
    int64_t next_at_ = 0, deadline_ = 0, started_ = 0, start_period_end_ = 0;
    pid_t check_pid_ = 0;
    bool timed_out_ = false;
    bool changed_ = false;
    std::string start_time_;
    std::string output_text_;
    UniqueFd output_;
};

}  // namespace husk::monitor
