#pragma once
// Shared libraries `husk` loads on first use (lazy_archive.cpp, lazy_crypto.cpp, lazy_curl.cpp,
// lazy_mnl.cpp, lazy_nftables.cpp, lazy_zlib.cpp): every `husk` start would otherwise pay for
// loading and relocating them (docs/PERFORMANCE.md), while only some commands call them. A
// forwarder takes the place of each function husk calls (husk is linked --as-needed, so the library
// is no longer a DT_NEEDED), loads the library on its first call and jumps to the real function.
//
// The forwarders do not include the library's headers: every function forwarded takes at
// most six integer or pointer arguments and returns an integer, a pointer or nothing (no
// floating point, no varargs, no structs by value), so on x86-64 and aarch64 passing six
// register-sized words on untouched is exact (HUSK_LAZY_FORWARD8: eight, for the rare function
// that takes seven or eight; the last two travel on the stack on x86-64, which the forwarder's
// own call rebuilds). Other architectures link the libraries.
#if defined(__x86_64__) || defined(__aarch64__)
#define HUSK_LAZY_LIBRARIES 1
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

namespace husk::cli::lazy {

using Word = unsigned long;
using Forward = Word (*)(Word, Word, Word, Word, Word, Word);
using Forward8 = Word (*)(Word, Word, Word, Word, Word, Word, Word, Word);

// Nothing sensible can be returned in place of a forwarded call, so a missing library or
// symbol ends husk with the reason.
inline void* open_library(const char* soname) {
    void* handle = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        std::fprintf(stderr, "husk: cannot load %s: %s\n", soname, ::dlerror());
        std::exit(125);
    }
    return handle;
}

inline Forward symbol(void* handle, const char* soname, const char* name) {
    void* sym = ::dlsym(handle, name);
    if (sym == nullptr) {
        std::fprintf(stderr, "husk: %s has no %s\n", soname, name);
        std::exit(125);
    }
    return reinterpret_cast<Forward>(sym);
}

}  // namespace husk::cli::lazy

// Defines the forwarder of `name`, found by `loader(name)` (a function whose static handle
// is initialized once, thread-safely, with open_library).
#define HUSK_LAZY_FORWARD(loader, name)                                                       \
    extern "C" husk::cli::lazy::Word name(husk::cli::lazy::Word a, husk::cli::lazy::Word b,   \
                                          husk::cli::lazy::Word c, husk::cli::lazy::Word d,   \
                                          husk::cli::lazy::Word e, husk::cli::lazy::Word f) { \
        static husk::cli::lazy::Forward fn = loader(#name);                                   \
        return fn(a, b, c, d, e, f);                                                          \
    }

// The same for a function of seven or eight integer or pointer arguments.
#define HUSK_LAZY_FORWARD8(loader, name)                                                      \
    extern "C" husk::cli::lazy::Word name(husk::cli::lazy::Word a, husk::cli::lazy::Word b,   \
                                          husk::cli::lazy::Word c, husk::cli::lazy::Word d,   \
                                          husk::cli::lazy::Word e, husk::cli::lazy::Word f,   \
                                          husk::cli::lazy::Word g, husk::cli::lazy::Word h) { \
        static auto fn = reinterpret_cast<husk::cli::lazy::Forward8>(                         \
            reinterpret_cast<void (*)()>(loader(#name)));                                     \
        return fn(a, b, c, d, e, f, g, h);                                                    \
    }
#endif
