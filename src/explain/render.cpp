// The report for a terminal: one short section per area, at most ~100 columns, findings last
// so they are what stays on screen.
#include <fmt/format.h>

#include "explain/explain.hpp"

namespace husk::explain {
namespace {

using Json = nlohmann::json;

std::string str(const Json& j) {
    if (j.is_null()) return "-";
    if (j.is_string()) return j.get<std::string>();
    return j.dump();
}

// The engine's host side (src/net host_view): each network's veth, bridge, published
// ports and the nft rules made for the container; any other shape is shown as JSON.
std::string host_side(const Json& host) {
    if (host.is_null() || host.empty()) return "";
    if (!host.contains("networks")) return "  host side: " + host.dump() + "\n";
    std::string out;
    for (const auto& n : host["networks"]) {
        const Json& v = n.value("veth", Json::object());
        std::string veth =
            v.value("exists", false)
                ? fmt::format("veth {} {} on bridge {}{}", str(v["name"]), str(v["state"]),
                              str(v["bridge"]), v.value("hairpin", false) ? " (hairpin)" : "")
                : fmt::format("veth {} GONE", str(v["name"]));
        out += fmt::format("  host: network {} via {}; gateway {}\n", str(n["network"]), veth,
                           str(n["gateway"]));
        for (const auto& p : n.value("published_ports", Json::array()))
            out += "    published " + str(p) + "\n";
        out += fmt::format("    nft rules in {} for it:\n", str(host["nft_table"]));
        for (const auto& rule : n.value("nft_rules", Json::array()))
            out += "      " + str(rule) + "\n";
    }
    return out;
}

std::string bytes(const Json& j) {
    if (!j.is_number()) return str(j);
    double v = j.get<double>();
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    return u == 0 ? fmt::format("{}B", j.get<int64_t>()) : fmt::format("{:.1f}{}", v, units[u]);
}

std::string joined(const Json& list, const char* sep = " ") {
    std::string out;
    if (!list.is_array()) return str(list);
    for (const auto& x : list) out += (out.empty() ? "" : sep) + str(x);
    return out.empty() ? "(none)" : out;
}

// Capability names without the CAP_ prefix, to fit a line.
std::string caps(const Json& list) {
    if (!list.is_array()) return "-";
    if (list.empty()) return "(none)";
    std::string out;
    for (const auto& c : list) {
        std::string s = c.get<std::string>();
        if (s.starts_with("CAP_")) s = s.substr(4);
        out += (out.empty() ? "" : " ") + s;
    }
    return out;
}

void wrap(std::string& out, const std::string& head, const std::string& text) {
    const size_t width = 100;
    std::string indent(head.size(), ' ');
    std::string line = head;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find(' ', pos);
        if (end == std::string::npos) end = text.size();
        std::string word = text.substr(pos, end - pos);
        if (line.size() + word.size() + 1 > width && line.size() > indent.size()) {
            out += line + "\n";
            line = indent;
        }
        line +=
            (line.size() > indent.size() || line == head ? (line == head ? "" : " ") : "") + word;
        pos = end + 1;
    }
    out += line + "\n";
}

}  // namespace

std::string render_text(const Json& r) {
    std::string out;
    out += fmt::format("container {}  init pid {}  config {}\n", str(r["id"]), str(r["init_pid"]),
                       str(r["config"]));

    out += "\nNAMESPACES\n";
    out += fmt::format("  {:<18} {:<12} {:<28} {}\n", "TYPE", "INODE", "SHARED WITH", "CONFIG");
    for (const auto& ns : r["namespaces"]) {
        std::string shared;
        if (ns["shared_with_host"] == true)
            shared = "host";
        else if (ns.value("shared_with_caller", false))
            shared = "runtime caller";
        for (const auto& p : ns["shared_with"]) shared += (shared.empty() ? "" : ",") + str(p);
        out += fmt::format("  {:<18} {:<12} {:<28} {}\n", str(ns["type"]), str(ns["inode"]),
                           shared.empty() ? "(own)" : shared, ns.value("config", "-"));
    }

    const Json& cg = r["cgroup"];
    out += fmt::format("\nCGROUP  layout {}\n", cg.value("layout", "?"));
    for (const auto& h : cg.value("hierarchies", Json::array()))
        out += fmt::format("  v{} {:<22} {}\n", str(h["version"]), str(h["controllers"]),
                           str(h["dir"]));
    if (cg.contains("summary")) {
        const Json& s = cg["summary"];
        const Json& m = s["memory"];
        out +=
            fmt::format("  memory  limit {}  usage {}  peak {}  oom kills {}{}\n",
                        bytes(m["limit"]), bytes(m["usage"]), bytes(m["peak"]), str(m["oom_kills"]),
                        m.contains("failcnt") ? "  failcnt " + str(m["failcnt"]) : "");
        const Json& c = s["cpu"];
        out += fmt::format(
            "  cpu     quota {} / period {}  shares {}  throttled {}/{} periods ({} "
            "ms)\n",
            str(c.value("quota", Json())), str(c.value("period", Json())),
            str(c.value("shares", Json())), str(c.value("nr_throttled", Json())),
            str(c.value("nr_periods", Json())),
            c.contains("throttled_usec")
                ? std::to_string(c["throttled_usec"].get<uint64_t>() / 1000)
                : "-");
        const Json& p = s["pids"];
        out += fmt::format("  pids    max {}  current {}  refused forks {}\n", str(p["limit"]),
                           str(p["current"]), str(p.value("refused_forks", Json())));
        for (auto& [k, v] : s["io"].items()) out += fmt::format("  io      {}: {}\n", k, str(v));
        if (s.contains("freezer")) out += fmt::format("  freezer {}\n", str(s["freezer"]));
    }

    const Json& root = r["root"];
    out += fmt::format("\nROOT  {}  {}{}\n", str(root.value("rootfs", Json())),
                       root.value("read_only", false) ? "read-only" : "read-write",
                       root.value("is_rootfs", true) ? "" : "  NOT THE BUNDLE'S ROOTFS");
    out += "MOUNTS\n";
    for (const auto& m : r["mounts"]) {
        std::string marks;
        if (m.value("masked", false)) marks += " [masked]";
        if (m.value("read_only", false)) marks += " [ro]";
        if (m.value("host_bind", false))
            marks += " [host " + str(m["host_path"]) + "]" +
                     (m.value("asked_for", true) ? "" : " [NOT IN CONFIG]");
        if (m.contains("overlay"))
            marks += " [overlay lower " + joined(m["overlay"]["lower"], ":") + " upper " +
                     str(m["overlay"]["upper"]) + "]";
        std::string indent(2 + 2 * static_cast<size_t>(m.value("depth", 0)), ' ');
        out += fmt::format("{}{} {} {}{}\n", indent, str(m["mount_point"]), str(m["fstype"]),
                           str(m["source"]), marks);
    }

    if (r.contains("security")) {
        const Json& s = r["security"];
        out += "\nSECURITY (init)\n";
        for (const char* set : {"effective", "permitted", "bounding", "inheritable", "ambient"})
            wrap(out, fmt::format("  {:<12}", set), caps(s["capabilities"][set]));
        out += fmt::format("  seccomp      {} ({} filters)   no_new_privs {}\n",
                           str(s["seccomp"]["mode"]), str(s["seccomp"]["filters"]),
                           s.value("no_new_privs", false) ? "yes" : "no");
        if (s["seccomp"].contains("config")) {
            const Json& c = s["seccomp"]["config"];
            out += fmt::format("  seccomp cfg  default {}, {} rules\n", str(c["default_action"]),
                               str(c["rules"]));
            for (auto& [action, names] : c["not_default"].items()) {
                std::string list;
                for (size_t i = 0; i < names.size() && i < 12; ++i) list += str(names[i]) + " ";
                if (names.size() > 12) list += fmt::format("(+{} more)", names.size() - 12);
                wrap(out, fmt::format("    {:<10} ", action), list);
            }
        }
        for (const char* which : {"uid_map", "gid_map"}) {
            std::string rows;
            for (const auto& m : s["id_maps"][which])
                rows +=
                    fmt::format("{} {} {}; ", str(m["inside"]), str(m["outside"]), str(m["count"]));
            out += fmt::format("  {:<12} {}\n", which, rows.empty() ? "-" : rows);
        }
        out += fmt::format("  lsm          {}\n", str(s["lsm"]["current"]));
    }

    const Json& net = r["network"];
    out += fmt::format("\nNETWORK  namespace {}{}\n", str(net.value("namespace", Json())),
                       net["shared_with_host"] == true     ? " (the host's)"
                       : net["shared_with_caller"] == true ? " (the runtime caller's)"
                                                           : "");
    if (net.contains("error")) out += "  " + str(net["error"]) + "\n";
    for (const auto& l : net.value("interfaces", Json::array())) {
        std::string addrs;
        for (const auto& a : l["addresses"])
            addrs += fmt::format(" {}/{}", str(a["address"]), str(a["prefix"]));
        out += fmt::format(
            "  {:<10} {:<8} {:<10} mtu {:<6}{}\n", str(l["name"]),
            l["kind"].get<std::string>().empty() ? "-" : str(l["kind"]),
            l["up"].get<bool>() ? (l["carrier"].get<bool>() ? "UP" : "NO-CARRIER") : "DOWN",
            str(l["mtu"]), addrs);
    }
    for (const auto& rt : net.value("routes", Json::array()))
        out += fmt::format(
            "  route {} {}{}\n", str(rt["destination"]),
            rt["gateway"].get<std::string>().empty() ? "" : "via " + str(rt["gateway"]) + " ",
            "dev " + str(rt["device"]));
    out += host_side(r["host"]);

    out += "\nPROCESSES\n";
    out += fmt::format("  {:<8} {:<8} {:<6} {:<8} {:<6} {:<8} {}\n", "HOST", "CTR", "UID",
                       "SECCOMP", "NNP", "CAPEFF", "COMMAND");
    for (const auto& p : r["processes"]) {
        std::string indent(2 * static_cast<size_t>(p.value("depth", 0)), ' ');
        std::string cmd = p.contains("args") ? joined(p["args"]) : str(p.value("comm", Json()));
        if (cmd.size() > 50) cmd = cmd.substr(0, 47) + "...";
        const Json& s = p.value("security", Json::object());
        std::string capeff =
            s.contains("capabilities") ? str(s["capabilities"]["effective_mask"]) : "-";
        out +=
            fmt::format("  {:<8} {:<8} {:<6} {:<8} {:<6} {:<8} {}{}\n", str(p["pid"]),
                        str(p.value("container_pid", Json())), str(p.value("uid", Json())),
                        s.contains("seccomp") ? str(s["seccomp"]["mode"]) : "-",
                        s.value("no_new_privs", false) ? "yes" : "no",
                        capeff.size() > 8 ? capeff.substr(capeff.size() - 8) : capeff, indent, cmd);
    }
    out += "\nRLIMITS (init, where soft or hard is not unlimited)\n";
    for (const auto& l : r.value("rlimits", Json::array()))
        if (l["soft"] != "unlimited" || l["hard"] != "unlimited")
            out += fmt::format("  {:<24} {:>12} {:>12} {}\n", str(l["name"]), str(l["soft"]),
                               str(l["hard"]), str(l["units"]));

    out += "\nFINDINGS\n";
    if (r["findings"].empty()) out += "  none: the kernel's view matches the config\n";
    for (const auto& f : r["findings"])
        wrap(out, fmt::format("  {:<7} {:<10} ", str(f["severity"]), str(f["area"])),
             str(f["message"]));
    return out;
}

}  // namespace husk::explain
