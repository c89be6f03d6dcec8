// `husk network` commands: create, ls, inspect, rm, prune, and the verbs the engine's
// attach/detach API is driven by in tests before `husk run` exists (attach, detach; connect
// and disconnect are their Docker-shaped spelling). attach/detach are internal: the engine
// calls husk::net::attach() itself.
#include <iostream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "engine/engine.hpp"
#include "net/attach.hpp"
#include "net/attachment_json.hpp"
#include "net/store.hpp"

namespace husk::cli {

namespace {

using nlohmann::json;

struct AttachArgs {
    net::AttachOptions options;
    std::string ip, ip6;
};

Status run_attach(Globals& g, AttachArgs& args) {
    if (!args.ip.empty()) {
        auto ip = net::parse_ipv4(args.ip);
        if (!ip) return fail(ip.error().wrap("--ip"));
        args.options.ip = *ip;
    }
    if (!args.ip6.empty()) {
        auto ip6 = net::parse_ipv6(args.ip6);
        if (!ip6) return fail(ip6.error().wrap("--ip6"));
        args.options.ip6 = *ip6;
    }
    auto a = net::attach(g.root, args.options);
    if (!a) return fail(a.error());
    for (const auto& c : a->sysctls_changed) std::cerr << "husk: set sysctl " << c << "\n";
    std::cout << net::attachment_json(*a).dump(2) << "\n";
    return {};
}

void add_attach_options(CLI::App* cmd, AttachArgs& args, bool netns_required = true) {
    auto* netns =
        cmd->add_option("--netns", args.options.netns,
                        "the container's network namespace (/proc/PID/ns/net or /run/netns/NAME)");
    if (netns_required) netns->required();
    cmd->add_option("--ip", args.ip, "a fixed IPv4 address in the network's subnet");
    cmd->add_option("--ip6", args.ip6, "a fixed IPv6 address (dual-stack networks)");
    cmd->add_option("--alias", args.options.aliases, "another name peers resolve");
    cmd->add_option("--hostname", args.options.hostname, "the container's hostname");
    cmd->add_option("--add-host", args.options.extra_hosts, "NAME:IP line for the hosts file");
    cmd->add_option("--hosts-file", args.options.hosts_path,
                    "host path of the container's /etc/hosts, kept current as peers come and go");
}

// `connect NET CONTAINER` without --netns: CONTAINER is one of the engine's (a name or an
// id prefix), running; its namespace, hosts file, hostname and names come from its record.
// Disconnected when it stops, as every network it has.
Status fill_from_engine_container(Globals& g, AttachArgs& args) {
    engine::Engine eng(g.root, g.runroot);
    auto v = eng.find(args.options.container_id);
    if (!v) return fail(v.error());
    const std::string* id = &v->record.id;
    if (v->status != "running" && v->status != "paused")
        return fail_invalid("cannot connect {}: the container is {} (start it first)",
                            args.options.container_id, v->status);
    if (!engine::uses_network_driver(v->record))
        return fail_invalid("cannot connect {}: its network mode is {}", args.options.container_id,
                            v->record.network_mode);
    args.options.container_id = *id;
    args.options.netns = "/proc/" + std::to_string(v->state.pid) + "/ns/net";
    if (args.options.hostname.empty()) args.options.hostname = v->record.hostname;
    if (args.options.hosts_path.empty()) args.options.hosts_path = eng.store().dir(*id) + "/hosts";
    if (!v->record.name.empty()) args.options.aliases.push_back(v->record.name);
    args.options.aliases.push_back(id->substr(0, 12));
    return {};
}

}  // namespace

void register_network_commands(CLI::App& app, Globals& globals) {
    auto* network = app.add_subcommand("network", "manage networks");
    network->require_subcommand(1);

    static net::CreateOptions create;
    static std::vector<std::string> subnets, gateways;
    auto* c = network->add_subcommand("create", "create a bridge network");
    c->add_option("--subnet", subnets,
                  "IPv4 subnet (default: a free /16); again with an IPv6 one for --ipv6 "
                  "(default: a ULA /64)");
    c->add_option("--gateway", gateways,
                  "the bridge's address (default: first host), one per subnet");
    c->add_option("--ip-range", create.ip_range, "allocate container addresses from this range");
    c->add_flag("--internal", create.internal, "no egress and no published ports");
    c->add_flag("--ipv6", create.ipv6, "dual-stack: an IPv6 subnet as well");
    c->add_option("name", create.name, "network name")->required();
    c->callback([&] {
        // Docker's spelling: --subnet and --gateway once per family.
        auto sort_family = [](const std::vector<std::string>& in, std::string& v4, std::string& v6,
                              const char* what) -> Status {
            for (const auto& x : in) {
                std::string& slot = x.find(':') != std::string::npos ? v6 : v4;
                if (!slot.empty())
                    return fail_invalid("{} {}: only one per address family", what, x);
                slot = x;
            }
            return {};
        };
        auto st = sort_family(subnets, create.subnet, create.subnet6, "--subnet");
        if (st) st = sort_family(gateways, create.gateway, create.gateway6, "--gateway");
        if (!st) {
            globals.exit_code = report(st.error());
            return;
        }
        auto n = net::create_network(globals.root, create);
        if (!n) {
            globals.exit_code = report(n.error());
            return;
        }
        std::cout << n->id << "\n";
    });

    static bool quiet = false;
    auto* ls = network->add_subcommand("ls", "list networks");
    ls->alias("list");
    ls->add_flag("-q,--quiet", quiet, "only names");
    ls->callback([&] {
        auto list = net::list_networks(globals.root);
        if (!list) {
            globals.exit_code = report(list.error());
            return;
        }
        if (!quiet)
            std::cout << fmt::format("{:<14}{:<20}{:<8}{:<18}{:<10}{}\n", "NETWORK ID", "NAME",
                                     "DRIVER", "SUBNET", "INTERNAL", "IPV6");
        for (const auto& n : *list) {
            if (quiet)
                std::cout << n.name << "\n";
            else
                std::cout << fmt::format("{:<14}{:<20}{:<8}{:<18}{:<10}{}\n", n.id.substr(0, 12),
                                         n.name, "bridge", n.subnet.str(),
                                         n.internal ? "true" : "false",
                                         n.subnet6 ? n.subnet6->str() : "false");
        }
    });

    static std::vector<std::string> names;
    auto* inspect = network->add_subcommand("inspect", "show networks as JSON");
    inspect->add_option("name", names, "network names")->required();
    inspect->callback([&] {
        auto table = net::firewall_table(globals.root);
        if (!table) {
            globals.exit_code = report(table.error());
            return;
        }
        json out = json::array();
        for (const auto& name : names) {
            auto n = net::inspect_network(globals.root, name);
            if (!n) {
                globals.exit_code = report(n.error());
                return;
            }
            json j = net::to_json(*n);
            j["firewall_table"] = "inet " + *table;
            out.push_back(j);
        }
        std::cout << out.dump(2) << "\n";
    });

    static std::vector<std::string> rm_names;
    auto* rm = network->add_subcommand("rm", "remove networks");
    rm->alias("remove");
    rm->add_option("name", rm_names, "network names")->required();
    rm->callback([&] {
        for (const auto& name : rm_names) {
            auto st = net::remove_network(globals.root, name);
            if (!st) {
                globals.exit_code = report(st.error());
                return;
            }
            std::cout << name << "\n";
        }
    });

    static bool force = false;
    auto* prune = network->add_subcommand(
        "prune", "remove unused networks, endpoints of dead containers and orphaned links");
    prune->add_flag("-f,--force", force, "do not ask (husk never asks)");
    prune->callback([&] {
        auto removed = net::prune(globals.root);
        if (!removed) {
            globals.exit_code = report(removed.error());
            return;
        }
        for (const auto& r : *removed) std::cout << "Deleted " << r << "\n";
    });

    static AttachArgs attach_args;
    auto* attach = network->add_subcommand(
        "attach", "internal (tests, engine): attach a network namespace; prints JSON");
    attach->add_option("network", attach_args.options.network, "network name")->required();
    attach->add_option("--id", attach_args.options.container_id, "container id")->required();
    attach->add_option("-p,--publish", attach_args.options.publish,
                       "[ip:][hostPort:]containerPort[/proto], ranges allowed");
    add_attach_options(attach, attach_args);
    attach->callback([&] { globals.exit_code = finish(run_attach(globals, attach_args)); });

    static std::string detach_id, detach_network;
    auto* detach = network->add_subcommand(
        "detach", "internal (tests, engine): detach a container from its networks");
    detach->add_option("--id", detach_id, "container id")->required();
    detach->add_option("network", detach_network, "only this network");
    detach->callback(
        [&] { globals.exit_code = finish(net::detach(globals.root, detach_id, detach_network)); });

    static AttachArgs connect_args;
    auto* connect = network->add_subcommand(
        "connect",
        "connect a running container to another network (or, with --netns, any "
        "network namespace)");
    connect->add_option("network", connect_args.options.network, "network name")->required();
    connect->add_option("container", connect_args.options.container_id, "container name or id")
        ->required();
    add_attach_options(connect, connect_args, false);
    connect->callback([&] {
        if (connect_args.options.netns.empty())
            if (auto st = fill_from_engine_container(globals, connect_args); !st) {
                globals.exit_code = report(st.error());
                return;
            }
        globals.exit_code = finish(run_attach(globals, connect_args));
    });

    static std::string disc_network, disc_container;
    auto* disconnect = network->add_subcommand("disconnect", "disconnect a container");
    disconnect->add_option("network", disc_network, "network name")->required();
    disconnect->add_option("container", disc_container, "container id")->required();
    disconnect->callback([&] {
        // An engine container by name or id prefix; any other id as given.
        if (auto id = engine::Engine(globals.root, globals.runroot).store().resolve(disc_container))
            disc_container = *id;
        globals.exit_code = finish(net::detach(globals.root, disc_container, disc_network));
    });
}

}  // namespace husk::cli
