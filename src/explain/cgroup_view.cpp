// The cgroup section: where the init is accounted (read from /proc/<pid>/cgroup, not from
// the state file), the limits in force read back from the files, usage and the OOM and
// throttling counters; limits that differ from linux.resources are flagged.
#include <unistd.h>

#include <fmt/format.h>

#include "common/files.hpp"
#include "explain/proc_parse.hpp"
#include "explain/sections.hpp"
#include "runtime/cgroups.hpp"

namespace husk::explain {
namespace {

// The files read per controller (whichever exist: v1 and v2 names side by side).
const std::pair<const char*, std::vector<const char*>> kFiles[] = {
    {"memory",
     {"memory.limit_in_bytes", "memory.soft_limit_in_bytes", "memory.memsw.limit_in_bytes",
      "memory.usage_in_bytes", "memory.max_usage_in_bytes", "memory.failcnt", "memory.oom_control",
      "memory.max", "memory.high", "memory.low", "memory.swap.max", "memory.current", "memory.peak",
      "memory.events"}},
    {"cpu",
     {"cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.shares", "cpu.max", "cpu.weight", "cpu.stat"}},
    {"cpuacct", {"cpuacct.usage"}},
    {"cpuset", {"cpuset.cpus", "cpuset.mems", "cpuset.cpus.effective", "cpuset.mems.effective"}},
    {"pids", {"pids.max", "pids.current", "pids.events"}},
    {"blkio",
     {"blkio.weight", "blkio.bfq.weight", "blkio.throttle.read_bps_device",
      "blkio.throttle.write_bps_device", "blkio.throttle.read_iops_device",
      "blkio.throttle.write_iops_device"}},
    {"io", {"io.max", "io.weight", "io.bfq.weight", "io.stat"}},
    {"freezer", {"freezer.state"}},
    {"hugetlb", {}},
};

bool has_controller(const std::string& list, const std::string& name) {
    size_t pos = 0;
    while (pos <= list.size()) {
        size_t end = list.find(',', pos);
        if (end == std::string::npos) end = list.size();
        if (list.substr(pos, end - pos) == name) return true;
        pos = end + 1;
    }
    return false;
}

Json limit_json(const std::optional<int64_t>& v) {
    return v ? Json(*v) : Json("max");
}

struct Found {
    std::string file;  // absolute path
    std::string value;
};

// The first of `names` that exists in one of the hierarchies.
std::optional<Found> find_file(const Json& hierarchies, std::initializer_list<const char*> names) {
    for (const char* name : names)
        for (const auto& h : hierarchies)
            if (h["files"].contains(name))
                return Found{h["dir"].get<std::string>() + "/" + name,
                             h["files"][name].get<std::string>()};
    return std::nullopt;
}

std::string show(const std::optional<int64_t>& v) {
    return v ? std::to_string(*v) : "max";
}

void compare(Json& findings, const std::string& field, const std::optional<int64_t>& asked,
             const std::optional<Found>& file, const std::optional<int64_t>& actual) {
    if (!file) {
        flag(findings, "warning", "cgroup",
             fmt::format("{} = {} is asked for, but no cgroup file for it exists", field,
                         show(asked)));
        return;
    }
    if (asked != actual)
        flag(findings, "warning", "cgroup",
             fmt::format("{}: the config asks {}, {} holds {} (changed behind the runtime's "
                         "back?)",
                         field, show(asked), file->file, show(actual)));
}

// The v1 page counter keeps whole pages.
std::optional<int64_t> page_rounded(int64_t bytes) {
    if (bytes < 0) return std::nullopt;
    long page = ::sysconf(_SC_PAGESIZE);
    return bytes / page * page;
}

void check_limits(const Target& t, const Json& hierarchies, Json& findings) {
    if (!t.config) return;
    const oci::Resources& r = t.config->linux.resources;
    if (r.memory && r.memory->limit) {
        auto f = find_file(hierarchies, {"memory.limit_in_bytes", "memory.max"});
        auto asked = page_rounded(*r.memory->limit);
        compare(findings, "linux.resources.memory.limit", asked, f,
                f ? parse_cgroup_limit(f->value) : std::nullopt);
    }
    if (r.memory && r.memory->reservation) {
        auto f = find_file(hierarchies, {"memory.soft_limit_in_bytes", "memory.low"});
        compare(findings, "linux.resources.memory.reservation",
                page_rounded(*r.memory->reservation), f,
                f ? parse_cgroup_limit(f->value) : std::nullopt);
    }
    if (r.cpu && (r.cpu->quota || r.cpu->period)) {
        std::optional<int64_t> quota, period;
        std::optional<Found> fq, fp;
        if (auto v1 = find_file(hierarchies, {"cpu.cfs_quota_us"})) {
            fq = v1;
            quota = parse_cgroup_limit(v1->value);
            fp = find_file(hierarchies, {"cpu.cfs_period_us"});
            if (fp) period = parse_cgroup_limit(fp->value);
        } else if (auto v2 = find_file(hierarchies, {"cpu.max"})) {
            auto w = split_words(v2->value);
            fq = fp = v2;
            if (!w.empty()) quota = parse_cgroup_limit(w[0]);
            if (w.size() > 1) period = parse_cgroup_limit(w[1]);
        }
        if (r.cpu->quota) {
            std::optional<int64_t> asked;
            if (*r.cpu->quota > 0) asked = *r.cpu->quota;
            compare(findings, "linux.resources.cpu.quota", asked, fq, quota);
        }
        if (r.cpu->period)
            compare(findings, "linux.resources.cpu.period", static_cast<int64_t>(*r.cpu->period),
                    fp, period);
    }
    if (r.cpu && r.cpu->shares) {
        if (auto f = find_file(hierarchies, {"cpu.shares"}))
            compare(findings, "linux.resources.cpu.shares", static_cast<int64_t>(*r.cpu->shares), f,
                    parse_cgroup_limit(f->value));
    }
    if (r.pids_limit) {
        auto f = find_file(hierarchies, {"pids.max"});
        std::optional<int64_t> asked;
        if (*r.pids_limit > 0) asked = *r.pids_limit;
        compare(findings, "linux.resources.pids.limit", asked, f,
                f ? parse_cgroup_limit(f->value) : std::nullopt);
    }
    if (r.block_io && r.block_io->weight) {
        auto f = find_file(hierarchies, {"blkio.weight", "blkio.bfq.weight"});
        if (f) {
            compare(findings, "linux.resources.blockIO.weight",
                    static_cast<int64_t>(*r.block_io->weight), f, parse_cgroup_limit(f->value));
        } else if (auto v2 = find_file(hierarchies, {"io.bfq.weight", "io.weight"})) {
            // "default 100" (+ per-device lines)
            auto w = split_words(v2->value);
            std::optional<int64_t> actual;
            if (w.size() > 1) actual = parse_cgroup_limit(w[1]);
            compare(findings, "linux.resources.blockIO.weight",
                    static_cast<int64_t>(*r.block_io->weight), v2, actual);
        }
    }
    if (r.cpu && !r.cpu->cpus.empty()) {
        auto f = find_file(hierarchies, {"cpuset.cpus"});
        if (f && f->value != r.cpu->cpus)
            flag(findings, "warning", "cgroup",
                 fmt::format("linux.resources.cpu.cpus: the config asks {}, {} holds {}",
                             r.cpu->cpus, f->file, f->value));
    }
}

// Limits, usage and counters in one place, whatever the layout.
Json summary(const Json& hierarchies, Json& findings) {
    Json s = Json::object();
    auto num = [&](std::initializer_list<const char*> names) -> Json {
        auto f = find_file(hierarchies, names);
        if (!f) return nullptr;
        return limit_json(parse_cgroup_limit(f->value));
    };
    auto source = [&](std::initializer_list<const char*> names) -> Json {
        auto f = find_file(hierarchies, names);
        return f ? Json(f->file) : Json(nullptr);
    };
    Json mem = {{"limit", num({"memory.limit_in_bytes", "memory.max"})},
                {"limit_file", source({"memory.limit_in_bytes", "memory.max"})},
                {"usage", num({"memory.usage_in_bytes", "memory.current"})},
                {"peak", num({"memory.max_usage_in_bytes", "memory.peak"})}};
    uint64_t oom_kills = 0;
    if (auto f = find_file(hierarchies, {"memory.events"})) {
        auto ev = parse_flat_keyed(f->value);
        oom_kills = std::strtoull(ev["oom_kill"].c_str(), nullptr, 10);
        mem["oom"] = std::strtoull(ev["oom"].c_str(), nullptr, 10);
        mem["max_events"] = std::strtoull(ev["max"].c_str(), nullptr, 10);
    } else if (auto f = find_file(hierarchies, {"memory.oom_control"})) {
        auto ev = parse_flat_keyed(f->value);
        oom_kills = std::strtoull(ev["oom_kill"].c_str(), nullptr, 10);
        mem["under_oom"] = ev["under_oom"] == "1";
        mem["oom_kill_disable"] = ev["oom_kill_disable"] == "1";
    }
    mem["oom_kills"] = oom_kills;
    if (auto f = find_file(hierarchies, {"memory.failcnt"}))
        mem["failcnt"] = std::strtoull(f->value.c_str(), nullptr, 10);
    s["memory"] = mem;
    if (oom_kills > 0)
        flag(findings, "warning", "cgroup",
             fmt::format("the OOM killer killed {} process(es) in this cgroup (memory limit {})",
                         oom_kills, mem["limit"].dump()));

    Json cpu = Json::object();
    if (auto f = find_file(hierarchies, {"cpu.cfs_quota_us"})) {
        cpu["quota"] = limit_json(parse_cgroup_limit(f->value));
        cpu["period"] = num({"cpu.cfs_period_us"});
    } else if (auto f = find_file(hierarchies, {"cpu.max"})) {
        auto w = split_words(f->value);
        cpu["quota"] = w.empty() ? Json(nullptr) : limit_json(parse_cgroup_limit(w[0]));
        cpu["period"] = w.size() > 1 ? limit_json(parse_cgroup_limit(w[1])) : Json(nullptr);
    }
    cpu["limit_file"] = source({"cpu.cfs_quota_us", "cpu.max"});
    cpu["shares"] = num({"cpu.shares"});
    cpu["weight"] = num({"cpu.weight"});
    if (auto f = find_file(hierarchies, {"cpu.stat"})) {
        auto st = parse_flat_keyed(f->value);
        cpu["nr_periods"] = std::strtoull(st["nr_periods"].c_str(), nullptr, 10);
        cpu["nr_throttled"] = std::strtoull(st["nr_throttled"].c_str(), nullptr, 10);
        // v1 counts nanoseconds (throttled_time), v2 microseconds (throttled_usec).
        if (st.count("throttled_usec"))
            cpu["throttled_usec"] = std::strtoull(st["throttled_usec"].c_str(), nullptr, 10);
        else
            cpu["throttled_usec"] = std::strtoull(st["throttled_time"].c_str(), nullptr, 10) / 1000;
        if (st.count("usage_usec"))
            cpu["usage_usec"] = std::strtoull(st["usage_usec"].c_str(), nullptr, 10);
    }
    if (!cpu.contains("usage_usec"))
        if (auto f = find_file(hierarchies, {"cpuacct.usage"}))
            cpu["usage_usec"] = std::strtoull(f->value.c_str(), nullptr, 10) / 1000;
    s["cpu"] = cpu;
    if (cpu.value("nr_throttled", uint64_t{0}) > 0)
        flag(findings, "info", "cgroup",
             fmt::format("CPU throttled in {} of {} periods ({} ms in all) by quota {}/{}",
                         cpu["nr_throttled"].get<uint64_t>(), cpu["nr_periods"].get<uint64_t>(),
                         cpu["throttled_usec"].get<uint64_t>() / 1000, cpu["quota"].dump(),
                         cpu["period"].dump()));

    Json pids = {{"limit", num({"pids.max"})},
                 {"limit_file", source({"pids.max"})},
                 {"current", num({"pids.current"})}};
    if (auto f = find_file(hierarchies, {"pids.events"})) {
        auto ev = parse_flat_keyed(f->value);
        pids["refused_forks"] = std::strtoull(ev["max"].c_str(), nullptr, 10);
        if (pids["refused_forks"].get<uint64_t>() > 0)
            flag(findings, "warning", "cgroup",
                 fmt::format("fork/clone refused {} time(s) at pids.max {}",
                             pids["refused_forks"].get<uint64_t>(), pids["limit"].dump()));
    }
    s["pids"] = pids;

    Json io = Json::object();
    for (const char* name :
         {"blkio.weight", "blkio.bfq.weight", "io.weight", "io.bfq.weight", "io.max",
          "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device"})
        if (auto f = find_file(hierarchies, {name}); f && !f->value.empty()) io[name] = f->value;
    s["io"] = io;
    if (auto f = find_file(hierarchies, {"freezer.state"})) s["freezer"] = f->value;
    return s;
}

}  // namespace

Json cgroup_section(const Target& t, Json& findings) {
    Json out = Json::object();
    auto host = runtime::detect_cgroups(t.proc);
    if (!host) {
        out["error"] = host.error().what();
        flag(findings, "warning", "cgroup",
             "cannot detect the cgroup layout: " + host.error().what());
        return out;
    }
    out["layout"] = runtime::cgroup_layout_name(host->layout);
    auto text = read_file(t.proc + "/" + std::to_string(t.init_pid) + "/cgroup");
    if (!text) {
        out["error"] = text.error().what();
        return out;
    }
    Json hierarchies = Json::array();
    for (const auto& line : parse_proc_cgroup(*text)) {
        const runtime::CgroupHierarchy* match = nullptr;
        for (const auto& h : host->hierarchies)
            if ((line.hierarchy_id == "0" && h.unified) ||
                (line.hierarchy_id != "0" && !h.unified && h.controllers == line.controllers))
                match = &h;
        Json h = {{"controllers", line.hierarchy_id == "0" ? "(v2)" : line.controllers},
                  {"path", line.path},
                  {"version", line.hierarchy_id == "0" ? 2 : 1}};
        if (match == nullptr) {
            h["dir"] = nullptr;
            hierarchies.push_back(h);
            continue;
        }
        std::string dir = match->mount_point + (line.path == "/" ? "" : line.path);
        h["dir"] = dir;
        Json files = Json::object();
        std::string ctl = line.controllers;
        if (line.hierarchy_id == "0") {
            // The v2 tree: the controllers enabled for this cgroup.
            ctl = slurp(dir + "/cgroup.controllers").value_or("");
            for (char& c : ctl)
                if (c == ' ') c = ',';
            h["enabled"] = ctl;
        }
        for (const auto& [controller, names] : kFiles) {
            if (!has_controller(ctl, controller) &&
                !(line.hierarchy_id == "0" && std::string(controller) == "cpu"))
                continue;
            for (const char* name : names)
                if (auto v = slurp(dir + "/" + name)) files[name] = *v;
        }
        h["files"] = files;
        if (line.path == "/" && line.hierarchy_id != "0" && !line.controllers.starts_with("name="))
            flag(findings, "info", "cgroup",
                 fmt::format("the init is in the root cgroup of {}: nothing limits or accounts "
                             "it there",
                             line.controllers));
        hierarchies.push_back(std::move(h));
    }
    out["hierarchies"] = hierarchies;
    out["summary"] = summary(hierarchies, findings);
    check_limits(t, hierarchies, findings);
    return out;
}

}  // namespace husk::explain
