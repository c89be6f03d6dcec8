// zlib, loaded on first use: only `husk build` compresses layers with it (libarchive and
// libcurl load their own copy when they are loaded), while every `husk` start paid for
// loading it. deflateInit2 (a macro for deflateInit2_) takes eight arguments. See
// lazy_library.hpp for how.
#include "lazy_library.hpp"

#ifdef HUSK_LAZY_LIBRARIES
namespace {
husk::cli::lazy::Forward zlib_symbol(const char* name) {
    static void* lib = husk::cli::lazy::open_library("libz.so.1");
    return husk::cli::lazy::symbol(lib, "libz.so.1", name);
}
}  // namespace

HUSK_LAZY_FORWARD(zlib_symbol, deflate)
HUSK_LAZY_FORWARD(zlib_symbol, deflateEnd)
HUSK_LAZY_FORWARD8(zlib_symbol, deflateInit2_)

#endif
