// Every doctor check against fixture trees: data/hybrid (this machine as measured),
// data/degraded (a guest where most things are wrong), data/cgroup-hidden (an empty tmpfs
// over /sys/fs/cgroup) and data/bare (nothing mounted at all). Probes are scripted.
#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>

#include "fake_probes.hpp"
#include "system/doctor.hpp"

namespace husk::system {
namespace {

using testing::FakeProbes;

HostView fixture(const std::string& name) {
    HostView host;
    host.root = std::string(HUSK_TEST_DATA_DIR) + "/" + name;
    host.storage_dir = "/var/lib/husk";
    return host;
}

const CheckResult& find(const std::vector<CheckResult>& results, const std::string& id) {
    auto it = std::find_if(results.begin(), results.end(),
                           [&](const CheckResult& r) { return r.id == id; });
    if (it == results.end()) throw std::runtime_error("no check " + id);
    return *it;
}

std::string all_evidence(const CheckResult& r) {
    std::string out;
    for (auto& e : r.evidence) out += e + "\n";
    return out;
}

bool contains(const std::string& hay, const std::string& needle) {
    return hay.find(needle) != std::string::npos;
}

struct Doctor : ::testing::Test {
    FakeProbes probes;
    std::vector<CheckResult> run(const std::string& name) {
        return run_doctor(fixture(name), &probes);
    }
};

TEST_F(Doctor, MountsOnThisMachinePass) {
    auto r = run("hybrid");
    for (auto* id : {"mounts.proc", "mounts.sys", "mounts.dev", "mounts.devpts", "mounts.shm"}) {
        EXPECT_EQ(find(r, id).level, Level::pass) << id << ": " << find(r, id).summary;
        EXPECT_TRUE(find(r, id).facts["mounted"].get<bool>()) << id;
    }
    EXPECT_EQ(find(r, "mounts.dev").facts["fs_type"], "devtmpfs");
}

TEST_F(Doctor, MissingAndReadOnlyMounts) {
    auto r = run("degraded");
    EXPECT_EQ(find(r, "mounts.proc").level, Level::pass);
    auto& pts = find(r, "mounts.devpts");
    EXPECT_EQ(pts.level, Level::warn);
    EXPECT_TRUE(contains(pts.summary, "not mounted"));
    EXPECT_TRUE(contains(pts.fix, "mount -t devpts"));
    auto& shm = find(r, "mounts.shm");
    EXPECT_EQ(shm.level, Level::warn);
    EXPECT_TRUE(contains(shm.summary, "read-only")) << shm.summary;
    EXPECT_EQ(shm.fix, "mount -o remount,rw /dev/shm");
}

TEST_F(Doctor, BareGuestFailsWithTheBootstrapAsFix) {
    auto r = run("bare");
    auto& proc = find(r, "mounts.proc");
    EXPECT_EQ(proc.level, Level::fail);
    EXPECT_TRUE(contains(proc.summary, "cannot read the mount table")) << proc.summary;
    EXPECT_TRUE(contains(proc.fix, "husk system bootstrap"));
    EXPECT_EQ(find(r, "cgroups.layout").level, Level::fail);
    EXPECT_EQ(find(r, "security.capabilities").level, Level::fail);
    EXPECT_EQ(doctor_exit_status(r), 2);
}

TEST_F(Doctor, HybridCgroupsAsOnThisMachine) {
    auto r = run("hybrid");
    auto& layout = find(r, "cgroups.layout");
    EXPECT_EQ(layout.level, Level::pass);
    EXPECT_EQ(layout.facts["layout"], "hybrid");
    EXPECT_TRUE(contains(layout.summary, "memory")) << layout.summary;
    EXPECT_TRUE(contains(layout.summary, "/sys/fs/cgroup/unified (hugetlb)")) << layout.summary;
    EXPECT_EQ(layout.facts["hierarchies"].size(), 10u);  // 9 v1 incl. name=systemd, 1 v2

    auto& controllers = find(r, "cgroups.controllers");
    EXPECT_EQ(controllers.level, Level::pass);
    EXPECT_EQ(controllers.facts["v2_not_enabled"], nlohmann::json({"hugetlb"}));
    EXPECT_TRUE(contains(controllers.summary, "does not delegate it")) << controllers.summary;

    auto& delegation = find(r, "cgroups.delegation");
    EXPECT_EQ(delegation.level, Level::pass);
    EXPECT_TRUE(contains(delegation.summary, "root cgroup")) << delegation.summary;

    auto& systemd = find(r, "cgroups.systemd");
    EXPECT_FALSE(systemd.facts["running"].get<bool>());
    EXPECT_EQ(systemd.facts["pid1"], "process_api");
    EXPECT_EQ(find(r, "cgroups.writable").level, Level::pass);
}

TEST_F(Doctor, HiddenCgroupFilesystemIsNone) {
    auto r = run("cgroup-hidden");
    auto& layout = find(r, "cgroups.layout");
    EXPECT_EQ(layout.facts["layout"], "none");
    EXPECT_EQ(layout.level, Level::warn);
    EXPECT_TRUE(contains(layout.summary, "every resource limit is refused")) << layout.summary;
    EXPECT_TRUE(contains(all_evidence(layout), "hidden by a later mount")) << all_evidence(layout);
    EXPECT_TRUE(contains(layout.fix, "mount -t cgroup2"));
}

TEST_F(Doctor, NoInternalProcessesBlockDelegation) {
    auto r = run("degraded");
    auto& layout = find(r, "cgroups.layout");
    EXPECT_EQ(layout.facts["layout"], "v2");
    auto& controllers = find(r, "cgroups.controllers");
    EXPECT_EQ(controllers.level, Level::warn);
    EXPECT_TRUE(contains(controllers.summary, "cpu memory pids not usable")) << controllers.summary;
    EXPECT_TRUE(contains(controllers.fix,
                         "echo '+cpu +memory +pids' > "
                         "/sys/fs/cgroup/guest/cgroup.subtree_control"))
        << controllers.fix;
    auto& delegation = find(r, "cgroups.delegation");
    EXPECT_EQ(delegation.level, Level::warn);
    EXPECT_TRUE(contains(delegation.summary, "2 processes in /guest")) << delegation.summary;
    EXPECT_TRUE(contains(delegation.summary, "no internal processes"));
    EXPECT_TRUE(contains(delegation.fix, "/sys/fs/cgroup/guest/husk-host"));
    EXPECT_EQ(find(r, "cgroups.systemd").facts["pid1"], "sh");
}

TEST_F(Doctor, ReadOnlyCgroupMount) {
    // The degraded table with its cgroup2 made read-only.
    HostView host = fixture("degraded");
    Context ctx = make_context(host, &probes);
    for (auto& m : ctx.mounts)
        if (m.fs_type == "cgroup2") m.options = "ro,nosuid";
    std::vector<CheckResult> r;
    check_cgroups(ctx, r);
    auto& writable = find(r, "cgroups.writable");
    EXPECT_EQ(writable.level, Level::warn);
    EXPECT_TRUE(contains(writable.fix, "mount -o remount,rw /sys/fs/cgroup")) << writable.fix;
}

TEST_F(Doctor, Namespaces) {
    auto ok = run("hybrid");
    EXPECT_EQ(find(ok, "namespaces.available").level, Level::pass);
    EXPECT_EQ(find(ok, "namespaces.limits").level, Level::pass);
    EXPECT_EQ(find(ok, "namespaces.limits").facts["max_user_namespaces"], "96365");

    auto bad = run("degraded");
    auto& avail = find(bad, "namespaces.available");
    EXPECT_EQ(avail.level, Level::warn);  // time is missing: optional
    EXPECT_TRUE(contains(avail.summary, "time")) << avail.summary;
    auto& limits = find(bad, "namespaces.limits");
    EXPECT_EQ(limits.level, Level::warn);
    EXPECT_TRUE(contains(limits.summary, "max_user_namespaces")) << limits.summary;
    EXPECT_TRUE(contains(limits.summary, "unprivileged_userns_clone"));
    EXPECT_TRUE(contains(limits.fix, "sysctl -w user.max_user_namespaces=15000"));
    EXPECT_TRUE(contains(limits.fix, "sysctl -w kernel.unprivileged_userns_clone=1"));
}

TEST_F(Doctor, NamespaceRefusedByTheKernelFails) {
    probes.unshare_errno[CLONE_NEWPID] = EPERM;
    auto r = run("hybrid");
    auto& avail = find(r, "namespaces.available");
    EXPECT_EQ(avail.level, Level::fail);
    EXPECT_TRUE(contains(avail.summary, "pid")) << avail.summary;
    EXPECT_TRUE(contains(all_evidence(avail), "unshare(pid) failed: Operation not permitted"));
}

TEST_F(Doctor, SeccompAndCapabilities) {
    auto ok = run("hybrid");
    EXPECT_EQ(find(ok, "security.seccomp").level, Level::pass);
    auto& caps = find(ok, "security.capabilities");
    EXPECT_EQ(caps.level, Level::warn);
    EXPECT_EQ(caps.facts["missing"], nlohmann::json({"CAP_SYS_RESOURCE"}));
    EXPECT_TRUE(contains(all_evidence(caps), "CAP_SYS_RESOURCE missing: rlimits"));

    auto bad = run("degraded");
    auto& seccomp = find(bad, "security.seccomp");
    EXPECT_EQ(seccomp.level, Level::warn);
    EXPECT_TRUE(contains(seccomp.summary, "no seccomp")) << seccomp.summary;
    auto& bcaps = find(bad, "security.capabilities");
    EXPECT_EQ(bcaps.level, Level::fail);
    EXPECT_EQ(bcaps.facts["missing"], nlohmann::json({"CAP_SYS_ADMIN"}));
}

TEST_F(Doctor, CapabilityNames) {
    EXPECT_EQ(capability_name(24), "CAP_SYS_RESOURCE");
    EXPECT_EQ(capability_name(21), "CAP_SYS_ADMIN");
    EXPECT_EQ(capability_names(0x3, 40),
              (std::vector<std::string>{"CAP_CHOWN", "CAP_DAC_OVERRIDE"}));
}

TEST_F(Doctor, OverlayProbeAndFallback) {
    auto ok = run("hybrid");
    auto& overlay = find(ok, "storage.overlay");
    EXPECT_EQ(overlay.level, Level::pass);
    EXPECT_EQ(probes.overlay_dir_asked, "/var/lib/husk");
    EXPECT_EQ(overlay.facts["backing_fs"], "ext4");

    probes.overlay_answer = {false, "mount overlay with upperdir on /x: Invalid argument",
                             "overlay", "/x"};
    auto bad = run("hybrid");
    auto& b = find(bad, "storage.overlay");
    EXPECT_EQ(b.level, Level::warn);
    EXPECT_TRUE(contains(b.summary, "vfs")) << b.summary;
    EXPECT_TRUE(contains(all_evidence(b), "Invalid argument"));
    EXPECT_TRUE(contains(b.fix, "overlay cannot be an overlay upper layer")) << b.fix;

    // Not even listed: the module is the fix.
    auto missing = run("degraded");
    EXPECT_EQ(find(missing, "storage.overlay").fix,
              "modprobe overlay   # a Debian guest needs the overlay module");
}

TEST_F(Doctor, Fuse) {
    EXPECT_EQ(find(run("hybrid"), "storage.fuse").level, Level::pass);
    auto degraded = run("degraded");
    auto& f = find(degraded, "storage.fuse");
    EXPECT_EQ(f.level, Level::warn);
    EXPECT_TRUE(contains(f.fix, "modprobe fuse && mknod -m 0666 /dev/fuse c 10 229"));
}

TEST_F(Doctor, DiskSpace) {
    EXPECT_EQ(find(run("hybrid"), "storage.disk").level, Level::pass);
    probes.disk = DiskSpace{1ull << 30, 10ull << 30, 100000, 200000};
    EXPECT_EQ(find(run("hybrid"), "storage.disk").level, Level::warn);
    probes.disk = DiskSpace{100ull << 20, 10ull << 30, 100000, 200000};
    auto low = run("hybrid");
    auto& d = find(low, "storage.disk");
    EXPECT_EQ(d.level, Level::fail);
    EXPECT_TRUE(contains(d.summary, "100.0 MiB free")) << d.summary;
}

TEST_F(Doctor, NetworkOnThisMachine) {
    auto r = run("hybrid");
    EXPECT_EQ(find(r, "network.nftables").level, Level::pass);
    auto& ipt = find(r, "network.iptables");
    EXPECT_EQ(ipt.facts["variant"], "nft");
    EXPECT_EQ(ipt.level, Level::pass);
    EXPECT_TRUE(contains(all_evidence(ipt), "/usr/sbin/iptables -> /usr/sbin/iptables-nft"));
    auto& sysctls = find(r, "network.sysctls");
    EXPECT_EQ(sysctls.level, Level::pass);
    EXPECT_EQ(sysctls.facts["ip_forward"], "0");
    EXPECT_TRUE(sysctls.facts["ip_forward_writable"].get<bool>());
    EXPECT_EQ(find(r, "network.veth_bridge").level, Level::pass);
}

TEST_F(Doctor, NoNftablesFailsNetworkingWithTheModules) {
    probes.nft_answer = {false, "nf_tables (nft list tables): Protocol not supported"};
    probes.links_answer = {false,
                           "create a veth pair (ip link add type veth): Operation not "
                           "supported"};
    auto r = run("hybrid");
    auto& nft = find(r, "network.nftables");
    EXPECT_EQ(nft.level, Level::fail);
    EXPECT_TRUE(contains(nft.summary, "bridge networking is unavailable"));
    EXPECT_TRUE(contains(
        nft.fix, "modprobe -a nf_tables nft_chain_nat nft_nat nft_masq nf_conntrack nft_ct"));
    EXPECT_TRUE(contains(all_evidence(nft), "Protocol not supported"));
    auto& ipt = find(r, "network.iptables");
    EXPECT_EQ(ipt.level, Level::warn);
    EXPECT_TRUE(contains(ipt.summary, "Failed to initialize nft")) << ipt.summary;
    auto& links = find(r, "network.veth_bridge");
    EXPECT_EQ(links.level, Level::fail);
    EXPECT_TRUE(contains(links.fix, "modprobe -a veth bridge"));
    EXPECT_EQ(doctor_exit_status(r), 2);
}

TEST_F(Doctor, LegacyIptablesAndReadOnlySysctls) {
    auto r = run("degraded");
    auto& ipt = find(r, "network.iptables");
    EXPECT_EQ(ipt.facts["variant"], "legacy");
    EXPECT_EQ(ipt.level, Level::warn);
    EXPECT_TRUE(contains(ipt.summary, "FORWARD policy")) << ipt.summary;
    auto& sysctls = find(r, "network.sysctls");
    EXPECT_EQ(sysctls.level, Level::warn);
    EXPECT_FALSE(sysctls.facts["ip_forward_writable"].get<bool>());
    EXPECT_TRUE(contains(all_evidence(sysctls), "read-only mount (proc at /proc/sys)"))
        << all_evidence(sysctls);
}

TEST_F(Doctor, ExitStatusAndJson) {
    std::vector<CheckResult> r(2);
    EXPECT_EQ(doctor_exit_status(r), 0);
    r[1].level = Level::warn;
    EXPECT_EQ(doctor_exit_status(r), 1);
    r[0].level = Level::fail;
    EXPECT_EQ(doctor_exit_status(r), 2);
    r[0].id = "a.b";
    auto j = doctor_json(r);
    EXPECT_EQ(j["exit_status"], 2);
    EXPECT_EQ(j["status"], "failures");
    EXPECT_EQ(j["checks"][0]["id"], "a.b");
    EXPECT_EQ(j["checks"][0]["status"], "fail");
    EXPECT_EQ(j["counts"]["warn"], 1);
}

TEST_F(Doctor, TextShowsFixesOnlyForProblems) {
    auto r = run("degraded");
    auto text = doctor_text(r, false, false);
    EXPECT_TRUE(contains(text, "WARN /dev/pts mounted")) << text;
    EXPECT_TRUE(contains(text, "fix: husk system bootstrap")) << text;
    EXPECT_TRUE(contains(text, "failed,")) << text;
    EXPECT_FALSE(contains(text, "\033[")) << "no color when not asked";
}

}  // namespace
}  // namespace husk::system
