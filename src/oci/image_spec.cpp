#include "oci/image_spec.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace husk::oci {
namespace {

using Json = nlohmann::json;

Result<std::string> read_string(const Json& parent, const char* key, const std::string& path) {
    auto it = parent.find(key);
    if (it == parent.end() || it->is_null()) return std::string();
    if (!it->is_string()) return fail_invalid("{}.{}: expected a string", path, key);
    return it->get<std::string>();
}

Result<std::vector<std::string>> read_strings(const Json& value, const std::string& path) {
    if (!value.is_array()) return fail_invalid("{}: expected an array of strings", path);
    std::vector<std::string> out;
    for (size_t i = 0; i < value.size(); ++i) {
        if (!value[i].is_string()) return fail_invalid("{}[{}]: expected a string", path, i);
        out.push_back(value[i].get<std::string>());
    }
    return out;
}

Result<std::optional<std::vector<std::string>>> read_optional_strings(const Json& parent,
                                                                      const char* key,
                                                                      const std::string& path) {
    auto it = parent.find(key);
    if (it == parent.end() || it->is_null()) return std::nullopt;
    auto strings = read_strings(*it, path + "." + key);
    if (!strings) return fail(strings.error());
    return std::optional(std::move(*strings));
}

// {"80/tcp": {}} -> ["80/tcp"]: Docker writes sets as objects with empty values.
Result<std::vector<std::string>> read_set(const Json& parent, const char* key,
                                          const std::string& path) {
    auto it = parent.find(key);
    if (it == parent.end() || it->is_null()) return std::vector<std::string>();
    if (!it->is_object()) return fail_invalid("{}.{}: expected an object", path, key);
    std::vector<std::string> out;
    for (auto& [k, v] : it->items()) out.push_back(k);
    std::sort(out.begin(), out.end());
    return out;
}

Result<int64_t> read_int(const Json& parent, const char* key, const std::string& path) {
    auto it = parent.find(key);
    if (it == parent.end() || it->is_null()) return 0;
    if (!it->is_number_integer()) return fail_invalid("{}.{}: expected an integer", path, key);
    return it->get<int64_t>();
}

Result<ContainerDefaults> parse_defaults(const Json& c) {
    const std::string path = "config";
    if (!c.is_object()) return fail_invalid("config: expected an object");
    ContainerDefaults d;
    for (auto [key, target] : {std::pair{"User", &d.user}, std::pair{"WorkingDir", &d.working_dir},
                               std::pair{"StopSignal", &d.stop_signal}}) {
        auto v = read_string(c, key, path);
        if (!v) return fail(v.error());
        *target = std::move(*v);
    }
    for (auto [key, target] :
         {std::pair{"ExposedPorts", &d.exposed_ports}, std::pair{"Volumes", &d.volumes}}) {
        auto v = read_set(c, key, path);
        if (!v) return fail(v.error());
        *target = std::move(*v);
    }
    for (auto [key, target] : {std::pair{"Entrypoint", &d.entrypoint}, std::pair{"Cmd", &d.cmd}}) {
        auto v = read_optional_strings(c, key, path);
        if (!v) return fail(v.error());
        *target = std::move(*v);
    }
    for (auto [key, target] : {std::pair{"Env", &d.env}, std::pair{"Shell", &d.shell},
                               std::pair{"OnBuild", &d.on_build}}) {
        auto v = read_optional_strings(c, key, path);
        if (!v) return fail(v.error());
        if (*v) *target = std::move(**v);
    }
    if (auto it = c.find("Labels"); it != c.end() && !it->is_null()) {
        if (!it->is_object()) return fail_invalid("config.Labels: expected an object");
        for (auto& [k, v] : it->items()) {
            if (!v.is_string()) return fail_invalid("config.Labels[\"{}\"]: expected a string", k);
            d.labels[k] = v.get<std::string>();
        }
    }
    if (auto it = c.find("Healthcheck"); it != c.end() && !it->is_null()) {
        const std::string hpath = "config.Healthcheck";
        if (!it->is_object()) return fail_invalid("{}: expected an object", hpath);
        HealthConfig h;
        auto test = read_optional_strings(*it, "Test", hpath);
        if (!test) return fail(test.error());
        if (*test) h.test = std::move(**test);
        for (auto [key, target] :
             {std::pair{"Interval", &h.interval}, std::pair{"Timeout", &h.timeout},
              std::pair{"StartPeriod", &h.start_period}}) {
            auto v = read_int(*it, key, hpath);
            if (!v) return fail(v.error());
            *target = *v;
        }
        auto retries = read_int(*it, "Retries", hpath);
        if (!retries) return fail(retries.error());
        h.retries = static_cast<int>(*retries);
        d.healthcheck = std::move(h);
    }
    return d;
}

Json set_json(const std::vector<std::string>& keys) {
    Json out = Json::object();
    for (auto& k : keys) out[k] = Json::object();
    return out;
}

}  // namespace

Result<ImageConfig> parse_image_config(std::string_view text) {
    Json doc = Json::parse(text, nullptr, false);
    if (doc.is_discarded()) return fail_invalid("image config: not valid JSON");
    if (!doc.is_object()) return fail_invalid("image config: expected a JSON object");
    ImageConfig image;
    for (auto [key, target] :
         {std::pair{"created", &image.created}, std::pair{"author", &image.author},
          std::pair{"architecture", &image.architecture}, std::pair{"os", &image.os},
          std::pair{"variant", &image.variant}}) {
        auto v = read_string(doc, key, "image config");
        if (!v) return fail(v.error());
        *target = std::move(*v);
    }
    if (auto it = doc.find("config"); it != doc.end() && !it->is_null()) {
        auto defaults = parse_defaults(*it);
        if (!defaults) return fail(defaults.error());
        image.config = std::move(*defaults);
    }
    if (auto it = doc.find("rootfs"); it != doc.end() && !it->is_null()) {
        if (!it->is_object()) return fail_invalid("rootfs: expected an object");
        auto type = read_string(*it, "type", "rootfs");
        if (!type) return fail(type.error());
        if (*type != "layers")
            return fail_invalid("rootfs.type: expected \"layers\", got \"{}\"", *type);
        auto ids = it->find("diff_ids");
        if (ids != it->end() && !ids->is_null()) {
            auto v = read_strings(*ids, "rootfs.diff_ids");
            if (!v) return fail(v.error());
            image.diff_ids = std::move(*v);
        }
    }
    if (auto it = doc.find("history"); it != doc.end() && !it->is_null()) {
        if (!it->is_array()) return fail_invalid("history: expected an array");
        for (size_t i = 0; i < it->size(); ++i) {
            const Json& h = (*it)[i];
            std::string path = fmt::format("history[{}]", i);
            if (!h.is_object()) return fail_invalid("{}: expected an object", path);
            HistoryEntry entry;
            for (auto [key, target] :
                 {std::pair{"created", &entry.created}, std::pair{"created_by", &entry.created_by},
                  std::pair{"author", &entry.author}, std::pair{"comment", &entry.comment}}) {
                auto v = read_string(h, key, path);
                if (!v) return fail(v.error());
                *target = std::move(*v);
            }
            if (auto e = h.find("empty_layer"); e != h.end() && !e->is_null()) {
                if (!e->is_boolean())
                    return fail_invalid("{}.empty_layer: expected a boolean", path);
                entry.empty_layer = e->get<bool>();
            }
            image.history.push_back(std::move(entry));
        }
    }
    return image;
}

std::string image_config_json(const ImageConfig& image) {
    Json doc = Json::object();
    auto put = [](Json& obj, const char* key, const std::string& v) {
        if (!v.empty()) obj[key] = v;
    };
    put(doc, "created", image.created);
    put(doc, "author", image.author);
    doc["architecture"] = image.architecture;
    doc["os"] = image.os;
    put(doc, "variant", image.variant);
    const ContainerDefaults& d = image.config;
    Json c = Json::object();
    put(c, "User", d.user);
    if (!d.exposed_ports.empty()) c["ExposedPorts"] = set_json(d.exposed_ports);
    if (!d.env.empty()) c["Env"] = d.env;
    if (d.entrypoint) c["Entrypoint"] = *d.entrypoint;
    if (d.cmd) c["Cmd"] = *d.cmd;
    if (!d.volumes.empty()) c["Volumes"] = set_json(d.volumes);
    put(c, "WorkingDir", d.working_dir);
    if (!d.labels.empty()) c["Labels"] = d.labels;
    put(c, "StopSignal", d.stop_signal);
    if (d.healthcheck) {
        Json h = Json::object();
        h["Test"] = d.healthcheck->test;
        if (d.healthcheck->interval) h["Interval"] = d.healthcheck->interval;
        if (d.healthcheck->timeout) h["Timeout"] = d.healthcheck->timeout;
        if (d.healthcheck->start_period) h["StartPeriod"] = d.healthcheck->start_period;
        if (d.healthcheck->retries) h["Retries"] = d.healthcheck->retries;
        c["Healthcheck"] = std::move(h);
    }
    if (!d.shell.empty()) c["Shell"] = d.shell;
    if (!d.on_build.empty()) c["OnBuild"] = d.on_build;
    doc["config"] = std::move(c);
    doc["rootfs"] = {{"type", "layers"}, {"diff_ids", image.diff_ids}};
    if (!image.history.empty()) {
        Json hist = Json::array();
        for (auto& h : image.history) {
            Json e = Json::object();
            put(e, "created", h.created);
            put(e, "created_by", h.created_by);
            put(e, "author", h.author);
            put(e, "comment", h.comment);
            if (h.empty_layer) e["empty_layer"] = true;
            hist.push_back(std::move(e));
        }
        doc["history"] = std::move(hist);
    }
    return doc.dump();
}

}  // namespace husk::oci
