#pragma once
// `husk doctor`: every assumption husk makes about its host, checked and reported with the
// evidence and the exact fix. Each check is a function of a HostView (a root directory: "/"
// or a fixture tree) and, where it must act on the kernel, a Probes object.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "system/host.hpp"
#include "system/mountinfo.hpp"

namespace husk::system {

enum class Level { pass, warn, fail };
const char* level_name(Level level);

struct CheckResult {
    std::string id;     // "cgroups.layout": stable, for scripts and tests
    std::string title;  // "cgroup layout"
    Level level = Level::pass;
    std::string summary;                // one line: what was found
    std::vector<std::string> evidence;  // the files and values it was decided from
    std::string fix;                    // the exact command(s) to run; empty when nothing to do
    nlohmann::json facts = nlohmann::json::object();  // machine-readable findings
};

// What every check reads first.
struct Context {
    HostView host;
    Probes* probes = nullptr;  // null: skip the checks that need the live kernel
    std::vector<MountEntry> mounts;
    std::string mountinfo_error;  // why `mounts` is empty
};
Context make_context(const HostView& host, Probes* probes);

// The check groups (one file each); each appends its results.
void check_mounts(const Context& ctx, std::vector<CheckResult>& out);
void check_cgroups(const Context& ctx, std::vector<CheckResult>& out);
void check_namespaces(const Context& ctx, std::vector<CheckResult>& out);
void check_security(const Context& ctx, std::vector<CheckResult>& out);  // seccomp, caps
void check_storage(const Context& ctx, std::vector<CheckResult>& out);   // overlay, fuse, disk
void check_network(const Context& ctx, std::vector<CheckResult>& out);

// "CAP_SYS_RESOURCE" for 24; the names of the bits set in `mask` up to `last_cap`.
std::string capability_name(int cap);
std::vector<std::string> capability_names(uint64_t mask, int last_cap);

// All of them, in the order they are printed.
std::vector<CheckResult> run_doctor(const HostView& host, Probes* probes);

// 0 all passed, 1 warnings, 2 failures.
int doctor_exit_status(const std::vector<CheckResult>& results);
nlohmann::json doctor_json(const std::vector<CheckResult>& results);
// Human output: one line per check, evidence and fix indented under the ones that did not
// pass (or under all of them with `verbose`), summaries and evidence wrapped to `width`
// columns (fixes are not wrapped: they are meant to be copied).
std::string doctor_text(const std::vector<CheckResult>& results, bool verbose, bool color,
                        size_t width = 100);

}  // namespace husk::system
