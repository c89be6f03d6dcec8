#include "runtime/idmap.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/files.hpp"

namespace husk::runtime {
namespace {

// A user namespace holding the mappings, as an fd: a child is cloned into a new one, given
// the maps, and its namespace opened; the child itself is not needed after that.
Result<UniqueFd> user_namespace_with(const MountStep& step) {
    long rc = ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, 0);
    if (rc < 0) return fail_errno("clone a user namespace for the idmapping");
    if (rc == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);  // never outlive a killed runtime
        for (;;) ::pause();                           // killed below
    }
    pid_t pid = static_cast<pid_t>(rc);
    auto reap = [pid] {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
    };
    std::string proc = fmt::format("/proc/{}", pid);
    Status st = write_file(proc + "/uid_map", id_map_text(step.uid_mappings));
    if (!st) {
        reap();
        return fail(st.error().wrap("uidMappings"));
    }
    st = write_file(proc + "/gid_map", id_map_text(step.gid_mappings));
    if (!st) {
        reap();
        return fail(st.error().wrap("gidMappings"));
    }
    UniqueFd fd(::open((proc + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC));
    int saved = errno;
    reap();
    if (!fd) {
        errno = saved;
        return fail_errno("open {}/ns/user", proc);
    }
    return fd;
}

}  // namespace

Result<std::vector<UniqueFd>> prepare_idmapped_mounts(std::vector<MountStep>& steps) {
    std::vector<UniqueFd> owners;
    for (auto& step : steps) {
        if (!step.idmap) continue;
        auto userns = user_namespace_with(step);
        if (!userns) return fail(userns.error().wrap("mounts[{}] idmap", step.index));
        unsigned tree_flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC;
        if (step.recursive) tree_flags |= AT_RECURSIVE;
        UniqueFd tree(
            static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, step.source.c_str(), tree_flags)));
        if (!tree) return fail_errno("mounts[{}].source {}: open_tree", step.index, step.source);
        struct mount_attr attr {};
        attr.attr_set = MOUNT_ATTR_IDMAP;
        attr.userns_fd = static_cast<uint64_t>(userns->get());
        unsigned setattr_flags = AT_EMPTY_PATH | (step.idmap_recursive ? AT_RECURSIVE : 0);
        if (::mount_setattr(tree.get(), "", setattr_flags, &attr, sizeof attr) != 0)
            return fail_errno(
                "mounts[{}] {}: idmap {} (the filesystem must support idmapped "
                "mounts)",
                step.index, step.destination, step.source);
        step.tree_fd = tree.get();
        owners.push_back(std::move(tree));
    }
    return owners;
}

Status attach_idmapped_tree(const MountStep& step, const std::string& target) {
    // The target is a /proc/self/fd/N magic link to the O_PATH fd of the mount point.
    if (::move_mount(step.tree_fd, "", AT_FDCWD, target.c_str(),
                     MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS) != 0)
        return fail_errno("attach the idmapped tree of {} on {}", step.source, step.destination);
    ::close(step.tree_fd);
    return {};
}

std::string id_map_text(const std::vector<oci::IdMapping>& mappings) {
    std::string text;
    for (const auto& m : mappings)
        text += fmt::format("{} {} {}\n", m.container_id, m.host_id, m.size);
    return text;
}

}  // namespace husk::runtime
