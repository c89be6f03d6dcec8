// The build context: a directory whose every path is resolved beneath it (a `..`, or a
// symlink out, is an error), minus what .dockerignore excludes.
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "build/steps.hpp"
#include "common/files.hpp"

namespace husk::build::detail {
namespace {

std::vector<std::string> split(const std::string& path) {
    std::vector<std::string> parts;
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string::npos) end = path.size();
        if (end > start) parts.push_back(path.substr(start, end - start));
        start = end + 1;
    }
    return parts;
}

}  // namespace

bool has_wildcards(std::string_view s) {
    return s.find_first_of("*?[") != std::string_view::npos;
}

Result<UniqueFd> open_under(int dirfd, const std::string& path, int flags, bool in_root) {
    struct open_how how {};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.resolve = RESOLVE_NO_MAGICLINKS | (in_root ? RESOLVE_IN_ROOT : RESOLVE_BENEATH);
    std::string rel = path.empty() ? "." : path;
    for (;;) {
        long fd = ::syscall(SYS_openat2, dirfd, rel.c_str(), &how, sizeof how);
        if (fd >= 0) return UniqueFd(static_cast<int>(fd));
        if (errno == EAGAIN || errno == EINTR) continue;
        if (errno == EXDEV) return fail_invalid("{}: leads outside the build context", path);
        return fail_errno("{}", path);
    }
}

std::vector<std::string> glob_under(int root_fd, const std::string& pattern, bool in_root) {
    std::vector<std::string> current = {""};
    for (auto& part : split(pattern)) {
        std::vector<std::string> next;
        for (auto& base : current) {
            std::string joined = base.empty() ? part : base + "/" + part;
            if (!has_wildcards(part)) {
                if (open_under(root_fd, joined, O_PATH, in_root)) next.push_back(joined);
                continue;
            }
            auto dirfd = open_under(root_fd, base, O_RDONLY | O_DIRECTORY, in_root);
            if (!dirfd) continue;
            DIR* d = ::fdopendir(dirfd->release());
            if (d == nullptr) continue;
            while (auto* ent = ::readdir(d)) {
                std::string name = ent->d_name;
                if (name == "." || name == "..") continue;
                if (::fnmatch(part.c_str(), name.c_str(), FNM_PERIOD) == 0)
                    next.push_back(base.empty() ? name : base + "/" + name);
            }
            ::closedir(d);
        }
        current = std::move(next);
    }
    return current;
}

Result<Context> Context::open(const std::string& dir, const std::string& dockerfile) {
    Context ctx;
    ctx.fd_ = UniqueFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!ctx.fd_) return fail_errno("build context {}", dir);
    // <Dockerfile>.dockerignore next to the Dockerfile wins over the context's .dockerignore.
    std::string text;
    if (auto own = read_file(dockerfile + ".dockerignore"))
        text = *own;
    else if (auto common = read_file(dir + "/.dockerignore"))
        text = *common;
    auto rules = IgnoreRules::parse(text);
    if (!rules) return fail(rules.error());
    ctx.ignore_ = std::move(*rules);
    return ctx;
}

Result<std::vector<std::string>> Context::match(const std::string& source) const {
    // Lexically first: a ".." that climbs above the context is refused before any lookup.
    int depth = 0;
    for (auto& part : split(source)) {
        if (part == "..") {
            if (--depth < 0) return fail_invalid("{}: outside the build context", source);
        } else if (part != ".") {
            ++depth;
        }
    }
    std::string clean = clean_relative_path(source);  // "/x" is the context's x, as Docker
    if (!has_wildcards(clean)) {
        if (!clean.empty() && ignore_.excluded(clean))
            return fail_invalid("{}: excluded from the build context by .dockerignore", source);
        auto fd = open_under(fd_.get(), clean, O_PATH, false);
        if (!fd) {
            if (fd.error().errnum() == ENOENT)
                return fail_invalid("{}: no such file or directory in the build context", source);
            return fail(fd.error());
        }
        return std::vector<std::string>{clean};
    }
    std::vector<std::string> current = glob_under(fd_.get(), clean, false);
    std::vector<std::string> out;
    for (auto& p : current)
        if (!ignore_.excluded(p)) out.push_back(p);
    std::sort(out.begin(), out.end());
    if (out.empty()) return fail_invalid("{}: no files in the build context match", source);
    // A match that is a symlink out of the context is refused here, not when copied.
    for (auto& p : out) {
        auto fd = open_under(fd_.get(), p, O_PATH, false);
        if (!fd) return fail(fd.error());
    }
    return out;
}

}  // namespace husk::build::detail
