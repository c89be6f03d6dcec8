// libcurl, loaded on first use. Linked normally, libcurl and the ~30 libraries it needs
// (krb5, ldap, ssh2, nghttp2, ...) cost every `husk` start ~15 ms of dynamic loading on
// this machine (bench: docs/PERFORMANCE.md), while only pull/push/login talk to a registry.
// These definitions take the place of libcurl's in the husk binary (linked --as-needed, so
// libcurl is no longer a DT_NEEDED); each dlopens libcurl.so.4 on its first call and forwards
// to the real function. Not exported: libcurl's own calls never come back here.
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <dlfcn.h>

#include <cstdarg>
#include <cstdio>

namespace {

void* curl_symbol(const char* name) {
    static void* lib = [] {
        void* h = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
        if (h == nullptr) std::fprintf(stderr, "husk: cannot load libcurl: %s\n", ::dlerror());
        return h;
    }();
    return lib == nullptr ? nullptr : ::dlsym(lib, name);
}

template <typename Fn>
Fn* resolve(const char* name) {
    return reinterpret_cast<Fn*>(curl_symbol(name));
}

}  // namespace

#define HUSK_LAZY(ret, name, params, args, fallback)  \
    extern "C" ret name params {                      \
        static auto* fn = resolve<ret params>(#name); \
        if (fn == nullptr) return fallback;           \
        return fn args;                               \
    }

HUSK_LAZY(CURLcode, curl_global_init, (long flags), (flags), CURLE_FAILED_INIT)
HUSK_LAZY(CURL*, curl_easy_init, (void), (), nullptr)
HUSK_LAZY(CURLcode, curl_easy_perform, (CURL * h), (h), CURLE_FAILED_INIT)
HUSK_LAZY(const char*, curl_easy_strerror, (CURLcode c), (c), "libcurl could not be loaded")
HUSK_LAZY(curl_slist*, curl_slist_append, (curl_slist * l, const char* s), (l, s), nullptr)
HUSK_LAZY(CURLM*, curl_multi_init, (void), (), nullptr)
HUSK_LAZY(CURLMcode, curl_multi_add_handle, (CURLM * m, CURL* h), (m, h), CURLM_INTERNAL_ERROR)
HUSK_LAZY(CURLMcode, curl_multi_remove_handle, (CURLM * m, CURL* h), (m, h), CURLM_INTERNAL_ERROR)
HUSK_LAZY(CURLMcode, curl_multi_cleanup, (CURLM * m), (m), CURLM_INTERNAL_ERROR)
HUSK_LAZY(CURLMcode, curl_multi_perform, (CURLM * m, int* running), (m, running),
          CURLM_INTERNAL_ERROR)
HUSK_LAZY(CURLMcode, curl_multi_poll,
          (CURLM * m, struct curl_waitfd* fds, unsigned int n, int timeout_ms, int* numfds),
          (m, fds, n, timeout_ms, numfds), CURLM_INTERNAL_ERROR)
HUSK_LAZY(CURLMsg*, curl_multi_info_read, (CURLM * m, int* left), (m, left), nullptr)

extern "C" void curl_easy_cleanup(CURL* h) {
    static auto* fn = resolve<void(CURL*)>("curl_easy_cleanup");
    if (fn != nullptr) fn(h);
}

extern "C" void curl_slist_free_all(curl_slist* l) {
    static auto* fn = resolve<void(curl_slist*)>("curl_slist_free_all");
    if (fn != nullptr) fn(l);
}

// The variadic three take exactly one more argument: a long, an off_t, a pointer or a
// function pointer, all passed in one integer register (or 8-byte stack slot) on this ABI,
// so it is forwarded as it came.
extern "C" CURLcode curl_easy_setopt(CURL* h, CURLoption option, ...) {
    static auto* fn = resolve<CURLcode(CURL*, CURLoption, ...)>("curl_easy_setopt");
    va_list ap;
    va_start(ap, option);
    void* arg = va_arg(ap, void*);
    va_end(ap);
    return fn == nullptr ? CURLE_FAILED_INIT : fn(h, option, arg);
}

extern "C" CURLcode curl_easy_getinfo(CURL* h, CURLINFO info, ...) {
    static auto* fn = resolve<CURLcode(CURL*, CURLINFO, ...)>("curl_easy_getinfo");
    va_list ap;
    va_start(ap, info);
    void* arg = va_arg(ap, void*);
    va_end(ap);
    return fn == nullptr ? CURLE_FAILED_INIT : fn(h, info, arg);
}

extern "C" CURLMcode curl_multi_setopt(CURLM* m, CURLMoption option, ...) {
    static auto* fn = resolve<CURLMcode(CURLM*, CURLMoption, ...)>("curl_multi_setopt");
    va_list ap;
    va_start(ap, option);
    void* arg = va_arg(ap, void*);
    va_end(ap);
    return fn == nullptr ? CURLM_INTERNAL_ERROR : fn(m, option, arg);
}
