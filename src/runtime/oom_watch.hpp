#pragma once
// Being told when the OOM killer strikes in a container's cgroup, without polling: an eventfd
// registered on memory.oom_control through cgroup.event_control (v1), or inotify on
// memory.events, which the kernel touches on every OOM event (v2). Used by `events`.
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "runtime/cgroups.hpp"

namespace husk::runtime {

// The annotation `state` adds once the OOM killer has killed in the container's cgroup; its
// value is the kill count. Engines that parse runc's state ignore annotations they do not know.
inline constexpr const char* kOomKillsAnnotation = "io.github.husk.runtime.oom-kills";

class OomWatch {
public:
    // Fails when the container has no memory cgroup (nothing to watch).
    [[nodiscard]] static Result<OomWatch> open(const std::vector<CgroupDir>& dirs);

    // Readable (POLLIN) when an OOM event may have happened.
    int fd() const { return notify_.get(); }
    // Clears the notification and returns the cgroup's OOM kill count now.
    uint64_t consume();

private:
    OomWatch() = default;
    std::vector<CgroupDir> dirs_;
    UniqueFd notify_;       // eventfd (v1) or inotify (v2)
    UniqueFd oom_control_;  // v1: memory.oom_control, held open while the eventfd is registered
    bool v2_ = false;
};

}  // namespace husk::runtime
