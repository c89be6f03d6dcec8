// libnftables, loaded on first use: it brings libnftnl, libxtables, libjansson and libgmp to
// every `husk` start, while only the network commands (and removing a container that is
// still attached) program nf_tables; the per-container attach runs in husk-net. See
// lazy_library.hpp for how.
#include "lazy_library.hpp"

#ifdef HUSK_LAZY_LIBRARIES
namespace {
husk::cli::lazy::Forward nftables_symbol(const char* name) {
    static void* lib = husk::cli::lazy::open_library("libnftables.so.1");
    return husk::cli::lazy::symbol(lib, "libnftables.so.1", name);
}
}  // namespace

#define HUSK_LAZY(name) HUSK_LAZY_FORWARD(nftables_symbol, name)

HUSK_LAZY(nft_ctx_buffer_error)
HUSK_LAZY(nft_ctx_buffer_output)
HUSK_LAZY(nft_ctx_free)
HUSK_LAZY(nft_ctx_get_error_buffer)
HUSK_LAZY(nft_ctx_get_output_buffer)
HUSK_LAZY(nft_ctx_new)
HUSK_LAZY(nft_run_cmd_from_buffer)

#endif
