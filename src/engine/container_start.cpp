#include "engine/container_start.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "common/log.hpp"
#include "engine/binaries.hpp"
#include "engine/container_network.hpp"
#include "engine/rootless_net.hpp"
#include "runtime/container.hpp"
#include "runtime/trace.hpp"

namespace husk::engine {
namespace {

Result<pid_t> create_start(const ContainerStore& store, const ContainerRecord& record,
                           const ContainerStdio& stdio, RootlessNet& rootless_net) {
    const std::string dir = store.dir(record.id);
    runtime::Runtime runtime(store.runtime_root());
    runtime::CreateOptions options;
    options.id = record.id;
    options.bundle = dir + "/bundle";
    options.console_socket = stdio.console_socket;
    // The init inherits fds 0-2: the container's stdio for this run.
    int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    ::dup2(stdio.in >= 0 ? stdio.in : null_fd, 0);
    ::dup2(stdio.out >= 0 ? stdio.out : null_fd, 1);
    ::dup2(stdio.err >= 0 ? stdio.err : null_fd, 2);
    // Signal dispositions and the mask are inherited across clone and exec: the container
    // must start with the defaults, not with what the monitor ignores or blocks (a shell
    // cannot trap a signal that was ignored when it started).
    sigset_t none, saved;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, &saved);
    struct sigaction dfl {
    }, old[3];
    dfl.sa_handler = SIG_DFL;
    const int reset[] = {SIGPIPE, SIGHUP, SIGINT};
    for (int i = 0; i < 3; ++i) ::sigaction(reset[i], &dfl, &old[i]);
    auto created = runtime.create(options);
    for (int i = 0; i < 3; ++i) ::sigaction(reset[i], &old[i], nullptr);
    ::sigprocmask(SIG_SETMASK, &saved, nullptr);
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    ::dup2(null_fd, 2);
    ::close(null_fd);
    if (!created) return fail(created.error());
    auto st = runtime.store().load(record.id);
    if (!st) return fail(st.error());
    if (is_rootless_network_mode(record.network_mode)) {
        // Rootless: a user-mode stack in the namespace instead of a veth (docs/rootless.md).
        auto ports = forwarded_ports(published_specs(record.network.publish,
                                                     record.network.publish_all,
                                                     record.network.expose));
        if (!ports) return fail(ports.error());
        auto driver = parse_rootless_net_driver(record.network_mode);
        if (!driver) return fail(driver.error());
        auto net = start_rootless_network(*driver, st->pid, *ports, dir);
        if (!net) return fail(net.error());
        rootless_net = *net;
        HUSK_TRY(save_rootless_attachment(dir, *net, *ports));
    }
    if (uses_network_driver(record)) {
        // The namespace exists and nothing runs in it yet: the veth, address and ports are
        // in place before the container's process starts.
        runtime::trace::Step t_net("network attach", "husk-net attach {}", record.network_mode);
        auto attached = attach_network(record, sibling_binary("HUSK_NET", "husk-net"), store.root(),
                                       dir, st->pid);
        if (!attached) return fail(attached.error().wrap("network {}", record.network_mode));
        for (const auto& s : attached->sysctls_changed) log::warn("set sysctl {}", s);
    }
    {
        runtime::trace::Step t_start("start", "the init execs the process");
        HUSK_TRY(runtime.start(record.id));
    }
    return st->pid;
}

}  // namespace

CreateReport create_and_start(const ContainerStore& store, const ContainerRecord& record,
                              const ContainerStdio& stdio) {
    CreateReport report;
    auto pid = create_start(store, record, stdio, report.rootless_net);
    if (pid)
        report.pid = *pid;
    else
        report.error = pid.error();
    if (runtime::trace::enabled()) {
        // `husk run --debug`: the timeline of this start, which the client prints.
        log::configure(store.dir(record.id) + "/trace.log", log::Format::text, true);
        runtime::trace::report();
        log::configure(store.dir(record.id) + "/monitor.log", log::Format::text, false);
    }
    return report;
}

}  // namespace husk::engine
