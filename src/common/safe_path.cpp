#include "common/safe_path.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <deque>
#include <vector>

namespace husk {
namespace {

long sys_openat2(int dirfd, const char* path, struct open_how* how) {
    return ::syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
}

std::vector<std::string> split_components(const std::string& path) {
    std::vector<std::string> parts;
    size_t i = 0;
    while (i < path.size()) {
        size_t j = path.find('/', i);
        if (j == std::string::npos) j = path.size();
        if (j > i) parts.push_back(path.substr(i, j - i));
        i = j + 1;
    }
    return parts;
}

}  // namespace

Result<UniqueFd> open_in_root(int root_fd, const std::string& path, int flags, mode_t mode) {
    struct open_how how {};
    how.flags = static_cast<__u64>(flags | O_CLOEXEC);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    std::string rel = path;
    while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
    if (rel.empty()) rel = ".";
    for (;;) {
        long fd = sys_openat2(root_fd, rel.c_str(), &how);
        if (fd >= 0) return UniqueFd(static_cast<int>(fd));
        if (errno == EINTR || errno == EAGAIN) continue;
        return fail_errno("open {} inside the root", path);
    }
}

Result<UniqueFd> make_dirs_in_root(int root_fd, const std::string& path, mode_t mode) {
    // Walk component by component, following symlinks by hand so that a link to a missing
    // target gets its directories created where the link points *inside* the root (what a
    // container would see), never outside it.
    std::deque<std::string> todo;
    for (auto& part : split_components(path)) todo.push_back(part);
    std::vector<std::string> walked;
    auto joined = [&] {
        std::string out;
        for (auto& w : walked) out += "/" + w;
        return out.empty() ? std::string("/") : out;
    };
    int links = 0;
    while (!todo.empty()) {
        std::string part = std::move(todo.front());
        todo.pop_front();
        if (part == ".") continue;
        if (part == "..") {
            if (!walked.empty()) walked.pop_back();
            continue;
        }
        auto dir = open_in_root(root_fd, joined(), O_PATH | O_DIRECTORY);
        if (!dir) return dir;
        struct stat st {};
        if (::fstatat(dir->get(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno != ENOENT)
                return fail_errno("stat {} inside the root", joined() + "/" + part);
            if (::mkdirat(dir->get(), part.c_str(), mode) != 0 && errno != EEXIST)
                return fail_errno("mkdir {} inside the root", clean_path(joined() + "/" + part));
            walked.push_back(part);
            continue;
        }
        if (S_ISLNK(st.st_mode)) {
            if (++links > 40)
                return fail(Error(ELOOP, fmt::format("resolve {} inside the root", path)));
            char target[PATH_MAX];
            ssize_t n = ::readlinkat(dir->get(), part.c_str(), target, sizeof target - 1);
            if (n < 0) return fail_errno("readlink {} inside the root", joined() + "/" + part);
            target[n] = '\0';
            if (target[0] == '/') walked.clear();
            auto parts = split_components(target);
            todo.insert(todo.begin(), parts.begin(), parts.end());
            continue;
        }
        if (!S_ISDIR(st.st_mode))
            return fail(Error(ENOTDIR, fmt::format("mkdir {} inside the root",
                                                   clean_path(joined() + "/" + part))));
        walked.push_back(part);
    }
    return open_in_root(root_fd, joined(), O_PATH | O_DIRECTORY);
}

Result<UniqueFd> make_file_in_root(int root_fd, const std::string& path, mode_t mode) {
    std::string cleaned = clean_path(path);
    // A symlink as the last component is followed by hand, like make_dirs_in_root, so that a
    // dangling one gets its target created inside the root.
    for (int links = 0; links <= 40; ++links) {
        size_t slash = cleaned.rfind('/');
        std::string parent = slash == 0 ? "/" : cleaned.substr(0, slash);
        std::string name = cleaned.substr(slash + 1);
        if (name.empty()) return fail_invalid("{} is not a file path", path);
        auto dir = make_dirs_in_root(root_fd, parent);
        if (!dir) return fail(dir.error());
        struct stat st {};
        if (::fstatat(dir->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
            // Something is there: never open it for writing (it could be a device node).
            if (!S_ISLNK(st.st_mode)) return open_in_root(root_fd, cleaned, O_PATH);
            char target[PATH_MAX];
            ssize_t n = ::readlinkat(dir->get(), name.c_str(), target, sizeof target - 1);
            if (n < 0) return fail_errno("readlink {} inside the root", cleaned);
            target[n] = '\0';
            cleaned = clean_path(target[0] == '/' ? std::string(target) : parent + "/" + target);
            continue;
        }
        if (errno != ENOENT) return fail_errno("stat {} inside the root", cleaned);
        UniqueFd created(::openat(dir->get(), name.c_str(),
                                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
        if (!created && errno != EEXIST) return fail_errno("create {} inside the root", cleaned);
        return open_in_root(root_fd, cleaned, O_PATH);
    }
    return fail(Error(ELOOP, fmt::format("resolve {} inside the root", path)));
}

std::string fd_path(int fd) {
    return "/proc/self/fd/" + std::to_string(fd);
}

std::string clean_path(const std::string& path) {
    std::vector<std::string> out;
    for (auto& part : split_components(path)) {
        if (part == ".") continue;
        if (part == "..") {
            if (!out.empty()) out.pop_back();
            continue;
        }
        out.push_back(part);
    }
    std::string result;
    for (auto& part : out) result += "/" + part;
    return result.empty() ? "/" : result;
}

}  // namespace husk
