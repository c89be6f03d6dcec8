#include "explain/runtime_target.hpp"

namespace husk::explain {

Result<Target> runtime_target(const runtime::StateStore& store, const std::string& id) {
    HUSK_TRY(runtime::validate_container_id(id));
    auto state = store.load(id);
    if (!state) return fail(state.error().wrap("explain container {}", id));
    auto status = store.status(*state);
    if (status == runtime::ContainerStatus::stopped)
        return fail_invalid("explain container {}: it is stopped (no process to read from)", id);
    Target t;
    t.id = id;
    t.init_pid = state->pid;
    t.init_start_time = state->init_start_time;
    t.rootfs = state->rootfs;
    t.config_source = state->bundle + "/config.json";
    // The config as it is on disk now: it is what was asked for unless someone edited it,
    // and the comparison says so either way.
    if (auto spec = oci::load_config(state->bundle))
        t.config = std::move(*spec);
    else
        t.config_source += " (unreadable: " + spec.error().what() + ")";
    if (auto all = store.list()) {
        for (const auto& other : *all) {
            if (other.id == id) continue;
            auto st = store.status(other);
            if (st == runtime::ContainerStatus::stopped) continue;
            t.peers.push_back({other.id, other.pid, {}});
        }
    }
    return t;
}

}  // namespace husk::explain
