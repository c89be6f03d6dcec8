#include "runtime/process_setup.hpp"

#include <sys/syscall.h>

#include <csignal>
#include <cstdint>

#include <grp.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/files.hpp"
#include "runtime/capabilities.hpp"

namespace husk::runtime {

Status apply_rlimits(const oci::Process& process) {
    for (const auto& r : process.rlimits) {
        struct rlimit limit {
            static_cast<rlim_t>(r.soft), static_cast<rlim_t>(r.hard)
        };
        if (::setrlimit(r.resource, &limit) == 0) continue;
        auto err = Error::from_errno("process.rlimits: set {} to {}:{}", r.type, r.soft, r.hard);
        if (r.resource == RLIMIT_NOFILE) {
            // The kernel's ceiling for open files: not even CAP_SYS_RESOURCE goes past it.
            auto nr_open = read_file("/proc/sys/fs/nr_open");
            if (nr_open && r.hard > std::stoull(*nr_open))
                return fail(err.wrap("the hard limit is above fs.nr_open ({})",
                                     nr_open->substr(0, nr_open->find('\n'))));
        }
        struct rlimit current {};
        if (err.errnum() == EPERM && ::getrlimit(r.resource, &current) == 0 &&
            r.hard > current.rlim_max)
            return fail(Error(EPERM, fmt::format("process.rlimits: {} hard limit {} is above "
                                                 "this host's {}, and raising it needs "
                                                 "CAP_SYS_RESOURCE, which husk-runtime does not "
                                                 "hold",
                                                 r.type, r.hard, current.rlim_max)));
        return fail(err);
    }
    return {};
}

Status apply_oom_score_adj(const oci::Process& process) {
    if (!process.oom_score_adj) return {};
    auto st = write_file("/proc/self/oom_score_adj", std::to_string(*process.oom_score_adj));
    if (!st && (st.error().errnum() == EACCES || st.error().errnum() == EPERM))
        return fail(st.error().wrap("process.oomScoreAdj {}: lowering it needs CAP_SYS_RESOURCE",
                                    *process.oom_score_adj));
    if (!st) return fail(st.error().wrap("process.oomScoreAdj"));
    return {};
}

Status apply_personality(const oci::Linux& linux_config) {
    if (!linux_config.personality) return {};
    unsigned long persona = linux_config.personality->domain == "LINUX32" ? PER_LINUX32 : PER_LINUX;
    if (::personality(persona) < 0) return fail_errno("linux.personality");
    return {};
}

namespace {

bool user_namespace_denies_setgroups() {
    auto text = read_file("/proc/self/setgroups");
    return text && text->starts_with("deny");
}

}  // namespace

Status apply_identity(const oci::Process& process) {
    const auto& user = process.user;
    if (process.capabilities) HUSK_TRY(apply_capabilities_before_setuid(*process.capabilities));
    std::vector<gid_t> groups(user.additional_gids.begin(), user.additional_gids.end());
    if (::setgroups(groups.size(), groups.data()) != 0) {
        // A user namespace made by a rootless runtime denies setgroups; with nothing to add
        // there is nothing to do (the kernel keeps the unmapped groups on purpose).
        if (errno != EPERM || !groups.empty() || !user_namespace_denies_setgroups())
            return fail_errno("process.user.additionalGids: setgroups");
    }
    if (::setresgid(user.gid, user.gid, user.gid) != 0)
        return fail_errno("process.user.gid: setgid {}", user.gid);
    if (::setresuid(user.uid, user.uid, user.uid) != 0)
        return fail_errno("process.user.uid: setuid {}", user.uid);
    if (process.capabilities) HUSK_TRY(apply_capabilities_after_setuid(*process.capabilities));
    return {};
}

Result<std::string> find_executable(const oci::Process& process) {
    const std::string& name = process.args.front();
    auto executable = [](const std::string& path) {
        struct stat st {};
        return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
               ::access(path.c_str(), X_OK) == 0;
    };
    if (name.find('/') != std::string::npos) {
        if (!executable(name)) return fail_errno("process.args[0]: {:?}", name);
        return name;
    }
    std::string path_var = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (const auto& e : process.env)
        if (e.starts_with("PATH=")) path_var = e.substr(5);
    size_t start = 0;
    while (start <= path_var.size()) {
        size_t end = path_var.find(':', start);
        if (end == std::string::npos) end = path_var.size();
        std::string dir = path_var.substr(start, end - start);
        if (dir.empty()) dir = ".";
        std::string candidate = dir + "/" + name;
        if (executable(candidate)) return candidate;
        start = end + 1;
    }
    return fail_invalid("process.args[0]: {:?}: executable file not found in $PATH", name);
}

void reset_signal_state() {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // The raw syscall: glibc's sigaction refuses the two real-time signals it keeps for itself
    // (32 and 33), and a caller may have left those ignored too (ctest does).
    struct KernelSigaction {
        void (*handler)(int);
        unsigned long flags;
        void (*restorer)();
        uint64_t mask;
    };
    for (int sig = 1; sig < NSIG; ++sig) {
        KernelSigaction current{};
        if (::syscall(SYS_rt_sigaction, sig, nullptr, &current, sizeof(uint64_t)) != 0) continue;
        if (current.handler != SIG_IGN) continue;
        KernelSigaction dfl{};
        dfl.handler = SIG_DFL;
        ::syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof(uint64_t));
    }
}

}  // namespace husk::runtime
