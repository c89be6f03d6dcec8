// The live probes: each acts on the kernel in a child process with its own mount or network
// namespace, so whatever it creates dies with the child and the host is left as it was.
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <nftables/libnftables.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <functional>

#include "common/files.hpp"
#include "system/host.hpp"

namespace husk::system {
namespace {

// Runs `fn` in a forked child; its returned string (empty = success) comes back through a
// pipe. The child never returns into the caller's code.
ProbeResult in_child(const std::function<std::string()>& fn) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return {false, fmt::format("pipe: {}", strerror(errno))};
    pid_t pid = ::fork();
    if (pid < 0) {
        int saved = errno;
        ::close(fds[0]);
        ::close(fds[1]);
        return {false, fmt::format("fork: {}", strerror(saved))};
    }
    if (pid == 0) {
        ::close(fds[0]);
        std::string msg = fn();
        if (!msg.empty()) (void)!::write(fds[1], msg.data(), msg.size());
        ::_exit(msg.empty() ? 0 : 1);
    }
    ::close(fds[1]);
    std::string msg;
    std::array<char, 4096> buf;
    ssize_t n;
    while ((n = ::read(fds[0], buf.data(), buf.size())) > 0 || (n < 0 && errno == EINTR))
        if (n > 0) msg.append(buf.data(), static_cast<size_t>(n));
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {true, ""};
    if (msg.empty()) msg = fmt::format("probe process ended with status {:#x}", status);
    return {false, msg};
}

std::string errno_text(const std::string& what) {
    return fmt::format("{}: {}", what, strerror(errno));
}

// One rtnetlink request that must be acknowledged.
std::string rtnl_request(mnl_socket* sock, nlmsghdr* nlh, const char* what) {
    unsigned seq = static_cast<unsigned>(time(nullptr));
    nlh->nlmsg_seq = seq;
    if (mnl_socket_sendto(sock, nlh, nlh->nlmsg_len) < 0) return errno_text(what);
    std::array<char, 8192> buf;
    ssize_t n = mnl_socket_recvfrom(sock, buf.data(), buf.size());
    if (n < 0) return errno_text(what);
    if (mnl_cb_run(buf.data(), static_cast<size_t>(n), seq, mnl_socket_get_portid(sock), nullptr,
                   nullptr) < 0)
        return errno_text(what);
    return "";
}

nlmsghdr* new_link_header(char* buf) {
    auto* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWLINK;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    return nlh;
}

std::string make_links() {
    if (::unshare(CLONE_NEWNET) != 0) return errno_text("unshare a network namespace");
    mnl_socket* sock = mnl_socket_open(NETLINK_ROUTE);
    if (!sock) return errno_text("open an rtnetlink socket");
    if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) return errno_text("bind rtnetlink");
    std::array<char, 8192> buf{};

    auto* nlh = new_link_header(buf.data());
    mnl_attr_put_strz(nlh, IFLA_IFNAME, "husk-probe-br");
    auto* info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
    mnl_attr_nest_end(nlh, info);
    if (auto err = rtnl_request(sock, nlh, "create a bridge (ip link add type bridge)");
        !err.empty())
        return err;

    buf.fill(0);
    nlh = new_link_header(buf.data());
    mnl_attr_put_strz(nlh, IFLA_IFNAME, "husk-probe0");
    info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
    auto* data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    auto* peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
    // The peer's payload starts with its own ifinfomsg.
    nlh->nlmsg_len += MNL_ALIGN(sizeof(ifinfomsg));
    mnl_attr_put_strz(nlh, IFLA_IFNAME, "husk-probe1");
    mnl_attr_nest_end(nlh, peer);
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, info);
    if (auto err = rtnl_request(sock, nlh, "create a veth pair (ip link add type veth)");
        !err.empty())
        return err;

    // Enslave one end to the bridge, as a container's veth is.
    buf.fill(0);
    nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = RTM_NEWLINK;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifi->ifi_index = static_cast<int>(if_nametoindex("husk-probe0"));
    mnl_attr_put_u32(nlh, IFLA_MASTER, if_nametoindex("husk-probe-br"));
    if (auto err = rtnl_request(sock, nlh, "attach a veth to the bridge"); !err.empty()) return err;
    mnl_socket_close(sock);
    return "";
}

std::string load_nft_probe() {
    if (::unshare(CLONE_NEWNET) != 0) return errno_text("unshare a network namespace");
    // libnftables exit()s when it cannot open its socket: ask first, to name the reason.
    int sock = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
    if (sock < 0) return errno_text("open a netfilter netlink socket (nfnetlink)");
    ::close(sock);
    nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!ctx) return "libnftables: cannot create a context";
    nft_ctx_buffer_output(ctx);
    nft_ctx_buffer_error(ctx);
    // Each step separately so the answer names what the kernel lacks.
    struct Step {
        const char* what;
        const char* cmd;
    };
    const Step steps[] = {
        {"nf_tables (nft list tables)", "list tables"},
        {"an nf_tables table (nft add table inet husk_probe)", "add table inet husk_probe"},
        {"a nat chain (nft_chain_nat)",
         "add table ip husk_probe; add chain ip husk_probe post { type nat hook postrouting "
         "priority 100; }"},
        {"masquerade (nft_masq)", "add rule ip husk_probe post masquerade"},
        {"connection tracking (nf_conntrack)",
         "add chain ip husk_probe forward_probe { type filter hook forward priority 0; }; add "
         "rule ip husk_probe forward_probe ct state established,related accept"},
    };
    for (auto& step : steps) {
        if (nft_run_cmd_from_buffer(ctx, step.cmd) != 0) {
            std::string error = nft_ctx_get_error_buffer(ctx);
            while (!error.empty() && (error.back() == '\n' || error.back() == ' '))
                error.pop_back();
            auto nl = error.find('\n');
            if (nl != std::string::npos) error = error.substr(0, nl);
            nft_ctx_free(ctx);
            return fmt::format("{}: {}", step.what, error.empty() ? "failed" : error);
        }
    }
    nft_ctx_free(ctx);
    return "";
}

}  // namespace

std::string filesystem_name(long magic) {
    switch (static_cast<unsigned long>(magic)) {
        case EXT4_SUPER_MAGIC:
            return "ext4";
        case XFS_SUPER_MAGIC:
            return "xfs";
        case BTRFS_SUPER_MAGIC:
            return "btrfs";
        case TMPFS_MAGIC:
            return "tmpfs";
        case OVERLAYFS_SUPER_MAGIC:
            return "overlay";
        case NFS_SUPER_MAGIC:
            return "nfs";
        case 0x2fc12fc1:
            return "zfs";
        case F2FS_SUPER_MAGIC:
            return "f2fs";
        case SQUASHFS_MAGIC:
            return "squashfs";
        case RAMFS_MAGIC:
            return "ramfs";
        case FUSE_SUPER_MAGIC:
            return "fuse";
        case MSDOS_SUPER_MAGIC:
            return "vfat";
        case V9FS_MAGIC:
            return "9p";
        case EROFS_SUPER_MAGIC_V1:
            return "erofs";
        case PROC_SUPER_MAGIC:
            return "proc";
        case SYSFS_MAGIC:
            return "sysfs";
        case CGROUP_SUPER_MAGIC:
            return "cgroup";
        case CGROUP2_SUPER_MAGIC:
            return "cgroup2";
    }
    return fmt::format("unknown (magic {:#x})", static_cast<unsigned long>(magic));
}

std::string existing_ancestor(const std::string& dir) {
    std::string d = dir.empty() ? "/" : dir;
    while (d.size() > 1 && !path_exists(d)) {
        auto slash = d.rfind('/');
        d = slash == 0 ? "/" : d.substr(0, slash);
    }
    return d;
}

OverlayProbe LiveProbes::overlay(const std::string& dir) {
    OverlayProbe out;
    out.probed_dir = existing_ancestor(dir);
    struct statfs fs {};
    if (::statfs(out.probed_dir.c_str(), &fs) == 0) out.backing_fs = filesystem_name(fs.f_type);
    std::string tmpl =
        out.probed_dir + (out.probed_dir == "/" ? "" : "/") + ".husk-overlay-probe-XXXXXX";
    if (!::mkdtemp(tmpl.data())) {
        out.reason = fmt::format("cannot create a probe directory in {} ({}): {}", out.probed_dir,
                                 out.backing_fs, strerror(errno));
        return out;
    }
    const std::string tmp = tmpl;
    auto result = in_child([&]() -> std::string {
        // A private mount namespace: the probe's mount never reaches the host.
        if (::unshare(CLONE_NEWNS) != 0) return errno_text("unshare a mount namespace");
        if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
            return errno_text("make / private");
        for (auto* sub : {"/lower", "/upper", "/work", "/merged"})
            if (::mkdir((tmp + sub).c_str(), 0700) != 0) return errno_text("mkdir " + tmp + sub);
        if (::mkdir((tmp + "/lower/d").c_str(), 0700) != 0) return errno_text("mkdir lower/d");
        std::string opts =
            fmt::format("lowerdir={0}/lower,upperdir={0}/upper,workdir={0}/work", tmp);
        if (::mount("overlay", (tmp + "/merged").c_str(), "overlay", 0, opts.c_str()) != 0)
            return errno_text(fmt::format("mount overlay with upperdir on {}", tmp));
        // A copy-up: what a container's first write to an image file does.
        int fd = ::open((tmp + "/merged/d/f").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) return errno_text("write through the overlay (copy-up)");
        ::close(fd);
        return "";
    });
    (void)remove_tree(tmp);
    out.usable = result.ok;
    if (!result.ok) out.reason = result.detail;
    return out;
}

ProbeResult LiveProbes::nftables() {
    auto result = in_child(load_nft_probe);
    if (result.ok)
        result.detail =
            "nf_tables, nat chain, masquerade and conntrack rules load in a fresh "
            "network namespace";
    return result;
}

ProbeResult LiveProbes::veth_bridge() {
    auto result = in_child(make_links);
    if (result.ok)
        result.detail = "a bridge and a veth pair were created in a fresh network namespace";
    return result;
}

int LiveProbes::try_unshare(int flags) {
    auto result = in_child([flags]() -> std::string {
        if (::unshare(flags) != 0) return std::to_string(errno);
        return "";
    });
    if (result.ok) return 0;
    try {
        return std::stoi(result.detail);
    } catch (...) {
        return EINVAL;
    }
}

std::optional<DiskSpace> LiveProbes::disk_space(const std::string& dir) {
    struct statvfs st {};
    if (::statvfs(existing_ancestor(dir).c_str(), &st) != 0) return std::nullopt;
    DiskSpace d;
    d.free_bytes = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
    d.total_bytes = static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
    d.free_inodes = st.f_favail;
    d.total_inodes = st.f_files;
    return d;
}

}  // namespace husk::system
