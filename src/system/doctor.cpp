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

std::string doctor_text(const std::vector<CheckResult>& results, bool verbose, bool color) {
    std::string out;
    auto tag = [&](Level level) -> std::string {
        const char* name = level == Level::pass ? "ok  " : level == Level::warn ? "WARN" : "FAIL";
        if (!color) return name;
        const char* code = level == Level::pass ? "32" : level == Level::warn ? "33" : "31";
        return fmt::format("\033[{}m{}\033[0m", code, name);
    };
    for (auto& r : results) {
        out += fmt::format("{} {:<22} {}\n", tag(r.level), r.title, r.summary);
        if (r.level == Level::pass && !verbose) continue;
        for (auto& e : r.evidence) out += fmt::format("       {}\n", e);
        if (!r.fix.empty()) {
            bool first = true;
            size_t start = 0;
            while (start <= r.fix.size()) {
                auto nl = r.fix.find('\n', start);
                auto line = r.fix.substr(start, nl == std::string::npos ? nl : nl - start);
                out += fmt::format("       {} {}\n", first ? "fix:" : "    ", line);
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
