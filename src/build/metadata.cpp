// The instructions that only change the image config.
#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "build/steps.hpp"

namespace husk::build::detail {
namespace {

// "KEY=value ..." or the legacy "KEY value with spaces".
Result<std::vector<std::pair<std::string, std::string>>> pairs(const Instruction& ins,
                                                               const VariableLookup& lookup,
                                                               char escape) {
    std::string_view kw = keyword_name(ins.keyword);
    auto words = split_words(ins.text, &lookup, escape);
    if (!words) return fail(words.error());
    std::vector<std::pair<std::string, std::string>> out;
    if (words->empty()) return fail_invalid("{} requires at least one argument", kw);
    if ((*words)[0].find('=') == std::string::npos) {
        // Legacy form: the first word is the key, the rest (as written) the value.
        std::string text = ins.text;
        size_t start = text.find_first_not_of(" \t");
        size_t end = text.find_first_of(" \t", start);
        if (end == std::string::npos) return fail_invalid("{} {} needs a value", kw, (*words)[0]);
        auto value = expand_text(text.substr(text.find_first_not_of(" \t", end)), lookup, escape);
        if (!value) return fail(value.error());
        out.emplace_back((*words)[0], *value);
        return out;
    }
    for (auto& w : *words) {
        auto eq = w.find('=');
        if (eq == std::string::npos || eq == 0)
            return fail_invalid("{}: {:?} is not KEY=value", kw, w);
        out.emplace_back(w.substr(0, eq), w.substr(eq + 1));
    }
    return out;
}

std::vector<std::string> command(const Instruction& ins, const std::vector<std::string>& shell) {
    if (ins.exec_form) return ins.args;
    std::vector<std::string> out =
        shell.empty() ? std::vector<std::string>{"/bin/sh", "-c"} : shell;
    out.push_back(ins.text);
    return out;
}

Result<int64_t> duration_ns(const std::string& text) {
    // Go's time.ParseDuration subset: 30s, 1m30s, 500ms, 1h.
    int64_t total = 0;
    size_t i = 0;
    if (text.empty()) return fail_invalid("empty duration");
    while (i < text.size()) {
        size_t j = i;
        while (j < text.size() && (isdigit(static_cast<unsigned char>(text[j])) || text[j] == '.'))
            ++j;
        if (j == i) return fail_invalid("bad duration {:?}", text);
        double value = std::stod(text.substr(i, j - i));
        size_t k = j;
        while (k < text.size() && isalpha(static_cast<unsigned char>(text[k]))) ++k;
        std::string unit = text.substr(j, k - j);
        double scale = unit == "ns"   ? 1
                       : unit == "us" ? 1e3
                       : unit == "ms" ? 1e6
                       : unit == "s"  ? 1e9
                       : unit == "m"  ? 60e9
                       : unit == "h"  ? 3600e9
                                      : -1;
        if (scale < 0) return fail_invalid("bad duration {:?}: unit {:?}", text, unit);
        total += static_cast<int64_t>(value * scale);
        i = k;
    }
    return total;
}

void add_sorted(std::vector<std::string>& list, const std::string& value) {
    if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
    std::sort(list.begin(), list.end());
}

}  // namespace

Status apply_metadata(oci::ContainerDefaults& config, std::string& author, const Instruction& ins,
                      const VariableLookup& lookup, char escape, bool& cmd_set) {
    switch (ins.keyword) {
        case Keyword::env: {
            auto kv = pairs(ins, lookup, escape);
            if (!kv) return fail(kv.error());
            for (auto& [k, v] : *kv) {
                auto it =
                    std::find_if(config.env.begin(), config.env.end(),
                                 [&](const std::string& e) { return e.starts_with(k + "="); });
                if (it != config.env.end())
                    *it = k + "=" + v;
                else
                    config.env.push_back(k + "=" + v);
            }
            return {};
        }
        case Keyword::label: {
            auto kv = pairs(ins, lookup, escape);
            if (!kv) return fail(kv.error());
            for (auto& [k, v] : *kv) config.labels[k] = v;
            return {};
        }
        case Keyword::expose: {
            auto words = split_words(ins.text, &lookup, escape);
            if (!words) return fail(words.error());
            for (auto w : *words) {
                if (w.find('/') == std::string::npos) w += "/tcp";
                auto port = w.substr(0, w.find('/'));
                auto proto = w.substr(w.find('/') + 1);
                if (port.empty() || port.find_first_not_of("0123456789-") != std::string::npos ||
                    (proto != "tcp" && proto != "udp" && proto != "sctp"))
                    return fail_invalid("EXPOSE: invalid port {:?}", w);
                add_sorted(config.exposed_ports, w);
            }
            return {};
        }
        case Keyword::volume: {
            std::vector<std::string> paths;
            if (ins.exec_form) {
                for (auto& a : ins.args) {
                    auto v = expand_text(a, lookup, escape);
                    if (!v) return fail(v.error());
                    paths.push_back(*v);
                }
            } else {
                auto words = split_words(ins.text, &lookup, escape);
                if (!words) return fail(words.error());
                paths = *words;
            }
            if (paths.empty()) return fail_invalid("VOLUME requires at least one path");
            for (auto& p : paths) add_sorted(config.volumes, p);
            return {};
        }
        case Keyword::user: {
            auto v = expand_text(ins.text, lookup, escape);
            if (!v) return fail(v.error());
            if (v->empty()) return fail_invalid("USER requires a user");
            config.user = *v;
            return {};
        }
        case Keyword::cmd:
            config.cmd = command(ins, config.shell);
            cmd_set = true;
            return {};
        case Keyword::entrypoint:
            config.entrypoint = command(ins, config.shell);
            // An inherited CMD makes no sense for a new entrypoint (Docker resets it).
            if (!cmd_set) config.cmd.reset();
            return {};
        case Keyword::shell:
            if (!ins.exec_form || ins.args.empty())
                return fail_invalid(
                    "SHELL requires the JSON form, e.g. SHELL [\"/bin/sh\", \"-c\"]");
            config.shell = ins.args;
            return {};
        case Keyword::stopsignal: {
            auto v = expand_text(ins.text, lookup, escape);
            if (!v) return fail(v.error());
            config.stop_signal = *v;
            return {};
        }
        case Keyword::maintainer: {
            auto v = expand_text(ins.text, lookup, escape);
            if (!v) return fail(v.error());
            author = *v;
            return {};
        }
        case Keyword::onbuild:
            config.on_build.push_back(ins.text);
            return {};
        case Keyword::healthcheck: {
            oci::HealthConfig h;
            std::string text = ins.text;
            std::string upper = text.substr(0, 4);
            std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
            if (!ins.exec_form && (upper == "NONE")) {
                h.test = {"NONE"};
                config.healthcheck = h;
                return {};
            }
            for (auto& [name, value] : ins.flags) {
                if (name == "retries") {
                    try {
                        h.retries = std::stoi(value);
                    } catch (...) {
                        return fail_invalid("HEALTHCHECK --retries={}: not a number", value);
                    }
                    continue;
                }
                auto d = duration_ns(value);
                if (!d) return fail(d.error().wrap("HEALTHCHECK --{}", name));
                if (name == "interval")
                    h.interval = *d;
                else if (name == "timeout")
                    h.timeout = *d;
                else if (name == "start-period")
                    h.start_period = *d;
            }
            if (ins.exec_form) {
                h.test = {"CMD"};
                h.test.insert(h.test.end(), ins.args.begin(), ins.args.end());
            } else {
                if (upper.substr(0, 3) != "CMD")
                    return fail_invalid("HEALTHCHECK takes NONE or CMD <command>");
                auto rest = text.substr(3);
                rest.erase(0, rest.find_first_not_of(" \t"));
                if (!rest.empty() && rest[0] == '[') {
                    try {
                        auto args = nlohmann::json::parse(rest).get<std::vector<std::string>>();
                        h.test = {"CMD"};
                        h.test.insert(h.test.end(), args.begin(), args.end());
                    } catch (const nlohmann::json::exception&) {
                        return fail_invalid("HEALTHCHECK CMD {}: not a JSON array of strings",
                                            rest);
                    }
                } else {
                    h.test = {"CMD-SHELL", rest};
                }
            }
            config.healthcheck = h;
            return {};
        }
        default:
            return fail_invalid("{} is not a metadata instruction", keyword_name(ins.keyword));
    }
}

}  // namespace husk::build::detail
