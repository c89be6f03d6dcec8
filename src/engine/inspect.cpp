#include "engine/inspect.hpp"

#include <algorithm>

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

// Docker's NetworkSettings: the top-level fields describe the first network.
Json network_settings(const ContainerView& v) {
    const auto& r = v.record;
    Json ports = Json::object();
    for (const auto& e : r.network.expose) ports[e] = nullptr;
    Json settings = {{"IPAddress", ""}, {"IPPrefixLen", 0}, {"Gateway", ""}, {"MacAddress", ""}};
    Json endpoint = Json::object();
    if (v.network) {
        const auto& a = *v.network;
        for (const auto& p : a.ports) {
            std::string key = std::to_string(p.container_port) + "/" + p.proto;
            if (!ports.contains(key) || ports[key].is_null()) ports[key] = Json::array();
            ports[key].push_back(
                {{"HostIp", p.host_ip}, {"HostPort", std::to_string(p.host_port)}});
        }
        settings = {{"IPAddress", a.ip},
                    {"IPPrefixLen", a.prefix},
                    {"Gateway", a.gateway},
                    {"MacAddress", a.mac}};
        endpoint = settings;
        Json aliases = Json::array();
        if (a.network != "bridge") {
            if (!r.name.empty()) aliases.push_back(r.name);
            for (const auto& al : r.network.aliases) aliases.push_back(al);
            aliases.push_back(r.id.substr(0, 12));
        }
        endpoint["Aliases"] = aliases;
    }
    Json networks = Json::object();
    if (r.network_mode != "none" && !r.network_mode.starts_with("container:"))
        networks[r.network_mode] = endpoint;
    settings["Ports"] = ports;
    settings["Networks"] = networks;
    return settings;
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
    host_config["PublishAllPorts"] = r.network.publish_all;
    host_config["Dns"] = r.network.dns;
    host_config["DnsSearch"] = r.network.dns_search;
    host_config["DnsOptions"] = r.network.dns_options;
    host_config["ExtraHosts"] = r.network.extra_hosts;
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
                {"NetworkSettings", network_settings(v)}};
    out["Config"]["ExposedPorts"] = Json::object();
    for (const auto& e : r.network.expose) out["Config"]["ExposedPorts"][e] = Json::object();
    return out;
}

// ps's PORTS: "0.0.0.0:8080->80/tcp, 443/tcp" (exposed but not published).
std::string ports_text(const ContainerView& v) {
    std::string out;
    std::vector<std::string> published;
    if (v.network)
        for (const auto& p : v.network->ports) {
            std::string key = std::to_string(p.container_port) + "/" + p.proto;
            published.push_back(key);
            out += (out.empty() ? "" : ", ") + p.host_ip + ":" + std::to_string(p.host_port) +
                   "->" + key;
        }
    for (const auto& e : v.record.network.expose)
        if (std::find(published.begin(), published.end(), e) == published.end())
            out += (out.empty() ? "" : ", ") + e;
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
                {"Ports", ports_text(v)},
                {"RunningFor", human_duration(now_ns() - parse_rfc3339(r.created)) + " ago"},
                {"Size", ""},
                {"State", v.status},
                {"Status", status_text(v)},
                {"LabelMap", r.labels}};
}

}  // namespace husk::engine
