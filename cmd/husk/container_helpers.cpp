// The commands a container's monitor runs, not for users: the runtime's and the image
// store's code stays out of the resident monitor (docs/engine.md, "Process model").
//   container-start-helper  creates and starts the container again (restart policies)
//   container-cleanup       finishes a --rm container's removal (Engine::purge)
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.hpp"
#include "container_cli.hpp"
#include "engine/container_start.hpp"
#include "engine/engine.hpp"
#include "runtime/trace.hpp"

namespace husk::cli {

void register_container_helpers(CLI::App& app, Globals& g) {
    struct Flags {
        std::string id, console_socket;
        int in = -1, out = -1, err = -1, report = -1;
    };
    auto f = std::make_shared<Flags>();
    auto* cmd = app.add_subcommand("container-start-helper", "");
    cmd->group("");  // hidden
    cmd->add_option("id", f->id)->required();
    cmd->add_option("--stdin", f->in);
    cmd->add_option("--stdout", f->out);
    cmd->add_option("--stderr", f->err);
    cmd->add_option("--console-socket", f->console_socket);
    cmd->add_option("--report-fd", f->report)->required();
    cmd->callback([&g, f] {
        // The monitor passed its fds without FD_CLOEXEC: nothing this process starts (the
        // container's init, pasta) may keep them, or the monitor never sees the report end.
        ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
        engine::ContainerStore store(g.root, g.runroot);
        log::configure(store.dir(f->id) + "/monitor.log", log::Format::text, false);
        engine::CreateReport report;
        auto record = store.load(f->id);
        if (record)
            report = engine::create_and_start(store, *record,
                                              {f->in, f->out, f->err, f->console_socket});
        else
            report.error = record.error();
        std::string text = engine::encode_create_report(report);
        for (size_t off = 0; off < text.size();) {
            ssize_t n = ::write(f->report, text.data() + off, text.size() - off);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            off += static_cast<size_t>(n);
        }
        g.exit_code = report.pid > 0 ? 0 : exit_husk_error;
    });

    auto id = std::make_shared<std::string>();
    auto* cleanup = app.add_subcommand("container-cleanup", "");
    cleanup->group("");  // hidden
    cleanup->add_option("id", *id)->required();
    cleanup->callback([&g, id] {
        engine::Engine eng(g.root, g.runroot);
        if (auto st = eng.purge(*id); !st) {
            // Left for `husk container prune` (or the next `rmi`) to finish.
            g.exit_code = report(st.error());
        }
    });
}

}  // namespace husk::cli
