#include "image/digest.hpp"

#include <openssl/evp.h>

namespace husk::image {

struct Hasher::State {
    EVP_MD_CTX* ctx = nullptr;
    ~State() {
        if (ctx != nullptr) EVP_MD_CTX_free(ctx);
    }
};

Result<Digest> parse_digest(std::string_view text) {
    auto colon = text.find(':');
    if (colon == std::string_view::npos)
        return fail_invalid("invalid digest {:?}: no algorithm", text);
    Digest d{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
    size_t want = 0;
    if (d.algorithm == "sha256")
        want = 64;
    else if (d.algorithm == "sha512")
        want = 128;
    else
        return fail_invalid("invalid digest {:?}: unsupported algorithm {}", text, d.algorithm);
    if (d.hex.size() != want) return fail_invalid("invalid digest {:?}: wrong length", text);
    for (char c : d.hex)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return fail_invalid("invalid digest {:?}: not lower-case hex", text);
    return d;
}

Hasher::Hasher(std::string_view algorithm)
    : state_(std::make_unique<State>()), algorithm_(algorithm) {
    state_->ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(state_->ctx, algorithm_ == "sha512" ? EVP_sha512() : EVP_sha256(), nullptr);
}

Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::update(const void* data, size_t size) {
    EVP_DigestUpdate(state_->ctx, data, size);
}

Digest Hasher::finish() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(state_->ctx, md, &len);
    static constexpr char hexdigits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(len * 2);
    for (unsigned i = 0; i < len; ++i) {
        hex.push_back(hexdigits[md[i] >> 4]);
        hex.push_back(hexdigits[md[i] & 15]);
    }
    return Digest{algorithm_, hex};
}

Digest sha256_of(std::string_view data) {
    return digest_of("sha256", data);
}

Digest digest_of(std::string_view algorithm, std::string_view data) {
    Hasher h(algorithm);
    h.update(data);
    return h.finish();
}

}  // namespace husk::image
