#include "system/doctor.hpp"

#include <fmt/format.h>

namespace husk::system {

const char* level_name(Level level) {
    switch (level) {
        case Level::pass:
            return "pass";
        case Level::warn:
            return "warn";
        case Level::fail:
            return "fail";
    }
    return "fail";
}

Context make_context(const HostView& host, Probes* probes) {
    Context ctx;
    ctx.host = host;
    ctx.probes = probes;
    auto mounts = read_mountinfo(host.path("/proc/self/mountinfo"));
    if (mounts)
        ctx.mounts = std::move(*mounts);
    else
        ctx.mountinfo_error = mounts.error().what();
    return ctx;
}

std::vector<CheckResult> run_doctor(const HostView& host, Probes* probes) {
    Context ctx = make_context(host, probes);
    std::vector<CheckResult> out;
    check_mounts(ctx, out);
    check_cgroups(ctx, out);
    check_namespaces(ctx, out);
    check_security(ctx, out);
    check_storage(ctx, out);
    check_network(ctx, out);
    return out;
}

int doctor_exit_status(const std::vector<CheckResult>& results) {
    int status = 0;
    for (auto& r : results) {
        if (r.level == Level::fail) status = 2;
        if (r.level == Level::warn && status == 0) status = 1;
    }
    return status;
}

nlohmann::json doctor_json(const std::vector<CheckResult>& results) {
    nlohmann::json checks = nlohmann::json::array();
    int counts[3] = {0, 0, 0};
    for (auto& r : results) {
        counts[static_cast<int>(r.level)]++;
        checks.push_back({{"id", r.id},
                          {"title", r.title},
                          {"status", level_name(r.level)},
                          {"summary", r.summary},
                          {"evidence", r.evidence},
                          {"fix", r.fix},
                          {"facts", r.facts}});
    }
    int status = doctor_exit_status(results);
    return {{"status", status == 0   ? "ok"
                       : status == 1 ? "warnings"
                                     : "failures"},
            {"exit_status", status},
            {"counts", {{"pass", counts[0]}, {"warn", counts[1]}, {"fail", counts[2]}}},
            {"checks", checks}};
}

namespace {

// Word-wraps `text` to `width` columns, continuation lines indented by `indent` spaces.
std::string wrap(const std::string& text, size_t first_column, size_t indent, size_t width) {
    std::string out;
    size_t column = first_column;
    bool line_empty = true;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find(' ', start);
        if (end == std::string::npos) end = text.size();
        std::string word = text.substr(start, end - start);
        start = end + 1;
        if (!line_empty && column + 1 + word.size() > width) {
            out += "\n" + std::string(indent, ' ');
            column = indent;
            line_empty = true;
        }
        if (!line_empty) {
            out += ' ';
            ++column;
        }
        out += word;
        column += word.size();
        line_empty = false;
    }
    return out;
}

}  // namespace

std::string doctor_text(const std::vector<CheckResult>& results, bool verbose, bool color,
                        size_t width) {
    std::string out;
    auto tag = [&](Level level) -> std::string {
        const char* name = level == Level::pass ? "ok  " : level == Level::warn ? "WARN" : "FAIL";
        if (!color) return name;
        const char* code = level == Level::pass ? "32" : level == Level::warn ? "33" : "31";
        return fmt::format("\033[{}m{}\033[0m", code, name);
    };
    for (auto& r : results) {
        out += fmt::format("{} {:<22} {}\n", tag(r.level), r.title, wrap(r.summary, 28, 28, width));
        if (r.level == Level::pass && !verbose) continue;
        for (auto& e : r.evidence) out += fmt::format("       {}\n", wrap(e, 7, 9, width));
        if (!r.fix.empty()) {
            bool first = true;
            size_t start = 0;
            while (start <= r.fix.size()) {
                auto nl = r.fix.find('\n', start);
                auto line = r.fix.substr(start, nl == std::string::npos ? nl : nl - start);
                out += fmt::format("       {} {}\n", first ? "fix:" : "    ",
                                   wrap(line, 12, 14, width));
                first = false;
                if (nl == std::string::npos) break;
                start = nl + 1;
            }
        }
    }
    int status = doctor_exit_status(results);
    int warns = 0, fails = 0;
    for (auto& r : results) {
        warns += r.level == Level::warn;
        fails += r.level == Level::fail;
    }
    out += fmt::format("\n{} checks: {} failed, {} warnings ({})\n", results.size(), fails, warns,
                       status == 0   ? "ok"
                       : status == 1 ? "warnings"
                                     : "failures");
    return out;
}

}  // namespace husk::system
