#pragma once
// `--debug`'s build trace: each step of making a container (namespaces, mounts, pivot_root,
// cgroup writes, capabilities, seccomp, exec) with its start and duration. The init is a
// separate process, so the records go to a MAP_SHARED buffer made before the clone: both
// sides append to it with no message and no copy, and the runtime prints the whole
// timeline at the end. Off (no --debug), every step is one test of a null pointer.
#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/core.h>

namespace husk::runtime::trace {

// Maps the shared buffer; call once, before any clone. `wall_start_ns` is the time the
// program started (now_ns() at main), for the total line.
void enable(uint64_t wall_start_ns);
bool enabled();
uint64_t now_ns();  // CLOCK_MONOTONIC (the init keeps the host's clock: a new time
                    // namespace applies to its children only)

void record(std::string_view name, std::string_view detail, uint64_t start_ns, uint64_t end_ns);
// Which process the steps recorded from now on belong to, in the timeline's "who" column:
// "runtime" by default; the container's init says "init", husk's engine "husk". A literal:
// the init sets it right after the clone, where nothing may allocate.
void set_who(const char* who);

// One step: recorded from construction to destruction (or to done()).
class Step {
public:
    explicit Step(std::string_view name) : Step(name, "{}", "") {}
    template <typename... Args>
    Step(std::string_view name, fmt::format_string<Args...> format, Args&&... args) {
        if (!enabled()) return;
        name_ = name;
        detail_ = fmt::format(format, std::forward<Args>(args)...);
        start_ = now_ns();
    }
    Step(const Step&) = delete;
    Step& operator=(const Step&) = delete;
    ~Step() { done(); }
    void cancel() { start_ = 0; }
    void done() {
        if (start_ != 0) record(name_, detail_, start_, now_ns());
        start_ = 0;
    }

private:
    std::string name_, detail_;
    uint64_t start_ = 0;
};

// Writes the timeline to the log (debug lines): one line per step, in start order, with the
// process it ran in, then the total: wall time and the share of it that steps cover.
void report();

}  // namespace husk::runtime::trace
