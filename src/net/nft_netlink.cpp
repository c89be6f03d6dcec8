#include "net/nft_netlink.hpp"

#include <arpa/inet.h>
#include <endian.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>

#include <cstring>
#include <functional>

#include "net/background.hpp"

namespace husk::net {

namespace {

// An nfnetlink socket. A socket that committed a transaction is left open under
// background cleanup: its release waits for the commit's deferred frees (background.hpp).
class Socket {
public:
    Socket() : sock_(mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC)) {
        if (!sock_) return;
        if (mnl_socket_bind(sock_, 0, MNL_SOCKET_AUTOPID) < 0) {
            int err = errno;
            mnl_socket_close(sock_);
            sock_ = nullptr;
            errno = err;
            return;
        }
        portid_ = mnl_socket_get_portid(sock_);
    }
    ~Socket() {
        if (!sock_) return;
        if (committed_ && background_cleanup())
            left_open();
        else
            mnl_socket_close(sock_);
    }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;

    mnl_socket* get() const { return sock_; }
    uint32_t portid() const { return portid_; }
    void committed() { committed_ = true; }

private:
    mnl_socket* sock_ = nullptr;
    uint32_t portid_ = 0;
    bool committed_ = false;
};

nlmsghdr* put_header(char* buf, uint16_t type, uint16_t flags, uint32_t seq, uint8_t family,
                     uint16_t res_id = 0) {
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = flags;
    nlh->nlmsg_seq = seq;
    auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
    nfg->nfgen_family = family;
    nfg->version = NFNETLINK_V0;
    nfg->res_id = htons(res_id);
    return nlh;
}

constexpr uint16_t nft_type(int msg) {
    return static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | msg);
}

// Sends `nlh` and reads the answers until the ack (or the dump's end); `on_data` sees each
// data message. Returns 0 or the errno.
int transact(Socket& s, nlmsghdr* nlh, const std::function<void(const nlmsghdr*)>& on_data) {
    if (!s.get()) return errno ? errno : EIO;
    if (mnl_socket_sendto(s.get(), nlh, nlh->nlmsg_len) < 0) return errno;
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    auto cb = [](const nlmsghdr* m, void* data) -> int {
        auto* f = static_cast<const std::function<void(const nlmsghdr*)>*>(data);
        if (*f) (*f)(m);
        return MNL_CB_OK;
    };
    auto* fp = const_cast<std::function<void(const nlmsghdr*)>*>(&on_data);
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(s.get(), buf.data(), buf.size());
        if (n < 0) return errno;
        int rc = mnl_cb_run(buf.data(), n, nlh->nlmsg_seq, s.portid(), cb, fp);
        if (rc == MNL_CB_ERROR) return errno;
        if (rc == MNL_CB_STOP) return 0;
    }
}

// The comment in a rule's userdata: TLVs of {u8 type, u8 len, value}, type 0 = comment.
std::string comment_of(const nlattr* userdata) {
    const auto* p = static_cast<const uint8_t*>(mnl_attr_get_payload(userdata));
    size_t len = mnl_attr_get_payload_len(userdata);
    size_t i = 0;
    while (i + 2 <= len) {
        uint8_t type = p[i], l = p[i + 1];
        if (i + 2 + l > len) break;
        if (type == 0) {
            std::string s(reinterpret_cast<const char*>(p + i + 2), l);
            while (!s.empty() && s.back() == '\0') s.pop_back();
            return s;
        }
        i += 2 + l;
    }
    return "";
}

}  // namespace

int nft_get_gen() {
    Socket s;
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh =
        put_header(buf.data(), nft_type(NFT_MSG_GETGEN), NLM_F_REQUEST | NLM_F_ACK, 1, AF_UNSPEC);
    return transact(s, nlh, nullptr);
}

int nft_get_chain(const std::string& table, const std::string& chain) {
    Socket s;
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = put_header(buf.data(), nft_type(NFT_MSG_GETCHAIN), NLM_F_REQUEST | NLM_F_ACK, 1,
                               NFPROTO_INET);
    mnl_attr_put_strz(nlh, NFTA_CHAIN_TABLE, table.c_str());
    mnl_attr_put_strz(nlh, NFTA_CHAIN_NAME, chain.c_str());
    return transact(s, nlh, nullptr);
}

Result<std::vector<RuleRef>> nft_list_rules(const std::string& table,
                                            const std::vector<std::string>& chains) {
    Socket s;
    std::vector<RuleRef> out;
    uint32_t seq = 1;
    for (const auto& chain : chains) {
        std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
        nlmsghdr* nlh = put_header(buf.data(), nft_type(NFT_MSG_GETRULE),
                                   NLM_F_REQUEST | NLM_F_DUMP, seq++, NFPROTO_INET);
        mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, table.c_str());
        mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, chain.c_str());
        int err = transact(s, nlh, [&](const nlmsghdr* m) {
            const nlattr* tb[NFTA_RULE_MAX + 1] = {};
            mnl_attr_parse(
                m, sizeof(nfgenmsg),
                [](const nlattr* a, void* data) {
                    auto** t = static_cast<const nlattr**>(data);
                    int type = mnl_attr_get_type(a);
                    if (type <= NFTA_RULE_MAX) t[type] = a;
                    return MNL_CB_OK;
                },
                tb);
            if (!tb[NFTA_RULE_HANDLE] || !tb[NFTA_RULE_CHAIN]) return;
            RuleRef r;
            r.chain = mnl_attr_get_str(tb[NFTA_RULE_CHAIN]);
            r.handle = be64toh(mnl_attr_get_u64(tb[NFTA_RULE_HANDLE]));
            if (tb[NFTA_RULE_USERDATA]) r.comment = comment_of(tb[NFTA_RULE_USERDATA]);
            if (r.chain == chain) out.push_back(std::move(r));
        });
        if (err == ENOENT) continue;  // no such table or chain: no rules
        if (err != 0)
            return fail_invalid("nftables: list the rules of inet {} {}: {}", table, chain,
                                std::strerror(err));
    }
    return out;
}

Status nft_delete_rules(const std::string& table, const std::vector<RuleRef>& rules) {
    if (rules.empty()) return {};
    Socket s;
    if (!s.get()) return fail_errno("nftables: open a netlink socket");
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE * 2);
    mnl_nlmsg_batch* batch = mnl_nlmsg_batch_start(buf.data(), buf.size());
    uint32_t seq = 1;
    auto next = [&] { mnl_nlmsg_batch_next(batch); };
    put_header(static_cast<char*>(mnl_nlmsg_batch_current(batch)), NFNL_MSG_BATCH_BEGIN,
               NLM_F_REQUEST, seq++, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
    next();
    for (const auto& r : rules) {
        nlmsghdr* nlh = put_header(static_cast<char*>(mnl_nlmsg_batch_current(batch)),
                                   nft_type(NFT_MSG_DELRULE), NLM_F_REQUEST, seq++, NFPROTO_INET);
        mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, table.c_str());
        mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, r.chain.c_str());
        mnl_attr_put_u64(nlh, NFTA_RULE_HANDLE, htobe64(r.handle));
        next();
    }
    put_header(static_cast<char*>(mnl_nlmsg_batch_current(batch)), NFNL_MSG_BATCH_END,
               NLM_F_REQUEST, seq++, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
    next();
    ssize_t sent =
        mnl_socket_sendto(s.get(), mnl_nlmsg_batch_head(batch), mnl_nlmsg_batch_size(batch));
    int send_err = errno;
    mnl_nlmsg_batch_stop(batch);
    if (sent < 0)
        return fail_invalid("nftables: delete rules of inet {}: {}", table,
                            std::strerror(send_err));
    s.committed();
    // The kernel handles the batch within the send: an error is already queued, success
    // leaves nothing to read (no NLM_F_ACK asked).
    std::vector<char> in(MNL_SOCKET_BUFFER_SIZE);
    for (;;) {
        ssize_t n = ::recv(mnl_socket_get_fd(s.get()), in.data(), in.size(), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return {};
            if (errno == EINTR) continue;
            return fail_errno("nftables: delete rules of inet {}", table);
        }
        int rc = mnl_cb_run(in.data(), n, 0, s.portid(), nullptr, nullptr);
        if (rc == MNL_CB_ERROR)
            return fail_invalid("nftables refused to delete rules of inet {}: {}", table,
                                std::strerror(errno));
    }
}

}  // namespace husk::net
