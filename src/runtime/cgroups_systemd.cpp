#include "runtime/cgroups_systemd.hpp"

#include <algorithm>
#include <charconv>
#include <sstream>

#include "common/files.hpp"
#include "runtime/cgroup_limits.hpp"

namespace husk::runtime {
namespace {

// systemd's unit name alphabet (unit_name_is_valid): letters, digits, ":-_.\".
bool valid_unit_chars(const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == ':' || c == '-' || c == '_' || c == '.' || c == '\\';
    });
}

// systemd's UNIT_NAME_MAX is 256 with the NUL.
constexpr size_t kUnitNameMax = 255;

uint64_t or_infinity(int64_t v) {
    return v < 0 ? kSystemdInfinity : static_cast<uint64_t>(v);
}

// "max" or a number, for the unified keys that have a property.
std::optional<uint64_t> parse_limit(const std::string& text) {
    std::string t = text;
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
    if (t == "max") return kSystemdInfinity;
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || end != t.data() + t.size() || t.empty()) return std::nullopt;
    return v;
}

// The name of a device class by major from /proc/devices ("Character devices:" then
// "136 pts" lines, "Block devices:" then ...).
std::string device_class(const std::string& proc_devices, char type, int64_t major) {
    std::istringstream in(proc_devices);
    std::string line;
    bool in_section = false;
    const char* header = type == 'b' ? "Block devices:" : "Character devices:";
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        if (line.back() == ':') {
            in_section = line == header;
            continue;
        }
        if (!in_section) continue;
        std::istringstream fields(line);
        int64_t m = -1;
        std::string name;
        if (fields >> m >> name && m == major) return name;
    }
    return "";
}

bool same_rule(const oci::DeviceRule& a, const oci::DeviceRule& b) {
    return a.type == b.type && a.major == b.major && a.minor == b.minor;
}

}  // namespace

std::string SystemdCgroupPath::unit() const {
    return (prefix.empty() ? name : prefix + "-" + name) + ".scope";
}

Result<std::string> expand_slice(const std::string& slice) {
    constexpr std::string_view suffix = ".slice";
    if (slice.size() <= suffix.size() || !slice.ends_with(suffix))
        return fail_invalid("slice {:?}: a slice unit's name ends in \".slice\"", slice);
    if (slice.find('/') != std::string::npos)
        return fail_invalid("slice {:?}: a unit name cannot contain '/'", slice);
    if (!valid_unit_chars(slice) || slice.size() > kUnitNameMax)
        return fail_invalid(
            "slice {:?}: not a valid systemd unit name (letters, digits, \":-_.\\\" only, at "
            "most {} characters)",
            slice, kUnitNameMax);
    if (slice == "-.slice") return std::string();  // the root slice is the root cgroup
    std::string base = slice.substr(0, slice.size() - suffix.size());
    // Each '-' opens a level: "a-b.slice" is a child of "a.slice", so empty levels ("a--b",
    // "-a", "a-") have no parent and systemd refuses them.
    if (base.front() == '-' || base.back() == '-' || base.find("--") != std::string::npos)
        return fail_invalid(
            "slice {:?}: '-' separates nested slices (a-b.slice is in a.slice), so it cannot "
            "start or end the name or be doubled",
            slice);
    std::string path, prefix;
    std::istringstream in(base);
    std::string part;
    while (std::getline(in, part, '-')) {
        prefix += (prefix.empty() ? "" : "-") + part;
        path += "/" + prefix + std::string(suffix);
    }
    return path;
}

Result<SystemdCgroupPath> parse_systemd_cgroups_path(const std::string& path,
                                                     const std::string& id) {
    SystemdCgroupPath out;
    if (path.empty()) {
        out = {"system.slice", "husk", id};
    } else {
        std::vector<std::string> parts;
        size_t start = 0;
        while (true) {
            size_t colon = path.find(':', start);
            parts.push_back(path.substr(start, colon - start));
            if (colon == std::string::npos) break;
            start = colon + 1;
        }
        if (parts.size() != 3)
            return fail_invalid(
                "linux.cgroupsPath {:?}: with --systemd-cgroup it is \"slice:prefix:name\" "
                "(e.g. \"system.slice:husk:{}\"), not a cgroup path",
                path, id);
        out = {parts[0].empty() ? "system.slice" : parts[0], parts[1],
               parts[2].empty() ? id : parts[2]};
    }
    if (auto sliced = expand_slice(out.slice); !sliced)
        return fail(sliced.error().wrap("linux.cgroupsPath {:?}", path));
    std::string unit = out.unit();
    if (!valid_unit_chars(out.prefix) || !valid_unit_chars(out.name) || unit.size() > kUnitNameMax)
        return fail_invalid(
            "linux.cgroupsPath {:?}: scope {:?} is not a valid systemd unit name (letters, "
            "digits, \"-_.\\\" only, at most {} characters)",
            path, unit, kUnitNameMax);
    if (out.name.ends_with(".slice"))
        return fail_invalid(
            "linux.cgroupsPath {:?}: the name {:?} is a slice; husk-runtime makes a scope "
            "for the container (put the slice first: \"{}:{}:<name>\")",
            path, out.name, out.name, out.prefix);
    return out;
}

Result<std::string> systemd_scope_cgroup(const SystemdCgroupPath& path) {
    auto slice = expand_slice(path.slice);
    if (!slice) return fail(slice.error());
    return *slice + "/" + path.unit();
}

const char* property_signature(const PropertyValue& value) {
    switch (value.index()) {
        case 0:
            return "t";
        case 1:
            return "s";
        case 2:
            return "b";
        case 3:
            return "au";
        case 4:
            return "ay";
        default:
            return "a(ss)";
    }
}

std::string property_text(const UnitProperty& p) {
    std::string value;
    if (auto* n = std::get_if<uint64_t>(&p.value))
        value = *n == kSystemdInfinity ? "infinity" : std::to_string(*n);
    else if (auto* s = std::get_if<std::string>(&p.value))
        value = *s;
    else if (auto* b = std::get_if<bool>(&p.value))
        value = *b ? "yes" : "no";
    else if (auto* pids = std::get_if<std::vector<uint32_t>>(&p.value))
        for (auto pid : *pids) value += (value.empty() ? "" : " ") + std::to_string(pid);
    else if (auto* bytes = std::get_if<std::vector<uint8_t>>(&p.value))
        for (auto byte : *bytes) value += fmt::format("{:02x}", byte);
    else
        for (auto& [path, access] :
             std::get<std::vector<std::pair<std::string, std::string>>>(p.value))
            value += (value.empty() ? "" : " ") + path + ":" + access;
    return p.name + "=" + value;
}

std::vector<UnitProperty> scope_properties(const SystemdCgroupPath& path, pid_t pid, bool v2) {
    std::vector<UnitProperty> props = {
        {"Description", "husk container " + path.name},
        {"Slice", path.slice},
        {"PIDs", std::vector<uint32_t>{static_cast<uint32_t>(pid)}},
        // The runtime writes the limits systemd has no property for, and the container may
        // manage its own sub-cgroups: the subtree is delegated.
        {"Delegate", true},
        // The container stops when it stops, not in the order of a shutdown transaction.
        {"DefaultDependencies", false},
        {"MemoryAccounting", true},
        {"CPUAccounting", true},
        {"TasksAccounting", true},
        {v2 ? "IOAccounting" : "BlockIOAccounting", true},
    };
    return props;
}

Result<std::vector<uint8_t>> cpuset_mask(const std::string& list) {
    std::vector<uint8_t> mask;
    auto set = [&](unsigned cpu) {
        if (mask.size() <= cpu / 8) mask.resize(cpu / 8 + 1, 0);
        mask[cpu / 8] |= static_cast<uint8_t>(1u << (cpu % 8));
    };
    std::istringstream in(list);
    std::string item;
    while (std::getline(in, item, ',')) {
        while (!item.empty() && (item.back() == '\n' || item.back() == ' ')) item.pop_back();
        if (item.empty()) continue;
        unsigned first = 0, last = 0;
        auto dash = item.find('-');
        std::string a = item.substr(0, dash);
        std::string b = dash == std::string::npos ? a : item.substr(dash + 1);
        auto r1 = std::from_chars(a.data(), a.data() + a.size(), first);
        auto r2 = std::from_chars(b.data(), b.data() + b.size(), last);
        if (a.empty() || b.empty() || r1.ec != std::errc() || r2.ec != std::errc() ||
            r1.ptr != a.data() + a.size() || r2.ptr != b.data() + b.size() || last < first ||
            last >= 8192)
            return fail_invalid("{:?}: not a cpu list (e.g. \"0-2,5\")", list);
        for (unsigned cpu = first; cpu <= last; ++cpu) set(cpu);
    }
    return mask;
}

std::vector<UnitProperty> device_properties(const std::vector<oci::DeviceRule>& config_rules,
                                            const std::string& proc_devices_text) {
    std::vector<oci::DeviceRule> rules = config_rules;
    auto defaults = default_device_rules();
    rules.insert(rules.end(), defaults.begin(), defaults.end());
    // The rules in order, as the kernel's v1 devices controller reads them: a new cgroup
    // allows everything until an "a" deny.
    bool default_allow = true;
    std::vector<oci::DeviceRule> allowed;
    for (const auto& r : rules) {
        if (r.type == 'a') {
            default_allow = r.allow;
            allowed.clear();
            continue;
        }
        if (default_allow) {
            // A deny in an allow-all policy is a black list: systemd has no property for it.
            if (!r.allow) return {{"DevicePolicy", std::string("auto")}};
            continue;
        }
        if (r.allow)
            allowed.push_back(r);
        else
            std::erase_if(allowed, [&](const oci::DeviceRule& a) { return same_rule(a, r); });
    }
    if (default_allow) return {{"DevicePolicy", std::string("auto")}};
    std::vector<std::pair<std::string, std::string>> allow;
    for (const auto& r : allowed) {
        std::string access;
        for (char c : r.access)
            if ((c == 'r' || c == 'w' || c == 'm') && access.find(c) == std::string::npos)
                access += c;
        if (access.empty()) continue;
        std::string kind = r.type == 'b' ? "block" : "char";
        std::string entry;
        if (r.major < 0) {
            entry = kind + "-*";
        } else if (r.minor < 0) {
            std::string name = device_class(proc_devices_text, r.type, r.major);
            if (name.empty()) continue;  // no driver for that major: nothing to open anyway
            entry = kind + "-" + name;
        } else {
            entry = fmt::format("/dev/{}/{}:{}", kind, r.major, r.minor);
        }
        allow.emplace_back(entry, access);
    }
    return {{"DevicePolicy", std::string("strict")}, {"DeviceAllow", allow}};
}

std::vector<UnitProperty> take_device_properties(std::vector<UnitProperty>& props) {
    std::vector<UnitProperty> devices;
    auto is_device = [](const UnitProperty& p) {
        return p.name == "DevicePolicy" || p.name == "DeviceAllow";
    };
    for (const auto& p : props)
        if (is_device(p)) devices.push_back(p);
    std::erase_if(props, is_device);
    return devices;
}

Result<std::vector<UnitProperty>> resource_properties(const oci::Resources& resources, bool v2,
                                                      const std::string& proc_devices) {
    std::vector<UnitProperty> props;
    if (const auto& m = resources.memory) {
        if (m->limit) props.push_back({v2 ? "MemoryMax" : "MemoryLimit", or_infinity(*m->limit)});
        if (v2 && m->reservation) props.push_back({"MemoryLow", or_infinity(*m->reservation)});
        if (v2 && m->swap) {
            auto swap = v2_swap_max(m->limit, *m->swap);
            if (!swap) return fail(swap.error().wrap("linux.resources.memory.swap"));
            props.push_back({"MemorySwapMax", *parse_limit(*swap)});
        }
    }
    if (const auto& c = resources.cpu) {
        if (c->shares && *c->shares != 0) {
            if (v2)
                props.push_back({"CPUWeight", cpu_shares_to_weight(*c->shares)});
            else
                props.push_back({"CPUShares", *c->shares});
        }
        uint64_t period = c->period.value_or(100000);
        if (c->period && *c->period != 0) props.push_back({"CPUQuotaPeriodUSec", period});
        if (c->quota && *c->quota != 0 && period != 0) {
            uint64_t per_sec = kSystemdInfinity;
            if (*c->quota > 0) {
                per_sec = static_cast<uint64_t>(*c->quota) * 1000000 / period;
                // systemd keeps the quota in 10 ms steps of a second: round up, as runc
                // does, so the file and the property agree on at least that much cpu.
                if (per_sec % 10000 != 0) per_sec = (per_sec / 10000 + 1) * 10000;
            }
            props.push_back({"CPUQuotaPerSecUSec", per_sec});
        }
        if (v2 && !c->cpus.empty()) {
            auto mask = cpuset_mask(c->cpus);
            if (!mask) return fail(mask.error().wrap("linux.resources.cpu.cpus"));
            props.push_back({"AllowedCPUs", *mask});
        }
        if (v2 && !c->mems.empty()) {
            auto mask = cpuset_mask(c->mems);
            if (!mask) return fail(mask.error().wrap("linux.resources.cpu.mems"));
            props.push_back({"AllowedMemoryNodes", *mask});
        }
    }
    if (resources.pids_limit) props.push_back({"TasksMax", or_infinity(*resources.pids_limit)});
    if (resources.block_io && resources.block_io->weight && *resources.block_io->weight != 0) {
        uint16_t w = *resources.block_io->weight;
        if (v2)
            props.push_back({"IOWeight", blkio_weight_to_io_weight(w)});
        else
            props.push_back({"BlockIOWeight", uint64_t{w}});
    }
    if (v2) {
        // The unified keys systemd also manages; the others are only written as files.
        static const std::pair<const char*, const char*> kUnified[] = {
            {"memory.high", "MemoryHigh"},        {"memory.low", "MemoryLow"},
            {"memory.min", "MemoryMin"},          {"memory.max", "MemoryMax"},
            {"memory.swap.max", "MemorySwapMax"}, {"pids.max", "TasksMax"},
            {"cpu.weight", "CPUWeight"}};
        for (const auto& [key, value] : resources.unified)
            for (const auto& [file, property] : kUnified)
                if (key == file)
                    if (auto n = parse_limit(value)) props.push_back({property, *n});
    }
    if (!resources.devices.empty()) {
        auto text = read_file(proc_devices);
        auto devices = device_properties(resources.devices, text ? *text : "");
        props.insert(props.end(), devices.begin(), devices.end());
    }
    return props;
}

bool systemd_booted(const std::string& run_dir) {
    return path_exists(run_dir);
}

Error systemd_not_booted_error() {
    std::string pid1 = "?";
    if (auto comm = read_file("/proc/1/comm")) {
        pid1 = *comm;
        while (!pid1.empty() && pid1.back() == '\n') pid1.pop_back();
    }
    return Error::invalid(
        "--systemd-cgroup: systemd is not running on this host (no /run/systemd/system; PID 1 "
        "is {:?}), so there is no systemd to create the container's scope: drop "
        "--systemd-cgroup to use the cgroupfs driver",
        pid1);
}

}  // namespace husk::runtime
