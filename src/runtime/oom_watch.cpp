#include "runtime/oom_watch.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/files.hpp"
#include "runtime/cgroup_control.hpp"

namespace husk::runtime {

Result<OomWatch> OomWatch::open(const std::vector<CgroupDir>& dirs) {
    OomWatch watch;
    watch.dirs_ = dirs;
    for (const auto& d : dirs) {
        bool memory_v1 = false;
        std::string controllers = "," + d.controllers + ",";
        memory_v1 = controllers.find(",memory,") != std::string::npos;
        if (memory_v1) {
            std::string control = d.path + "/memory.oom_control";
            watch.oom_control_ = UniqueFd(::open(control.c_str(), O_RDONLY | O_CLOEXEC));
            if (!watch.oom_control_) return fail_errno("open {}", control);
            watch.notify_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
            if (!watch.notify_) return fail_errno("eventfd for {}", control);
            // "<event fd> <fd of memory.oom_control>" arms an OOM notification (v1 API).
            std::string arm = fmt::format("{} {}", watch.notify_.get(), watch.oom_control_.get());
            HUSK_TRY_CTX(write_file(d.path + "/cgroup.event_control", arm),
                         "watch OOM events of {}", d.path);
            return watch;
        }
    }
    for (const auto& d : dirs) {
        std::string events = d.path + "/memory.events";
        if (!d.controllers.empty() || !path_exists(events)) continue;
        watch.v2_ = true;
        watch.notify_ = UniqueFd(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
        if (!watch.notify_) return fail_errno("inotify for {}", events);
        if (::inotify_add_watch(watch.notify_.get(), events.c_str(), IN_MODIFY) < 0)
            return fail_errno("watch {}", events);
        return watch;
    }
    return fail_invalid("the container has no memory cgroup: no OOM events to watch");
}

uint64_t OomWatch::consume() {
    // Drain: one eventfd counter (8 bytes) or any number of inotify records.
    char buffer[4096];
    while (::read(notify_.get(), buffer, sizeof buffer) > 0) {
    }
    return oom_kill_count(dirs_);
}

}  // namespace husk::runtime
