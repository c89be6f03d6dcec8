// husk-runtime: an OCI runtime with runc's command line. Argument parsing lives here (the
// only place exceptions are used); every verb is a call into husk::runtime.
#include <fcntl.h>
#include <unistd.h>

#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/files.hpp"
#include "common/log.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/container.hpp"

namespace {

using husk::Status;

int report(const husk::Error& error) {
    husk::log::error("{}", error.what());
    return 1;
}

int finish(const Status& status) { return status ? 0 : report(status.error()); }

std::string list_table(const husk::runtime::Runtime& rt, bool quiet, bool json) {
    auto containers = rt.list();
    if (!containers) throw std::runtime_error(containers.error().what());
    if (json) {
        auto arr = nlohmann::json::array();
        for (auto& [s, status] : *containers)
            arr.push_back(nlohmann::json::parse(husk::runtime::state_json(s, status)));
        return arr.dump() + "\n";
    }
    std::string out;
    if (quiet) {
        for (auto& [s, status] : *containers) out += s.id + "\n";
        return out;
    }
    size_t width = 2;
    for (auto& [s, status] : *containers) width = std::max(width, s.id.size());
    out += fmt::format("{:<{}}   {:<8}{:<10}{:<40}{:<32}{}\n", "ID", width, "PID", "STATUS", "BUNDLE",
                       "CREATED", "OWNER");
    for (auto& [s, status] : *containers) {
        int pid = status == husk::runtime::ContainerStatus::stopped ? 0 : s.pid;
        out += fmt::format("{:<{}}   {:<8}{:<10}{:<40}{:<32}{}\n", s.id, width, pid,
                           husk::runtime::status_name(status), s.bundle, s.created, s.owner);
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"husk-runtime: an OCI container runtime (runc compatible)", "husk-runtime"};
    app.require_subcommand(1);
    app.set_version_flag("-v,--version",
                         std::string("husk-runtime version ") + HUSK_VERSION + "\nspec: 1.2.0");

    std::string root = husk::runtime::kDefaultRoot, log_path, log_format = "text";
    bool debug = false, systemd_cgroup = false;
    std::string rootless = "false";
    app.add_option("--root", root, "directory for container state");
    app.add_option("--log", log_path, "log file (default stderr)");
    app.add_option("--log-format", log_format, "log format")->check(CLI::IsMember({"text", "json"}));
    app.add_flag("--debug", debug, "debug logging");
    app.add_flag("--systemd-cgroup", systemd_cgroup, "use systemd cgroups");
    app.add_option("--rootless", rootless, "rootless mode (true, false, auto)");

    husk::runtime::CreateOptions create_opts;
    auto* create = app.add_subcommand("create", "create a container (its process waits for start)");
    create->add_option("-b,--bundle", create_opts.bundle, "bundle directory");
    create->add_option("--pid-file", create_opts.pid_file, "write the init's pid here");
    create->add_option("id", create_opts.id, "container id")->required();

    std::string id;
    auto* start = app.add_subcommand("start", "start a created container");
    start->add_option("id", id)->required();

    auto* state = app.add_subcommand("state", "print a container's state as JSON");
    state->add_option("id", id)->required();

    std::string signal_name = "TERM";
    bool kill_all = false;
    auto* kill = app.add_subcommand("kill", "send a signal to a container's init");
    kill->add_option("id", id)->required();
    kill->add_option("signal", signal_name, "signal (name or number, default TERM)");
    kill->add_flag("-a,--all", kill_all, "signal every process in the container");

    bool force = false;
    auto* del = app.add_subcommand("delete", "delete a container");
    del->add_option("id", id)->required();
    del->add_flag("-f,--force", force, "kill it first if it is running");

    husk::runtime::CreateOptions run_opts;
    bool detach = false;
    auto* run = app.add_subcommand("run", "create and start a container, wait for it");
    run->add_option("-b,--bundle", run_opts.bundle, "bundle directory");
    run->add_option("--pid-file", run_opts.pid_file, "write the init's pid here");
    run->add_flag("-d,--detach", detach, "return once the container started");
    run->add_option("id", run_opts.id, "container id")->required();

    std::string list_format = "table";
    bool list_quiet = false;
    auto* list = app.add_subcommand("list", "list containers");
    list->alias("ls");
    list->add_option("-f,--format", list_format)->check(CLI::IsMember({"table", "json"}));
    list->add_flag("-q,--quiet", list_quiet, "ids only");

    std::string spec_bundle = ".";
    bool spec_rootless = false;
    auto* spec = app.add_subcommand("spec", "write a default config.json");
    spec->add_option("-b,--bundle", spec_bundle, "where to write config.json");
    spec->add_flag("--rootless", spec_rootless, "a config for an unprivileged user");

    CLI11_PARSE(app, argc, argv);
    husk::log::configure(log_path, log_format == "json" ? husk::log::Format::json
                                                        : husk::log::Format::text,
                         debug);
    if (systemd_cgroup)
        return report(husk::Error::invalid("--systemd-cgroup: systemd cgroups are not supported "
                                           "by husk-runtime yet"));
    if (rootless == "true")
        return report(husk::Error::invalid("--rootless: rootless mode is not supported by "
                                           "husk-runtime yet"));

    husk::runtime::Runtime rt(root);
    try {
        if (*create) return finish(rt.create(create_opts));
        if (*start) return finish(rt.start(id));
        if (*state) {
            auto json = rt.state(id);
            if (!json) return report(json.error());
            std::cout << *json << "\n";
            return 0;
        }
        if (*kill) {
            auto sig = husk::runtime::parse_signal(signal_name);
            if (!sig) return report(sig.error());
            return finish(rt.kill(id, *sig, kill_all));
        }
        if (*del) return finish(rt.remove(id, force));
        if (*run) {
            auto code = rt.run(run_opts, detach);
            if (!code) return report(code.error());
            return *code;
        }
        if (*list) {
            std::cout << list_table(rt, list_quiet, list_format == "json");
            return 0;
        }
        if (*spec) {
            std::string path = spec_bundle + "/config.json";
            if (husk::path_exists(path))
                return report(husk::Error::invalid("{} exists: remove it first", path));
            return finish(husk::write_file_atomic(path, husk::oci::default_config_json(spec_rootless)));
        }
    } catch (const std::exception& e) {
        husk::log::error("{}", e.what());
        return 1;
    }
    return 1;
}
