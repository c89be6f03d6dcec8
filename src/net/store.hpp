#pragma once
// The network store: <root>/networks/<name>.json, each written temp-then-rename, every
// read-modify-write under one flock (<root>/networks/.lock) so concurrent `husk` processes
// never hand out one address twice.
//
// Names on the host are derived from the store's root, so two stores (a test's --root and
// the machine's /var/lib/husk) never share a bridge, a veth or an nft table:
//   prefix   "hk" + 4 hex digits of a hash of the root ("hk3fa9")
//   table    "inet husk" for /var/lib/husk, "inet husk-<4 hex>" for any other root
//   bridges  "husk0" (default network, /var/lib/husk) or <prefix>"d"; user networks
//            <prefix>"b"<8 hex of the network id>; veths <prefix>"v"<8 hex>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "net/network.hpp"

namespace husk::net {

inline constexpr const char* default_network = "bridge";

class Store {
public:
    [[nodiscard]] static Result<Store> open(const std::string& root);

    // Held for the whole of a read-modify-write.
    class Lock {
    public:
        explicit Lock(UniqueFd fd) : fd_(std::move(fd)) {}
        // A child that inherits this descriptor holds the lock until it closes it too.
        int fd() const { return fd_.get(); }

    private:
        UniqueFd fd_;
    };
    [[nodiscard]] Result<Lock> lock() const;

    [[nodiscard]] Result<std::vector<Network>> list() const;
    [[nodiscard]] Result<std::optional<Network>> get(const std::string& name) const;
    [[nodiscard]] Status put(const Network& network) const;
    [[nodiscard]] Status remove(const std::string& name) const;

    const std::string& dir() const { return dir_; }
    const std::string& prefix() const { return prefix_; }
    const std::string& table() const { return table_; }
    std::string default_bridge() const;
    std::string bridge_name(const std::string& network_id) const;
    std::string veth_name(const std::string& network_id, const std::string& container_id) const;

private:
    std::string dir_, prefix_, table_;
    bool is_system_ = false;
};

std::string fnv1a_hex(const std::string& s, int digits);

}  // namespace husk::net
