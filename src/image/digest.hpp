#pragma once
// Content digests ("sha256:<hex>", "sha512:<hex>") and a streaming hasher on OpenSSL's EVP
// interface: every blob is hashed while it is written, never in a second pass.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace husk::image {

struct Digest {
    std::string algorithm;  // "sha256" or "sha512"
    std::string hex;        // lower-case, 64 or 128 characters

    std::string str() const { return algorithm + ":" + hex; }
    bool empty() const { return hex.empty(); }
    bool operator==(const Digest&) const = default;
};

// Parses and validates "algo:hex"; the error names the input.
[[nodiscard]] Result<Digest> parse_digest(std::string_view text);

class Hasher {
public:
    explicit Hasher(std::string_view algorithm = "sha256");
    ~Hasher();
    Hasher(Hasher&&) noexcept;
    Hasher& operator=(Hasher&&) noexcept;
    void update(const void* data, size_t size);
    void update(std::string_view data) { update(data.data(), data.size()); }
    // Finishes the hash; the hasher cannot be updated afterwards.
    Digest finish();

private:
    struct State;
    std::unique_ptr<State> state_;
    std::string algorithm_;
};

Digest sha256_of(std::string_view data);
Digest digest_of(std::string_view algorithm, std::string_view data);

}  // namespace husk::image
