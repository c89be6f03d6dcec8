#include "net/firewall.hpp"

#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "net/firewall_rules.hpp"

namespace husk::net {

static Error nftables_missing(int err) {
    return Error(0, fmt::format("nf_tables is not available in this kernel ({}): bridge networking "
                                "needs it for NAT and isolation; load it with `modprobe nf_tables "
                                "nft_chain_nat nft_masq nft_fib_inet` (or use a kernel with "
                                "CONFIG_NF_TABLES), or run with --network host or --network none",
                                std::strerror(err)));
}

Status check_nftables() {
    if (const char* sim = std::getenv("HUSK_NET_SIMULATE_NO_NFTABLES"); sim && *sim == '1')
        return fail(nftables_missing(EPROTONOSUPPORT));
    mnl_socket* sock = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
    if (!sock) return fail(nftables_missing(errno));
    auto close = [&] { mnl_socket_close(sock); };
    if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) {
        int err = errno;
        close();
        return fail(nftables_missing(err));
    }
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    nlh->nlmsg_seq = 1;
    auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
    nfg->nfgen_family = AF_UNSPEC;
    nfg->version = NFNETLINK_V0;
    if (mnl_socket_sendto(sock, nlh, nlh->nlmsg_len) < 0) {
        int err = errno;
        close();
        return fail(nftables_missing(err));
    }
    uint32_t portid = mnl_socket_get_portid(sock);
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(sock, buf.data(), buf.size());
        if (n < 0) {
            int err = errno;
            close();
            return fail(nftables_missing(err));
        }
        int rc = mnl_cb_run(buf.data(), n, 1, portid, nullptr, nullptr);
        if (rc == MNL_CB_ERROR) {
            int err = errno;
            close();
            return fail(nftables_missing(err));
        }
        if (rc == MNL_CB_STOP) break;
    }
    close();
    return {};
}

Status run_nft(const std::string& script) {
    nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!ctx) return fail_invalid("libnftables: cannot create a context");
    nft_ctx_buffer_output(ctx);
    nft_ctx_buffer_error(ctx);
    int rc = nft_run_cmd_from_buffer(ctx, script.c_str());
    // Each get_*_buffer call hands the text over and empties the buffer: call each once.
    const char* error_text = nft_ctx_get_error_buffer(ctx);
    const char* output_text = nft_ctx_get_output_buffer(ctx);
    std::string err = error_text ? error_text : "";
    if (err.empty() && output_text) err = output_text;
    if (err.empty()) err = "(nft gave no message)";
    nft_ctx_free(ctx);
    if (rc != 0) {
        while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
        return fail_invalid("nftables refused husk's rules: {}", err);
    }
    return {};
}

Status sync_firewall(const std::string& table, const std::vector<Network>& networks) {
    if (networks.empty()) return run_nft(render_delete(table));
    HUSK_TRY(check_nftables());
    return run_nft(render_ruleset(table, networks));
}

}  // namespace husk::net
