// `husk volume create/ls/inspect/rm/prune`.
#include <iostream>
#include <memory>
#include <set>

#include "cli.hpp"
#include "container_cli.hpp"
#include "engine/go_template.hpp"
#include "engine/ids.hpp"
#include "engine/volumes.hpp"

namespace husk::cli {
namespace {

using Json = nlohmann::ordered_json;

Json volume_json(const engine::Volume& v) {
    return Json{{"CreatedAt", v.created}, {"Driver", "local"},
                {"Labels", v.labels},     {"Mountpoint", v.mountpoint},
                {"Name", v.name},         {"Options", Json::object()},
                {"Scope", "local"}};
}

// Volumes some container record mounts.
std::set<std::string> volumes_in_use(engine::Engine& eng) {
    std::set<std::string> used;
    if (auto ids = eng.store().list())
        for (const auto& id : *ids)
            if (auto r = eng.store().load(id))
                for (const auto& m : r->mounts)
                    if (m.type == "volume") used.insert(m.name);
    return used;
}

}  // namespace

void register_volume_commands(CLI::App& app, Globals& g) {
    auto* volume = app.add_subcommand("volume", "manage named volumes");
    volume->require_subcommand(1);

    struct Flags {
        std::string name, format;
        std::vector<std::string> labels, names, filters;
        bool quiet = false, force = false, all = false;
    };
    auto cf = std::make_shared<Flags>();
    auto* create = volume->add_subcommand("create", "create a volume");
    create->add_option("name", cf->name, "volume name (random when absent)");
    create->add_option("-l,--label", cf->labels, "KEY=VALUE");
    create->callback([&g, cf] {
        engine::Engine eng(g.root, g.runroot);
        engine::VolumeStore store(eng.volumes_root());
        std::map<std::string, std::string> labels;
        for (const auto& l : cf->labels) {
            auto eq = l.find('=');
            labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
        }
        auto v = store.create(cf->name.empty() ? engine::new_container_id() : cf->name, labels,
                              cf->name.empty());
        if (!v) {
            g.exit_code = report(v.error());
            return;
        }
        std::cout << v->name << "\n";
    });

    auto lf = std::make_shared<Flags>();
    auto* ls = volume->add_subcommand("ls", "list volumes");
    ls->alias("list");
    ls->add_flag("-q,--quiet", lf->quiet, "only names");
    ls->add_option("--format", lf->format, "json or a Go template");
    ls->add_option("-f,--filter", lf->filters, "dangling=true|false, label=KEY[=VALUE], name=");
    ls->callback([&g, lf] {
        engine::Engine eng(g.root, g.runroot);
        engine::VolumeStore store(eng.volumes_root());
        auto list = store.list();
        if (!list) {
            g.exit_code = report(list.error());
            return;
        }
        auto used = volumes_in_use(eng);
        if (!lf->quiet && lf->format.empty())
            std::cout << fmt::format("{:<10}{}\n", "DRIVER", "VOLUME NAME");
        for (const auto& v : *list) {
            bool keep = true;
            for (const auto& f : lf->filters) {
                auto eq = f.find('=');
                std::string k = f.substr(0, eq),
                            val = eq == std::string::npos ? "" : f.substr(eq + 1);
                if (k == "dangling")
                    keep = keep && ((val == "true" || val == "1") == !used.count(v.name));
                else if (k == "name")
                    keep = keep && v.name.find(val) != std::string::npos;
                else if (k == "label") {
                    auto e2 = val.find('=');
                    auto it = v.labels.find(val.substr(0, e2));
                    keep = keep && it != v.labels.end() &&
                           (e2 == std::string::npos || it->second == val.substr(e2 + 1));
                }
            }
            if (!keep) continue;
            if (lf->quiet)
                std::cout << v.name << "\n";
            else if (lf->format == "json")
                std::cout << volume_json(v).dump() << "\n";
            else if (!lf->format.empty()) {
                auto line = engine::render_template(lf->format, volume_json(v));
                if (!line) {
                    g.exit_code = report(line.error());
                    return;
                }
                std::cout << *line << "\n";
            } else
                std::cout << fmt::format("{:<10}{}\n", "local", v.name);
        }
    });

    auto inf = std::make_shared<Flags>();
    auto* inspect = volume->add_subcommand("inspect", "show volumes as JSON");
    inspect->add_option("names", inf->names, "volumes")->required();
    inspect->add_option("-f,--format", inf->format, "a Go template");
    inspect->callback([&g, inf] {
        engine::Engine eng(g.root, g.runroot);
        engine::VolumeStore store(eng.volumes_root());
        Json all = Json::array();
        for (const auto& n : inf->names) {
            auto v = store.get(n);
            if (!v) {
                g.exit_code = report(v.error());
                continue;
            }
            if (!inf->format.empty()) {
                auto line = engine::render_template(inf->format, volume_json(*v));
                if (line)
                    std::cout << *line << "\n";
                else
                    g.exit_code = report(line.error());
            }
            all.push_back(volume_json(*v));
        }
        if (inf->format.empty()) std::cout << all.dump(4) << "\n";
    });

    auto rf = std::make_shared<Flags>();
    auto* rm = volume->add_subcommand("rm", "remove volumes");
    rm->alias("remove");
    rm->add_flag("-f,--force", rf->force, "no error when a volume does not exist");
    rm->add_option("names", rf->names, "volumes")->required();
    rm->callback([&g, rf] {
        engine::Engine eng(g.root, g.runroot);
        engine::VolumeStore store(eng.volumes_root());
        auto used = volumes_in_use(eng);
        for (const auto& n : rf->names) {
            if (used.count(n)) {
                g.exit_code = report(Error::invalid("remove volume {}: volume is in use", n));
                continue;
            }
            auto st = store.remove(n);
            if (!st) {
                if (rf->force && st.error().errnum() == ENOENT) continue;
                g.exit_code = report(st.error());
                continue;
            }
            std::cout << n << "\n";
        }
    });

    auto pf = std::make_shared<Flags>();
    auto* prune =
        volume->add_subcommand("prune", "remove unused anonymous volumes (-a: all unused)");
    prune->add_flag("-a,--all", pf->all, "also named volumes");
    prune->add_flag("-f,--force", pf->force, "do not ask (husk never asks)");
    prune->callback([&g, pf] {
        engine::Engine eng(g.root, g.runroot);
        engine::VolumeStore store(eng.volumes_root());
        auto list = store.list();
        if (!list) {
            g.exit_code = report(list.error());
            return;
        }
        auto used = volumes_in_use(eng);
        std::cout << "Deleted Volumes:\n";
        for (const auto& v : *list) {
            if (used.count(v.name) || (!pf->all && !v.anonymous)) continue;
            if (store.remove(v.name)) std::cout << v.name << "\n";
        }
    });
}

}  // namespace husk::cli
