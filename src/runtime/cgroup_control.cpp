#include "runtime/cgroup_control.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "common/files.hpp"

namespace husk::runtime {
namespace {

using nlohmann::json;

const CgroupDir* find_dir(const std::vector<CgroupDir>& dirs, const std::string& controller) {
    for (const auto& d : dirs) {
        if (controller.empty()) {
            if (d.controllers.empty()) return &d;
            continue;
        }
        std::istringstream in(d.controllers);
        std::string c;
        while (std::getline(in, c, ','))
            if (c == controller) return &d;
    }
    return nullptr;
}

std::optional<uint64_t> read_number(const std::string& path) {
    auto text = read_file(path);
    if (!text || text->empty() || !std::isdigit(static_cast<unsigned char>((*text)[0])))
        return std::nullopt;
    return std::strtoull(text->c_str(), nullptr, 10);
}

// "key value" lines (memory.stat, cpu.stat, memory.events, memory.oom_control).
std::map<std::string, uint64_t> read_keyed(const std::string& path) {
    std::map<std::string, uint64_t> out;
    auto text = read_file(path);
    if (!text) return out;
    std::istringstream in(*text);
    std::string key;
    uint64_t value = 0;
    while (in >> key >> value) out[key] = value;
    return out;
}

bool v1_frozen(const CgroupDir& d) {
    auto st = read_file(d.path + "/freezer.state");
    return st && st->starts_with("FROZEN");
}

bool v2_frozen(const CgroupDir& d) {
    return read_keyed(d.path + "/cgroup.events")["frozen"] == 1;
}

void put(json& j, const char* key, std::optional<uint64_t> v) {
    if (v) j[key] = *v;
}

json memory_stats(const std::vector<CgroupDir>& dirs) {
    json m = json::object();
    if (const CgroupDir* d = find_dir(dirs, "memory")) {
        json usage = json::object();
        put(usage, "usage", read_number(d->path + "/memory.usage_in_bytes"));
        put(usage, "max", read_number(d->path + "/memory.max_usage_in_bytes"));
        put(usage, "limit", read_number(d->path + "/memory.limit_in_bytes"));
        put(usage, "failcnt", read_number(d->path + "/memory.failcnt"));
        m["usage"] = usage;
        json swap = json::object();
        put(swap, "usage", read_number(d->path + "/memory.memsw.usage_in_bytes"));
        put(swap, "max", read_number(d->path + "/memory.memsw.max_usage_in_bytes"));
        put(swap, "limit", read_number(d->path + "/memory.memsw.limit_in_bytes"));
        put(swap, "failcnt", read_number(d->path + "/memory.memsw.failcnt"));
        m["swap"] = swap;
        auto raw = read_keyed(d->path + "/memory.stat");
        m["cache"] = raw["total_cache"];
        m["raw"] = raw;
        auto oom = read_keyed(d->path + "/memory.oom_control");
        m["oomKills"] = oom["oom_kill"];
        m["underOom"] = oom["under_oom"] == 1;
    } else if (const CgroupDir* v2 = find_dir(dirs, "");
               v2 && path_exists(v2->path + "/memory.current")) {
        json usage = json::object();
        put(usage, "usage", read_number(v2->path + "/memory.current"));
        put(usage, "max", read_number(v2->path + "/memory.peak"));
        auto limit = read_number(v2->path + "/memory.max");
        usage["limit"] = limit.value_or(UINT64_MAX);  // "max"
        auto events = read_keyed(v2->path + "/memory.events");
        usage["failcnt"] = events["max"];
        m["usage"] = usage;
        json swap = json::object();
        put(swap, "usage", read_number(v2->path + "/memory.swap.current"));
        m["swap"] = swap;
        auto raw = read_keyed(v2->path + "/memory.stat");
        m["cache"] = raw["file"];
        m["raw"] = raw;
        m["oomKills"] = events["oom_kill"];
    }
    return m;
}

json cpu_stats(const std::vector<CgroupDir>& dirs) {
    json c = json::object();
    json usage = json::object();
    json throttling = json::object();
    if (const CgroupDir* d = find_dir(dirs, "cpuacct")) {
        put(usage, "total", read_number(d->path + "/cpuacct.usage"));
        put(usage, "user", read_number(d->path + "/cpuacct.usage_user"));
        put(usage, "kernel", read_number(d->path + "/cpuacct.usage_sys"));
        if (auto percpu = read_file(d->path + "/cpuacct.usage_percpu")) {
            std::istringstream in(*percpu);
            json list = json::array();
            uint64_t v = 0;
            while (in >> v) list.push_back(v);
            usage["percpu"] = list;
        }
    }
    if (const CgroupDir* d = find_dir(dirs, "cpu")) {
        auto stat = read_keyed(d->path + "/cpu.stat");
        throttling["periods"] = stat["nr_periods"];
        throttling["throttledPeriods"] = stat["nr_throttled"];
        throttling["throttledTime"] = stat["throttled_time"];
    }
    const CgroupDir* v2 = find_dir(dirs, "");
    if (v2 && !usage.contains("total")) {
        // cpu.stat's usage lines are there on every v2 cgroup, controller or not.
        auto stat = read_keyed(v2->path + "/cpu.stat");
        usage["total"] = stat["usage_usec"] * 1000;
        usage["user"] = stat["user_usec"] * 1000;
        usage["kernel"] = stat["system_usec"] * 1000;
        if (!find_dir(dirs, "cpu")) {
            throttling["periods"] = stat["nr_periods"];
            throttling["throttledPeriods"] = stat["nr_throttled"];
            throttling["throttledTime"] = stat["throttled_usec"] * 1000;
        }
    }
    c["usage"] = usage;
    c["throttling"] = throttling;
    return c;
}

json pids_stats(const std::vector<CgroupDir>& dirs) {
    json p = json::object();
    const CgroupDir* d = find_dir(dirs, "pids");
    if (d == nullptr) {
        d = find_dir(dirs, "");
        if (d == nullptr || !path_exists(d->path + "/pids.current")) return p;
    }
    put(p, "current", read_number(d->path + "/pids.current"));
    auto limit = read_number(d->path + "/pids.max");
    p["limit"] = limit.value_or(0);  // "max": 0, as runc prints it
    return p;
}

// runc's blkio entry: {"major", "minor", "op", "value"}.
json blkio_entry(uint64_t major, uint64_t minor, const std::string& op, uint64_t value) {
    return {{"major", major}, {"minor", minor}, {"op", op}, {"value", value}};
}

// v1 blkio files: "MAJ:MIN Op value" lines and a closing "Total N" (left out, as runc does).
json blkio_v1_list(const std::string& path) {
    json list = json::array();
    auto text = read_file(path);
    if (!text) return list;
    std::istringstream in(*text);
    std::string line;
    while (std::getline(in, line)) {
        unsigned long long major = 0, minor = 0, value = 0;
        char op[32] = {};
        if (std::sscanf(line.c_str(), "%llu:%llu %31s %llu", &major, &minor, op, &value) == 4)
            list.push_back(blkio_entry(major, minor, op, value));
    }
    return list;
}

// runc's stats.blkio: the CFQ files when that scheduler keeps them, BFQ's next, else the
// throttle layer's, which count every bio whatever the scheduler (v1); io.stat on v2.
json blkio_stats(const std::vector<CgroupDir>& dirs) {
    json b = json::object();
    if (const CgroupDir* d = find_dir(dirs, "blkio")) {
        for (const char* prefix : {"blkio.", "blkio.bfq.", "blkio.throttle."}) {
            std::string base = d->path + "/" + prefix;
            json bytes = blkio_v1_list(base + "io_service_bytes_recursive");
            json ios = blkio_v1_list(base + "io_serviced_recursive");
            if (bytes.empty() && ios.empty() && std::string(prefix) != "blkio.throttle.") continue;
            b["ioServiceBytesRecursive"] = bytes;
            b["ioServicedRecursive"] = ios;
            if (std::string(prefix) == "blkio.") {
                b["ioQueuedRecursive"] = blkio_v1_list(base + "io_queued_recursive");
                b["ioServiceTimeRecursive"] = blkio_v1_list(base + "io_service_time_recursive");
                b["ioWaitTimeRecursive"] = blkio_v1_list(base + "io_wait_time_recursive");
                b["ioMergedRecursive"] = blkio_v1_list(base + "io_merged_recursive");
                b["ioTimeRecursive"] = blkio_v1_list(base + "time_recursive");
                b["sectorsRecursive"] = blkio_v1_list(base + "sectors_recursive");
            }
            break;
        }
        return b;
    }
    const CgroupDir* v2 = find_dir(dirs, "");
    if (v2 == nullptr || !path_exists(v2->path + "/io.stat")) return b;
    // "MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N" per device.
    json bytes = json::array(), ios = json::array();
    auto text = read_file(v2->path + "/io.stat");
    std::istringstream in(text ? *text : std::string());
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string device, kv;
        fields >> device;
        unsigned long long major = 0, minor = 0;
        if (std::sscanf(device.c_str(), "%llu:%llu", &major, &minor) != 2) continue;
        while (fields >> kv) {
            auto eq = kv.find('=');
            if (eq == std::string::npos) continue;
            std::string key = kv.substr(0, eq);
            uint64_t value = std::strtoull(kv.c_str() + eq + 1, nullptr, 10);
            static const std::map<std::string, std::pair<bool, const char*>> kMap = {
                {"rbytes", {true, "Read"}},    {"wbytes", {true, "Write"}},
                {"dbytes", {true, "Discard"}}, {"rios", {false, "Read"}},
                {"wios", {false, "Write"}},    {"dios", {false, "Discard"}}};
            auto it = kMap.find(key);
            if (it == kMap.end()) continue;
            (it->second.first ? bytes : ios)
                .push_back(blkio_entry(major, minor, it->second.second, value));
        }
    }
    b["ioServiceBytesRecursive"] = bytes;
    b["ioServicedRecursive"] = ios;
    return b;
}

// runc's stats.hugetlb: {"2MB": {"usage", "max", "failcnt"}} per page size the cgroup has
// files for: v1 usage_in_bytes/max_usage_in_bytes/failcnt, v2 current and events' "max"
// (v2 keeps no peak, so "max" is left out).
json hugetlb_stats(const std::vector<CgroupDir>& dirs) {
    json h = json::object();
    const CgroupDir* d = find_dir(dirs, "hugetlb");
    bool v2 = false;
    if (d == nullptr) {
        d = find_dir(dirs, "");
        v2 = true;
    }
    if (d == nullptr) return h;
    std::error_code ec;
    const std::string suffix = v2 ? ".current" : ".usage_in_bytes";
    for (const auto& entry : std::filesystem::directory_iterator(d->path, ec)) {
        std::string name = entry.path().filename().string();
        if (!name.starts_with("hugetlb.") || !name.ends_with(suffix) ||
            name.find(".rsvd.") != std::string::npos)
            continue;
        std::string size = name.substr(8, name.size() - 8 - suffix.size());
        std::string base = d->path + "/hugetlb." + size;
        json s = json::object();
        if (v2) {
            put(s, "usage", read_number(base + ".current"));
            s["failcnt"] = read_keyed(base + ".events")["max"];
        } else {
            put(s, "usage", read_number(base + ".usage_in_bytes"));
            put(s, "max", read_number(base + ".max_usage_in_bytes"));
            put(s, "failcnt", read_number(base + ".failcnt"));
        }
        h[size] = s;
    }
    return h;
}

}  // namespace

uint64_t oom_kill_count(const std::vector<CgroupDir>& dirs) {
    // One file, not memory_stats(): `state` calls this, and engines call `state` often.
    if (const CgroupDir* d = find_dir(dirs, "memory"))
        return read_keyed(d->path + "/memory.oom_control")["oom_kill"];
    if (const CgroupDir* v2 = find_dir(dirs, ""))
        return read_keyed(v2->path + "/memory.events")["oom_kill"];
    return 0;
}

Status freeze_cgroup(const std::vector<CgroupDir>& dirs, bool frozen) {
    const CgroupDir* v1 = find_dir(dirs, "freezer");
    const CgroupDir* v2 = v1 ? nullptr : find_dir(dirs, "");
    if (v1 == nullptr && v2 == nullptr)
        return fail_invalid(
            "the container has no freezer: it was created without a cgroup "
            "(no cgroup filesystem mounted)");
    std::string file = v1 ? v1->path + "/freezer.state" : v2->path + "/cgroup.freeze";
    std::string value = v1 ? (frozen ? "FROZEN" : "THAWED") : (frozen ? "1" : "0");
    // Freezing is asynchronous (v1 passes through FREEZING, v2 reports in cgroup.events);
    // a process forking meanwhile can make v1 give up, so the write is repeated, as runc does.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (true) {
        HUSK_TRY_CTX(write_file(file, value), "{}", frozen ? "freeze" : "thaw");
        for (int i = 0; i < 50; ++i) {
            bool now = v1 ? v1_frozen(*v1) : v2_frozen(*v2);
            if (now == frozen) return {};
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        if (std::chrono::steady_clock::now() > deadline) {
            if (frozen) (void)write_file(file, v1 ? "THAWED" : "0");
            return fail(Error(ETIMEDOUT, fmt::format("{} {}: the kernel did not finish in 5 s",
                                                     frozen ? "freeze" : "thaw", file)));
        }
    }
}

bool cgroup_frozen(const std::vector<CgroupDir>& dirs) {
    if (const CgroupDir* v1 = find_dir(dirs, "freezer")) return v1_frozen(*v1);
    if (const CgroupDir* v2 = find_dir(dirs, "")) return v2_frozen(*v2);
    return false;
}

std::vector<pid_t> cgroup_procs(const std::vector<CgroupDir>& dirs) {
    std::vector<pid_t> pids;
    if (dirs.empty()) return pids;
    auto text = read_file(dirs.front().path + "/cgroup.procs");
    if (!text) return pids;
    std::istringstream in(*text);
    long pid = 0;
    while (in >> pid) pids.push_back(static_cast<pid_t>(pid));
    return pids;
}

Error oom_context(const std::vector<CgroupDir>& dirs, const Error& error) {
    json memory = memory_stats(dirs);
    if (memory.value("oomKills", uint64_t{0}) == 0) return error;
    std::string limit = "?";
    if (memory.contains("usage") && memory["usage"].contains("limit"))
        limit = std::to_string(memory["usage"]["limit"].get<uint64_t>());
    return error.wrap(
        "the OOM killer killed a process in the container's cgroup (memory limit "
        "{} bytes): raise linux.resources.memory.limit",
        limit);
}

json cgroup_stats(const std::vector<CgroupDir>& dirs) {
    return {{"cpu", cpu_stats(dirs)},
            {"memory", memory_stats(dirs)},
            {"pids", pids_stats(dirs)},
            {"blkio", blkio_stats(dirs)},
            {"hugetlb", hugetlb_stats(dirs)}};
}

}  // namespace husk::runtime
