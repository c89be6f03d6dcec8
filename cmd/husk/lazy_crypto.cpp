// libcrypto (OpenSSL), loaded on first use: its relocation was a quarter of every `husk`
// start's time here (perf: ld.so resolving its thousands of symbols, BIND_NOW), while only
// digests and base64 of the image and registry code need it. See lazy_library.hpp for how.
#include "lazy_library.hpp"

#ifdef HUSK_LAZY_LIBRARIES
namespace {
husk::cli::lazy::Forward crypto_symbol(const char* name) {
    static void* lib = husk::cli::lazy::open_library("libcrypto.so.3");
    return husk::cli::lazy::symbol(lib, "libcrypto.so.3", name);
}
}  // namespace

#define HUSK_LAZY(name) HUSK_LAZY_FORWARD(crypto_symbol, name)

HUSK_LAZY(EVP_DecodeBlock)
HUSK_LAZY(EVP_DigestFinal_ex)
HUSK_LAZY(EVP_DigestInit_ex)
HUSK_LAZY(EVP_DigestUpdate)
HUSK_LAZY(EVP_EncodeBlock)
HUSK_LAZY(EVP_MD_CTX_free)
HUSK_LAZY(EVP_MD_CTX_new)
HUSK_LAZY(EVP_sha256)
HUSK_LAZY(EVP_sha512)

#endif
