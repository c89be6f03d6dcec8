#pragma once
// The lifecycle verbs over a state root: what `husk-runtime create/start/state/kill/delete/
// run/list` do, as a library the CLI (and later the engine) calls in-process.
#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/oom_watch.hpp"
#include "runtime/state.hpp"

namespace husk::runtime {

struct CreateOptions {
    std::string id;
    std::string bundle = ".";
    std::string pid_file;
    std::string console_socket;   // where the pty master goes when process.terminal is true
    bool systemd_cgroup = false;  // --systemd-cgroup: a transient scope (cgroups_systemd.hpp)
    // run() only: called once the container exists (its namespaces too) and before its
    // process starts, with the init's pid: an engine attaches networks here. A failure
    // undoes the create.
    std::function<Status(int pid)> before_start;
};

class Runtime {
public:
    // Rootless mode is detected (runc's `--rootless auto`); set_rootless overrides it.
    explicit Runtime(std::string root);
    // Rootless: no cgroups unless a delegated v2 subtree is writable (limits refused
    // otherwise), devices bound from the host, id maps through newuidmap/newgidmap.
    void set_rootless(bool rootless) { rootless_ = rootless; }
    bool rootless() const { return rootless_; }

    // Builds the container and leaves its init waiting for start.
    [[nodiscard]] Status create(const CreateOptions& options);
    [[nodiscard]] Status start(const std::string& id);
    // create + start; with `detach` returns once started (0), else waits and returns the
    // process's exit status (128+N for signal N) after deleting the container.
    [[nodiscard]] Result<int> run(const CreateOptions& options, bool detach);
    [[nodiscard]] Result<std::string> state(const std::string& id) const;
    [[nodiscard]] Status kill(const std::string& id, int signal, bool all);
    [[nodiscard]] Status remove(const std::string& id, bool force);
    [[nodiscard]] Result<std::vector<std::pair<ContainerState, ContainerStatus>>> list() const;

    // Cgroup verbs (container_cgroups.cpp).
    // Writes new limits into a live container's cgroup; `prefix` names the input in errors.
    [[nodiscard]] Status update(const std::string& id, const oci::Resources& resources,
                                const std::string& prefix);
    [[nodiscard]] Status pause(const std::string& id);
    [[nodiscard]] Status resume(const std::string& id);
    [[nodiscard]] Result<std::vector<pid_t>> processes(const std::string& id) const;
    // runc's `events --stats` object: {"type": "stats", "id": ..., "data": {...}}.
    [[nodiscard]] Result<std::string> stats(const std::string& id) const;
    // A notification fd for OOM kills in a live container's cgroup (`events`).
    [[nodiscard]] Result<OomWatch> watch_oom(const std::string& id) const;

    const StateStore& store() const { return store_; }

private:
    struct Spawned;
    [[nodiscard]] Result<pid_t> spawn(const CreateOptions& options, bool keep_child);
    // Runs the container's poststart hooks (saved in its state dir); failures only warn.
    void run_poststart(const ContainerState& state) const;

    StateStore store_;
    bool rootless_ = false;
};

// Adds kOomKillsAnnotation when the OOM killer has killed in the container's cgroup.
void add_oom_annotation(ContainerState& state);

// "KILL", "SIGKILL", "9" -> 9.
[[nodiscard]] Result<int> parse_signal(const std::string& name);

}  // namespace husk::runtime
