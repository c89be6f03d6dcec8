#pragma once
// The report's sections, one file each; every builder appends what it finds odd to
// `findings` through flag().
#include <nlohmann/json.hpp>

#include "explain/explain.hpp"

namespace husk::explain {

using Json = nlohmann::json;

void flag(Json& findings, const char* severity, const char* area, std::string message);
// A whole small file, trimmed; nullopt when it cannot be read.
std::optional<std::string> slurp(const std::string& path);

Json namespaces_section(const Target& t, Json& findings);
Json cgroup_section(const Target& t, Json& findings);
Json mounts_section(const Target& t, Json& root, Json& findings);
// One process's view: ids, pids, capabilities, seccomp, maps, LSM label, rlimits.
Json process_record(const Target& t, pid_t pid);
Json processes_section(const Target& t, const Json& cgroup, Json& findings);
void check_security(const Target& t, const Json& init, Json& findings);
Json network_section(const Target& t, const Json& namespaces, Json& findings);

}  // namespace husk::explain
