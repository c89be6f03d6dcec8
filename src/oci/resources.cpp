// linux.resources and linux.cgroupsPath: every limit is checked here, before any side effect,
// so a config that asks for something impossible fails with the field's path instead of a
// half-made cgroup. Ranges are the kernel's own (cpu.cfs_period_us, cpu.shares, blkio.weight)
// so the runtime never learns about them from an EINVAL.
#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>

#include "oci/json_reader.hpp"
#include "oci/resources_parse.hpp"

namespace husk::oci {
namespace detail {
namespace {

// Linux dev_t: 12-bit major, 20-bit minor.
constexpr int64_t kMaxMajor = (1 << 12) - 1;
constexpr int64_t kMaxMinor = (1 << 20) - 1;
constexpr int64_t kPageSize = 4096;

// Spec fields husk-runtime reads but does not implement: refused by name.
Status reject_fields(const Node& node,
                     std::initializer_list<std::pair<const char*, const char*>> fields) {
    for (const auto& [key, why] : fields) {
        auto child = node.get(key);
        if (child && !is_empty_value(child->value()))
            return child->fail("not supported by husk-runtime ({})", why);
    }
    return {};
}

template <typename T>
Status read_in_range(const Node& object, std::string_view key, std::optional<T>& out, T min, T max,
                     const char* what) {
    HUSK_TRY(read_field(object, key, out));
    if (out && (*out < min || *out > max))
        return fail_at(member_path(object.path(), key), "{} is out of range [{}, {}] ({})", *out,
                       min, max, what);
    return {};
}

Status check_device_number(const Node& object, std::string_view key, int64_t value,
                           bool wildcard_ok) {
    int64_t max = key == "major" ? kMaxMajor : kMaxMinor;
    if (wildcard_ok && value == -1) return {};
    if (value < 0 || value > max)
        return fail_at(member_path(object.path(), key), "{} is not a device {} number (0 to {}{})",
                       value, key, max, wildcard_ok ? ", or -1 for any" : "");
    return {};
}

// "0-3,5,7-8": what cpuset.cpus and cpuset.mems take.
Status check_cpu_list(const Node& object, std::string_view key, const std::string& list) {
    if (list.empty()) return {};
    bool ok = std::all_of(list.begin(), list.end(),
                          [](char c) { return (c >= '0' && c <= '9') || c == ',' || c == '-'; });
    ok = ok && list.front() != ',' && list.front() != '-' && list.back() != ',' &&
         list.back() != '-' && list.find(",,") == std::string::npos &&
         list.find("--") == std::string::npos && list.find("-,") == std::string::npos &&
         list.find(",-") == std::string::npos;
    if (!ok)
        return fail_at(member_path(object.path(), key),
                       "{} is not a cpu/node list (like \"0-3,5\")", quote(list));
    return {};
}

Status parse_device_rules(const Node& node, std::vector<DeviceRule>& out) {
    auto elements = node.elements();
    if (!elements) return fail(elements.error());
    for (const Node& element : *elements) {
        HUSK_TRY(element.expect_object());
        DeviceRule rule;
        HUSK_TRY(read_required(element, "allow", rule.allow));
        std::string type = "a";
        HUSK_TRY(read_field(element, "type", type));
        if (type != "a" && type != "c" && type != "b")
            return fail_at(member_path(element.path(), "type"),
                           "unknown device type {} (expected a, c or b)", quote(type));
        rule.type = type[0];
        HUSK_TRY(read_field(element, "major", rule.major));
        HUSK_TRY(read_field(element, "minor", rule.minor));
        HUSK_TRY(check_device_number(element, "major", rule.major, true));
        HUSK_TRY(check_device_number(element, "minor", rule.minor, true));
        HUSK_TRY(read_field(element, "access", rule.access));
        if (rule.access.empty()) rule.access = "rwm";
        std::string seen;
        for (char c : rule.access) {
            if ((c != 'r' && c != 'w' && c != 'm') || seen.find(c) != std::string::npos)
                return fail_at(member_path(element.path(), "access"),
                               "{} is not a device access (letters r, w, m, each once)",
                               quote(rule.access));
            seen += c;
        }
        out.push_back(rule);
    }
    return {};
}

Status parse_memory(const Node& node, MemoryResources& memory) {
    HUSK_TRY(node.expect_object());
    HUSK_TRY(reject_fields(
        node, {{"kernel", "kernel memory limits are deprecated and ignored by the kernel"},
               {"kernelTCP", "kernel memory limits are deprecated and ignored by the kernel"},
               {"checkBeforeUpdate", "not implemented"}}));
    if (auto hierarchy = node.get("useHierarchy")) {
        bool use = true;
        HUSK_TRY(decode(*hierarchy, use));
        // Since Linux 5.x every v1 memory cgroup is hierarchical; false cannot be had.
        if (!use) return hierarchy->fail("false is not supported: hierarchy is always on");
    }
    // -1 is unlimited; 0 means "not set", as runc reads it.
    for (auto [key, field] :
         {std::pair{"limit", &memory.limit}, std::pair{"reservation", &memory.reservation},
          std::pair{"swap", &memory.swap}}) {
        HUSK_TRY(read_field(node, key, *field));
        if (!*field) continue;
        std::string path = member_path(node.path(), key);
        if (**field < -1) return fail_at(path, "{} is negative (use -1 for unlimited)", **field);
        if (**field == 0) {
            field->reset();
            continue;
        }
        if (std::string_view(key) != "reservation" && **field > 0 && **field < kPageSize)
            return fail_at(path, "{} bytes is below one page ({}): nothing could run", **field,
                           kPageSize);
    }
    if (memory.swap && memory.limit && *memory.swap != -1 && *memory.limit != -1 &&
        *memory.swap < *memory.limit)
        return fail_at(member_path(node.path(), "swap"),
                       "{} is below memory.limit {} (swap counts memory + swap)", *memory.swap,
                       *memory.limit);
    HUSK_TRY(
        read_in_range<uint64_t>(node, "swappiness", memory.swappiness, 0, 100, "a percentage"));
    HUSK_TRY(read_field(node, "disableOOMKiller", memory.disable_oom_killer));
    return {};
}

Status parse_cpu(const Node& node, CpuResources& cpu) {
    HUSK_TRY(node.expect_object());
    HUSK_TRY(reject_fields(node, {{"realtimeRuntime", "real-time group scheduling"},
                                  {"realtimePeriod", "real-time group scheduling"}}));
    HUSK_TRY(read_field(node, "shares", cpu.shares));
    if (cpu.shares == 0u) cpu.shares.reset();
    if (cpu.shares && (*cpu.shares < 2 || *cpu.shares > 262144))
        return fail_at(member_path(node.path(), "shares"),
                       "{} is out of range [2, 262144] (the kernel's cpu.shares)", *cpu.shares);
    HUSK_TRY(read_field(node, "quota", cpu.quota));
    if (cpu.quota == 0) cpu.quota.reset();
    if (cpu.quota && *cpu.quota != -1 && *cpu.quota < 1000)
        return fail_at(member_path(node.path(), "quota"),
                       "{} us is out of range (-1 for unlimited, or at least 1000 us)", *cpu.quota);
    HUSK_TRY(read_field(node, "period", cpu.period));
    if (cpu.period == 0u) cpu.period.reset();
    if (cpu.period && (*cpu.period < 1000 || *cpu.period > 1000000))
        return fail_at(member_path(node.path(), "period"),
                       "{} us is out of range [1000, 1000000] (the kernel's cfs period)",
                       *cpu.period);
    HUSK_TRY(read_field(node, "burst", cpu.burst));
    if (cpu.burst && cpu.quota && *cpu.quota > 0 && *cpu.burst > uint64_t(*cpu.quota))
        return fail_at(member_path(node.path(), "burst"), "{} us is above the quota {} us",
                       *cpu.burst, *cpu.quota);
    HUSK_TRY(read_field(node, "cpus", cpu.cpus));
    HUSK_TRY(check_cpu_list(node, "cpus", cpu.cpus));
    HUSK_TRY(read_field(node, "mems", cpu.mems));
    HUSK_TRY(check_cpu_list(node, "mems", cpu.mems));
    HUSK_TRY(read_in_range<int64_t>(node, "idle", cpu.idle, 0, 1, "0 or 1"));
    return {};
}

Status parse_device_numbers(const Node& element, int64_t& major, int64_t& minor) {
    HUSK_TRY(read_required(element, "major", major));
    HUSK_TRY(read_required(element, "minor", minor));
    HUSK_TRY(check_device_number(element, "major", major, false));
    return check_device_number(element, "minor", minor, false);
}

Status parse_throttles(const Node& parent, std::string_view key, std::vector<ThrottleDevice>& out) {
    auto node = parent.get(key);
    if (!node) return {};
    auto elements = node->elements();
    if (!elements) return fail(elements.error());
    for (const Node& element : *elements) {
        HUSK_TRY(element.expect_object());
        ThrottleDevice device;
        HUSK_TRY(parse_device_numbers(element, device.major, device.minor));
        HUSK_TRY(read_required(element, "rate", device.rate));
        out.push_back(device);
    }
    return {};
}

Status check_weight(const Node& object, std::optional<uint16_t> weight) {
    if (weight && (*weight < 10 || *weight > 1000))
        return fail_at(member_path(object.path(), "weight"),
                       "{} is out of range [10, 1000] (blkio weight)", *weight);
    return {};
}

Status parse_block_io(const Node& node, BlockIoResources& io) {
    HUSK_TRY(node.expect_object());
    HUSK_TRY(reject_fields(node, {{"leafWeight", "removed from the kernel's blkio controller"}}));
    HUSK_TRY(read_field(node, "weight", io.weight));
    if (io.weight == 0) io.weight.reset();
    HUSK_TRY(check_weight(node, io.weight));
    if (auto devices = node.get("weightDevice")) {
        auto elements = devices->elements();
        if (!elements) return fail(elements.error());
        for (const Node& element : *elements) {
            HUSK_TRY(element.expect_object());
            HUSK_TRY(reject_fields(element, {{"leafWeight", "removed from the kernel"}}));
            WeightDevice device;
            HUSK_TRY(parse_device_numbers(element, device.major, device.minor));
            std::optional<uint16_t> weight;
            HUSK_TRY(read_field(element, "weight", weight));
            if (!weight) return fail_at(member_path(element.path(), "weight"), "required");
            HUSK_TRY(check_weight(element, weight));
            device.weight = *weight;
            io.weight_devices.push_back(device);
        }
    }
    HUSK_TRY(parse_throttles(node, "throttleReadBpsDevice", io.read_bps));
    HUSK_TRY(parse_throttles(node, "throttleWriteBpsDevice", io.write_bps));
    HUSK_TRY(parse_throttles(node, "throttleReadIOPSDevice", io.read_iops));
    HUSK_TRY(parse_throttles(node, "throttleWriteIOPSDevice", io.write_iops));
    return {};
}

// "2MB", "1GB", "64KB": the size part of hugetlb.<size>.limit_in_bytes.
bool is_page_size(const std::string& s) {
    if (s.size() < 3 || !s.ends_with("B")) return false;
    char unit = s[s.size() - 2];
    if (unit != 'K' && unit != 'M' && unit != 'G') return false;
    return s[0] != '0' &&
           std::all_of(s.begin(), s.end() - 2, [](char c) { return c >= '0' && c <= '9'; });
}

Status parse_hugepages(const Node& node, std::vector<HugepageLimit>& out) {
    auto elements = node.elements();
    if (!elements) return fail(elements.error());
    for (const Node& element : *elements) {
        HUSK_TRY(element.expect_object());
        HugepageLimit limit;
        HUSK_TRY(read_required(element, "pageSize", limit.page_size));
        if (!is_page_size(limit.page_size))
            return fail_at(member_path(element.path(), "pageSize"),
                           "{} is not a page size (like \"2MB\" or \"1GB\")",
                           quote(limit.page_size));
        HUSK_TRY(read_required(element, "limit", limit.limit));
        out.push_back(limit);
    }
    return {};
}

Status parse_network(const Node& node, NetworkResources& network) {
    HUSK_TRY(node.expect_object());
    HUSK_TRY(read_field(node, "classID", network.class_id));
    if (auto priorities = node.get("priorities")) {
        auto elements = priorities->elements();
        if (!elements) return fail(elements.error());
        for (const Node& element : *elements) {
            HUSK_TRY(element.expect_object());
            std::string name;
            uint32_t priority = 0;
            HUSK_TRY(read_required(element, "name", name));
            // Written as "NAME PRIORITY" into net_prio.ifpriomap: a plain interface name.
            if (name.empty() || name.size() > 15 ||
                name.find_first_of(" \t\n/") != std::string::npos)
                return fail_at(member_path(element.path(), "name"),
                               "{} is not a network interface name", quote(name));
            HUSK_TRY(read_required(element, "priority", priority));
            network.priorities.emplace_back(name, priority);
        }
    }
    return {};
}

// The cgroup v2 interface files a container may set through `unified`: writable, per-cgroup
// limits. cgroup.* core files (procs, subtree_control, freeze) belong to the runtime.
bool is_known_unified_key(const std::string& key) {
    static constexpr std::array kKeys = {"cpu.weight",       "cpu.weight.nice",
                                         "cpu.max",          "cpu.max.burst",
                                         "cpu.idle",         "cpu.uclamp.min",
                                         "cpu.uclamp.max",   "cpuset.cpus",
                                         "cpuset.mems",      "cpuset.cpus.partition",
                                         "io.weight",        "io.bfq.weight",
                                         "io.max",           "io.latency",
                                         "memory.min",       "memory.low",
                                         "memory.high",      "memory.max",
                                         "memory.swap.high", "memory.swap.max",
                                         "memory.zswap.max", "memory.zswap.writeback",
                                         "memory.oom.group", "pids.max",
                                         "rdma.max",         "misc.max"};
    if (std::find(kKeys.begin(), kKeys.end(), key) != kKeys.end()) return true;
    // hugetlb.<size>.max and hugetlb.<size>.rsvd.max
    if (!key.starts_with("hugetlb.")) return false;
    std::string rest = key.substr(8);
    for (std::string_view suffix : {".rsvd.max", ".max"})
        if (rest.ends_with(suffix) && is_page_size(rest.substr(0, rest.size() - suffix.size())))
            return true;
    return false;
}

Status parse_unified(const Node& node, std::map<std::string, std::string>& out) {
    HUSK_TRY(decode(node, out));
    for (const auto& [key, value] : out) {
        std::string path = member_path(node.path(), key);
        if (!is_known_unified_key(key))
            return fail_at(path,
                           "unknown cgroup v2 file {} (husk sets limits such as "
                           "\"memory.high\", \"cpu.max\", \"pids.max\")",
                           quote(key));
        if (value.empty() || value.find('\n') != std::string::npos)
            return fail_at(path, "{} is not a single-line value", quote(value));
    }
    return {};
}

}  // namespace

Status parse_resources_node(const Node& node, Resources& out) {
    HUSK_TRY(node.expect_object());
    HUSK_TRY(reject_fields(node, {{"rdma", "not implemented"}}));
    if (auto devices = node.get("devices")) HUSK_TRY(parse_device_rules(*devices, out.devices));
    if (auto memory = node.get("memory")) HUSK_TRY(parse_memory(*memory, out.memory.emplace()));
    if (auto cpu = node.get("cpu")) HUSK_TRY(parse_cpu(*cpu, out.cpu.emplace()));
    if (auto pids = node.get("pids")) {
        HUSK_TRY(pids->expect_object());
        int64_t limit = 0;
        HUSK_TRY(read_required(*pids, "limit", limit));
        if (limit < -1)
            return fail_at(member_path(pids->path(), "limit"),
                           "{} is negative (use -1 for unlimited)", limit);
        // 0 means "not set", as runc reads it.
        if (limit != 0) out.pids_limit = limit;
    }
    if (auto io = node.get("blockIO")) HUSK_TRY(parse_block_io(*io, out.block_io.emplace()));
    if (auto huge = node.get("hugepageLimits"))
        HUSK_TRY(parse_hugepages(*huge, out.hugepage_limits));
    if (auto network = node.get("network"))
        HUSK_TRY(parse_network(*network, out.network.emplace()));
    if (auto unified = node.get("unified")) HUSK_TRY(parse_unified(*unified, out.unified));
    return {};
}

Status validate_cgroups_path(const Node& node, const std::string& path) {
    if (path.empty()) return {};
    // "system.slice:husk:ctr" is the systemd driver's form: the runtime checks it, knowing
    // which driver it uses.
    if (path.find(':') != std::string::npos) return {};
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string::npos) end = path.size();
        if (path.compare(start, end - start, "..") == 0)
            return node.fail("{} contains \"..\": a cgroup path must stay below its root",
                             quote(path));
        start = end + 1;
    }
    return {};
}

}  // namespace detail

bool Resources::empty() const {
    bool no_memory = !memory || (!memory->limit && !memory->reservation && !memory->swap &&
                                 !memory->swappiness && !memory->disable_oom_killer);
    bool no_cpu = !cpu || (!cpu->shares && !cpu->quota && !cpu->period && !cpu->burst &&
                           cpu->cpus.empty() && cpu->mems.empty() && !cpu->idle);
    bool no_io = !block_io || (!block_io->weight && block_io->weight_devices.empty() &&
                               block_io->read_bps.empty() && block_io->write_bps.empty() &&
                               block_io->read_iops.empty() && block_io->write_iops.empty());
    bool no_net = !network || (!network->class_id && network->priorities.empty());
    return devices.empty() && no_memory && no_cpu && !pids_limit && no_io &&
           hugepage_limits.empty() && no_net && unified.empty();
}

Result<Resources> parse_resources(const std::string& json_text, const std::string& source) {
    detail::Json document = detail::Json::parse(json_text, nullptr, false);
    if (document.is_discarded()) return fail_invalid("{}: not valid JSON", source);
    Resources resources;
    auto status = detail::parse_resources_node(detail::Node(document, "resources"), resources);
    if (!status) return fail(status.error().wrap("{}", source));
    return resources;
}

}  // namespace husk::oci
