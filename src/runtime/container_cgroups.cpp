// The verbs that act on a live container's cgroup: update, pause, resume, ps, events --stats.
// Kept apart from container.cpp (the lifecycle) because they share nothing with clone/init.
#include <nlohmann/json.hpp>

#include "runtime/cgroup_control.hpp"
#include "runtime/cgroup_limits.hpp"
#include "runtime/cgroups_systemd.hpp"
#include "runtime/container.hpp"
#include "runtime/systemd_bus.hpp"

namespace husk::runtime {
namespace {

Result<ContainerState> load_live(const StateStore& store, const std::string& id, const char* verb,
                                 ContainerStatus* status_out = nullptr) {
    auto state = store.load(id);
    if (!state) return fail(state.error());
    auto status = store.status(*state);
    if (status == ContainerStatus::stopped)
        return fail_invalid("cannot {} container {:?}: it is stopped", verb, id);
    if (status_out != nullptr) *status_out = status;
    return state;
}

}  // namespace

Status Runtime::update(const std::string& id, const oci::Resources& resources,
                       const std::string& prefix) {
    auto lock = store_.lock(id);
    if (!lock) return fail(lock.error());
    auto state = load_live(store_, id, "update");
    if (!state) return fail(state.error());
    // The host as it was when the container was made: the recorded directories say which
    // hierarchies it has, so a limit goes where the creation put the container.
    auto caps = cgroup_caps(state->cgroup_dirs);
    auto writes = plan_resources(caps, resources, prefix);
    if (!writes) return fail(writes.error().wrap("update container {:?}", id));
    if (!state->systemd_unit.empty()) {
        // systemd first, so that its next reload keeps the new values; the files then cover
        // what it has no property for (as at create).
        auto props = resource_properties(resources, caps.layout == CgroupLayout::unified);
        if (!props) return fail(props.error().wrap("update container {:?}", id));
        auto bus = SystemdBus::connect();
        if (!bus) return fail(bus.error().wrap("update container {:?}", id));
        HUSK_TRY_CTX(bus->set_unit_properties(state->systemd_unit, *props), "update container {:?}",
                     id);
    }
    HUSK_TRY_CTX(apply_cgroup_writes(state->cgroup_dirs, state->cgroup_created, *writes),
                 "update container {:?}", id);
    return {};
}

Status Runtime::pause(const std::string& id) {
    auto lock = store_.lock(id);
    if (!lock) return fail(lock.error());
    ContainerStatus status{};
    auto state = load_live(store_, id, "pause", &status);
    if (!state) return fail(state.error());
    if (status != ContainerStatus::running)
        return fail_invalid("cannot pause container {:?}: it is {}, not running", id,
                            status_name(status));
    HUSK_TRY_CTX(freeze_cgroup(state->cgroup_dirs, true), "pause container {:?}", id);
    return {};
}

Status Runtime::resume(const std::string& id) {
    auto lock = store_.lock(id);
    if (!lock) return fail(lock.error());
    ContainerStatus status{};
    auto state = load_live(store_, id, "resume", &status);
    if (!state) return fail(state.error());
    if (status != ContainerStatus::paused)
        return fail_invalid("cannot resume container {:?}: it is {}, not paused", id,
                            status_name(status));
    HUSK_TRY_CTX(freeze_cgroup(state->cgroup_dirs, false), "resume container {:?}", id);
    return {};
}

Result<std::vector<pid_t>> Runtime::processes(const std::string& id) const {
    auto state = store_.load(id);
    if (!state) return fail(state.error());
    if (store_.status(*state) == ContainerStatus::stopped) return std::vector<pid_t>{};
    if (state->cgroup_dirs.empty()) return std::vector<pid_t>{state->pid};
    return cgroup_procs(state->cgroup_dirs);
}

Result<std::string> Runtime::stats(const std::string& id) const {
    auto state = load_live(store_, id, "read the stats of");
    if (!state) return fail(state.error());
    if (state->cgroup_dirs.empty())
        return fail_invalid(
            "container {:?} has no cgroup (created without a cgroup "
            "filesystem): no statistics",
            id);
    nlohmann::json event = {
        {"type", "stats"}, {"id", id}, {"data", cgroup_stats(state->cgroup_dirs)}};
    return event.dump();
}

Result<OomWatch> Runtime::watch_oom(const std::string& id) const {
    auto state = load_live(store_, id, "watch the OOM events of");
    if (!state) return fail(state.error());
    auto watch = OomWatch::open(state->cgroup_dirs);
    if (!watch) return fail(watch.error().wrap("container {:?}", id));
    return watch;
}

void add_oom_annotation(ContainerState& state) {
    if (uint64_t kills = oom_kill_count(state.cgroup_dirs); kills > 0)
        state.annotations[kOomKillsAnnotation] = std::to_string(kills);
}

}  // namespace husk::runtime
