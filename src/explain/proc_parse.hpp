#pragma once
// Parsers for the /proc files explain reads: pure functions over the text, so that unit tests
// feed them fixture files and the live code only does the reading.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace husk::explain {

// /proc/<pid>/status: "Key:\tvalue" lines, value trimmed.
std::map<std::string, std::string> parse_status(std::string_view text);

// One row of /proc/<pid>/limits ("Max open files  1024  4096  files").
struct LimitRow {
    std::string name;  // "Max open files"
    std::string soft, hard, units;
};
std::vector<LimitRow> parse_limits(std::string_view text);

// /proc/<pid>/uid_map and gid_map: "inside outside count".
struct IdMapRow {
    uint64_t inside = 0, outside = 0, count = 0;
};
std::vector<IdMapRow> parse_id_map(std::string_view text);

// /proc/<pid>/cgroup: "ID:controllers:path" ("0::/path" is the v2 tree).
struct ProcCgroup {
    std::string hierarchy_id;
    std::string controllers;
    std::string path;
};
std::vector<ProcCgroup> parse_proc_cgroup(std::string_view text);

// "key value" per line (memory.events, cpu.stat, memory.oom_control, pids.events).
std::map<std::string, std::string> parse_flat_keyed(std::string_view text);

// A capability mask as printed in status ("000001ffffffffff").
std::optional<uint64_t> parse_cap_mask(std::string_view hex);
// The names of the bits set ("CAP_CHOWN", ...); unknown bits as "cap_<n>".
std::vector<std::string> cap_names(uint64_t mask);
// The bit for a name as the kernel knows it (libcap), or -1.
int cap_from_name(const std::string& name);

// "4 5 6" (NSpid, NStgid) -> numbers.
std::vector<long> parse_id_list(std::string_view text);

// A cgroup value: "max" and v1's "unlimited" page-counter value (>= 2^62) -> nullopt.
std::optional<int64_t> parse_cgroup_limit(std::string_view text);

std::string trim(std::string_view s);
std::vector<std::string> split_lines(std::string_view text);
std::vector<std::string> split_words(std::string_view text);

}  // namespace husk::explain
