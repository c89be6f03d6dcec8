// `husk` container commands: ps, logs, stop, kill, rm, inspect, wait, restart, pause,
// unpause, top, rename, port, stats, container prune. run/create/start/attach live in
// container_run.cpp, exec in container_exec.cpp, volumes in container_volume.cpp.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <memory>

#include "cli.hpp"
#include "common/files.hpp"
#include "container_cli.hpp"
#include "engine/container_network.hpp"
#include "engine/go_template.hpp"
#include "engine/ids.hpp"
#include "engine/inspect.hpp"
#include "engine/json_log.hpp"
#include "engine/volumes.hpp"
#include "runtime/container.hpp"

namespace husk::cli {
namespace {

using Json = nlohmann::ordered_json;

// Runs `fn` for each named container, reporting errors per container as Docker does
// (the others still run; the exit code is 1... here 125, husk's own error code).
template <typename Fn>
void for_each_ref(Globals& g, const std::vector<std::string>& refs, Fn fn) {
    engine::Engine eng(g.root, g.runroot);
    for (const auto& ref : refs) {
        auto id = eng.store().resolve(ref);
        if (!id) {
            g.exit_code = report(id.error());
            continue;
        }
        if (auto st = fn(eng, *id, ref); !st) g.exit_code = report(st.error());
    }
}

struct PsFilter {
    std::string key, value;
};

bool matches(const engine::ContainerView& v, const std::vector<PsFilter>& filters) {
    // Docker: the same key ORs, different keys AND.
    std::map<std::string, bool> by_key;
    for (const auto& f : filters) {
        bool ok = false;
        if (f.key == "id")
            ok = v.record.id.starts_with(f.value);
        else if (f.key == "name")
            ok = v.record.name.find(f.value) != std::string::npos;
        else if (f.key == "status")
            ok = v.status == f.value;
        else if (f.key == "exited")
            ok = v.status == "exited" && std::to_string(v.state.exit_code) == f.value;
        else if (f.key == "label") {
            auto eq = f.value.find('=');
            auto it = v.record.labels.find(f.value.substr(0, eq));
            ok = it != v.record.labels.end() &&
                 (eq == std::string::npos || it->second == f.value.substr(eq + 1));
        } else if (f.key == "health")
            ok = v.state.health == f.value || (f.value == "none" && v.state.health.empty());
        else if (f.key == "ancestor")
            ok = v.record.image == f.value;
        by_key[f.key] = by_key[f.key] || ok;
    }
    return std::all_of(by_key.begin(), by_key.end(), [](const auto& kv) { return kv.second; });
}

void register_ps(CLI::App& app, Globals& g) {
    struct Flags {
        bool all = false, quiet = false, no_trunc = false, latest = false;
        std::vector<std::string> filters;
        std::string format;
        int last = -1;
    };
    auto f = std::make_shared<Flags>();
    for (const char* name : {"ps", "ls"}) {
        CLI::App* parent = &app;
        if (std::string(name) == "ls") {
            parent = app.get_subcommand("container");
        }
        auto* ps = parent->add_subcommand(name, "list containers");
        ps->add_flag("-a,--all", f->all, "show all containers (default: running)");
        ps->add_flag("-q,--quiet", f->quiet, "only ids");
        ps->add_flag("--no-trunc", f->no_trunc, "do not truncate");
        ps->add_flag("-l,--latest", f->latest, "the latest created container");
        ps->add_option("-n,--last", f->last, "the n latest created containers");
        ps->add_option("-f,--filter", f->filters,
                       "id=, name=, label=k[=v], status=, exited=, health=");
        ps->add_option("--format", f->format, "json, table or a Go template");
        ps->callback([&g, f] {
            engine::Engine eng(g.root, g.runroot);
            std::vector<PsFilter> filters;
            for (const auto& s : f->filters) {
                auto eq = s.find('=');
                if (eq == std::string::npos) {
                    g.exit_code = report(Error::invalid("--filter {:?}: expected KEY=VALUE", s));
                    return;
                }
                filters.push_back({s.substr(0, eq), s.substr(eq + 1)});
            }
            auto ids = eng.store().list();
            if (!ids) {
                g.exit_code = report(ids.error());
                return;
            }
            std::vector<engine::ContainerView> views;
            for (const auto& id : *ids) {
                auto v = eng.view(id);
                if (!v) continue;  // removed meanwhile
                bool show_all = f->all || f->latest || f->last > 0 ||
                                std::any_of(filters.begin(), filters.end(), [](const PsFilter& p) {
                                    return p.key == "status" || p.key == "exited";
                                });
                if (!show_all && v->status != "running" && v->status != "paused" &&
                    v->status != "restarting")
                    continue;
                if (!matches(*v, filters)) continue;
                views.push_back(std::move(*v));
            }
            // Newest first, as Docker lists them.
            std::sort(views.begin(), views.end(), [](const auto& a, const auto& b) {
                return engine::parse_rfc3339(a.record.created) >
                       engine::parse_rfc3339(b.record.created);
            });
            size_t keep = f->latest ? 1 : f->last > 0 ? static_cast<size_t>(f->last) : views.size();
            if (views.size() > keep) views.resize(keep);
            std::string out;
            if (f->quiet) {
                for (const auto& v : views)
                    out += (f->no_trunc ? v.record.id : v.record.id.substr(0, 12)) + "\n";
            } else if (f->format == "json" || f->format == "{{json .}}") {
                for (const auto& v : views) {
                    auto row = engine::ps_json(v, f->no_trunc);
                    row.erase("LabelMap");
                    out += row.dump() + "\n";
                }
            } else if (!f->format.empty() && f->format != "table") {
                std::string format = f->format;
                bool table = format.starts_with("table ");
                if (table) format = format.substr(6);
                for (const auto& v : views) {
                    auto line = engine::render_template(format, engine::ps_json(v, f->no_trunc));
                    if (!line) {
                        g.exit_code = report(line.error());
                        return;
                    }
                    out += *line + "\n";
                }
            } else {
                // PORTS is as wide as its longest entry (Docker's tabwriter does the same).
                size_t ports_width = 8;
                std::vector<nlohmann::ordered_json> rows;
                for (const auto& v : views) {
                    rows.push_back(engine::ps_json(v, f->no_trunc));
                    ports_width =
                        std::max(ports_width, rows.back()["Ports"].get<std::string>().size() + 3);
                }
                out +=
                    fmt::format("{:<14}{:<22}{:<24}{:<25}{:<28}{:<{}}{}\n", "CONTAINER ID", "IMAGE",
                                "COMMAND", "CREATED", "STATUS", "PORTS", ports_width, "NAMES");
                for (const auto& row : rows) {
                    std::string image = row["Image"].get<std::string>();
                    if (!f->no_trunc && image.size() > 20) image = image.substr(0, 19) + "…";
                    out += fmt::format(
                        "{:<14}{:<22}{:<24}{:<25}{:<28}{:<{}}{}\n", row["ID"].get<std::string>(),
                        image, row["Command"].get<std::string>(),
                        row["RunningFor"].get<std::string>(), row["Status"].get<std::string>(),
                        row["Ports"].get<std::string>(), ports_width,
                        row["Names"].get<std::string>());
                }
            }
            std::cout << out;
        });
    }
}

void register_logs(CLI::App& app, Globals& g) {
    struct Flags {
        bool follow = false, timestamps = false;
        std::string tail = "all", since, until, ref;
    };
    auto f = std::make_shared<Flags>();
    auto* logs = app.add_subcommand("logs", "print a container's logs");
    logs->add_flag("-f,--follow", f->follow, "keep printing new output until the container stops");
    logs->add_flag("-t,--timestamps", f->timestamps, "prefix each line with its time");
    logs->add_option("-n,--tail", f->tail, "only the last N lines");
    logs->add_option("--since", f->since, "RFC 3339 time, unix seconds, or a duration (10m)");
    logs->add_option("--until", f->until, "RFC 3339 time, unix seconds, or a duration");
    logs->add_option("container", f->ref, "container")->required();
    logs->callback([&g, f] {
        engine::Engine eng(g.root, g.runroot);
        auto v = eng.find(f->ref);
        if (!v) {
            g.exit_code = report(v.error());
            return;
        }
        const std::string* id = &v->record.id;
        auto parse_time = [](const std::string& s, const char* flag) -> Result<int64_t> {
            if (s.empty()) return int64_t{0};
            if (s.find('T') != std::string::npos || s.find('-') == 4) {
                int64_t t = engine::parse_rfc3339(s);
                if (t == 0) return fail_invalid("{} {:?}: not an RFC 3339 time", flag, s);
                return t;
            }
            bool number = s.find_first_not_of("0123456789.") == std::string::npos;
            if (number) return static_cast<int64_t>(std::stod(s) * 1e9);
            auto d = engine::parse_duration_ns(s);
            if (!d) return fail(d.error().wrap("{}", flag));
            return engine::now_ns() - *d;
        };
        engine::LogReadOptions opts;
        auto since = parse_time(f->since, "--since");
        auto until = parse_time(f->until, "--until");
        if (!since || !until) {
            g.exit_code = report(!since ? since.error() : until.error());
            return;
        }
        opts.since_ns = *since;
        opts.until_ns = *until;
        if (f->tail != "all") {
            char* end = nullptr;
            long n = std::strtol(f->tail.c_str(), &end, 10);
            if (*end != '\0' || n < 0) {
                g.exit_code =
                    report(Error::invalid("--tail {:?}: expected a number or all", f->tail));
                return;
            }
            opts.tail = n;
        }
        std::string path = eng.store().dir(*id) + "/container.log";
        auto print = [&](const engine::LogEntry& e) {
            std::string line = f->timestamps ? e.time + " " + e.log : e.log;
            auto& os = e.stream == "stderr" ? std::cerr : std::cout;
            os << line;
        };
        auto entries = engine::read_logs(path, v->record.log.max_file, opts);
        if (!entries) {
            g.exit_code = report(entries.error());
            return;
        }
        for (const auto& e : *entries) print(e);
        std::cout.flush();
        if (!f->follow) return;
        // Follow: read what is appended to the live file; a rotation shows as a new inode.
        UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        struct stat st {};
        off_t offset = 0;
        ino_t inode = 0;
        if (fd && ::fstat(fd.get(), &st) == 0) offset = st.st_size, inode = st.st_ino;
        std::string partial;
        while (true) {
            bool running = false;
            if (auto now = eng.view(*id))
                running = now->status == "running" || now->status == "restarting" ||
                          now->status == "paused" || (now->status == "created" && now->monitored);
            else
                break;
            struct stat cur {};
            if (::stat(path.c_str(), &cur) == 0 && cur.st_ino != inode) {
                fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
                inode = cur.st_ino;
                offset = 0;
            }
            bool got = false;
            if (fd) {
                char buf[65536];
                ssize_t n;
                while ((n = ::pread(fd.get(), buf, sizeof buf, offset)) > 0) {
                    offset += n;
                    got = true;
                    partial.append(buf, static_cast<size_t>(n));
                    size_t nl;
                    while ((nl = partial.find('\n')) != std::string::npos) {
                        engine::LogEntry e;
                        if (engine::parse_log_line(std::string_view(partial).substr(0, nl), e) &&
                            (opts.until_ns == 0 || e.time_ns < opts.until_ns))
                            print(e);
                        partial.erase(0, nl + 1);
                    }
                }
                std::cout.flush();
            }
            if (!running && !got) break;
            if (!got) ::usleep(50000);
        }
    });
}

void register_lifecycle(CLI::App& app, Globals& g) {
    struct StopFlags {
        std::optional<int> time;
        std::string signal;
        std::vector<std::string> refs;
    };
    auto sf = std::make_shared<StopFlags>();
    auto* stop = app.add_subcommand("stop", "stop containers (stop signal, then SIGKILL)");
    stop->add_option("-t,--time", sf->time, "seconds to wait before killing");
    stop->add_option("-s,--signal", sf->signal, "signal to send instead of the stop signal");
    stop->add_option("containers", sf->refs, "containers")->required();
    stop->callback([&g, sf] {
        for_each_ref(
            g, sf->refs,
            [&](engine::Engine& eng, const std::string& id, const std::string& ref) -> Status {
                HUSK_TRY(eng.stop(id, sf->time));
                std::cout << ref << "\n";
                return {};
            });
    });

    auto rf = std::make_shared<StopFlags>();
    auto* restart = app.add_subcommand("restart", "stop then start containers");
    restart->add_option("-t,--time", rf->time, "seconds to wait before killing");
    restart->add_option("containers", rf->refs, "containers")->required();
    restart->callback([&g, rf] {
        for_each_ref(
            g, rf->refs,
            [&](engine::Engine& eng, const std::string& id, const std::string& ref) -> Status {
                HUSK_TRY(eng.stop(id, rf->time));
                auto started = eng.start(id);
                if (!started) return fail(started.error().error);
                std::cout << ref << "\n";
                return {};
            });
    });

    auto kf = std::make_shared<StopFlags>();
    kf->signal = "KILL";
    auto* kill = app.add_subcommand("kill", "send a signal to containers (default KILL)");
    kill->add_option("-s,--signal", kf->signal, "signal name or number");
    kill->add_option("containers", kf->refs, "containers")->required();
    kill->callback([&g, kf] {
        for_each_ref(
            g, kf->refs,
            [&](engine::Engine& eng, const std::string& id, const std::string& ref) -> Status {
                HUSK_TRY(eng.kill(id, kf->signal));
                std::cout << ref << "\n";
                return {};
            });
    });

    struct RmFlags {
        bool force = false, volumes = false;
        std::vector<std::string> refs;
    };
    auto rmf = std::make_shared<RmFlags>();
    auto* rm = app.add_subcommand("rm", "remove containers");
    rm->add_flag("-f,--force", rmf->force, "kill running containers first");
    rm->add_flag("-v,--volumes", rmf->volumes, "remove the container's anonymous volumes");
    rm->add_option("containers", rmf->refs, "containers")->required();
    rm->callback([&g, rmf] {
        for_each_ref(
            g, rmf->refs,
            [&](engine::Engine& eng, const std::string& id, const std::string& ref) -> Status {
                HUSK_TRY(eng.remove(id, rmf->force, rmf->volumes));
                std::cout << ref << "\n";
                return {};
            });
    });

    auto wf = std::make_shared<StopFlags>();
    auto* wait = app.add_subcommand("wait", "block until containers stop, print their exit codes");
    wait->add_option("containers", wf->refs, "containers")->required();
    wait->callback([&g, wf] {
        for_each_ref(g, wf->refs,
                     [&](engine::Engine& eng, const std::string& id, const std::string&) -> Status {
                         auto code = eng.wait(id);
                         if (!code) return fail(code.error());
                         std::cout << *code << std::endl;
                         return {};
                     });
    });

    for (bool pausing : {true, false}) {
        auto pf = std::make_shared<StopFlags>();
        auto* cmd =
            app.add_subcommand(pausing ? "pause" : "unpause",
                               pausing ? "freeze every process of containers" : "thaw containers");
        cmd->add_option("containers", pf->refs, "containers")->required();
        cmd->callback([&g, pf, pausing] {
            for_each_ref(
                g, pf->refs,
                [&](engine::Engine& eng, const std::string& id, const std::string& ref) -> Status {
                    HUSK_TRY(eng.pause(id, pausing));
                    std::cout << ref << "\n";
                    return {};
                });
        });
    }
}

void register_inspect(CLI::App& app, Globals& g) {
    struct Flags {
        std::string format;
        std::vector<std::string> refs;
    };
    auto f = std::make_shared<Flags>();
    auto* inspect =
        app.add_subcommand("inspect", "show containers (or volumes) in detail, as JSON");
    inspect->add_option("-f,--format", f->format, "a Go template");
    inspect->add_option("names", f->refs, "containers")->required();
    inspect->callback([&g, f] {
        Json all = Json::array();
        std::string out;
        for_each_ref(g, f->refs,
                     [&](engine::Engine& eng, const std::string& id, const std::string&) -> Status {
                         auto v = eng.view(id);
                         if (!v) return fail(v.error());
                         auto j = engine::inspect_json(*v);
                         if (!f->format.empty()) {
                             auto line = engine::render_template(f->format, j);
                             if (!line) return fail(line.error());
                             out += *line + "\n";
                         }
                         all.push_back(std::move(j));
                         return {};
                     });
        if (f->format.empty())
            std::cout << all.dump(4) << "\n";
        else
            std::cout << out;
    });
}

void register_misc(CLI::App& app, Globals& g) {
    struct Flags {
        std::string ref, name;
        std::vector<std::string> refs;
        bool no_stream = false, force = false;
        std::string format;
    };
    auto tf = std::make_shared<Flags>();
    auto* top = app.add_subcommand("top", "the processes of a container");
    top->add_option("container", tf->ref, "container")->required();
    top->callback([&g, tf] {
        for_each_ref(g, {tf->ref},
                     [&](engine::Engine& eng, const std::string& id, const std::string&) -> Status {
                         auto pids = eng.top_pids(id);
                         if (!pids) return fail(pids.error());
                         std::cout << fmt::format("{:<10}{:<10}{}\n", "PID", "PPID", "CMD");
                         for (int pid : *pids) {
                             std::string cmdline;
                             if (auto c = read_file("/proc/" + std::to_string(pid) + "/cmdline")) {
                                 for (char& ch : *c)
                                     if (ch == '\0') ch = ' ';
                                 cmdline = *c;
                                 while (!cmdline.empty() && cmdline.back() == ' ')
                                     cmdline.pop_back();
                             }
                             std::string ppid;
                             if (auto st = read_file("/proc/" + std::to_string(pid) + "/stat")) {
                                 auto close = st->rfind(')');
                                 if (close != std::string::npos) {
                                     std::string rest = st->substr(close + 2);
                                     auto sp1 = rest.find(' ');
                                     auto sp2 = rest.find(' ', sp1 + 1);
                                     ppid = rest.substr(sp1 + 1, sp2 - sp1 - 1);
                                 }
                             }
                             std::cout << fmt::format("{:<10}{:<10}{}\n", pid, ppid, cmdline);
                         }
                         return {};
                     });
    });

    auto rnf = std::make_shared<Flags>();
    auto* rename = app.add_subcommand("rename", "rename a container");
    rename->add_option("container", rnf->ref, "container")->required();
    rename->add_option("new_name", rnf->name, "new name")->required();
    rename->callback([&g, rnf] {
        for_each_ref(g, {rnf->ref},
                     [&](engine::Engine& eng, const std::string& id, const std::string&) -> Status {
                         auto name = engine::validate_name(rnf->name);
                         if (!name) return fail(name.error());
                         auto lock = eng.store().lock(id);
                         if (!lock) return fail(lock.error());
                         auto record = eng.store().load(id);
                         if (!record) return fail(record.error());
                         return eng.store().rename(*record, *name);
                     });
    });

    struct PortFlags {
        std::string ref, port;
    };
    auto pf = std::make_shared<PortFlags>();
    auto* port = app.add_subcommand("port", "published ports of a container");
    port->add_option("container", pf->ref, "container")->required();
    port->add_option("port", pf->port, "only this container port (PORT[/PROTO])");
    port->callback([&g, pf] {
        for_each_ref(g, {pf->ref},
                     [&](engine::Engine& eng, const std::string& id, const std::string&) -> Status {
                         auto v = eng.view(id);
                         if (!v) return fail(v.error());
                         // network.json exists while the container is attached.
                         auto a = engine::load_attachment(eng.store().dir(id));
                         std::string wanted = pf->port;
                         if (!wanted.empty() && wanted.find('/') == std::string::npos)
                             wanted += "/tcp";
                         bool found = false;
                         for (const auto& p : a ? a->ports : std::vector<engine::PublishedPort>{}) {
                             std::string key = std::to_string(p.container_port) + "/" + p.proto;
                             std::string host = p.host();
                             if (wanted.empty())
                                 std::cout << key << " -> " << host << "\n";
                             else if (key == wanted)
                                 std::cout << host << "\n";
                             found = found || key == wanted;
                         }
                         if (!wanted.empty() && !found)
                             return fail_invalid("no public port '{}' published for {}", wanted,
                                                 pf->ref);
                         return {};
                     });
    });

    auto sf = std::make_shared<Flags>();
    auto* stats = app.add_subcommand("stats", "resource usage of containers");
    stats->add_flag("--no-stream", sf->no_stream, "print once and exit");
    stats->add_option("--format", sf->format, "json or a Go template");
    stats->add_option("containers", sf->refs, "containers");
    stats->callback([&g, sf] {
        engine::Engine eng(g.root, g.runroot);
        std::vector<std::string> ids;
        if (sf->refs.empty()) {
            auto all = eng.store().list();
            if (all) ids = *all;
        } else {
            for (const auto& r : sf->refs) {
                auto id = eng.store().resolve(r);
                if (!id) {
                    g.exit_code = report(id.error());
                    return;
                }
                ids.push_back(*id);
            }
        }
        runtime::Runtime rt(eng.store().runtime_root());
        if (sf->format.empty())
            std::cout << fmt::format("{:<14}{:<24}{:<22}{:<8}{}\n", "CONTAINER ID", "NAME",
                                     "MEM USAGE / LIMIT", "PIDS", "CPU TIME");
        for (const auto& id : ids) {
            auto v = eng.view(id);
            if (!v || (v->status != "running" && v->status != "paused")) continue;
            auto s = rt.stats(id);
            if (!s) continue;
            auto j = nlohmann::json::parse(*s, nullptr, false);
            auto data = j.is_object() ? j.value("data", nlohmann::json::object())
                                      : nlohmann::json::object();
            auto mem = data.value("memory", nlohmann::json::object())
                           .value("usage", nlohmann::json::object());
            uint64_t usage = mem.value("usage", uint64_t{0}),
                     limit = mem.value("limit", uint64_t{0});
            uint64_t pids =
                data.value("pids", nlohmann::json::object()).value("current", uint64_t{0});
            uint64_t cpu = data.value("cpu", nlohmann::json::object())
                               .value("usage", nlohmann::json::object())
                               .value("total", uint64_t{0});
            Json row = {{"ID", id.substr(0, 12)},
                        {"Name", v->record.name},
                        {"MemUsage", fmt::format("{:.1f}MiB / {:.1f}MiB", usage / 1048576.0,
                                                 limit / 1048576.0)},
                        {"MemBytes", usage},
                        {"MemLimit", limit},
                        {"PIDs", std::to_string(pids)},
                        {"CPUTime", fmt::format("{:.3f}s", cpu / 1e9)}};
            if (sf->format == "json")
                std::cout << row.dump() << "\n";
            else if (!sf->format.empty()) {
                auto line = engine::render_template(sf->format, row);
                if (line) std::cout << *line << "\n";
            } else
                std::cout << fmt::format(
                    "{:<14}{:<24}{:<22}{:<8}{}\n", row["ID"].get<std::string>(), v->record.name,
                    row["MemUsage"].get<std::string>(), pids, row["CPUTime"].get<std::string>());
        }
    });
}

}  // namespace

// Docker's repeatable flags take one value per occurrence (`-e A=1 -e B=2`, `--label k=v
// NAME`); CLI11's vector options would otherwise swallow the positionals after them.
void one_value_per_flag(CLI::App* cmd) {
    for (auto* opt : cmd->get_options())
        if (opt->nonpositional()) opt->allow_extra_args(false);
    for (auto* sub : cmd->get_subcommands({})) one_value_per_flag(sub);
}

void register_container_commands(CLI::App& app, Globals& g, bool with_run) {
    auto* container = app.add_subcommand("container", "manage containers");
    if (with_run) register_run_commands(app, g);
    register_exec_commands(app, g);
    register_volume_commands(app, g);
    register_cp_commands(app, g);
    register_container_helpers(app, g);
    register_ps(app, g);
    register_logs(app, g);
    register_lifecycle(app, g);
    register_inspect(app, g);
    register_misc(app, g);
    one_value_per_flag(&app);

    struct PruneFlags {
        bool force = false;
    };
    auto pf = std::make_shared<PruneFlags>();
    auto* prune = container->add_subcommand("prune", "remove every stopped container");
    prune->add_flag("-f,--force", pf->force, "do not ask (husk never asks)");
    prune->callback([&g, pf] {
        engine::Engine eng(g.root, g.runroot);
        auto ids = eng.store().list();
        if (!ids) {
            g.exit_code = report(ids.error());
            return;
        }
        eng.collect_garbage();
        std::cout << "Deleted Containers:\n";
        for (const auto& id : *ids) {
            auto v = eng.view(id);
            if (!v || (v->status != "exited" && v->status != "created")) continue;
            if (v->status == "created" && v->monitored) continue;
            if (auto st = eng.remove(id, false, false); st) std::cout << id << "\n";
        }
    });
}

void register_run_group(CLI::App& app, Globals& g) {
    register_run_commands(app, g);
    one_value_per_flag(&app);
}

}  // namespace husk::cli
