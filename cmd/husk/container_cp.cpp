// `husk cp`: docker cp's command line. One side is CONTAINER:PATH, the other a host path or
// "-" (a tar stream on stdin or stdout). A host path holding a colon is written ./a:b, as
// with docker.
#include <fcntl.h>
#include <unistd.h>

#include <climits>
#include <memory>

#include "cli.hpp"
#include "container_cli.hpp"
#include "engine/container_fs.hpp"
#include "engine/copy.hpp"

namespace husk::cli {
namespace {

struct CpFlags {
    bool archive = false, follow = false;
    std::string src, dest;
};

struct Side {
    std::string container;  // empty: the host (or "-")
    std::string path;
};

Side parse_side(const std::string& arg) {
    if (arg == "-" || arg.starts_with("/") || arg.starts_with(".")) return {"", arg};
    auto colon = arg.find(':');
    if (colon == std::string::npos || colon == 0) return {"", arg};
    return {arg.substr(0, colon), arg.substr(colon + 1)};
}

// A host path made absolute (resolved inside "/", the host's root), keeping a trailing "/"
// or "/." that carries meaning for docker cp.
std::string host_absolute(const std::string& path) {
    if (path.starts_with("/")) return path;
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof cwd) == nullptr) return "/" + path;
    std::string base = cwd;
    return base == "/" ? "/" + path : base + "/" + path;
}

Status run_cp(Globals& g, const CpFlags& f) {
    Side src = parse_side(f.src), dest = parse_side(f.dest);
    if (!src.container.empty() && !dest.container.empty())
        return fail_invalid("copying between containers is not supported");
    if (src.container.empty() && dest.container.empty())
        return fail_invalid(
            "must specify at least one container source ({} and {} are host "
            "paths; write CONTAINER:PATH)",
            f.src, f.dest);
    const Side& in_container = src.container.empty() ? dest : src;
    if (in_container.path.empty())
        return fail_invalid("{}: the path in the container is empty", in_container.container);
    engine::Engine eng(g.root, g.runroot);
    auto id = eng.store().resolve(in_container.container);
    if (!id) return fail(id.error());
    auto root = engine::open_container_fs(eng, *id);
    if (!root) return fail(root.error());
    std::string where = "container " + in_container.container;
    engine::CopyOptions options{f.archive, f.follow};

    if (dest.path == "-" && dest.container.empty())
        return engine::copy_to_tar(root->get(), src.path, where, 1, options);
    if (src.path == "-" && src.container.empty())
        return engine::extract_tar(0, root->get(), dest.path, where, options);

    UniqueFd host(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!host) return fail_errno("open /");
    if (!src.container.empty())
        return engine::copy_path(root->get(), src.path, where, host.get(), host_absolute(dest.path),
                                 "the host", options);
    return engine::copy_path(host.get(), host_absolute(src.path), "the host", root->get(),
                             dest.path, where, options);
}

}  // namespace

void register_cp_commands(CLI::App& app, Globals& g) {
    auto f = std::make_shared<CpFlags>();
    auto* cp = app.add_subcommand(
        "cp", "copy files between a container and the host (CONTAINER:PATH, host path or -)");
    cp->add_flag("-a,--archive", f->archive, "keep uid/gid of the source");
    cp->add_flag("-L,--follow-link", f->follow, "follow a symlink as the source's last part");
    cp->add_option("src", f->src, "SRC: CONTAINER:PATH, a host path, or - (tar on stdin)")
        ->required();
    cp->add_option("dest", f->dest, "DEST: CONTAINER:PATH, a host path, or - (tar on stdout)")
        ->required();
    cp->callback([&g, f] { g.exit_code = finish(run_cp(g, *f)); });
}

}  // namespace husk::cli
