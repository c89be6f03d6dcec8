#include "common/files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/unique_fd.hpp"

namespace husk {
namespace {

Result<std::string> read_all(int fd, const std::string& path) {
    std::string out;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno("read {}", path);
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

Status write_all(int fd, std::string_view content, const std::string& path) {
    while (!content.empty()) {
        ssize_t n = ::write(fd, content.data(), content.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno("write {}", path);
        }
        content.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

}  // namespace

Result<std::string> read_file(const std::string& path) {
    return read_file_at(AT_FDCWD, path);
}

Result<std::string> read_file_at(int dirfd, const std::string& path) {
    UniqueFd fd(::openat(dirfd, path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail_errno("open {}", path);
    return read_all(fd.get(), path);
}

Status write_file(const std::string& path, std::string_view content) {
    return write_file_at(AT_FDCWD, path, content);
}

Status write_file_at(int dirfd, const std::string& path, std::string_view content) {
    UniqueFd fd(::openat(dirfd, path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd) return fail_errno("open {}", path);
    return write_all(fd.get(), content, path);
}

Status write_file_atomic(const std::string& path, std::string_view content, mode_t mode,
                         Durability durability) {
    std::string tmp = path + ".tmp-" + std::to_string(::getpid());
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
    if (!fd) return fail_errno("create {}", tmp);
    if (auto st = write_all(fd.get(), content, tmp); !st) {
        ::unlink(tmp.c_str());
        return st;
    }
    if (durability == Durability::survive_power_loss && ::fsync(fd.get()) != 0) {
        auto err = Error::from_errno("fsync {}", tmp);
        ::unlink(tmp.c_str());
        return fail(err);
    }
    fd.reset();
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        auto err = Error::from_errno("rename {} to {}", tmp, path);
        ::unlink(tmp.c_str());
        return fail(err);
    }
    return {};
}

Status make_dirs(const std::string& path, mode_t mode) {
    if (path.empty()) return {};
    // Mostly there already (a store's layout, opened by every command): one stat, not a
    // mkdir per component.
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return {};
    std::string prefix;
    size_t pos = 0;
    while (pos != std::string::npos) {
        pos = path.find('/', pos + 1);
        prefix = path.substr(0, pos);
        if (prefix.empty()) continue;
        if (::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST)
            return fail_errno("mkdir {}", prefix);
    }
    if (::stat(path.c_str(), &st) != 0) return fail_errno("stat {}", path);
    if (!S_ISDIR(st.st_mode)) return fail(Error(ENOTDIR, fmt::format("mkdir {}", path)));
    return {};
}

namespace {

Status remove_tree_at(int parent, const char* name, dev_t dev, const std::string& shown) {
    struct stat st {};
    if (::fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) return {};
        return fail_errno("stat {}", shown);
    }
    if (S_ISDIR(st.st_mode)) {
        if (st.st_dev != dev)
            return fail(Error(EXDEV, fmt::format("remove {}: a mount point", shown)));
        UniqueFd dfd(::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!dfd) return fail_errno("open {}", shown);
        DIR* dir = ::fdopendir(::fcntl(dfd.get(), F_DUPFD_CLOEXEC, 0));
        if (dir == nullptr) return fail_errno("opendir {}", shown);
        Status result;
        while (struct dirent* entry = ::readdir(dir)) {
            std::string_view n = entry->d_name;
            if (n == "." || n == "..") continue;
            result = remove_tree_at(dfd.get(), entry->d_name, dev, shown + "/" + entry->d_name);
            if (!result) break;
        }
        ::closedir(dir);
        if (!result) return result;
        if (::unlinkat(parent, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
            return fail_errno("rmdir {}", shown);
        return {};
    }
    if (::unlinkat(parent, name, 0) != 0 && errno != ENOENT) return fail_errno("unlink {}", shown);
    return {};
}

}  // namespace

Status remove_tree(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return {};
        return fail_errno("stat {}", path);
    }
    return remove_tree_at(AT_FDCWD, path.c_str(), st.st_dev, path);
}

bool path_exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace husk
