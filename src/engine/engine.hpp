#pragma once
// The engine's verbs over the container store: create (record + bundle), start (a monitor
// per container), stop, kill, remove, wait, and the reconciled view every reader uses. No
// daemon: each verb is a short-lived process that takes the container's lock, and the state
// it reports is checked against the kernel (is the monitor alive, is the init alive), so a
// killed husk or monitor never leaves a lie behind.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "engine/container_network.hpp"
#include "engine/record.hpp"
#include "engine/rootfs_source.hpp"
#include "engine/spec_builder.hpp"
#include "engine/store.hpp"

namespace husk::engine {

struct ContainerView {
    ContainerRecord record;
    ContainerRuntime state;
    std::string status;                        // created, running, paused, restarting, exited
    bool monitored = false;                    // a live monitor owns it
    std::optional<NetworkAttachment> network;  // while attached to a network
};

struct StartResult {
    UniqueFd connection;  // to the monitor: output frames, then the exit code
    int pid = 0;
};

// A failure with the exit code Docker gives it (125 husk, 126 cannot invoke, 127 not found).
struct StartError {
    int exit_code = 125;
    Error error;
};

class Engine {
public:
    Engine(std::string root, std::string runroot);

    ContainerStore& store() { return store_; }
    const ContainerStore& store() const { return store_; }

    // Fills id, name and created; prepares the rootfs; writes the record and the bundle.
    // Nothing is left behind when it fails.
    [[nodiscard]] Status create(ContainerRecord& record, const RootfsRequest& rootfs);
    // Starts the container's monitor and waits until the container runs (or failed to).
    // With `trace`, the monitor records how the container is built (the runtime's steps and
    // the network attach, with timings) in <dir>/trace.log before it reports "started".
    // `just_created`: the record create() just made in this process (`run`), so that
    // nothing is read back.
    [[nodiscard]] std::expected<StartResult, StartError> start(
        const std::string& id, bool trace = false, const ContainerRecord* just_created = nullptr);
    [[nodiscard]] Result<ContainerView> view(const std::string& id) const;
    // view() of a name, a full id or a unique id prefix (what every command takes).
    [[nodiscard]] Result<ContainerView> find(const std::string& ref) const;
    // Sends the stop signal, then SIGKILL after `timeout` seconds (record's when unset).
    [[nodiscard]] Status stop(const std::string& id, std::optional<int> timeout);
    [[nodiscard]] Status kill(const std::string& id, const std::string& signal);
    [[nodiscard]] Status remove(const std::string& id, bool force, bool volumes);
    // Blocks until the container is not running; its exit code.
    [[nodiscard]] Result<int> wait(const std::string& id);
    [[nodiscard]] Status pause(const std::string& id, bool pause);
    [[nodiscard]] Result<std::vector<int>> top_pids(const std::string& id) const;
    // Finishes removing a container whose record remove_record took: its runtime state
    // and cgroups, network endpoints, the image's rootfs, the anonymous volumes of a --rm
    // container, the directory. A `run --rm` monitor has this done after it sent the exit
    // code, so the client does not wait for the disk (docs/engine.md). Nothing to do when
    // the directory is a container again or gone.
    [[nodiscard]] Status purge(const std::string& id);
    // Purges directories without a record (removals still pending, creates killed half-way)
    // and deletes runtime state whose container no longer exists. A directory whose cleanup
    // runs right now is skipped, or with `wait` waited for: `rmi` must not find an image in
    // use by a container that is already gone.
    void collect_garbage(bool wait = false);

    std::string volumes_root() const { return store_.root() + "/volumes"; }
    std::string monitor_binary() const { return monitor_binary_; }
    std::string init_binary() const { return init_binary_; }

private:
    // Waits until the monitor has recorded the exit (or is gone), up to timeout_ms.
    void wait_monitor_done(const std::string& id, int timeout_ms) const;
    // Cleans what a dead monitor left: the runtime's state and cgroup, its network
    // endpoints, and the record's state.
    void reap_orphan(const std::string& id, ContainerView& view) const;
    SpecPaths spec_paths(const std::string& id) const;
    // --network container:<id>: points the bundle at that container's current namespace.
    [[nodiscard]] Status join_network_of(const ContainerRecord& record);
    // What a monitor that died could not detach (network.json still there).
    void detach_networks(const std::string& id) const;
    // What a container holds outside its directory: the runtime's state and cgroups, its
    // network endpoints, the image's rootfs. Idempotent; rm and purge call it under the lock.
    [[nodiscard]] Status release_resources(const std::string& id) const;

    ContainerStore store_;
    std::string monitor_binary_, init_binary_;
};

// Waits up to timeout_ms for `pid` (with that start time) to exit; true when it has.
bool wait_pid_exit(int pid, uint64_t start_time, int timeout_ms);
// Human form for ps: "Up 3 seconds", "Exited (0) 2 minutes ago", "Created".
std::string human_duration(int64_t ns);

}  // namespace husk::engine
