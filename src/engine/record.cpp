#include "engine/record.hpp"

#include <cstdlib>

namespace husk::oci {
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(HealthConfig, test, interval, timeout, start_period,
                                                retries)
}

namespace husk::engine {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RestartPolicy, name, max_retries)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(LogOptions, max_size, max_file)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(MountRecord, type, name, source, destination,
                                                read_only, options)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(NetworkRequest, publish, publish_all, expose, ip,
                                                aliases, dns, dns_search, dns_options, extra_hosts)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(HealthLogEntry, start, end, exit_code, output)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ContainerRuntime, status, pid, monitor_pid,
                                                monitor_start, started_at, finished_at, exit_code,
                                                error, restart_count, oom_killed, health,
                                                failing_streak, health_log)

namespace {

void to_json(nlohmann::json& j, const ContainerRecord& r) {
    j = nlohmann::json{{"id", r.id},
                       {"name", r.name},
                       {"created", r.created},
                       {"image", r.image},
                       {"image_id", r.image_id},
                       {"rootfs", r.rootfs},
                       {"rootfs_mount", r.rootfs_mount},
                       {"args", r.args},
                       {"entrypoint", r.entrypoint},
                       {"cmd", r.cmd},
                       {"env", r.env},
                       {"working_dir", r.working_dir},
                       {"user", r.user},
                       {"hostname", r.hostname},
                       {"labels", r.labels},
                       {"tty", r.tty},
                       {"open_stdin", r.open_stdin},
                       {"auto_remove", r.auto_remove},
                       {"read_only", r.read_only},
                       {"init", r.init},
                       {"stop_signal", r.stop_signal},
                       {"stop_timeout", r.stop_timeout},
                       {"network_mode", r.network_mode},
                       {"network", r.network},
                       {"restart", r.restart},
                       {"log", r.log},
                       {"mounts", r.mounts},
                       {"host_config", r.host_config}};
    if (r.healthcheck) j["healthcheck"] = *r.healthcheck;
}

template <typename T>
void get(const nlohmann::json& j, const char* key, T& out) {
    if (auto it = j.find(key); it != j.end() && !it->is_null()) out = it->get<T>();
}

void from_json(const nlohmann::json& j, ContainerRecord& r) {
    get(j, "id", r.id);
    get(j, "name", r.name);
    get(j, "created", r.created);
    get(j, "image", r.image);
    get(j, "image_id", r.image_id);
    get(j, "rootfs", r.rootfs);
    get(j, "rootfs_mount", r.rootfs_mount);
    get(j, "args", r.args);
    get(j, "entrypoint", r.entrypoint);
    get(j, "cmd", r.cmd);
    get(j, "env", r.env);
    get(j, "working_dir", r.working_dir);
    get(j, "user", r.user);
    get(j, "hostname", r.hostname);
    get(j, "labels", r.labels);
    get(j, "tty", r.tty);
    get(j, "open_stdin", r.open_stdin);
    get(j, "auto_remove", r.auto_remove);
    get(j, "read_only", r.read_only);
    get(j, "init", r.init);
    get(j, "stop_signal", r.stop_signal);
    get(j, "stop_timeout", r.stop_timeout);
    get(j, "network_mode", r.network_mode);
    get(j, "network", r.network);
    get(j, "restart", r.restart);
    get(j, "log", r.log);
    get(j, "mounts", r.mounts);
    get(j, "host_config", r.host_config);
    if (j.contains("healthcheck")) r.healthcheck = j.at("healthcheck").get<oci::HealthConfig>();
}

}  // namespace

std::string record_json(const ContainerRecord& record) {
    nlohmann::json j;
    to_json(j, record);
    return j.dump(2) + "\n";
}

Result<ContainerRecord> parse_record(const std::string& json, const std::string& path) {
    try {
        ContainerRecord r;
        from_json(nlohmann::json::parse(json), r);
        return r;
    } catch (const nlohmann::json::exception& e) {
        return fail_invalid("{}: {}", path, e.what());
    }
}

std::string runtime_json(const ContainerRuntime& runtime) {
    return nlohmann::json(runtime).dump() + "\n";
}

Result<ContainerRuntime> parse_runtime(const std::string& json, const std::string& path) {
    try {
        return nlohmann::json::parse(json).get<ContainerRuntime>();
    } catch (const nlohmann::json::exception& e) {
        return fail_invalid("{}: {}", path, e.what());
    }
}

Result<RestartPolicy> parse_restart_policy(const std::string& text) {
    RestartPolicy p;
    auto colon = text.find(':');
    p.name = text.substr(0, colon);
    if (p.name.empty()) p.name = "no";
    if (p.name != "no" && p.name != "on-failure" && p.name != "always" &&
        p.name != "unless-stopped")
        return fail_invalid("--restart {:?}: expected no, on-failure[:N], always or unless-stopped",
                            text);
    if (colon != std::string::npos) {
        if (p.name != "on-failure")
            return fail_invalid("--restart {:?}: only on-failure takes a retry count", text);
        char* end = nullptr;
        long n = std::strtol(text.c_str() + colon + 1, &end, 10);
        if (*end != '\0' || n < 0 || colon + 1 == text.size())
            return fail_invalid("--restart {:?}: the retry count must be a number >= 0", text);
        p.max_retries = static_cast<int>(n);
    }
    return p;
}

Result<int64_t> parse_duration_ns(const std::string& text) {
    if (text.empty()) return fail_invalid("empty duration");
    const char* p = text.c_str();
    int64_t total = 0;
    bool bare = true;
    for (char c : text)
        if (!(c >= '0' && c <= '9') && c != '.') bare = false;
    if (bare) return static_cast<int64_t>(std::strtod(p, nullptr) * 1e9);
    while (*p != '\0') {
        char* end = nullptr;
        double v = std::strtod(p, &end);
        if (end == p) return fail_invalid("invalid duration {:?}", text);
        p = end;
        std::string unit;
        while (*p != '\0' && !(*p >= '0' && *p <= '9') && *p != '.') unit.push_back(*p++);
        double scale = 0;
        if (unit == "ns")
            scale = 1;
        else if (unit == "us" || unit == "µs")
            scale = 1e3;
        else if (unit == "ms")
            scale = 1e6;
        else if (unit == "s")
            scale = 1e9;
        else if (unit == "m")
            scale = 60e9;
        else if (unit == "h")
            scale = 3600e9;
        else
            return fail_invalid("invalid duration {:?}: unknown unit {:?}", text, unit);
        total += static_cast<int64_t>(v * scale);
    }
    return total;
}

Result<int64_t> parse_bytes(const std::string& text) {
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || v < 0) return fail_invalid("invalid size {:?}", text);
    std::string unit(end);
    for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (unit.ends_with("ib"))
        unit.erase(unit.size() - 2);
    else if (unit.size() == 2 && unit.back() == 'b')
        unit.pop_back();
    double scale = 1;
    if (unit.empty() || unit == "b")
        scale = 1;
    else if (unit == "k")
        scale = 1024.0;
    else if (unit == "m")
        scale = 1024.0 * 1024;
    else if (unit == "g")
        scale = 1024.0 * 1024 * 1024;
    else if (unit == "t")
        scale = 1024.0 * 1024 * 1024 * 1024;
    else
        return fail_invalid("invalid size {:?}: unknown unit", text);
    return static_cast<int64_t>(v * scale);
}

}  // namespace husk::engine
