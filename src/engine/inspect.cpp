#include "engine/inspect.hpp"

#include "engine/ids.hpp"

namespace husk::engine {

using Json = nlohmann::ordered_json;

std::string status_text(const ContainerView& v) {
    int64_t now = now_ns();
    if (v.status == "running" || v.status == "paused") {
        std::string s = "Up " + human_duration(now - parse_rfc3339(v.state.started_at));
        if (v.status == "paused")
            s += " (Paused)";
        else if (!v.state.health.empty())
            s += v.state.health == "starting" ? " (health: starting)" : " (" + v.state.health + ")";
        return s;
    }
    if (v.status == "restarting")
        return "Restarting (" + std::to_string(v.state.exit_code) + ") " +
               human_duration(now - parse_rfc3339(v.state.finished_at)) + " ago";
    if (v.status == "exited")
        return "Exited (" + std::to_string(v.state.exit_code) + ") " +
               human_duration(now - parse_rfc3339(v.state.finished_at)) + " ago";
    return "Created";
}

Json inspect_json(const ContainerView& v) {
    const auto& r = v.record;
    const auto& s = v.state;
    Json health = nullptr;
    if (!s.health.empty()) {
        Json log = Json::array();
        for (const auto& e : s.health_log)
            log.push_back({{"Start", e.start},
                           {"End", e.end},
                           {"ExitCode", e.exit_code},
                           {"Output", e.output}});
        health = {{"Status", s.health}, {"FailingStreak", s.failing_streak}, {"Log", log}};
    }
    Json state = {{"Status", v.status},
                  {"Running", v.status == "running" || v.status == "paused"},
                  {"Paused", v.status == "paused"},
                  {"Restarting", v.status == "restarting"},
                  {"OOMKilled", s.oom_killed},
                  {"Dead", false},
                  {"Pid", v.status == "running" || v.status == "paused" ? s.pid : 0},
                  {"ExitCode", s.exit_code},
                  {"Error", s.error},
                  {"StartedAt", s.started_at.empty() ? "0001-01-01T00:00:00Z" : s.started_at},
                  {"FinishedAt", s.finished_at.empty() ? "0001-01-01T00:00:00Z" : s.finished_at}};
    if (!health.is_null()) state["Health"] = health;
    Json mounts = Json::array();
    for (const auto& m : r.mounts)
        mounts.push_back({{"Type", m.type},
                          {"Name", m.name},
                          {"Source", m.source},
                          {"Destination", m.destination},
                          {"RW", !m.read_only}});
    Json host_config = r.host_config;
    host_config["RestartPolicy"] = {{"Name", r.restart.name},
                                    {"MaximumRetryCount", r.restart.max_retries}};
    host_config["AutoRemove"] = r.auto_remove;
    host_config["NetworkMode"] = r.network_mode;
    host_config["ReadonlyRootfs"] = r.read_only;
    host_config["Init"] = r.init;
    host_config["LogConfig"] = {
        {"Type", "json-file"},
        {"Config",
         {{"max-size", r.log.max_size > 0 ? std::to_string(r.log.max_size) : ""},
          {"max-file", std::to_string(r.log.max_file)}}}};
    Json config = {{"Hostname", r.hostname},
                   {"User", r.user},
                   {"Tty", r.tty},
                   {"OpenStdin", r.open_stdin},
                   {"Env", r.env},
                   {"Cmd", r.cmd},
                   {"Image", r.image},
                   {"WorkingDir", r.working_dir},
                   {"Entrypoint", r.entrypoint},
                   {"Labels", r.labels},
                   {"StopSignal", r.stop_signal},
                   {"StopTimeout", r.stop_timeout}};
    if (r.healthcheck)
        config["Healthcheck"] = {{"Test", r.healthcheck->test},
                                 {"Interval", r.healthcheck->interval},
                                 {"Timeout", r.healthcheck->timeout},
                                 {"StartPeriod", r.healthcheck->start_period},
                                 {"Retries", r.healthcheck->retries}};
    Json out = {{"Id", r.id},
                {"Created", r.created},
                {"Path", r.args.empty() ? "" : r.args.front()},
                {"Args", r.args.size() > 1
                             ? Json(std::vector<std::string>(r.args.begin() + 1, r.args.end()))
                             : Json::array()},
                {"State", state},
                {"Image", r.image_id.empty() ? r.image : r.image_id},
                {"Name", "/" + r.name},
                {"RestartCount", s.restart_count},
                {"Driver", r.image_id.empty() ? "rootfs" : "image"},
                {"HostConfig", host_config},
                {"GraphDriver", {{"Data", {{"MergedDir", r.rootfs}}}}},
                {"Mounts", mounts},
                {"Config", config},
                {"NetworkSettings",
                 {{"Networks", {{r.network_mode, Json::object()}}}, {"Ports", Json::object()}}}};
    return out;
}

Json ps_json(const ContainerView& v, bool no_trunc) {
    const auto& r = v.record;
    std::string command;
    for (const auto& a : r.args) {
        if (!command.empty()) command += " ";
        command += a;
    }
    if (!no_trunc && command.size() > 20) command = command.substr(0, 19) + "…";
    command = "\"" + command + "\"";
    std::string labels;
    for (const auto& [k, val] : r.labels) {
        if (!labels.empty()) labels += ",";
        labels += k + "=" + val;
    }
    std::string mounts;
    for (const auto& m : r.mounts) {
        if (!mounts.empty()) mounts += ",";
        mounts += m.type == "volume" ? m.name : m.source;
    }
    std::string created = r.created;
    return Json{{"Command", command},
                {"CreatedAt", created},
                {"ID", no_trunc ? r.id : r.id.substr(0, 12)},
                {"Image", r.image},
                {"Labels", labels},
                {"LocalVolumes", "0"},
                {"Mounts", mounts},
                {"Names", r.name},
                {"Networks", r.network_mode},
                {"Ports", ""},
                {"RunningFor", human_duration(now_ns() - parse_rfc3339(r.created)) + " ago"},
                {"Size", ""},
                {"State", v.status},
                {"Status", status_text(v)},
                {"LabelMap", r.labels}};
}

}  // namespace husk::engine
