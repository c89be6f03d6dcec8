// `husk explain CONTAINER`: the kernel's view of an engine container (src/explain reads
// /proc, the cgroup files and netlink), with what only the engine knows read live from the
// host: the container's veth, bridge and nft rules (src/net host_view). Peers are shown by
// container name.
#include <iostream>

#include "cli.hpp"
#include "engine/engine.hpp"
#include "explain/explain.hpp"
#include "explain/runtime_target.hpp"
#include "net/host_view.hpp"
#include "runtime/state.hpp"

namespace husk::cli {

namespace {

Status explain_container(Globals& g, const std::string& ref, bool json) {
    engine::Engine eng(g.root, g.runroot);
    auto v = eng.find(ref);
    if (!v) return fail(v.error());
    const std::string* id = &v->record.id;
    if (v->status != "running" && v->status != "paused")
        return fail_invalid("explain {}: the container is {} (no process to read from)", ref,
                            v->status);
    runtime::StateStore runtime_store(eng.store().runtime_root());
    auto target = explain::runtime_target(runtime_store, *id);
    if (!target) return fail(target.error());
    target->id = v->record.name;
    target->config_source = "container " + v->record.name + " (" + target->config_source + ")";
    for (auto& peer : target->peers)
        if (auto other = eng.store().load(peer.id)) {
            if (engine::joined_container(*other) == *id) peer.joined_from_target = {"net"};
            peer.id = other->name;
        }
    if (engine::uses_network_driver(v->record)) {
        auto host = net::host_view(eng.store().root(), *id);
        if (host)
            target->extra = *host;
        else
            target->extra = {{"error", host.error().what()}};
    } else {
        target->extra = {{"network_mode", v->record.network_mode}};
    }
    auto report = explain::explain(*target);
    if (!report) return fail(report.error());
    // What the host side shows wrong is a finding like any other.
    if (target->extra.contains("problems"))
        for (const auto& p : target->extra["problems"])
            (*report)["findings"].push_back(
                {{"severity", "warning"}, {"area", "network"}, {"message", p}});
    std::cout << (json ? report->dump(2) + "\n" : explain::render_text(*report));
    return {};
}

}  // namespace

void register_explain_command(CLI::App& app, Globals& g) {
    struct Flags {
        bool json = false;
        std::string ref;
    };
    auto f = std::make_shared<Flags>();
    auto* cmd =
        app.add_subcommand("explain",
                           "show a container as the kernel has it: namespaces, cgroup, mounts, "
                           "security, network (with the host's veth and nft rules), processes");
    cmd->add_flag("--json", f->json, "the report as JSON");
    cmd->add_option("container", f->ref, "container name or id")->required();
    cmd->callback([&g, f] { g.exit_code = finish(explain_container(g, f->ref, f->json)); });
}

}  // namespace husk::cli
