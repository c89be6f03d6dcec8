#include "runtime/cgroup_control.hpp"

#include <chrono>
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

}  // namespace

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
            {"blkio", json::object()},
            {"hugetlb", json::object()}};
}

}  // namespace husk::runtime
