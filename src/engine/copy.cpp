#include "engine/copy.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <optional>
#include <vector>

#include "common/safe_path.hpp"
#include "common/unique_fd.hpp"

namespace husk::engine {
namespace {

// Where an entry's bytes come from: a file being walked, or the tar stream being read.
class DataReader {
public:
    virtual ~DataReader() = default;
    virtual Result<size_t> read(char* buf, size_t n) = 0;
};

class FdReader : public DataReader {
public:
    FdReader(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
    Result<size_t> read(char* buf, size_t n) override {
        for (;;) {
            ssize_t r = ::read(fd_, buf, n);
            if (r >= 0) return static_cast<size_t>(r);
            if (errno != EINTR) return fail_errno("read {}", path_);
        }
    }

private:
    int fd_;
    std::string path_;
};

class ArchiveReader : public DataReader {
public:
    explicit ArchiveReader(struct archive* a) : a_(a) {}
    Result<size_t> read(char* buf, size_t n) override {
        la_ssize_t r = archive_read_data(a_, buf, n);
        if (r < 0) return fail_invalid("read the tar stream: {}", archive_error_string(a_));
        return static_cast<size_t>(r);
    }

private:
    struct archive* a_;
};

struct Item {
    std::string name;  // relative to the destination ("" never reaches a sink)
    struct stat st {};
    std::string symlink;   // target of a symlink
    std::string hardlink;  // a tar hardlink: the earlier entry's name
    DataReader* data = nullptr;
};

class Sink {
public:
    virtual ~Sink() = default;
    virtual Status add(const Item& item) = 0;
    virtual Status finish() { return {}; }
};

std::string parent_of(const std::string& clean) {
    auto slash = clean.rfind('/');
    if (slash == std::string::npos || slash == 0) return "/";
    return clean.substr(0, slash);
}

std::string base_of(const std::string& clean) {
    auto slash = clean.rfind('/');
    return slash == std::string::npos ? clean : clean.substr(slash + 1);
}

std::string join(const std::string& dir, const std::string& name) {
    if (name.empty()) return dir;
    return dir == "/" ? "/" + name : dir + "/" + name;
}

// The stat of `path` inside the root, nullopt when it does not exist.
Result<std::optional<struct stat>> stat_in_root(int root, const std::string& path, bool follow) {
    auto fd = open_in_root(root, path, O_PATH | (follow ? 0 : O_NOFOLLOW));
    if (!fd) {
        if (fd.error().errnum() == ENOENT) return std::optional<struct stat>{};
        return fail(fd.error());
    }
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0) return fail_errno("stat {}", path);
    return std::optional<struct stat>{st};
}

Status write_all(int fd, const char* buf, size_t n, const std::string& path) {
    while (n > 0) {
        ssize_t w = ::write(fd, buf, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return fail_errno("write {}", path);
        }
        buf += w;
        n -= static_cast<size_t>(w);
    }
    return {};
}

// Walks the tree under `pfd` (an O_PATH fd, already stat'ed) depth first, parents before
// children. Children are opened by single names with O_NOFOLLOW relative to their directory:
// nothing in the tree is ever followed.
Status walk(int pfd, const struct stat& st, const std::string& name, const std::string& shown,
            Sink& sink, bool top = true) {
    if (S_ISSOCK(st.st_mode)) return {};  // tar has no sockets; docker skips them too
    Item item;
    item.name = name;
    item.st = st;
    UniqueFd data;
    std::optional<FdReader> reader;
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = ::readlinkat(pfd, "", target, sizeof target - 1);
        if (n < 0) return fail_errno("readlink {}", shown);
        item.symlink.assign(target, static_cast<size_t>(n));
    } else if (S_ISREG(st.st_mode)) {
        // Reopened from the O_PATH fd: a regular file only, never a device or fifo.
        data.reset(::open(fd_path(pfd).c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
        if (!data) return fail_errno("open {}", shown);
        reader.emplace(data.get(), shown);
        item.data = &*reader;
    }
    if (!name.empty()) HUSK_TRY(sink.add(item));
    if (!S_ISDIR(st.st_mode)) return {};

    UniqueFd dfd(::openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dfd) return fail_errno("open directory {}", shown);
    // The kernel's views met inside a tree (a running container's /proc, /sys, cgroups) are
    // not files to copy: the directory is, its contents are not (endless or blocking reads
    // otherwise). Asked for by name, they are copied.
    struct statfs fs {};
    if (!top && ::fstatfs(dfd.get(), &fs) == 0 &&
        (fs.f_type == PROC_SUPER_MAGIC || fs.f_type == SYSFS_MAGIC ||
         fs.f_type == CGROUP_SUPER_MAGIC || fs.f_type == CGROUP2_SUPER_MAGIC))
        return {};
    int listing = ::dup(dfd.get());
    DIR* dir = listing < 0 ? nullptr : ::fdopendir(listing);
    if (dir == nullptr) {
        if (listing >= 0) ::close(listing);
        return fail_errno("list {}", shown);
    }
    std::vector<std::string> names;
    while (auto* e = ::readdir(dir)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(std::move(n));
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
        std::string child_shown = join(shown, n);
        UniqueFd cfd(::openat(dfd.get(), n.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!cfd) {
            if (errno == ENOENT) continue;  // removed while we walked
            return fail_errno("open {}", child_shown);
        }
        struct stat cst {};
        if (::fstat(cfd.get(), &cst) != 0) return fail_errno("stat {}", child_shown);
        HUSK_TRY(walk(cfd.get(), cst, name.empty() ? n : name + "/" + n, child_shown, sink, false));
    }
    return {};
}

class TarSink : public Sink {
public:
    explicit TarSink(int fd) : a_(archive_write_new()) {
        archive_write_set_format_pax_restricted(a_);
        archive_write_set_bytes_in_last_block(a_, 1);
        opened_ = archive_write_open_fd(a_, fd) == ARCHIVE_OK;
    }
    ~TarSink() override { archive_write_free(a_); }

    Status add(const Item& item) override {
        if (!opened_) return fail_invalid("write the tar stream: {}", archive_error_string(a_));
        struct archive_entry* e = archive_entry_new();
        archive_entry_copy_pathname(e, item.name.c_str());
        archive_entry_copy_stat(e, &item.st);
        if (!S_ISREG(item.st.st_mode)) archive_entry_set_size(e, 0);
        if (S_ISLNK(item.st.st_mode)) archive_entry_copy_symlink(e, item.symlink.c_str());
        int rc = archive_write_header(a_, e);
        archive_entry_free(e);
        if (rc < ARCHIVE_WARN)
            return fail_invalid("write the tar stream at {}: {}", item.name,
                                archive_error_string(a_));
        if (item.data == nullptr) return {};
        // Exactly the size in the header: a file that grows while it is read is cut there.
        int64_t left = item.st.st_size;
        char buf[65536];
        while (left > 0) {
            auto n = item.data->read(buf, static_cast<size_t>(std::min<int64_t>(left, sizeof buf)));
            if (!n) return fail(n.error());
            if (*n == 0) break;  // shrank: libarchive pads the entry
            if (archive_write_data(a_, buf, *n) < 0)
                return fail_invalid("write the tar stream at {}: {}", item.name,
                                    archive_error_string(a_));
            left -= static_cast<int64_t>(*n);
        }
        return {};
    }

    Status finish() override {
        if (archive_write_close(a_) != ARCHIVE_OK)
            return fail_invalid("write the tar stream: {}", archive_error_string(a_));
        return {};
    }

private:
    struct archive* a_;
    bool opened_ = false;
};

// Creates entries under `dest` inside `root`. Each entry's parent is resolved inside the root
// (following symlinks there, as the container would); the entry itself is then made with *at
// calls on that parent and never followed: an existing symlink at its place is replaced, not
// written through.
class DirSink : public Sink {
public:
    DirSink(int root, std::string dest, std::string where, const CopyOptions& options)
        : root_(root), dest_(std::move(dest)), where_(std::move(where)), options_(options) {
        // Modes exactly as in the source, as tar does for root.
        old_umask_ = ::umask(0);
    }
    ~DirSink() override { ::umask(old_umask_); }

    Status add(const Item& item) override {
        std::string full = clean_path(join(dest_, item.name));
        std::string parent = parent_of(full), leaf = base_of(full);
        if (leaf.empty()) return {};
        if (parent != parent_path_ || !parent_fd_) {
            auto pfd = open_in_root(root_, parent, O_PATH | O_DIRECTORY);
            if (!pfd) return fail(pfd.error().wrap("copy into {}", where_));
            parent_fd_ = std::move(*pfd);
            parent_path_ = parent;
        }
        int pfd = parent_fd_.get();
        mode_t mode = item.st.st_mode & 07777;
        struct stat existing {};
        bool exists = ::fstatat(pfd, leaf.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0;
        if (S_ISDIR(item.st.st_mode)) {
            if (exists && !S_ISDIR(existing.st_mode)) {
                if (::unlinkat(pfd, leaf.c_str(), 0) != 0)
                    return fail_errno("replace {} in {}", full, where_);
                exists = false;
            }
            if (!exists && ::mkdirat(pfd, leaf.c_str(), 0700) != 0)
                return fail_errno("mkdir {} in {}", full, where_);
            UniqueFd d(
                ::openat(pfd, leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!d) return fail_errno("open {} in {}", full, where_);
            HUSK_TRY(set_owner_mode(d.get(), item, mode, full));
            dir_times_.emplace_back(full, item.st.st_mtim);
            return {};
        }
        if (exists) {
            if (S_ISDIR(existing.st_mode))
                return fail(Error(EISDIR, fmt::format("cannot overwrite directory {} in {} "
                                                      "with a non-directory",
                                                      full, where_)));
            if (::unlinkat(pfd, leaf.c_str(), 0) != 0)
                return fail_errno("replace {} in {}", full, where_);
        }
        if (!item.hardlink.empty()) {
            std::string target = clean_path(join(dest_, item.hardlink));
            auto t = open_in_root(root_, target, O_PATH | O_NOFOLLOW);
            if (!t) return fail(t.error().wrap("hard link {} in {}", full, where_));
            if (::linkat(t->get(), "", pfd, leaf.c_str(), AT_EMPTY_PATH) != 0)
                return fail_errno("hard link {} to {} in {}", full, target, where_);
            return {};
        }
        if (S_ISLNK(item.st.st_mode)) {
            if (::symlinkat(item.symlink.c_str(), pfd, leaf.c_str()) != 0)
                return fail_errno("symlink {} in {}", full, where_);
            if (options_.archive && ::fchownat(pfd, leaf.c_str(), item.st.st_uid, item.st.st_gid,
                                               AT_SYMLINK_NOFOLLOW) != 0)
                return fail_errno("chown {} in {}", full, where_);
            struct timespec ts[2] = {item.st.st_mtim, item.st.st_mtim};
            (void)::utimensat(pfd, leaf.c_str(), ts, AT_SYMLINK_NOFOLLOW);
            return {};
        }
        if (S_ISREG(item.st.st_mode)) {
            UniqueFd f(::openat(pfd, leaf.c_str(),
                                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
            if (!f) return fail_errno("create {} in {}", full, where_);
            if (item.data != nullptr) {
                char buf[65536];
                for (;;) {
                    auto n = item.data->read(buf, sizeof buf);
                    if (!n) return fail(n.error());
                    if (*n == 0) break;
                    HUSK_TRY(write_all(f.get(), buf, *n, full));
                }
            }
            HUSK_TRY(set_owner_mode(f.get(), item, mode, full));
            struct timespec ts[2] = {item.st.st_mtim, item.st.st_mtim};
            (void)::futimens(f.get(), ts);
            return {};
        }
        // Device nodes and fifos: made with their mode (umask is 0), owner set without
        // following anything.
        if (::mknodat(pfd, leaf.c_str(), item.st.st_mode & (S_IFMT | 0777), item.st.st_rdev) != 0)
            return fail_errno("mknod {} in {}", full, where_);
        if (options_.archive &&
            ::fchownat(pfd, leaf.c_str(), item.st.st_uid, item.st.st_gid, AT_SYMLINK_NOFOLLOW) != 0)
            return fail_errno("chown {} in {}", full, where_);
        return {};
    }

    Status finish() override {
        // Directory times last: creating their entries changed them.
        for (auto it = dir_times_.rbegin(); it != dir_times_.rend(); ++it) {
            auto d = open_in_root(root_, it->first, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
            if (!d) continue;
            struct timespec ts[2] = {it->second, it->second};
            (void)::futimens(d->get(), ts);
        }
        return {};
    }

private:
    Status set_owner_mode(int fd, const Item& item, mode_t mode, const std::string& full) {
        // chown first: it clears set-uid bits that the chmod then puts back.
        if (options_.archive && ::fchown(fd, item.st.st_uid, item.st.st_gid) != 0)
            return fail_errno("chown {} in {}", full, where_);
        if (::fchmod(fd, mode) != 0) return fail_errno("chmod {} in {}", full, where_);
        return {};
    }

    int root_;
    std::string dest_, where_;
    CopyOptions options_;
    mode_t old_umask_;
    std::string parent_path_;
    UniqueFd parent_fd_;
    std::vector<std::pair<std::string, struct timespec>> dir_times_;
};

bool ends_with_dot(const std::string& p) {
    return p == "." || p.ends_with("/.");
}

// Opens the source's top (following a last symlink when asked) and stats it.
Result<std::pair<UniqueFd, struct stat>> open_source(int root, const std::string& src,
                                                     const std::string& where, bool follow) {
    auto fd = open_in_root(root, src, O_PATH | (follow ? 0 : O_NOFOLLOW));
    if (!fd) {
        if (fd.error().errnum() == ENOENT)
            return fail(
                Error(ENOENT, fmt::format("no such file or directory: {} in {}", src, where)));
        return fail(fd.error().wrap("{}", where));
    }
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0) return fail_errno("stat {} in {}", src, where);
    return std::pair{std::move(*fd), st};
}

struct Source {
    std::string path;  // cleaned
    bool contents;     // "SRC/.": only what is inside
    bool assert_dir;   // "SRC/" or "SRC/.": must be a directory (symlinks followed)
};

Source parse_source(const std::string& src) {
    Source s;
    s.contents = ends_with_dot(src);
    s.assert_dir = s.contents || src.ends_with("/");
    s.path = clean_path(src.empty() || src.front() != '/' ? "/" + src : src);
    if (s.path == "/") s.contents = s.assert_dir = true;
    return s;
}

}  // namespace

Status copy_to_tar(int root, const std::string& src, const std::string& where, int out_fd,
                   const CopyOptions& options) {
    Source s = parse_source(src);
    auto top = open_source(root, s.path, where, options.follow_link || s.assert_dir);
    if (!top) return fail(top.error());
    if (s.assert_dir && !S_ISDIR(top->second.st_mode))
        return fail(Error(ENOTDIR, fmt::format("{} in {} is not a directory", src, where)));
    TarSink sink(out_fd);
    HUSK_TRY(walk(top->first.get(), top->second, s.contents ? "" : base_of(s.path), s.path, sink));
    return sink.finish();
}

Status copy_path(int src_root, const std::string& src, const std::string& where_src, int dest_root,
                 const std::string& dest, const std::string& where_dest,
                 const CopyOptions& options) {
    Source s = parse_source(src);
    auto top = open_source(src_root, s.path, where_src, options.follow_link || s.assert_dir);
    if (!top) return fail(top.error());
    const struct stat& sst = top->second;
    if (s.assert_dir && !S_ISDIR(sst.st_mode))
        return fail(Error(ENOTDIR, fmt::format("{} in {} is not a directory", src, where_src)));
    bool dest_dir_only = dest.ends_with("/") || ends_with_dot(dest);
    std::string d = clean_path(dest.empty() || dest.front() != '/' ? "/" + dest : dest);
    auto dst = stat_in_root(dest_root, d, true);
    if (!dst) return fail(dst.error().wrap("{}", where_dest));
    std::string target_dir, name;
    if (*dst && S_ISDIR((*dst)->st_mode)) {
        target_dir = d;
        name = S_ISDIR(sst.st_mode) && s.contents ? "" : base_of(s.path);
    } else if (*dst) {
        if (S_ISDIR(sst.st_mode))
            return fail(Error(ENOTDIR, fmt::format("cannot copy a directory to a file: {} in {}",
                                                   dest, where_dest)));
        if (dest_dir_only)
            return fail(
                Error(ENOTDIR, fmt::format("{} in {} is not a directory", dest, where_dest)));
        target_dir = parent_of(d);
        name = base_of(d);
    } else {
        if (!S_ISDIR(sst.st_mode) && dest_dir_only)
            return fail(Error(ENOENT, fmt::format("destination directory {} in {} does not exist",
                                                  dest, where_dest)));
        auto parent = stat_in_root(dest_root, parent_of(d), true);
        if (!parent) return fail(parent.error().wrap("{}", where_dest));
        if (!*parent || !S_ISDIR((*parent)->st_mode))
            return fail(Error(ENOENT, fmt::format("the parent directory of {} in {} does not "
                                                  "exist",
                                                  dest, where_dest)));
        target_dir = parent_of(d);
        name = base_of(d);
    }
    DirSink sink(dest_root, target_dir, where_dest, options);
    HUSK_TRY(walk(top->first.get(), sst, name, s.path, sink));
    return sink.finish();
}

Status extract_tar(int in_fd, int root, const std::string& dest, const std::string& where,
                   const CopyOptions& options) {
    std::string d = clean_path(dest.empty() || dest.front() != '/' ? "/" + dest : dest);
    auto dst = stat_in_root(root, d, true);
    if (!dst) return fail(dst.error().wrap("{}", where));
    if (!*dst || !S_ISDIR((*dst)->st_mode))
        return fail(
            Error(ENOTDIR, fmt::format("destination {} in {} must be a directory", dest, where)));
    struct archive* a = archive_read_new();
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    archive_read_support_filter_all(a);
    struct Free {
        struct archive* a;
        ~Free() { archive_read_free(a); }
    } free_archive{a};
    if (archive_read_open_fd(a, in_fd, 65536) != ARCHIVE_OK)
        return fail_invalid("read the tar stream: {}", archive_error_string(a));
    DirSink sink(root, d, where, options);
    ArchiveReader reader(a);
    for (;;) {
        struct archive_entry* e = nullptr;
        int rc = archive_read_next_header(a, &e);
        if (rc == ARCHIVE_EOF) break;
        if (rc < ARCHIVE_WARN)
            return fail_invalid("read the tar stream: {}", archive_error_string(a));
        const char* raw = archive_entry_pathname(e);
        std::string name = raw == nullptr ? "" : raw;
        // Inside DEST or refused: "a/../../x" would climb out of it.
        std::string rel = clean_path("/" + name);
        int depth = 0;
        for (size_t i = 0; i < name.size();) {
            size_t j = name.find('/', i);
            if (j == std::string::npos) j = name.size();
            std::string part = name.substr(i, j - i);
            if (part == "..")
                --depth;
            else if (!part.empty() && part != ".")
                ++depth;
            if (depth < 0)
                return fail_invalid("tar entry {:?} would be written outside {} in {}", name, dest,
                                    where);
            i = j + 1;
        }
        if (rel == "/") continue;  // "./": DEST itself
        Item item;
        item.name = rel.substr(1);
        item.st = *archive_entry_stat(e);
        if (const char* link = archive_entry_symlink(e); link != nullptr) item.symlink = link;
        if (const char* hard = archive_entry_hardlink(e); hard != nullptr) {
            std::string h = clean_path(std::string("/") + hard);
            item.hardlink = h.substr(1);
        }
        if (S_ISREG(item.st.st_mode) && item.hardlink.empty()) item.data = &reader;
        HUSK_TRY(sink.add(item));
    }
    return sink.finish();
}

}  // namespace husk::engine
