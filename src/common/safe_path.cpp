#include "common/safe_path.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

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
    struct open_how how{};
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
    auto parts = split_components(clean_path(path));
    auto current = open_in_root(root_fd, ".", O_PATH | O_DIRECTORY);
    if (!current) return current;
    std::string walked;
    for (const auto& part : parts) {
        walked += "/" + part;
        if (::mkdirat(current->get(), part.c_str(), mode) != 0 && errno != EEXIST)
            return fail_errno("mkdir {} inside the root", walked);
        // Re-resolve from the root so that a symlink just found stays inside it.
        auto next = open_in_root(root_fd, walked, O_PATH | O_DIRECTORY);
        if (!next) return next;
        current = std::move(next);
    }
    return current;
}

Result<UniqueFd> make_file_in_root(int root_fd, const std::string& path, mode_t mode) {
    std::string cleaned = clean_path(path);
    size_t slash = cleaned.rfind('/');
    std::string parent = cleaned.substr(0, slash);
    std::string name = cleaned.substr(slash + 1);
    if (name.empty()) return fail_invalid("{} is not a file path", path);
    auto dir = make_dirs_in_root(root_fd, parent.empty() ? "/" : parent);
    if (!dir) return fail(dir.error());
    auto existing = open_in_root(root_fd, cleaned, O_PATH);
    if (existing) return existing;
    UniqueFd created(::openat(dir->get(), name.c_str(),
                              O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
    if (!created && errno != EEXIST) return fail_errno("create {} inside the root", path);
    return open_in_root(root_fd, cleaned, O_PATH);
}

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

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
