#include "engine/container_fs.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "common/safe_path.hpp"
#include "runtime/state.hpp"

namespace husk::engine {
namespace {

Result<UniqueFd> open_live_root(const ContainerStore& store, const std::string& id,
                                const std::string& name) {
    runtime::StateStore rstore(store.runtime_root());
    auto rs = rstore.load(id);
    if (!rs) return fail(rs.error().wrap("container {}", name));
    std::string path = "/proc/" + std::to_string(rs->pid) + "/root";
    UniqueFd root(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return fail_errno("open the root of container {} ({})", name, path);
    // The pid may have been reused by another process before the open: check it is still
    // the container's init now that the fd is held.
    if (runtime::process_start_time(rs->pid) != rs->init_start_time)
        return fail(Error(ESRCH, fmt::format("container {} stopped while being opened", name)));
    return root;
}

// Binds `source` on the target; `reopen` gives the target again after the mount (the old fd
// still names the directory under it), where a read-only remount must be aimed.
template <typename Reopen>
Status bind_on(const std::string& source, int target_fd, bool read_only, const std::string& what,
               Reopen reopen) {
    std::string target = fd_path(target_fd);
    if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
        return fail_errno("bind {} for {}", source, what);
    if (!read_only) return {};
    Result<UniqueFd> mounted = reopen();
    if (!mounted) return fail(mounted.error());
    if (::mount(nullptr, fd_path(mounted->get()).c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY,
                nullptr) != 0)
        return fail_errno("make {} read-only", what);
    return {};
}

Result<UniqueFd> open_stopped_root(const Engine& engine, const ContainerRecord& r) {
    bool needs_mounts = r.read_only;
    for (const auto& m : r.mounts) needs_mounts = needs_mounts || m.type != "tmpfs";
    if (!needs_mounts) {
        UniqueFd root(::open(r.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!root) return fail_errno("open the rootfs of container {} ({})", r.name, r.rootfs);
        return root;
    }
    if (::unshare(CLONE_NEWNS) != 0) return fail_errno("unshare the mount namespace");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
        return fail_errno("make the mounts private");
    {
        UniqueFd self(::open(r.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!self) return fail_errno("open the rootfs of container {} ({})", r.name, r.rootfs);
        HUSK_TRY(
            bind_on(r.rootfs, self.get(), r.read_only, "the rootfs", [&]() -> Result<UniqueFd> {
                UniqueFd fd(::open(r.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
                if (!fd) return fail_errno("open {}", r.rootfs);
                return fd;
            }));
    }
    // Opened after its own bind: the fd is in the new mount, on which the volumes go.
    UniqueFd root(::open(r.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return fail_errno("open the rootfs of container {} ({})", r.name, r.rootfs);
    for (const auto& m : r.mounts) {
        if (m.type == "tmpfs") continue;  // empty while the container is not running
        std::string source =
            m.type == "volume" ? engine.volumes_root() + "/" + m.name + "/_data" : m.source;
        struct stat st {};
        if (::stat(source.c_str(), &st) != 0)
            return fail_errno("mount source {} of container {}", source, r.name);
        // The mount point is made inside the rootfs, as the runtime makes it at start.
        auto target = S_ISDIR(st.st_mode) ? make_dirs_in_root(root.get(), m.destination)
                                          : make_file_in_root(root.get(), m.destination);
        if (!target) return fail(target.error().wrap("mount point of {}", m.destination));
        HUSK_TRY(bind_on(source, target->get(), m.read_only, m.destination,
                         [&] { return open_in_root(root.get(), m.destination, O_PATH); }));
    }
    return root;
}

}  // namespace

Result<UniqueFd> open_container_fs(const Engine& engine, const std::string& id) {
    auto v = engine.view(id);
    if (!v) return fail(v.error());
    if (v->status == "running" || v->status == "paused") {
        auto live = open_live_root(engine.store(), id, v->record.name);
        if (live || live.error().errnum() != ESRCH) return live;
        // It stopped meanwhile: its rootfs is still there.
    }
    return open_stopped_root(engine, v->record);
}

}  // namespace husk::engine
