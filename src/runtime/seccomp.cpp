#include "runtime/seccomp.hpp"

#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include <nlohmann/json.hpp>

#include "common/files.hpp"
#include "common/log.hpp"
#include "common/unix_socket.hpp"

#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

namespace husk::runtime {
namespace {

using oci::SeccompAction;
using oci::SeccompOp;

// The kernel's limit on a filter's length (BPF_MAXINSNS).
constexpr size_t kMaxInstructions = 4096;

struct ArchInfo {
    const char* name;
    uint32_t token;
};

constexpr ArchInfo kArches[] = {
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},
    {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
#ifdef SCMP_ARCH_LOONGARCH64
    {"SCMP_ARCH_LOONGARCH64", SCMP_ARCH_LOONGARCH64},
#endif
#ifdef SCMP_ARCH_M68K
    {"SCMP_ARCH_M68K", SCMP_ARCH_M68K},
#endif
#ifdef SCMP_ARCH_SH
    {"SCMP_ARCH_SH", SCMP_ARCH_SH},
    {"SCMP_ARCH_SHEB", SCMP_ARCH_SHEB},
#endif
};

struct FlagInfo {
    const char* name;
    unsigned long flag;
};

constexpr FlagInfo kFlags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
};

uint32_t action_value(SeccompAction action, std::optional<uint32_t> errno_ret) {
    switch (action) {
        case SeccompAction::kill_process:
            return SCMP_ACT_KILL_PROCESS;
        case SeccompAction::kill_thread:
            return SCMP_ACT_KILL_THREAD;
        case SeccompAction::trap:
            return SCMP_ACT_TRAP;
        // EPERM when unset, as runc does for both.
        case SeccompAction::errno_ret:
            return SCMP_ACT_ERRNO(errno_ret.value_or(EPERM));
        case SeccompAction::trace:
            return SCMP_ACT_TRACE(errno_ret.value_or(EPERM));
        case SeccompAction::allow:
            return SCMP_ACT_ALLOW;
        case SeccompAction::log:
            return SCMP_ACT_LOG;
        case SeccompAction::notify:
            return SCMP_ACT_NOTIFY;
    }
    return SCMP_ACT_KILL_PROCESS;
}

scmp_compare compare_op(SeccompOp op) {
    switch (op) {
        case SeccompOp::ne:
            return SCMP_CMP_NE;
        case SeccompOp::lt:
            return SCMP_CMP_LT;
        case SeccompOp::le:
            return SCMP_CMP_LE;
        case SeccompOp::eq:
            return SCMP_CMP_EQ;
        case SeccompOp::ge:
            return SCMP_CMP_GE;
        case SeccompOp::gt:
            return SCMP_CMP_GT;
        case SeccompOp::masked_eq:
            return SCMP_CMP_MASKED_EQ;
    }
    return SCMP_CMP_EQ;
}

// libseccomp returns -errno.
Error seccomp_error(int rc, std::string message) {
    return Error(-rc, std::move(message));
}

class FilterContext {
public:
    explicit FilterContext(scmp_filter_ctx ctx) : ctx_(ctx) {}
    FilterContext(const FilterContext&) = delete;
    FilterContext& operator=(const FilterContext&) = delete;
    ~FilterContext() {
        if (ctx_ != nullptr) seccomp_release(ctx_);
    }
    scmp_filter_ctx get() const { return ctx_; }

private:
    scmp_filter_ctx ctx_;
};

Status add_rule(scmp_filter_ctx ctx, const oci::SeccompRule& rule, size_t index,
                uint32_t default_value) {
    uint32_t action = action_value(rule.action, rule.errno_ret);
    // libseccomp refuses a rule that repeats the default action (EACCES); it would be a no-op.
    if (action == default_value) return {};
    std::vector<scmp_arg_cmp> conditions;
    bool repeated_index = false;
    for (const auto& arg : rule.args) {
        for (const auto& c : conditions) repeated_index |= c.arg == arg.index;
        conditions.push_back({arg.index, compare_op(arg.op), arg.value, arg.value_two});
    }
    for (const std::string& name : rule.names) {
        int nr = seccomp_syscall_resolve_name(name.c_str());
        if (nr == __NR_SCMP_ERROR) {
            // A profile names syscalls of newer kernels and other architectures: skipped, as
            // runc does.
            log::debug("linux.seccomp.syscalls[{}]: syscall {:?} unknown to libseccomp, skipped",
                       index, name);
            continue;
        }
        int rc = 0;
        if (!repeated_index) {
            rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(conditions.size()),
                                        conditions.empty() ? nullptr : conditions.data());
        } else {
            // libseccomp cannot AND two conditions on one argument; like runc, each condition
            // becomes a rule of its own (so they match as OR).
            for (const auto& c : conditions) {
                rc = seccomp_rule_add_array(ctx, action, nr, 1, &c);
                if (rc != 0) break;
            }
        }
        if (rc != 0)
            return fail(seccomp_error(
                rc, fmt::format("linux.seccomp.syscalls[{}]: add a rule for {}", index, name)));
    }
    return {};
}

Result<unsigned int> load_flags(const oci::Seccomp& profile) {
    unsigned int flags = 0;
    for (const std::string& name : profile.flags)
        for (const FlagInfo& f : kFlags)
            if (name == f.name) flags |= static_cast<unsigned int>(f.flag);
    if (profile.uses_notify()) {
        flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
        // The kernel refuses TSYNC with a listener unless told to fail with ESRCH instead of
        // returning a thread id (the init is single-threaded: it never does).
        if (flags & SECCOMP_FILTER_FLAG_TSYNC) flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
    } else if (flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) {
        // It only changes how a listener's target waits: without one it means nothing, and
        // the kernel rejects it.
        log::debug(
            "linux.seccomp.flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ignored: no "
            "SCMP_ACT_NOTIFY rule");
        flags &= ~static_cast<unsigned int>(SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
    }
    return flags;
}

// A cache entry: magic, the profile's whole identity, a NUL, the program. A hit must match
// the identity exactly, so the short file name needs no collision resistance; entries are
// written once per profile, with fsync, so a power loss cannot leave a torn one.
constexpr std::string_view kCacheMagic = "HUSKBPF2\n";

std::string cache_entry(const std::string& identity, const std::vector<sock_filter>& filter) {
    std::string_view program(reinterpret_cast<const char*>(filter.data()),
                             filter.size() * sizeof(sock_filter));
    std::string entry(kCacheMagic);
    entry += identity;
    entry += '\0';
    entry += program;
    return entry;
}

Result<std::vector<sock_filter>> read_cached(const std::string& path, const std::string& identity) {
    auto bytes = read_file(path);
    if (!bytes) return fail(bytes.error());
    std::string_view entry(*bytes);
    if (!entry.starts_with(kCacheMagic))
        return fail_invalid("{}: not a husk BPF cache entry", path);
    entry.remove_prefix(kCacheMagic.size());
    size_t end = entry.find('\0');
    if (end == std::string_view::npos || entry.substr(0, end) != identity)
        return fail_invalid("{}: an entry for another profile", path);
    std::string_view program = entry.substr(end + 1);
    if (program.empty() || program.size() % sizeof(sock_filter) != 0 ||
        program.size() > kMaxInstructions * sizeof(sock_filter))
        return fail_invalid("{}: damaged ({} bytes of program)", path, program.size());
    std::vector<sock_filter> filter(program.size() / sizeof(sock_filter));
    std::memcpy(filter.data(), program.data(), program.size());
    return filter;
}

long elapsed_us(std::chrono::steady_clock::time_point since) {
    return static_cast<long>(std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::steady_clock::now() - since)
                                 .count());
}

}  // namespace

std::string seccomp_cache_identity(const oci::Seccomp& profile) {
    std::string text = "husk seccomp bpf v2\n";
    const scmp_version* version = seccomp_version();
    text += fmt::format("libseccomp {}.{}.{}\n", version->major, version->minor, version->micro);
    struct utsname uts {};
    if (::uname(&uts) == 0) text += fmt::format("{} {}\n", uts.machine, uts.release);
    text += fmt::format("default {:#x}\n",
                        action_value(profile.default_action, profile.default_errno_ret));
    for (const auto& arch : profile.architectures) text += "arch " + arch + "\n";
    for (const auto& rule : profile.syscalls) {
        text += fmt::format("rule {:#x}", action_value(rule.action, rule.errno_ret));
        for (const auto& name : rule.names) text += " " + name;
        for (const auto& a : rule.args)
            text += fmt::format(" [{} {} {} {}]", a.index, static_cast<int>(a.op), a.value,
                                a.value_two);
        text += "\n";
    }
    return text;
}

std::string seccomp_cache_key(const oci::Seccomp& profile) {
    uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a, 64 bits
    for (unsigned char c : seccomp_cache_identity(profile)) {
        hash ^= c;
        hash *= 0x100000001b3ULL;
    }
    return fmt::format("{:016x}", hash);
}

Result<std::vector<sock_filter>> compile_seccomp(const oci::Seccomp& profile) {
    uint32_t default_value = action_value(profile.default_action, profile.default_errno_ret);
    FilterContext ctx(seccomp_init(default_value));
    if (ctx.get() == nullptr)
        return fail_invalid("linux.seccomp.defaultAction: libseccomp refused {}",
                            oci::seccomp_action_name(profile.default_action));
    // The binary-tree layout: a large allow list costs a few comparisons per syscall rather
    // than one per rule.
    if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2); rc != 0)
        log::debug("libseccomp: no binary-tree optimisation ({})", std::strerror(-rc));
    for (size_t i = 0; i < profile.architectures.size(); ++i) {
        const std::string& name = profile.architectures[i];
        auto known = std::find_if(std::begin(kArches), std::end(kArches),
                                  [&](const ArchInfo& a) { return name == a.name; });
        if (known == std::end(kArches))
            return fail_invalid(
                "linux.seccomp.architectures[{}]: {} is not supported by this "
                "libseccomp",
                i, name);
        int rc = seccomp_arch_add(ctx.get(), known->token);
        if (rc != 0 && rc != -EEXIST)
            return fail(
                seccomp_error(rc, fmt::format("linux.seccomp.architectures[{}]: add {}", i, name)));
    }
    for (size_t i = 0; i < profile.syscalls.size(); ++i)
        HUSK_TRY(add_rule(ctx.get(), profile.syscalls[i], i, default_value));

    UniqueFd memfd(::memfd_create("husk-seccomp-bpf", MFD_CLOEXEC));
    if (!memfd) return fail_errno("memfd_create for the seccomp program");
    if (int rc = seccomp_export_bpf(ctx.get(), memfd.get()); rc != 0)
        return fail(seccomp_error(rc, "linux.seccomp: export the BPF program"));
    off_t size = ::lseek(memfd.get(), 0, SEEK_END);
    if (size <= 0 || size % static_cast<off_t>(sizeof(sock_filter)) != 0)
        return fail_invalid("linux.seccomp: libseccomp exported {} bytes", size);
    if (static_cast<size_t>(size) > kMaxInstructions * sizeof(sock_filter))
        return fail_invalid(
            "linux.seccomp: the filter has {} instructions, the kernel takes at "
            "most {}",
            static_cast<size_t>(size) / sizeof(sock_filter), kMaxInstructions);
    std::vector<sock_filter> filter(static_cast<size_t>(size) / sizeof(sock_filter));
    if (::pread(memfd.get(), filter.data(), static_cast<size_t>(size), 0) != size)
        return fail_errno("read the seccomp program back");
    return filter;
}

Result<SeccompProgram> prepare_seccomp(const oci::Seccomp& profile, const std::string& cache_dir) {
    SeccompProgram program;
    auto flags = load_flags(profile);
    if (!flags) return fail(flags.error());
    program.flags = *flags;
    auto started = std::chrono::steady_clock::now();

    std::string path, identity;
    if (!cache_dir.empty()) {
        identity = seccomp_cache_identity(profile);
        path = cache_dir + "/" + seccomp_cache_key(profile) + ".bpf";
        auto cached = read_cached(path, identity);
        if (cached) {
            program.filter = std::move(*cached);
            program.from_cache = true;
            log::debug("seccomp: {} instructions from {} in {} us", program.filter.size(), path,
                       elapsed_us(started));
            return program;
        }
        if (cached.error().errnum() != ENOENT)
            log::debug("seccomp: cache entry unusable, compiling again: {}", cached.error().what());
    }

    auto compiled = compile_seccomp(profile);
    if (!compiled) return fail(compiled.error());
    program.filter = std::move(*compiled);
    log::debug("seccomp: compiled {} instructions in {} us", program.filter.size(),
               elapsed_us(started));
    if (!path.empty()) {
        // A cache that cannot be written costs the next start a compile, nothing more.
        // 0711 as the runtime root itself (this may be what creates it); entries are 0600.
        auto st = make_dirs(cache_dir, 0711);
        if (st) st = write_file_atomic(path, cache_entry(identity, program.filter), 0600);
        if (!st) log::warn("seccomp cache {}: {}", path, st.error().what());
    }
    return program;
}

Result<UniqueFd> load_seccomp(const SeccompProgram& program) {
    struct sock_fprog prog {};
    prog.len = static_cast<unsigned short>(program.filter.size());
    prog.filter = const_cast<sock_filter*>(program.filter.data());
    long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, program.flags, &prog);
    if (rc < 0) {
        if (errno == EACCES)
            return fail_errno(
                "load the seccomp filter (without process.noNewPrivileges it needs "
                "CAP_SYS_ADMIN)");
        if (errno == EINVAL && program.flags != 0)
            return fail_errno(
                "load the seccomp filter (flags {:#x}: this kernel may lack one of "
                "linux.seccomp.flags)",
                program.flags);
        return fail_errno("load the seccomp filter");
    }
    if (program.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) return UniqueFd(static_cast<int>(rc));
    return UniqueFd();
}

Status send_seccomp_listener(const oci::Seccomp& profile, int listener_fd, pid_t pid,
                             const std::string& state_json) {
    nlohmann::json message = {
        {"ociVersion", "1.2.0"},
        {"fds", {"seccompFd"}},
        {"pid", pid},
        {"metadata", profile.listener_metadata},
        {"state", nlohmann::json::parse(state_json, nullptr, false)},
    };
    std::string payload = message.dump();

    UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock) return fail_errno("linux.seccomp.listenerPath: socket");
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, profile.listener_path.data(),
                std::min(profile.listener_path.size(), sizeof addr.sun_path - 1));
    if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        return fail_errno("linux.seccomp.listenerPath: connect to {}", profile.listener_path);

    if (auto sent = send_with_fd(sock.get(), payload.data(), payload.size(), listener_fd); !sent)
        return fail(sent.error().wrap("linux.seccomp.listenerPath: send the listener to {}",
                                      profile.listener_path));
    return {};
}

}  // namespace husk::runtime
