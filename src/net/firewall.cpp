#include "net/firewall.hpp"

#include <nftables/libnftables.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "net/background.hpp"
#include "net/firewall_rules.hpp"
#include "net/nft_netlink.hpp"

namespace husk::net {

namespace {

Error nftables_missing(int err) {
    return Error(0, fmt::format("nf_tables is not available in this kernel ({}): bridge networking "
                                "needs it for NAT and isolation; load it with `modprobe nf_tables "
                                "nft_chain_nat nft_masq nft_fib_inet` (or use a kernel with "
                                "CONFIG_NF_TABLES), or run with --network host or --network none",
                                std::strerror(err)));
}

// Frees a libnftables context that committed, or leaves it (and its socket, whose close
// waits for the commit's deferred frees) to the background cleanup.
void release(nft_ctx* ctx) {
    if (background_cleanup())
        left_open();
    else
        nft_ctx_free(ctx);
}

}  // namespace

Status check_nftables() {
    if (const char* sim = std::getenv("HUSK_NET_SIMULATE_NO_NFTABLES"); sim && *sim == '1')
        return fail(nftables_missing(EPROTONOSUPPORT));
    int err = nft_get_gen();
    if (err != 0) return fail(nftables_missing(err));
    return {};
}

Result<bool> network_chains_present(const std::string& table, const Network& n) {
    if (const char* sim = std::getenv("HUSK_NET_SIMULATE_NO_NFTABLES"); sim && *sim == '1')
        return fail(nftables_missing(EPROTONOSUPPORT));
    int err = nft_get_chain(table, network_chains(n).forward);
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
    const NetworkChains nc = network_chains(n);
    auto rules = nft_list_rules(table, {nc.prerouting, nc.output, nc.forward});
    if (!rules) return fail(rules.error());
    std::vector<RuleRef> own;
    for (auto& r : *rules)
        if (r.comment == id) own.push_back(std::move(r));
    return nft_delete_rules(table, own);
}

}  // namespace husk::net
