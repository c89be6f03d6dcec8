#include "net/firewall.hpp"

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/background.hpp"
#include "net/firewall_rules.hpp"

namespace husk::net {

namespace {

Error nftables_missing(int err) {
    return Error(0, fmt::format("nf_tables is not available in this kernel ({}): bridge networking "
                                "needs it for NAT and isolation; load it with `modprobe nf_tables "
                                "nft_chain_nat nft_masq nft_fib_inet` (or use a kernel with "
                                "CONFIG_NF_TABLES), or run with --network host or --network none",
                                std::strerror(err)));
}

// One nf_tables request with an ack; returns 0 or the errno the kernel (or the socket)
// answered. `fill` adds the attributes.
int nft_request(uint16_t msg, uint8_t family, const std::function<void(nlmsghdr*)>& fill) {
    mnl_socket* sock = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
    if (!sock) return errno;
    struct Closer {
        mnl_socket* s;
        ~Closer() { mnl_socket_close(s); }
    } closer{sock};
    if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) return errno;
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | msg;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    nlh->nlmsg_seq = 1;
    auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
    nfg->nfgen_family = family;
    nfg->version = NFNETLINK_V0;
    if (fill) fill(nlh);
    if (mnl_socket_sendto(sock, nlh, nlh->nlmsg_len) < 0) return errno;
    uint32_t portid = mnl_socket_get_portid(sock);
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(sock, buf.data(), buf.size());
        if (n < 0) return errno;
        int rc = mnl_cb_run(buf.data(), n, 1, portid, nullptr, nullptr);
        if (rc == MNL_CB_ERROR) return errno;
        if (rc == MNL_CB_STOP) return 0;
    }
}

// Frees a libnftables context that committed, or leaves it (and its socket, whose close
// waits for the commit's deferred frees) to the background cleanup.
void release(nft_ctx* ctx) {
    if (background_cleanup())
        left_open();
    else
        nft_ctx_free(ctx);
}

// The JSON form of `list table inet T` (with handles); null when there is no such table.
Result<nlohmann::json> list_table_json(const std::string& table) {
    nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!ctx) return fail_invalid("libnftables: cannot create a context");
    nft_ctx_buffer_output(ctx);
    nft_ctx_buffer_error(ctx);
    nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
    std::string cmd = "list table inet " + table;
    int rc = nft_run_cmd_from_buffer(ctx, cmd.c_str());
    // Each get_*_buffer call hands the text over and empties the buffer: call each once.
    const char* out_text = nft_ctx_get_output_buffer(ctx);
    const char* err_text = nft_ctx_get_error_buffer(ctx);
    std::string out = out_text ? out_text : "";
    std::string err = err_text ? err_text : "";
    nft_ctx_free(ctx);  // no commit: nothing to wait for on the close
    if (rc != 0) {
        if (err.find("No such file or directory") != std::string::npos) return nlohmann::json();
        while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
        return fail_invalid("nftables: list table inet {}: {}", table, err);
    }
    auto j = nlohmann::json::parse(out, nullptr, false);
    if (j.is_discarded())
        return fail_invalid("nftables: list table inet {}: unreadable JSON", table);
    return j;
}

}  // namespace

Status check_nftables() {
    if (const char* sim = std::getenv("HUSK_NET_SIMULATE_NO_NFTABLES"); sim && *sim == '1')
        return fail(nftables_missing(EPROTONOSUPPORT));
    int err = nft_request(NFT_MSG_GETGEN, AF_UNSPEC, nullptr);
    if (err != 0) return fail(nftables_missing(err));
    return {};
}

Result<bool> network_chains_present(const std::string& table, const Network& n) {
    if (const char* sim = std::getenv("HUSK_NET_SIMULATE_NO_NFTABLES"); sim && *sim == '1')
        return fail(nftables_missing(EPROTONOSUPPORT));
    const std::string chain = network_chains(n).forward;
    int err = nft_request(NFT_MSG_GETCHAIN, NFPROTO_INET, [&](nlmsghdr* nlh) {
        mnl_attr_put_strz(nlh, NFTA_CHAIN_TABLE, table.c_str());
        mnl_attr_put_strz(nlh, NFTA_CHAIN_NAME, chain.c_str());
    });
    if (err == 0) return true;
    if (err == ENOENT) return false;
    return fail(nftables_missing(err));
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
    release(ctx);
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

Status add_endpoint_rules(const std::string& table, const Network& n, const std::string& id) {
    auto it = n.endpoints.find(id);
    if (it == n.endpoints.end()) return {};
    std::string script = render_add_endpoint(table, n, id, it->second);
    if (script.empty()) return {};
    return run_nft(script);
}

Status remove_endpoint_rules(const std::string& table, const Network& n, const std::string& id) {
    auto listed = list_table_json(table);
    if (!listed) return fail(listed.error());
    if (listed->is_null()) return {};
    const NetworkChains nc = network_chains(n);
    const std::set<std::string> chains = {nc.prerouting, nc.output, nc.forward};
    std::string script;
    for (const auto& item : listed->value("nftables", nlohmann::json::array())) {
        if (!item.contains("rule")) continue;
        const auto& r = item["rule"];
        if (r.value("comment", "") != id || !chains.contains(r.value("chain", ""))) continue;
        script += fmt::format("delete rule inet {} {} handle {}\n", table, r.value("chain", ""),
                              r.value("handle", 0));
    }
    if (script.empty()) return {};
    return run_nft(script);
}

}  // namespace husk::net
