#include "runtime/cgroup_limits.hpp"

#include <algorithm>
#include <iterator>
#include <sstream>

#include "common/files.hpp"
#include "runtime/cgroup_devices_bpf.hpp"
#include "runtime/trace.hpp"

namespace husk::runtime {
namespace {

std::vector<std::string> split_words(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string item;
    std::istringstream in(s);
    while (std::getline(in, item, sep))
        if (!item.empty()) out.push_back(item);
    return out;
}

std::set<std::string> read_v2_controllers(const std::string& dir) {
    std::set<std::string> out;
    auto text = read_file(dir + "/cgroup.controllers");
    if (!text) return out;
    std::string line = *text;
    std::replace(line.begin(), line.end(), '\n', ' ');
    for (auto& c : split_words(line, ' ')) out.insert(c);
    return out;
}

std::string join(const std::set<std::string>& items) {
    std::string out;
    for (auto& i : items) out += (out.empty() ? "" : " ") + i;
    return out.empty() ? "none" : out;
}

// "maj:min" with v1's "*" for any.
std::string device_number(int64_t n) {
    return n < 0 ? "*" : std::to_string(n);
}

// Builds the plan, field by field, with one rule for where each controller lives.
class Planner {
public:
    Planner(const CgroupCaps& caps, std::string prefix) : caps_(caps), prefix_(std::move(prefix)) {}

    std::vector<CgroupWrite> writes;

    // Which tree serves `controller`: v1 when mounted there, else the v2 tree.
    Result<bool> locate(const std::string& field, const std::string& controller) const {
        if (caps_.v1.contains(controller)) return false;
        if (caps_.v2.contains(controller)) return true;
        return fail_invalid("{}: {}", field, missing(controller));
    }

    std::string missing(const std::string& controller) const {
        switch (caps_.layout) {
            case CgroupLayout::none:
                return "no cgroup filesystem is mounted (no cgroup or cgroup2 entry in "
                       "/proc/self/mountinfo), so limits cannot be applied: mount one "
                       "(`mount -t cgroup2 none /sys/fs/cgroup`) or remove linux.resources";
            case CgroupLayout::unified:
                return fmt::format(
                    "the {} controller is not available in the cgroup v2 tree "
                    "at {} (cgroup.controllers: {})",
                    controller, caps_.v2_mount, join(caps_.v2));
            case CgroupLayout::legacy:
            case CgroupLayout::hybrid:
                return fmt::format(
                    "the {0} controller is not mounted (v1 hierarchies: {1}; cgroup v2 "
                    "controllers: {2}): mount it (`mkdir /sys/fs/cgroup/{0} && mount -t "
                    "cgroup -o {0} {0} /sys/fs/cgroup/{0}`)",
                    controller, join(caps_.v1), join(caps_.v2));
        }
        return "no cgroups";
    }

    Status add(const std::string& field, const std::string& controller, const std::string& v1_file,
               const std::string& v1_value, const std::string& v2_file,
               const std::string& v2_value) {
        auto v2 = locate(field, controller);
        if (!v2) return fail(v2.error());
        if (*v2 && v2_file.empty())
            return fail_invalid("{}: has no cgroup v2 equivalent ({} comes from the v2 tree here)",
                                field, controller);
        CgroupWrite w{field, controller, *v2, {}};
        w.alternatives.emplace_back(*v2 ? v2_file : v1_file, *v2 ? v2_value : v1_value);
        writes.push_back(std::move(w));
        return {};
    }
    // Same file name and value on both versions.
    Status add_same(const std::string& field, const std::string& controller,
                    const std::string& file, const std::string& value) {
        return add(field, controller, file, value, file, value);
    }

    std::string field(const std::string& suffix) const { return prefix_ + "." + suffix; }

    const CgroupCaps& caps_;
    std::string prefix_;
};

std::string bytes_or_unlimited(int64_t v, const char* unlimited) {
    return v < 0 ? unlimited : std::to_string(v);
}

Status plan_memory(Planner& p, const oci::MemoryResources& m) {
    if (m.limit)
        HUSK_TRY(p.add(p.field("memory.limit"), "memory", "memory.limit_in_bytes",
                       bytes_or_unlimited(*m.limit, "-1"), "memory.max",
                       bytes_or_unlimited(*m.limit, "max")));
    if (m.swap) {
        auto v2 = p.locate(p.field("memory.swap"), "memory");
        if (!v2) return fail(v2.error());
        std::string v2_value;
        if (*v2) {
            auto converted = v2_swap_max(m.limit, *m.swap);
            if (!converted) return fail(converted.error().wrap("{}", p.field("memory.swap")));
            v2_value = *converted;
        }
        HUSK_TRY(p.add(p.field("memory.swap"), "memory", "memory.memsw.limit_in_bytes",
                       bytes_or_unlimited(*m.swap, "-1"), "memory.swap.max", v2_value));
    }
    if (m.reservation)
        HUSK_TRY(p.add(p.field("memory.reservation"), "memory", "memory.soft_limit_in_bytes",
                       bytes_or_unlimited(*m.reservation, "-1"), "memory.low",
                       bytes_or_unlimited(*m.reservation, "max")));
    if (m.swappiness)
        HUSK_TRY(p.add(p.field("memory.swappiness"), "memory", "memory.swappiness",
                       std::to_string(*m.swappiness), "", ""));
    // Only "disable" needs a switch; false is the default everywhere.
    if (m.disable_oom_killer.value_or(false))
        HUSK_TRY(
            p.add(p.field("memory.disableOOMKiller"), "memory", "memory.oom_control", "1", "", ""));
    return {};
}

Status plan_cpu(Planner& p, const oci::CpuResources& c) {
    if (c.shares)
        HUSK_TRY(p.add(p.field("cpu.shares"), "cpu", "cpu.shares", std::to_string(*c.shares),
                       "cpu.weight", std::to_string(cpu_shares_to_weight(*c.shares))));
    if (c.quota || c.period) {
        auto v2 = p.locate(p.field(c.quota ? "cpu.quota" : "cpu.period"), "cpu");
        if (!v2) return fail(v2.error());
        if (*v2) {
            // cpu.max takes "QUOTA [PERIOD]" in one write.
            std::string value = c.quota ? bytes_or_unlimited(*c.quota, "max") : "max";
            if (c.period) value += " " + std::to_string(*c.period);
            HUSK_TRY(p.add_same(p.field("cpu.quota"), "cpu", "cpu.max", value));
        } else {
            // The period first: the kernel checks a quota against the current period.
            if (c.period)
                HUSK_TRY(p.add_same(p.field("cpu.period"), "cpu", "cpu.cfs_period_us",
                                    std::to_string(*c.period)));
            if (c.quota)
                HUSK_TRY(p.add_same(p.field("cpu.quota"), "cpu", "cpu.cfs_quota_us",
                                    std::to_string(*c.quota)));
        }
    }
    if (c.burst)
        HUSK_TRY(p.add(p.field("cpu.burst"), "cpu", "cpu.cfs_burst_us", std::to_string(*c.burst),
                       "cpu.max.burst", std::to_string(*c.burst)));
    if (c.idle)
        HUSK_TRY(p.add_same(p.field("cpu.idle"), "cpu", "cpu.idle", std::to_string(*c.idle)));
    if (!c.cpus.empty()) HUSK_TRY(p.add_same(p.field("cpu.cpus"), "cpuset", "cpuset.cpus", c.cpus));
    if (!c.mems.empty()) HUSK_TRY(p.add_same(p.field("cpu.mems"), "cpuset", "cpuset.mems", c.mems));
    return {};
}

Status plan_block_io(Planner& p, const oci::BlockIoResources& io) {
    auto v2 = p.locate(p.field("blockIO"), p.caps_.v1.contains("blkio") ? "blkio" : "io");
    if (!v2) return fail(v2.error());
    std::string ctl = *v2 ? "io" : "blkio";
    auto weight = [&](const std::string& field, const std::string& device, uint16_t w) {
        CgroupWrite write{field, ctl, *v2, {}};
        if (*v2) {
            // BFQ takes the blkio range as is; io.weight is the scaled one.
            write.alternatives = {
                {"io.bfq.weight", device + " " + std::to_string(w)},
                {"io.weight", device + " " + std::to_string(blkio_weight_to_io_weight(w))}};
        } else {
            std::string file = device == "default" ? "weight" : "weight_device";
            std::string value =
                device == "default" ? std::to_string(w) : device + " " + std::to_string(w);
            write.alternatives = {{"blkio." + file, value}, {"blkio.bfq." + file, value}};
        }
        p.writes.push_back(std::move(write));
    };
    if (io.weight) weight(p.field("blockIO.weight"), "default", *io.weight);
    for (size_t i = 0; i < io.weight_devices.size(); ++i) {
        const auto& d = io.weight_devices[i];
        weight(p.field(fmt::format("blockIO.weightDevice[{}]", i)),
               fmt::format("{}:{}", d.major, d.minor), d.weight);
    }
    struct Throttle {
        const char* field;
        const std::vector<oci::ThrottleDevice>* devices;
        const char* v1_file;
        const char* v2_key;
    };
    for (const Throttle& t :
         {Throttle{"throttleReadBpsDevice", &io.read_bps, "blkio.throttle.read_bps_device", "rbps"},
          Throttle{"throttleWriteBpsDevice", &io.write_bps, "blkio.throttle.write_bps_device",
                   "wbps"},
          Throttle{"throttleReadIOPSDevice", &io.read_iops, "blkio.throttle.read_iops_device",
                   "riops"},
          Throttle{"throttleWriteIOPSDevice", &io.write_iops, "blkio.throttle.write_iops_device",
                   "wiops"}}) {
        for (size_t i = 0; i < t.devices->size(); ++i) {
            const auto& d = (*t.devices)[i];
            std::string dev = fmt::format("{}:{}", d.major, d.minor);
            HUSK_TRY(p.add(p.field(fmt::format("blockIO.{}[{}]", t.field, i)), ctl, t.v1_file,
                           dev + " " + std::to_string(d.rate), "io.max",
                           fmt::format("{} {}={}", dev, t.v2_key, d.rate)));
        }
    }
    return {};
}

Status plan_devices(Planner& p, const std::vector<oci::DeviceRule>& rules) {
    if (rules.empty()) return {};
    std::string field = p.field("devices");
    // v1: the devices hierarchy's files; v2 (no devices.* files there): the same rules
    // compiled into an eBPF program (cgroup_devices_bpf.cpp) when the writes are applied.
    bool v2 = !p.caps_.v1.contains("devices");
    if (v2 && p.caps_.v2_mount.empty()) return fail_invalid("{}: {}", field, p.missing("devices"));
    auto rule_text = [](char type, int64_t major, int64_t minor, const std::string& access) {
        if (type == 'a') return fmt::format("a *:* {}", access);
        return fmt::format("{} {}:{} {}", type, device_number(major), device_number(minor), access);
    };
    for (size_t i = 0; i < rules.size(); ++i) {
        const auto& r = rules[i];
        p.writes.push_back({fmt::format("{}[{}]", field, i),
                            "devices",
                            v2,
                            {{r.allow ? "devices.allow" : "devices.deny",
                              rule_text(r.type, r.major, r.minor, r.access)}}});
    }
    // After the config's rules, the devices every container needs (default_device_rules),
    // less those the config already allows with no deny after it: an engine's config lists
    // them too (Docker's does), and each v1 write costs a syscall round on the start path.
    auto covers = [](const oci::DeviceRule& r, const oci::DeviceRule& d) {
        return r.type == 'a' || (r.type == d.type && (r.major < 0 || r.major == d.major) &&
                                 (r.minor < 0 || r.minor == d.minor));
    };
    auto already_allowed = [&](const oci::DeviceRule& d) {
        for (size_t i = rules.size(); i-- > 0;) {
            const auto& r = rules[i];
            if (!r.allow && covers(r, d)) return false;
            if (r.allow && r.type == d.type && r.major == d.major && r.minor == d.minor &&
                r.access == d.access)
                return true;
        }
        return false;
    };
    for (const auto& d : default_device_rules()) {
        if (already_allowed(d)) continue;
        p.writes.push_back({field + " (default devices)",
                            "devices",
                            v2,
                            {{"devices.allow", rule_text(d.type, d.major, d.minor, d.access)}}});
    }
    return {};
}

Status plan_unified(Planner& p, const std::map<std::string, std::string>& unified) {
    for (const auto& [key, value] : unified) {
        std::string field = fmt::format("{}.unified[\"{}\"]", p.prefix_, key);
        std::string controller = key.substr(0, key.find('.'));
        if (!p.caps_.v2.contains(controller)) {
            if (p.caps_.v2_mount.empty())
                return fail_invalid(
                    "{}: this host has no cgroup v2 tree (layout {}); use the "
                    "v1 fields of linux.resources instead",
                    field, cgroup_layout_name(p.caps_.layout));
            return fail_invalid(
                "{}: the {} controller is not in the cgroup v2 tree at {} (cgroup.controllers: "
                "{}){}",
                field, controller, p.caps_.v2_mount, join(p.caps_.v2),
                p.caps_.v1.contains(controller) ? "; it is a v1 controller here: use the v1 "
                                                  "fields of linux.resources"
                                                : "");
        }
        p.writes.push_back({field, controller, true, {{key, value}}});
    }
    return {};
}

std::string parent_of(const std::string& path) {
    return path.substr(0, path.rfind('/'));
}

// True when the cgroup directory has processes of its own (the root cgroup is exempt from
// the "no internal processes" rule, so its processes never stand in the way).
bool holds_processes(const std::string& dir) {
    if (!path_exists(dir + "/cgroup.type")) return false;  // the root has no cgroup.type
    auto procs = read_file(dir + "/cgroup.procs");
    return procs && procs->find_first_not_of(" \n") != std::string::npos;
}

// Makes every controller in `needed` available to the container's v2 directory: enabled in
// cgroup.subtree_control of each level above it.
Status delegate_v2(const CgroupDir& dir, const std::vector<std::string>& created,
                   const std::set<std::string>& needed) {
    if (needed.empty()) return {};
    std::vector<std::string> levels;  // from the mount root down to the container's parent
    for (std::string p = parent_of(dir.path); p.size() >= dir.mount_point.size();
         p = parent_of(p)) {
        levels.insert(levels.begin(), p);
        if (p == dir.mount_point) break;
    }
    for (const auto& level : levels) {
        bool ours = std::find(created.begin(), created.end(), level) != created.end();
        std::string control = level + "/cgroup.subtree_control";
        auto enabled_text = read_file(control);
        if (!enabled_text) return fail(enabled_text.error());
        std::set<std::string> enabled;
        std::string flat = *enabled_text;
        std::replace(flat.begin(), flat.end(), '\n', ' ');
        for (auto& c : split_words(flat, ' ')) enabled.insert(c);
        for (const auto& controller : needed) {
            if (enabled.contains(controller)) continue;
            if (!ours && holds_processes(level))
                return fail_invalid(
                    "the {0} controller is not enabled for the children of {1} (its "
                    "cgroup.subtree_control: {2}), and it cannot be: {1} holds processes of its "
                    "own, and cgroup v2 enables controllers for children only in a cgroup "
                    "without processes (the \"no internal processes\" rule); move them into a "
                    "leaf cgroup (e.g. {1}/init), then `echo +{0} > {3}`, or use a cgroupsPath "
                    "below a cgroup that delegates {0}",
                    controller, level, join(enabled), control);
            if (!ours)
                return fail_invalid(
                    "the {0} controller is not enabled for the children of {1} (its "
                    "cgroup.subtree_control: {2}); husk-runtime does not reconfigure cgroups it "
                    "did not create: enable it (`echo +{0} > {3}`) or use a cgroupsPath below a "
                    "cgroup that delegates {0}",
                    controller, level, join(enabled), control);
            if (auto st = write_file(control, "+" + controller); !st) {
                if (st.error().errnum() == EBUSY)
                    return fail_invalid(
                        "enable the {} controller in {}: the cgroup holds processes, and cgroup "
                        "v2 allows controllers for children only in a cgroup without processes "
                        "of its own (the \"no internal processes\" rule); move those processes "
                        "into a leaf cgroup first, or use a cgroupsPath elsewhere",
                        controller, level);
                return fail(st.error().wrap("enable the {} controller", controller));
            }
        }
    }
    return {};
}

}  // namespace

std::vector<oci::DeviceRule> default_device_rules() {
    // As runc: null, zero, full, tty, random, urandom, ptmx and the pty slaves, so that
    // "deny all" leaves a usable /dev.
    static constexpr struct {
        char type;
        int major, minor;
    } kDefaults[] = {{'c', 1, 3}, {'c', 1, 5}, {'c', 1, 7}, {'c', 5, 0},
                     {'c', 1, 8}, {'c', 1, 9}, {'c', 5, 2}, {'c', 136, -1}};
    std::vector<oci::DeviceRule> rules;
    for (const auto& d : kDefaults) rules.push_back({true, d.type, d.major, d.minor, "rwm"});
    return rules;
}

CgroupCaps cgroup_caps(const CgroupHost& host) {
    CgroupCaps caps;
    caps.layout = host.layout;
    for (const auto& h : host.hierarchies) {
        if (h.unified) {
            caps.v2_mount = h.mount_point;
            caps.v2 = read_v2_controllers(h.mount_point);
            continue;
        }
        for (auto& c : split_words(h.controllers, ','))
            if (!c.starts_with("name=")) caps.v1.insert(c);
    }
    return caps;
}

CgroupCaps cgroup_caps(const std::vector<CgroupDir>& dirs) {
    CgroupCaps caps;
    bool v1 = false;
    for (const auto& d : dirs) {
        if (d.controllers.empty()) {
            // What the tree offers, not what the container's directory has now: its
            // cgroup.controllers lists only what was delegated for the limits it was created
            // with, and an update may add a limit of another controller (delegated then).
            caps.v2_mount = d.mount_point;
            caps.v2 = read_v2_controllers(d.mount_point);
            continue;
        }
        v1 = true;
        for (auto& c : split_words(d.controllers, ','))
            if (!c.starts_with("name=")) caps.v1.insert(c);
    }
    caps.layout = v1 && !caps.v2_mount.empty() ? CgroupLayout::hybrid
                  : v1                         ? CgroupLayout::legacy
                  : !caps.v2_mount.empty()     ? CgroupLayout::unified
                                               : CgroupLayout::none;
    return caps;
}

uint64_t cpu_shares_to_weight(uint64_t shares) {
    if (shares == 0) return 0;
    shares = std::clamp<uint64_t>(shares, 2, 262144);
    return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t blkio_weight_to_io_weight(uint64_t weight) {
    if (weight == 0) return 0;
    weight = std::clamp<uint64_t>(weight, 10, 1000);
    return 1 + ((weight - 10) * 9999) / 990;
}

Result<std::string> v2_swap_max(std::optional<int64_t> limit, int64_t swap) {
    if (swap == -1) return std::string("max");
    if (!limit || *limit == -1)
        return fail_invalid(
            "a swap limit needs a memory limit on cgroup v2 (swap is memory + "
            "swap, so memory.swap.max is swap - limit)");
    if (swap < *limit) return fail_invalid("{} is below the memory limit {}", swap, *limit);
    return std::to_string(swap - *limit);
}

Result<std::vector<CgroupWrite>> plan_resources(const CgroupCaps& caps,
                                                const oci::Resources& resources,
                                                const std::string& prefix) {
    Planner p(caps, prefix);
    if (resources.empty()) return p.writes;
    if (caps.layout == CgroupLayout::none) return fail_invalid("{}: {}", prefix, p.missing(""));
    if (resources.memory) HUSK_TRY(plan_memory(p, *resources.memory));
    if (resources.cpu) HUSK_TRY(plan_cpu(p, *resources.cpu));
    if (resources.pids_limit)
        HUSK_TRY(p.add_same(p.field("pids.limit"), "pids", "pids.max",
                            bytes_or_unlimited(*resources.pids_limit, "max")));
    if (resources.block_io) HUSK_TRY(plan_block_io(p, *resources.block_io));
    for (size_t i = 0; i < resources.hugepage_limits.size(); ++i) {
        const auto& h = resources.hugepage_limits[i];
        HUSK_TRY(p.add(p.field(fmt::format("hugepageLimits[{}]", i)), "hugetlb",
                       "hugetlb." + h.page_size + ".limit_in_bytes", std::to_string(h.limit),
                       "hugetlb." + h.page_size + ".max", std::to_string(h.limit)));
    }
    if (resources.network) {
        const auto& n = *resources.network;
        if (n.class_id)
            HUSK_TRY(p.add(p.field("network.classID"), "net_cls", "net_cls.classid",
                           std::to_string(*n.class_id), "", ""));
        for (size_t i = 0; i < n.priorities.size(); ++i)
            HUSK_TRY(p.add(
                p.field(fmt::format("network.priorities[{}]", i)), "net_prio", "net_prio.ifpriomap",
                n.priorities[i].first + " " + std::to_string(n.priorities[i].second), "", ""));
    }
    HUSK_TRY(plan_devices(p, resources.devices));
    HUSK_TRY(plan_unified(p, resources.unified));
    return p.writes;
}

std::vector<CgroupWrite> take_device_writes(std::vector<CgroupWrite>& writes) {
    std::vector<CgroupWrite> devices;
    auto is_device = [](const CgroupWrite& w) { return w.controller == "devices"; };
    std::copy_if(writes.begin(), writes.end(), std::back_inserter(devices), is_device);
    writes.erase(std::remove_if(writes.begin(), writes.end(), is_device), writes.end());
    return devices;
}

Status apply_cgroup_writes(const std::vector<CgroupDir>& dirs,
                           const std::vector<std::string>& created,
                           const std::vector<CgroupWrite>& writes) {
    auto dir_for = [&](const CgroupWrite& w) -> const CgroupDir* {
        for (const auto& d : dirs) {
            if (w.v2 != d.controllers.empty()) continue;
            if (w.v2) return &d;
            for (auto& c : split_words(d.controllers, ','))
                if (c == w.controller) return &d;
        }
        return nullptr;
    };

    auto is_v2_device = [](const CgroupWrite& w) { return w.v2 && w.controller == "devices"; };
    std::set<std::string> v2_needed;
    std::vector<DeviceAccessRule> v2_device_rules;
    for (const auto& w : writes) {
        if (is_v2_device(w)) {
            const auto& [file, text] = w.alternatives.front();
            auto rule = parse_device_rule_text(file == "devices.allow", text);
            if (!rule) return fail(rule.error().wrap("{}", w.field));
            v2_device_rules.push_back(*rule);
        } else if (w.v2) {
            v2_needed.insert(w.controller);
        }
    }
    if (!v2_needed.empty()) {
        const CgroupDir* v2 = nullptr;
        for (const auto& d : dirs)
            if (d.controllers.empty()) v2 = &d;
        if (v2 == nullptr) return fail_invalid("the container has no cgroup v2 directory");
        HUSK_TRY_CTX(delegate_v2(*v2, created, v2_needed), "{}", writes.front().field);
    }

    // Some pairs must go in a given order that depends on the current values (v1 memory
    // limit vs memory+swap, quota vs a parent's): a write the kernel refuses is retried once
    // after the others, as runc does.
    auto write_one = [&](const CgroupWrite& w) -> Status {
        const CgroupDir* d = dir_for(w);
        if (d == nullptr)
            return fail_invalid("{}: the container has no {} cgroup", w.field, w.controller);
        for (size_t i = 0; i < w.alternatives.size(); ++i) {
            const auto& [file, value] = w.alternatives[i];
            std::string path = d->path + "/" + file;
            if (i + 1 < w.alternatives.size() && !path_exists(path)) continue;
            trace::Step t("cgroup write", "{} = {}", path, value);
            auto st = write_file(path, value);
            if (st) return {};
            if (st.error().errnum() == ENOENT)
                return fail(Error(
                    ENOENT, fmt::format("{}: {} does not exist on this kernel", w.field, path)));
            return fail(st.error().wrap("{}: write {:?} to {}", w.field, value, path));
        }
        return {};
    };
    if (!v2_device_rules.empty()) {
        const CgroupDir* v2 = nullptr;
        for (const auto& d : dirs)
            if (d.controllers.empty()) v2 = &d;
        if (v2 == nullptr) return fail_invalid("the container has no cgroup v2 directory");
        auto field = std::find_if(writes.begin(), writes.end(), is_v2_device)->field;
        HUSK_TRY_CTX(attach_device_program(v2->path, v2_device_rules), "{}",
                     field.substr(0, field.find('[')));
    }
    std::vector<const CgroupWrite*> retry;
    for (const auto& w : writes) {
        if (is_v2_device(w)) continue;
        auto st = write_one(w);
        if (!st) {
            int e = st.error().errnum();
            if (e != EINVAL && e != EBUSY) return st;
            retry.push_back(&w);
        }
    }
    for (const CgroupWrite* w : retry) HUSK_TRY(write_one(*w));
    return {};
}

}  // namespace husk::runtime
