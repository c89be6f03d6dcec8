// husk-runtime: an OCI runtime with runc's command line. Argument parsing lives here (the
// only place exceptions are used); every verb is a call into husk::runtime.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <iterator>
#include <optional>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/files.hpp"
#include "common/log.hpp"
#include "explain/explain.hpp"
#include "explain/runtime_target.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/container.hpp"
#include "runtime/exec.hpp"
#include "runtime/features.hpp"
#include "runtime/rootless.hpp"
#include "runtime/trace.hpp"

namespace {

using husk::Status;

int report(const husk::Error& error) {
    husk::log::error("{}", error.what());
    return 1;
}

int finish(const Status& status) {
    return status ? 0 : report(status.error());
}

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
    out += fmt::format("{:<{}}   {:<8}{:<10}{:<40}{:<32}{}\n", "ID", width, "PID", "STATUS",
                       "BUNDLE", "CREATED", "OWNER");
    for (auto& [s, status] : *containers) {
        int pid = status == husk::runtime::ContainerStatus::stopped ? 0 : s.pid;
        out += fmt::format("{:<{}}   {:<8}{:<10}{:<40}{:<32}{}\n", s.id, width, pid,
                           husk::runtime::status_name(status), s.bundle, s.created, s.owner);
    }
    return out;
}

// "512m", "1G", "1024", "-1" -> bytes, as runc's flags take them (binary units).
int64_t parse_bytes(const std::string& flag, const std::string& text) {
    if (text == "-1") return -1;
    size_t used = 0;
    unsigned long long n = 0;
    try {
        n = std::stoull(text, &used);
    } catch (const std::exception&) {
        throw CLI::ValidationError(flag, "expected a size like 512m, got \"" + text + "\"");
    }
    std::string unit = text.substr(used);
    if (!unit.empty() && (unit.back() == 'b' || unit.back() == 'B')) unit.pop_back();
    int shift = 0;
    if (unit.size() == 1) {
        switch (std::tolower(static_cast<unsigned char>(unit[0]))) {
            case 'k':
                shift = 10;
                break;
            case 'm':
                shift = 20;
                break;
            case 'g':
                shift = 30;
                break;
            case 't':
                shift = 40;
                break;
            default:
                throw CLI::ValidationError(flag, "unknown unit in \"" + text + "\"");
        }
    } else if (!unit.empty()) {
        throw CLI::ValidationError(flag, "unknown unit in \"" + text + "\"");
    }
    if (n > (uint64_t(INT64_MAX) >> shift))
        throw CLI::ValidationError(flag, "\"" + text + "\" is too large");
    return static_cast<int64_t>(n << shift);
}

// runc update's flags, folded into a linux.resources object so that one validator (the
// config's) checks them.
struct UpdateFlags {
    std::string resources_file, memory, memory_reservation, memory_swap, cpuset_cpus, cpuset_mems;
    std::optional<int64_t> cpu_quota, pids_limit;
    std::optional<uint64_t> cpu_period, cpu_shares;
    std::optional<uint16_t> blkio_weight;

    husk::Result<husk::oci::Resources> resources() const {
        nlohmann::json j = nlohmann::json::object();
        std::string source = "--resources " + resources_file;
        if (!resources_file.empty()) {
            std::string text;
            if (resources_file == "-") {
                text.assign(std::istreambuf_iterator<char>(std::cin), {});
            } else {
                auto read = husk::read_file(resources_file);
                if (!read) return husk::fail(read.error().wrap("--resources"));
                text = *read;
            }
            j = nlohmann::json::parse(text, nullptr, false);
            if (j.is_discarded() || !j.is_object())
                return husk::fail_invalid("{}: not a JSON object", source);
        } else {
            source = "update flags";
        }
        if (!memory.empty()) j["memory"]["limit"] = parse_bytes("--memory", memory);
        if (!memory_reservation.empty())
            j["memory"]["reservation"] = parse_bytes("--memory-reservation", memory_reservation);
        if (!memory_swap.empty()) j["memory"]["swap"] = parse_bytes("--memory-swap", memory_swap);
        if (cpu_quota) j["cpu"]["quota"] = *cpu_quota;
        if (cpu_period) j["cpu"]["period"] = *cpu_period;
        if (cpu_shares) j["cpu"]["shares"] = *cpu_shares;
        if (!cpuset_cpus.empty()) j["cpu"]["cpus"] = cpuset_cpus;
        if (!cpuset_mems.empty()) j["cpu"]["mems"] = cpuset_mems;
        if (pids_limit) j["pids"]["limit"] = *pids_limit;
        if (blkio_weight) j["blockIO"]["weight"] = *blkio_weight;
        return husk::oci::parse_resources(j.dump(), source);
    }
};

std::string ps_table(const std::vector<pid_t>& pids) {
    std::string out = "PID     CMD\n";
    for (pid_t pid : pids) {
        auto cmdline = husk::read_file("/proc/" + std::to_string(pid) + "/cmdline");
        std::string cmd = cmdline ? *cmdline : "";
        std::replace(cmd.begin(), cmd.end(), '\0', ' ');
        while (!cmd.empty() && cmd.back() == ' ') cmd.pop_back();
        out += fmt::format("{:<8}{}\n", pid, cmd);
    }
    return out;
}

// Cuts the command (everything after the container id) off an exec command line.
void split_exec_command(std::vector<char*>& args, std::vector<std::string>& command) {
    auto takes_value = [](std::string_view arg, std::initializer_list<std::string_view> names) {
        if (arg.find('=') != std::string_view::npos) return false;
        return std::find(names.begin(), names.end(), arg) != names.end();
    };
    size_t i = 1;
    for (; i < args.size(); ++i) {
        std::string_view arg = args[i];
        if (arg == "exec") break;
        if (takes_value(arg, {"--root", "--log", "--log-format", "--rootless"}))
            ++i;
        else if (!arg.starts_with("-"))
            return;  // another verb
    }
    for (++i; i < args.size(); ++i) {
        std::string_view arg = args[i];
        if (arg == "--") {
            ++i;
            break;
        }
        if (!arg.starts_with("-")) break;
        if (takes_value(arg, {"-p", "--process", "-e", "--env", "--cwd", "-u", "--user", "-c",
                              "--cap", "--pid-file", "--preserve-fds", "--cgroup",
                              "--console-socket", "--process-label", "--apparmor"}))
            ++i;
    }
    // args[i] is the id; the command follows it.
    if (i + 1 >= args.size()) return;
    command.assign(args.begin() + static_cast<long>(i) + 1, args.end());
    args.resize(i + 1);
}

}  // namespace

// runc's `events`: with --stats one stats object; otherwise a stats object every interval
// and an "oom" event as soon as the OOM killer strikes in the container's cgroup, until the
// container stops.
int events_loop(const husk::runtime::Runtime& rt, const std::string& id, bool once,
                unsigned interval) {
    auto stats = rt.stats(id);
    if (!stats) return report(stats.error());
    if (once) {
        std::cout << *stats << std::endl;
        return 0;
    }
    auto watch = rt.watch_oom(id);  // none without a memory cgroup: stats only
    uint64_t ooms_seen = watch ? watch->consume() : 0;
    auto report_ooms = [&](uint64_t ooms) {
        for (; ooms_seen < ooms; ++ooms_seen)
            std::cout << nlohmann::json{{"type", "oom"}, {"id", id}}.dump() << std::endl;
    };
    using Clock = std::chrono::steady_clock;
    while (true) {
        std::cout << *stats << std::endl;
        auto next = Clock::now() + std::chrono::seconds(interval);
        while (Clock::now() < next) {
            // Wake at least once a second to notice a stopped container.
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now());
            int timeout = static_cast<int>(std::clamp<int64_t>(left.count(), 0, 1000));
            if (watch) {
                pollfd pfd{watch->fd(), POLLIN, 0};
                if (::poll(&pfd, 1, timeout) > 0) {
                    // The v1 notification comes as the cgroup enters OOM, a moment before
                    // the kill is counted.
                    uint64_t ooms = watch->consume();
                    for (int i = 0; i < 50 && ooms <= ooms_seen; ++i) {
                        ::usleep(10000);
                        ooms = watch->consume();
                    }
                    report_ooms(ooms);
                    continue;
                }
                report_ooms(watch->consume());
            } else {
                ::poll(nullptr, 0, timeout);
            }
            auto state = rt.store().load(id);
            if (!state || rt.store().status(*state) == husk::runtime::ContainerStatus::stopped)
                return 0;
        }
        stats = rt.stats(id);
        if (!stats) return 0;  // stopped or deleted meanwhile
    }
}

int main(int argc, char** argv) {
    uint64_t started = husk::runtime::trace::now_ns();
    CLI::App app{"husk-runtime: an OCI container runtime (runc compatible)", "husk-runtime"};
    app.require_subcommand(1);
    app.set_version_flag("-v,--version", husk::runtime::version_text());

    std::string root = husk::runtime::kDefaultRoot, log_path, log_format = "text";
    bool debug = false, systemd_cgroup = false;
    std::string rootless = "auto";
    app.add_option("--root", root, "directory for container state");
    app.add_option("--log", log_path, "log file (default stderr)");
    app.add_option("--log-format", log_format, "log format")
        ->check(CLI::IsMember({"text", "json"}));
    app.add_flag("--debug", debug, "debug logging");
    app.add_flag("--systemd-cgroup", systemd_cgroup,
                 "put containers in a systemd transient scope (cgroupsPath slice:prefix:name)");
    app.add_option("--rootless", rootless, "rootless mode (true, false, auto)");

    husk::runtime::CreateOptions create_opts;
    auto* create = app.add_subcommand("create", "create a container (its process waits for start)");
    create->add_option("-b,--bundle", create_opts.bundle, "bundle directory");
    create->add_option("--pid-file", create_opts.pid_file, "write the init's pid here");
    create->add_option("--console-socket", create_opts.console_socket,
                       "unix socket that receives the pty master (process.terminal)");
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
    run->add_option("--console-socket", run_opts.console_socket,
                    "unix socket that receives the pty master (process.terminal)");
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
    auto* features = app.add_subcommand("features", "print what this runtime supports (JSON)");

    auto* spec = app.add_subcommand("spec", "write a default config.json");
    spec->add_option("-b,--bundle", spec_bundle, "where to write config.json");
    spec->add_flag("--rootless", spec_rootless, "a config for an unprivileged user");

    UpdateFlags update_flags;
    auto* update = app.add_subcommand("update", "update a running container's resource limits");
    update->add_option("id", id)->required();
    update->add_option("-r,--resources", update_flags.resources_file,
                       "linux.resources JSON from a file, or - for stdin");
    update->add_option("--memory", update_flags.memory, "memory limit (e.g. 512m, -1)");
    update->add_option("--memory-reservation", update_flags.memory_reservation,
                       "memory soft limit");
    update->add_option("--memory-swap", update_flags.memory_swap, "memory + swap limit");
    update->add_option("--cpu-quota", update_flags.cpu_quota, "CFS quota in us (-1: none)");
    update->add_option("--cpu-period", update_flags.cpu_period, "CFS period in us");
    update->add_option("--cpu-share,--cpu-shares", update_flags.cpu_shares, "CPU shares");
    update->add_option("--cpuset-cpus", update_flags.cpuset_cpus, "CPUs allowed (0-3,5)");
    update->add_option("--cpuset-mems", update_flags.cpuset_mems, "memory nodes allowed");
    update->add_option("--pids-limit", update_flags.pids_limit, "maximum number of pids (-1)");
    update->add_option("--blkio-weight", update_flags.blkio_weight, "block I/O weight (10-1000)");

    auto* pause = app.add_subcommand("pause", "freeze every process of a container");
    pause->add_option("id", id)->required();
    auto* resume = app.add_subcommand("resume", "thaw a paused container");
    resume->add_option("id", id)->required();

    std::string ps_format = "table";
    auto* ps = app.add_subcommand("ps", "list the processes in a container's cgroup");
    ps->add_option("-f,--format", ps_format)->check(CLI::IsMember({"table", "json"}));
    ps->add_option("id", id)->required();

    bool events_stats = false;
    unsigned events_interval = 5;
    auto* events = app.add_subcommand("events", "print a container's resource usage");
    events->add_flag("--stats", events_stats, "print the statistics once and exit");
    events->add_option("--interval", events_interval, "seconds between statistics")
        ->check(CLI::Range(1u, 86400u));
    events->add_option("id", id)->required();

    bool explain_json = false;
    auto* explain = app.add_subcommand("explain", "show a container as the kernel has it");
    explain->add_flag("--json", explain_json, "the report as JSON");
    explain->add_option("id", id)->required();

    husk::runtime::ExecOptions exec_opts;
    auto* exec = app.add_subcommand("exec", "run a new process in a running container");
    exec->add_option("-p,--process", exec_opts.process_file, "runtime-spec process JSON file");
    exec->add_option("-e,--env", exec_opts.env, "KEY=VALUE for the process (repeatable)");
    exec->add_option("--cwd", exec_opts.cwd, "working directory in the container");
    exec->add_option("-u,--user", exec_opts.user, "UID[:GID]");
    exec->add_option("-c,--cap", exec_opts.caps, "add a capability (repeatable)");
    exec->add_flag("--no-new-privs", exec_opts.no_new_privs, "set no_new_privs");
    exec->add_flag("-d,--detach", exec_opts.detach, "return once the process runs");
    exec->add_option("--pid-file", exec_opts.pid_file, "write the process's pid here");
    exec->add_option("--preserve-fds", exec_opts.preserve_fds, "pass on fds 3 .. 3+N-1");
    std::string exec_cgroup;
    exec->add_option("--cgroup", exec_cgroup, "sub-cgroup to join (not supported)");
    bool exec_tty = false;
    exec->add_flag("-t,--tty", exec_tty, "allocate a pty (its master goes to --console-socket)");
    std::string exec_console_socket;
    exec->add_option("--console-socket", exec_console_socket,
                     "unix socket that receives the pty master (with -t)");
    exec->add_option("id", exec_opts.id, "container id")->required();
    std::vector<std::string> exec_command;
    exec->add_option("command", exec_command, "command and its arguments");

    // runc reads exec's flags only before the container id: what follows is the command,
    // flags included ("sh -c ..." must not become --cap). CLI11 parses options anywhere, so
    // the command is cut off here and handed over after the parse.
    std::vector<char*> args(argv, argv + argc);
    split_exec_command(args, exec_command);
    CLI11_PARSE(app, static_cast<int>(args.size()), args.data());
    husk::log::configure(
        log_path, log_format == "json" ? husk::log::Format::json : husk::log::Format::text, debug);
    // The systemd driver (a transient scope per container); update and delete read the
    // scope from the container's state.
    create_opts.systemd_cgroup = systemd_cgroup;
    run_opts.systemd_cgroup = systemd_cgroup;
    auto rootless_mode = husk::runtime::parse_rootless_flag(rootless);
    if (!rootless_mode) return report(rootless_mode.error());
    if (app.get_option("--root")->count() == 0 && ::geteuid() != 0) {
        // runc's choice for an unprivileged caller: its own runtime dir, not root's.
        auto user_root = husk::runtime::rootless_runtime_root();
        if (!user_root) return report(user_root.error());
        root = *user_root;
    }

    husk::runtime::Runtime rt(root);
    rt.set_rootless(*rootless_mode);
    // --debug traces how the container is built, step by step, with timings.
    if (debug && (*create || *run)) husk::runtime::trace::enable(started);
    try {
        if (*create) {
            auto created = rt.create(create_opts);
            husk::runtime::trace::report();
            return finish(created);
        }
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
        if (*exec) {
            if (!exec_cgroup.empty())
                return report(
                    husk::Error::invalid("--cgroup: joining a sub-cgroup is not "
                                         "supported by husk-runtime yet"));
            exec_opts.tty = exec_tty;
            exec_opts.console_socket = exec_console_socket;
            exec_opts.args = exec_command;
            auto code = husk::runtime::exec_in_container(rt.store(), exec_opts);
            if (!code) return report(code.error());
            return *code;
        }
        if (*run) {
            auto code = rt.run(run_opts, detach);
            husk::runtime::trace::report();
            if (!code) return report(code.error());
            return *code;
        }
        if (*list) {
            std::cout << list_table(rt, list_quiet, list_format == "json");
            return 0;
        }
        if (*update) {
            auto resources = update_flags.resources();
            if (!resources) return report(resources.error());
            std::string source = update_flags.resources_file.empty() ? "update" : "resources";
            return finish(rt.update(id, *resources, source));
        }
        if (*pause) return finish(rt.pause(id));
        if (*resume) return finish(rt.resume(id));
        if (*ps) {
            auto pids = rt.processes(id);
            if (!pids) return report(pids.error());
            if (ps_format == "json")
                std::cout << nlohmann::json(*pids).dump() << "\n";
            else
                std::cout << ps_table(*pids);
            return 0;
        }
        if (*events) return events_loop(rt, id, events_stats, events_interval);
        if (*explain) {
            auto target = husk::explain::runtime_target(rt.store(), id);
            if (!target) return report(target.error());
            auto result = husk::explain::explain(*target);
            if (!result) return report(result.error());
            std::cout << (explain_json ? result->dump(2) + "\n"
                                       : husk::explain::render_text(*result));
            return 0;
        }
        if (*features) {
            std::cout << husk::runtime::features_json() << "\n";
            return 0;
        }
        if (*spec) {
            std::string path = spec_bundle + "/config.json";
            if (husk::path_exists(path))
                return report(husk::Error::invalid("{} exists: remove it first", path));
            return finish(
                husk::write_file_atomic(path, husk::oci::default_config_json(spec_rootless)));
        }
    } catch (const std::exception& e) {
        husk::log::error("{}", e.what());
        return 1;
    }
    return 1;
}
