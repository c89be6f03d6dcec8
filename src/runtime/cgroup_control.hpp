#pragma once
// What is done to a running container's cgroup after create: freeze and thaw (pause/resume),
// the processes in it (ps, kill --all, delete), usage statistics (events --stats). Each works
// from the directories recorded in the state file, so the host is not detected again.
#include <sys/types.h>

#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "runtime/cgroups.hpp"

namespace husk::runtime {

// Freezes (true) or thaws (false) every process in the cgroup and waits until the kernel
// reports it done: the v1 freezer when mounted, cgroup.freeze on v2 otherwise.
[[nodiscard]] Status freeze_cgroup(const std::vector<CgroupDir>& dirs, bool frozen);
// True when the v1 freezer says FROZEN or v2 cgroup.events says "frozen 1".
bool cgroup_frozen(const std::vector<CgroupDir>& dirs);
// The pids in the container's cgroup (its first hierarchy), in the kernel's order.
std::vector<pid_t> cgroup_procs(const std::vector<CgroupDir>& dirs);
// Usage as runc's `events --stats` "data" object: cpu, memory, pids, blkio, hugetlb (and the
// OOM kill count).
nlohmann::json cgroup_stats(const std::vector<CgroupDir>& dirs);
// How many processes the OOM killer has killed in the container's memory cgroup.
uint64_t oom_kill_count(const std::vector<CgroupDir>& dirs);

// `error` with the reason in front when the cgroup's OOM killer has struck (an init that
// died during setup under a memory limit too small for it), `error` unchanged otherwise.
Error oom_context(const std::vector<CgroupDir>& dirs, const Error& error);

}  // namespace husk::runtime
