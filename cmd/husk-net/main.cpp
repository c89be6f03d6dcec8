// husk-net: the monitor's way into src/net. A container's monitor stays resident for the
// container's whole life, so it links no network code; it runs this small program between
// the runtime's create and start (attach) and after the container stopped (detach). It
// links only src/net and its libraries, so it starts in a fraction of the time the full
// `husk` binary (libcurl, libarchive and their dependencies) needs. Same verbs and output
// as `husk network attach|detach`.
//
//   husk-net --root ROOT attach NETWORK --id ID --netns PATH [-p SPEC]... [--ip IP]
//            [--hostname H] [--alias A]... [--add-host NAME:IP]... [--hosts-file PATH]
//   husk-net --root ROOT [--wait] detach --id ID [NETWORK]
//
// Both return before the kernel is done (net/background.hpp): a detached child closes the
// nftables sockets (the close waits for an RCU grace period) and deletes the veths.
#include <iostream>

#include <CLI/CLI.hpp>

#include "common/log.hpp"
#include "net/attach.hpp"
#include "net/attachment_json.hpp"
#include "net/background.hpp"

int main(int argc, char** argv) {
    using namespace husk;
    CLI::App app{"husk-net: attach and detach containers (run by husk-monitor)"};
    app.require_subcommand(1);
    std::string root;
    app.add_option("--root", root, "the store's root")->required();

    net::AttachOptions o;
    std::string ip, ip6;
    auto* attach = app.add_subcommand("attach", "attach a network namespace; prints JSON");
    attach->add_option("network", o.network, "network name")->required();
    attach->add_option("--id", o.container_id, "container id")->required();
    attach->add_option("--netns", o.netns, "the container's network namespace")->required();
    attach->add_option("-p,--publish", o.publish, "[ip:][hostPort:]containerPort[/proto]");
    attach->add_option("--ip", ip, "a fixed IPv4 address");
    attach->add_option("--ip6", ip6, "a fixed IPv6 address (dual-stack networks)");
    attach->add_option("--hostname", o.hostname, "the container's hostname");
    attach->add_option("--alias", o.aliases, "another name peers resolve");
    attach->add_option("--add-host", o.extra_hosts, "NAME:IP line for the hosts file");
    attach->add_option("--hosts-file", o.hosts_path, "host path of the container's /etc/hosts");

    std::string detach_id, detach_network;
    bool wait = false;
    auto* detach = app.add_subcommand("detach", "detach a container from its networks");
    detach->add_option("--id", detach_id, "container id")->required();
    detach->add_option("network", detach_network, "only this network");
    app.add_flag("--wait", wait,
                 "return only once the kernel is done (by default a detached child closes the "
                 "nftables sockets and deletes veths, holding the store lock for the latter)");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 125;
    }
    log::configure("", log::Format::text, false);
    net::set_background_cleanup(!wait);
    auto fail = [](const Error& e) {
        std::cerr << "husk: " << e.what() << "\n";
        return 125;
    };
    if (attach->parsed()) {
        if (!ip.empty()) {
            auto parsed = net::parse_ipv4(ip);
            if (!parsed) return fail(parsed.error().wrap("--ip"));
            o.ip = *parsed;
        }
        if (!ip6.empty()) {
            auto parsed = net::parse_ipv6(ip6);
            if (!parsed) return fail(parsed.error().wrap("--ip6"));
            o.ip6 = *parsed;
        }
        auto a = net::attach(root, o);
        if (!a) return fail(a.error());
        std::cout << net::attachment_json(*a).dump(2) << "\n";
        return 0;
    }
    auto st = net::detach(root, detach_id, detach_network);
    return st ? 0 : fail(st.error());
}
