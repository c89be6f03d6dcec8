// COPY and ADD: sources (context or a stage's rootfs) into the step's rootfs. Every
// destination is resolved inside the rootfs (common/safe_path), every source beneath its
// root; files are written relative to directory fds and never through a symlink.
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>

#include "build/steps.hpp"
#include "common/files.hpp"
#include "common/safe_path.hpp"
#include "common/scope_exit.hpp"
#include "image/digest.hpp"

namespace husk::build::detail {
namespace {

std::string base_name(const std::string& path) {
    auto p = path.find_last_not_of('/');
    if (p == std::string::npos) return "";
    auto slash = path.rfind('/', p);
    return path.substr(slash == std::string::npos ? 0 : slash + 1,
                       p - (slash == std::string::npos ? 0 : slash + 1) + 1);
}

std::string dir_name(const std::string& path) {
    std::string clean = clean_path(path);
    auto slash = clean.rfind('/');
    return slash == 0 || slash == std::string::npos ? "/" : clean.substr(0, slash);
}

std::vector<std::string> sorted_entries(int dirfd) {
    std::vector<std::string> names;
    DIR* d = ::fdopendir(::fcntl(dirfd, F_DUPFD_CLOEXEC, 0));
    if (d == nullptr) return names;
    ::rewinddir(d);
    while (auto* ent = ::readdir(d)) {
        std::string n = ent->d_name;
        if (n != "." && n != "..") names.push_back(n);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
}

Result<UniqueFd> reopen(int fd, int flags) {
    UniqueFd out(::open(fd_path(fd).c_str(), flags | O_CLOEXEC));
    if (!out) return fail_errno("reopen {}", fd_path(fd));
    return out;
}

// Removes what is at dst/name unless it is a directory and `keep_dir`.
Status clear_target(int dst, const std::string& name, bool keep_dir) {
    struct stat st {};
    if (::fstatat(dst, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return {};
    if (S_ISDIR(st.st_mode)) {
        if (keep_dir) return {};
        return remove_tree(fd_path(dst) + "/" + name);
    }
    if (::unlinkat(dst, name.c_str(), 0) != 0) return fail_errno("replace {}", name);
    return {};
}

class Copier {
public:
    explicit Copier(const CopySpec& spec) : spec_(spec) {}

    uid_t uid(const struct stat& st) const {
        return spec_.uid.value_or(spec_.in_root ? st.st_uid : 0);
    }
    gid_t gid(const struct stat& st) const {
        return spec_.gid.value_or(spec_.in_root ? st.st_gid : 0);
    }

    Status finish(int dst, const std::string& name, const struct stat& st) {
        if (::fchownat(dst, name.c_str(), uid(st), gid(st), AT_SYMLINK_NOFOLLOW) != 0)
            return fail_errno("chown {}", name);
        if (!S_ISLNK(st.st_mode)) {
            mode_t mode = spec_.chmod ? *spec_.chmod : (st.st_mode & 07777);
            if (::fchmodat(dst, name.c_str(), mode, 0) != 0) return fail_errno("chmod {}", name);
        }
        struct timespec times[2] = {st.st_mtim, st.st_mtim};
        ::utimensat(dst, name.c_str(), times, AT_SYMLINK_NOFOLLOW);
        return {};
    }

    Status copy_file(int src_fd, int dst, const std::string& name, const struct stat& st) {
        HUSK_TRY(clear_target(dst, name, false));
        UniqueFd out(::openat(dst, name.c_str(),
                              O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!out) return fail_errno("create {}", name);
        off_t left = st.st_size;
        while (left > 0) {
            ssize_t n = ::copy_file_range(src_fd, nullptr, out.get(), nullptr,
                                          static_cast<size_t>(left), 0);
            if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS))
                n = ::sendfile(out.get(), src_fd, nullptr, static_cast<size_t>(left));
            if (n < 0) return fail_errno("copy to {}", name);
            if (n == 0) break;
            left -= n;
        }
        return finish(dst, name, st);
    }

    // One entry of a directory being copied; `rel` is its path for .dockerignore.
    Status entry(int src, const std::string& name, int dst, const std::string& rel) {
        struct stat st {};
        if (::fstatat(src, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
            return fail_errno("stat {}", rel);
        bool excluded = spec_.ignore && spec_.ignore->excluded(rel);
        if (excluded && !(S_ISDIR(st.st_mode) && spec_.ignore->has_exceptions())) return {};
        if (S_ISDIR(st.st_mode)) {
            HUSK_TRY(clear_target(dst, name, true));
            if (::mkdirat(dst, name.c_str(), 0755) != 0 && errno != EEXIST)
                return fail_errno("mkdir {}", rel);
            UniqueFd s(
                ::openat(src, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            UniqueFd d(
                ::openat(dst, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!s || !d) return fail_errno("open {}", rel);
            HUSK_TRY(tree(s.get(), d.get(), rel));
            return finish(dst, name, st);
        }
        if (S_ISLNK(st.st_mode)) {
            char target[4096];
            ssize_t len = ::readlinkat(src, name.c_str(), target, sizeof target - 1);
            if (len < 0) return fail_errno("readlink {}", rel);
            target[len] = 0;
            HUSK_TRY(clear_target(dst, name, false));
            if (::symlinkat(target, dst, name.c_str()) != 0) return fail_errno("symlink {}", rel);
            return finish(dst, name, st);
        }
        if (S_ISREG(st.st_mode)) {
            UniqueFd in(::openat(src, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
            if (!in) return fail_errno("open {}", rel);
            return copy_file(in.get(), dst, name, st);
        }
        HUSK_TRY(clear_target(dst, name, false));
        if (::mknodat(dst, name.c_str(), st.st_mode, st.st_rdev) != 0)
            return fail_errno("mknod {}", rel);
        return finish(dst, name, st);
    }

    Status tree(int src, int dst, const std::string& rel) {
        for (auto& name : sorted_entries(src))
            HUSK_TRY(entry(src, name, dst, rel.empty() ? name : rel + "/" + name));
        return {};
    }

private:
    const CopySpec& spec_;
};

// ADD of a local archive: is it one libarchive reads as tar (any compression)?
bool is_archive(int fd) {
    struct archive* a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    struct archive_entry* e = nullptr;
    bool ok = archive_read_open_fd(a, fd, 1 << 16) == ARCHIVE_OK &&
              archive_read_next_header(a, &e) == ARCHIVE_OK;
    archive_read_free(a);
    ::lseek(fd, 0, SEEK_SET);
    return ok;
}

Status extract_archive(int rootfs_fd, int fd, const std::string& dest, const std::string& shown) {
    struct archive* a = archive_read_new();
    auto free_archive = ScopeExit([&] { archive_read_free(a); });
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    if (archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK)
        return fail_invalid("{}: {}", shown, archive_error_string(a));
    struct archive_entry* e = nullptr;
    int r;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        std::string raw = archive_entry_pathname(e);
        int depth = 0;
        bool escapes = !raw.empty() && raw[0] == '/';
        size_t start = 0;
        while (start <= raw.size() && !escapes) {
            size_t end = raw.find('/', start);
            if (end == std::string::npos) end = raw.size();
            std::string part = raw.substr(start, end - start);
            if (part == "..")
                escapes = --depth < 0;
            else if (!part.empty() && part != ".")
                ++depth;
            start = end + 1;
        }
        if (escapes)
            return fail_invalid("{}: entry {:?} leads outside the destination", shown, raw);
        std::string rel = clean_relative_path(raw);
        if (rel.empty()) continue;
        std::string path = dest + "/" + rel;
        mode_t type = archive_entry_filetype(e);
        auto parent = make_dirs_in_root(rootfs_fd, dir_name(path));
        if (!parent) return fail(parent.error().wrap("{}: {}", shown, rel));
        std::string name = base_name(path);
        struct stat st {};
        st.st_mode = archive_entry_mode(e);
        st.st_uid = static_cast<uid_t>(archive_entry_uid(e));
        st.st_gid = static_cast<gid_t>(archive_entry_gid(e));
        st.st_mtim.tv_sec = archive_entry_mtime(e);
        int pfd = parent->get();
        UniqueFd pdir = UniqueFd(::open(fd_path(pfd).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!pdir) return fail_errno("{}: open parent of {}", shown, rel);
        if (const char* link = archive_entry_hardlink(e)) {
            std::string lrel = clean_relative_path(link);
            auto target = open_in_root(rootfs_fd, dest + "/" + lrel, O_PATH | O_NOFOLLOW);
            if (!target) return fail(target.error().wrap("{}: hardlink {}", shown, rel));
            HUSK_TRY(clear_target(pdir.get(), name, false));
            if (::linkat(target->get(), "", pdir.get(), name.c_str(), AT_EMPTY_PATH) != 0)
                return fail_errno("{}: hardlink {}", shown, rel);
            continue;
        }
        if (type == AE_IFDIR) {
            HUSK_TRY(clear_target(pdir.get(), name, true));
            if (::mkdirat(pdir.get(), name.c_str(), 0755) != 0 && errno != EEXIST)
                return fail_errno("{}: mkdir {}", shown, rel);
        } else if (type == AE_IFLNK) {
            HUSK_TRY(clear_target(pdir.get(), name, false));
            if (::symlinkat(archive_entry_symlink(e), pdir.get(), name.c_str()) != 0)
                return fail_errno("{}: symlink {}", shown, rel);
        } else if (type == AE_IFREG) {
            HUSK_TRY(clear_target(pdir.get(), name, false));
            UniqueFd out(::openat(pdir.get(), name.c_str(),
                                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
            if (!out) return fail_errno("{}: create {}", shown, rel);
            if (archive_read_data_into_fd(a, out.get()) != ARCHIVE_OK)
                return fail_invalid("{}: {}: {}", shown, rel, archive_error_string(a));
        } else {
            HUSK_TRY(clear_target(pdir.get(), name, false));
            if (::mknodat(pdir.get(), name.c_str(), st.st_mode, archive_entry_rdev(e)) != 0)
                return fail_errno("{}: mknod {}", shown, rel);
        }
        if (::fchownat(pdir.get(), name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0)
            return fail_errno("{}: chown {}", shown, rel);
        if (type != AE_IFLNK && ::fchmodat(pdir.get(), name.c_str(), st.st_mode & 07777, 0) != 0)
            return fail_errno("{}: chmod {}", shown, rel);
        struct timespec times[2] = {st.st_mtim, st.st_mtim};
        ::utimensat(pdir.get(), name.c_str(), times, AT_SYMLINK_NOFOLLOW);
    }
    if (r != ARCHIVE_EOF) return fail_invalid("{}: {}", shown, archive_error_string(a));
    return {};
}

bool is_dir_in_root(int rootfs_fd, const std::string& path) {
    return static_cast<bool>(open_in_root(rootfs_fd, path, O_PATH | O_DIRECTORY));
}

Result<UniqueFd> dir_in_root(int rootfs_fd, const std::string& path) {
    auto made = make_dirs_in_root(rootfs_fd, path);
    if (!made) return fail(made.error());
    return reopen(made->get(), O_RDONLY | O_DIRECTORY);
}

void hash_tree(image::Hasher& h, int dirfd, const std::string& rel, const IgnoreRules* ignore);

void hash_entry(image::Hasher& h, int dirfd, const std::string& name, const std::string& rel,
                const IgnoreRules* ignore, bool follow) {
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) != 0) return;
    bool excluded = ignore && !rel.empty() && ignore->excluded(rel);
    if (excluded && !(S_ISDIR(st.st_mode) && ignore->has_exceptions())) return;
    h.update(fmt::format("{}\n{:o}\n{}\n{}\n", rel, st.st_mode, st.st_uid, st.st_gid));
    if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t len = ::readlinkat(dirfd, name.c_str(), target, sizeof target);
        if (len > 0) h.update(target, static_cast<size_t>(len));
    } else if (S_ISREG(st.st_mode)) {
        UniqueFd fd(
            ::openat(dirfd, name.c_str(), O_RDONLY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW)));
        char buf[1 << 16];
        ssize_t n;
        while (fd && (n = ::read(fd.get(), buf, sizeof buf)) > 0)
            h.update(buf, static_cast<size_t>(n));
    } else if (S_ISDIR(st.st_mode)) {
        UniqueFd sub(::openat(dirfd, name.c_str(),
                              O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW)));
        if (sub) hash_tree(h, sub.get(), rel, ignore);
    } else {
        h.update(fmt::format("{}", st.st_rdev));
    }
}

void hash_tree(image::Hasher& h, int dirfd, const std::string& rel, const IgnoreRules* ignore) {
    for (auto& name : sorted_entries(dirfd))
        hash_entry(h, dirfd, name, rel.empty() ? name : rel + "/" + name, ignore, false);
}

}  // namespace

Status copy_into(int rootfs_fd, const CopySpec& spec) {
    Copier copier(spec);
    for (auto& source : spec.sources) {
        auto src = open_under(spec.src_root, source, O_PATH, spec.in_root);
        if (!src) return fail(src.error());
        struct stat st {};
        if (::fstat(src->get(), &st) != 0) return fail_errno("stat {}", source);
        bool dest_dir = spec.dest_is_dir || is_dir_in_root(rootfs_fd, spec.dest);
        if (S_ISDIR(st.st_mode)) {
            // A directory's contents go into the destination, not the directory itself.
            auto s = reopen(src->get(), O_RDONLY | O_DIRECTORY);
            if (!s) return fail(s.error());
            auto d = dir_in_root(rootfs_fd, spec.dest);
            if (!d) return fail(d.error().wrap("destination {}", spec.dest));
            HUSK_TRY(copier.tree(s->get(), d->get(), source == "." ? "" : source));
            continue;
        }
        auto in = reopen(src->get(), O_RDONLY);
        if (!in) return fail(in.error());
        if (spec.extract_archives && S_ISREG(st.st_mode) && is_archive(in->get())) {
            auto d = dir_in_root(rootfs_fd, spec.dest);
            if (!d) return fail(d.error().wrap("destination {}", spec.dest));
            HUSK_TRY(extract_archive(rootfs_fd, in->get(), spec.dest, source));
            continue;
        }
        std::string parent = dest_dir ? spec.dest : dir_name(spec.dest);
        std::string name = dest_dir ? base_name(source) : base_name(spec.dest);
        auto d = dir_in_root(rootfs_fd, parent);
        if (!d) return fail(d.error().wrap("destination {}", parent));
        if (S_ISREG(st.st_mode))
            HUSK_TRY(copier.copy_file(in->get(), d->get(), name, st));
        else
            return fail_invalid("{}: not a regular file or directory", source);
    }
    return {};
}

Result<std::string> hash_sources(const CopySpec& spec) {
    image::Hasher h;
    for (auto& source : spec.sources) {
        auto src = open_under(spec.src_root, source, O_PATH, spec.in_root);
        if (!src) return fail(src.error());
        auto parent = reopen(src->get(), O_PATH);
        if (!parent) return fail(parent.error());
        // Hash the source through its own fd (symlinks already resolved beneath the root).
        struct stat st {};
        ::fstat(src->get(), &st);
        if (S_ISDIR(st.st_mode)) {
            auto d = reopen(src->get(), O_RDONLY | O_DIRECTORY);
            if (!d) return fail(d.error());
            h.update(fmt::format("dir\n{}\n{:o}\n", source, st.st_mode));
            hash_tree(h, d->get(), source == "." ? "" : source, spec.ignore);
        } else {
            h.update(fmt::format("file\n{}\n{:o}\n", source, st.st_mode));
            auto in = reopen(src->get(), O_RDONLY);
            if (!in) return fail(in.error());
            char buf[1 << 16];
            ssize_t n;
            while ((n = ::read(in->get(), buf, sizeof buf)) > 0)
                h.update(buf, static_cast<size_t>(n));
        }
    }
    return h.finish().str();
}

Status write_file_into(int rootfs_fd, const std::string& dest, bool dest_is_dir,
                       const std::string& name, const std::string& content,
                       std::optional<uid_t> uid, std::optional<gid_t> gid,
                       std::optional<mode_t> chmod) {
    bool as_dir = dest_is_dir || is_dir_in_root(rootfs_fd, dest);
    std::string parent = as_dir ? dest : dir_name(dest);
    std::string file = as_dir ? name : base_name(dest);
    auto d = dir_in_root(rootfs_fd, parent);
    if (!d) return fail(d.error().wrap("destination {}", parent));
    HUSK_TRY(clear_target(d->get(), file, false));
    UniqueFd out(::openat(d->get(), file.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!out) return fail_errno("create {}/{}", parent, file);
    if (::write(out.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size()))
        return fail_errno("write {}/{}", parent, file);
    if (::fchown(out.get(), uid.value_or(0), gid.value_or(0)) != 0)
        return fail_errno("chown {}", file);
    if (::fchmod(out.get(), chmod.value_or(0644)) != 0) return fail_errno("chmod {}", file);
    return {};
}

}  // namespace husk::build::detail
