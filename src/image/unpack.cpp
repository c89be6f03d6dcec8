#include "image/unpack.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "common/files.hpp"
#include "common/log.hpp"
#include "common/safe_path.hpp"
#include "common/unique_fd.hpp"
#include "image/overlay_xattr.hpp"

namespace husk::image {
namespace {

struct ArchiveDeleter {
    void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

// The decompressed stream: an outer libarchive reader in "raw" format undoes gzip/zstd; its
// bytes are hashed (the diffID) on their way to the tar reader.
struct Stream {
    archive* outer = nullptr;
    Hasher hasher{"sha256"};
    int64_t size = 0;
    std::vector<char> buf = std::vector<char>(1 << 20);
    std::string error;
    bool eof = false;
};

la_ssize_t stream_read(archive*, void* data, const void** out) {
    auto* s = static_cast<Stream*>(data);
    if (s->eof) return 0;
    la_ssize_t n = archive_read_data(s->outer, s->buf.data(), s->buf.size());
    if (n < 0) {
        const char* msg = archive_error_string(s->outer);
        s->error = msg != nullptr ? msg : "decompression failed";
        return -1;
    }
    if (n == 0) s->eof = true;
    s->hasher.update(s->buf.data(), static_cast<size_t>(n));
    s->size += n;
    *out = s->buf.data();
    return n;
}

long sys_openat2(int dirfd, const char* path, struct open_how* how) {
    return ::syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
}

// Splits an entry's path into components, refusing absolute paths and "..".
Result<std::vector<std::string>> split_entry_path(const std::string& path) {
    if (path.empty()) return fail_invalid("entry with an empty path");
    if (path.front() == '/') return fail_invalid("entry {:?}: absolute path", path);
    std::vector<std::string> parts;
    size_t i = 0;
    while (i <= path.size()) {
        size_t j = path.find('/', i);
        if (j == std::string::npos) j = path.size();
        std::string part = path.substr(i, j - i);
        if (part == "..") return fail_invalid("entry {:?}: path leads outside the layer", path);
        if (!part.empty() && part != ".") parts.push_back(part);
        i = j + 1;
    }
    return parts;
}

std::string join(const std::vector<std::string>& parts, size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) {
        if (i) out += "/";
        out += parts[i];
    }
    return out.empty() ? "." : out;
}

struct DirMeta {
    std::string path;
    mode_t mode;
    uid_t uid;
    gid_t gid;
    struct timespec times[2];
};

class Extractor {
public:
    explicit Extractor(int root_fd)
        : root_(root_fd), owner_uid_(::geteuid()), owner_gid_(::getegid()) {
        // Read once (umask can only be read by setting it); a file another thread creates
        // in that instant gets exactly its tar mode, which is what it wants anyway.
        static const mode_t process_umask = [] {
            mode_t old = ::umask(0);
            ::umask(old);
            return old;
        }();
        umask_ = process_umask;
    }

    // Opens the directory holding the entry, creating missing directories. Symlinks along
    // the way are refused by the kernel (RESOLVE_NO_SYMLINKS), never followed.
    Result<int> parent_of(const std::vector<std::string>& parts, const std::string& shown) {
        std::string parent = join(parts, parts.size() - 1);
        if (parent == cached_path_ && cached_fd_) return cached_fd_.get();
        struct open_how how {};
        how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
        how.resolve =
            RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
        long fd = sys_openat2(root_, parent.c_str(), &how);
        if (fd < 0 && errno == ENOENT) {
            UniqueFd cur(::fcntl(root_, F_DUPFD_CLOEXEC, 0));
            for (size_t i = 0; i + 1 < parts.size(); ++i) {
                if (::mkdirat(cur.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST)
                    return fail_errno("entry {:?}: mkdir {}", shown, join(parts, i + 1));
                UniqueFd next(::openat(cur.get(), parts[i].c_str(),
                                       O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
                if (!next) return refuse_parent(shown);
                cur = std::move(next);
            }
            fd = cur.release();
        } else if (fd < 0) {
            return refuse_parent(shown);
        }
        cached_fd_ = UniqueFd(static_cast<int>(fd));
        cached_path_ = parent;
        return cached_fd_.get();
    }

    std::unexpected<Error> refuse_parent(const std::string& shown) {
        if (errno == ELOOP || errno == ENOTDIR || errno == EXDEV)
            return fail_invalid(
                "entry {:?}: its directory is a symlink or not a directory "
                "(refused: it could lead outside the layer)",
                shown);
        return fail_errno("entry {:?}: open its directory", shown);
    }

    // Removes what is at parent/name unless both it and the new entry are directories.
    Status make_room(int parent, const std::string& name, bool new_is_dir,
                     const std::string& shown) {
        struct stat st {};
        if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return {};
        if (S_ISDIR(st.st_mode)) {
            if (new_is_dir) return {};
            return remove_tree(fd_path(parent) + "/" + name);
        }
        if (::unlinkat(parent, name.c_str(), 0) != 0)
            return fail_errno("entry {:?}: replace", shown);
        return {};
    }

    // Rootless with a single-id map (no /etc/subuid range) has only uid/gid 0 to give: the
    // kernel answers EINVAL for the others, and the files stay the user's (podman's
    // ignore_chown_errors). Said once per layer.
    bool chown_failed(int rc) {
        if (rc == 0) return false;
        if (errno != EINVAL || !rootless_store()) return true;
        if (!warned_chown_) {
            log::warn(
                "the user namespace maps one id only: files of other owners in this layer "
                "are kept as root's (add a range to /etc/subuid and /etc/subgid)");
            warned_chown_ = true;
        }
        return false;
    }

    Status set_xattrs(int fd, archive_entry* e, const std::string& shown) {
        const char* name;
        const void* value;
        size_t size;
        archive_entry_xattr_reset(e);
        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
            std::string_view n = name;
            // overlay's own attributes would change what the mount shows: never from a tar.
            if (is_overlay_xattr(n)) continue;
            if (::fsetxattr(fd, name, value, size, 0) != 0 && errno != ENOTSUP)
                return fail_errno("entry {:?}: set xattr {}", shown, n);
        }
        return {};
    }

    Status regular(archive* a, archive_entry* e, int parent, const std::string& name,
                   const std::string& shown) {
        mode_t perm = archive_entry_perm(e);
        constexpr int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
        UniqueFd fd(::openat(parent, name.c_str(), flags, perm & 0777));
        if (!fd && errno == EEXIST) {
            HUSK_TRY(make_room(parent, name, false, shown));
            fd = UniqueFd(::openat(parent, name.c_str(), flags, perm & 0777));
        }
        if (!fd) return fail_errno("entry {:?}: create", shown);
        const void* block;
        size_t size;
        la_int64_t offset;
        int64_t pos = 0;
        for (;;) {
            int r = archive_read_data_block(a, &block, &size, &offset);
            if (r == ARCHIVE_EOF) break;
            if (r != ARCHIVE_OK)
                return fail_invalid("entry {:?}: {}", shown, archive_error_string(a));
            if (offset != pos && ::lseek(fd.get(), offset, SEEK_SET) < 0)
                return fail_errno("entry {:?}: seek", shown);
            auto* p = static_cast<const char*>(block);
            size_t left = size;
            while (left > 0) {
                ssize_t n = ::write(fd.get(), p, left);
                if (n < 0) {
                    if (errno == EINTR) continue;
                    return fail_errno("entry {:?}: write", shown);
                }
                p += n;
                left -= static_cast<size_t>(n);
            }
            pos = offset + static_cast<int64_t>(size);
        }
        if (archive_entry_size(e) > pos && ::ftruncate(fd.get(), archive_entry_size(e)) != 0)
            return fail_errno("entry {:?}: truncate", shown);
        // A new file is root's already (no directory is setgid while unpacking: their modes
        // come last), and has its mode unless the umask or set-id bits got in the way: most
        // files need neither call.
        uid_t uid = archive_entry_uid(e);
        gid_t gid = archive_entry_gid(e);
        if ((uid != owner_uid_ || gid != owner_gid_) && chown_failed(::fchown(fd.get(), uid, gid)))
            return fail_errno("entry {:?}: chown", shown);
        // After chown, which clears set-id bits.
        if (((perm & 07000) != 0 || (perm & umask_) != 0) && ::fchmod(fd.get(), perm) != 0)
            return fail_errno("entry {:?}: chmod", shown);
        HUSK_TRY(set_xattrs(fd.get(), e, shown));
        struct timespec times[2] = {{archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
                                    {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
        ::futimens(fd.get(), times);
        return {};
    }

    Status entry(archive* a, archive_entry* e) {
        const char* raw = archive_entry_pathname(e);
        std::string shown = raw != nullptr ? raw : "";
        auto parts = split_entry_path(shown);
        if (!parts) return fail(parts.error());
        if (parts->empty()) return {};  // "./": the layer root itself
        std::string name = parts->back();
        auto parent = parent_of(*parts, shown);
        if (!parent) return fail(parent.error());
        int pfd = *parent;

        if (name.starts_with(".wh.")) {
            if (name == ".wh..wh..opq") {
                UniqueFd dir(::openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
                if (!dir) return fail_errno("entry {:?}: open its directory", shown);
                if (::fsetxattr(dir.get(), overlay_opaque_xattr(), "y", 1, 0) != 0)
                    return fail_errno("entry {:?}: mark opaque", shown);
                return {};
            }
            if (name.starts_with(".wh..wh.")) return {};  // aufs bookkeeping
            std::string target = name.substr(4);
            if (target.empty() || target == "." || target == "..")
                return fail_invalid("entry {:?}: bad whiteout", shown);
            HUSK_TRY(make_room(pfd, target, false, shown));
            if (::mknodat(pfd, target.c_str(), S_IFCHR | 0, ::makedev(0, 0)) != 0)
                return fail_errno("entry {:?}: whiteout", shown);
            return {};
        }

        if (const char* link = archive_entry_hardlink(e)) {
            auto tparts = split_entry_path(link);
            if (!tparts || tparts->empty())
                return fail_invalid("entry {:?}: hardlink target {:?} is outside the layer", shown,
                                    link);
            auto tparent_tmp = parent_of(*tparts, link);
            if (!tparent_tmp) return fail(tparent_tmp.error());
            UniqueFd tparent(::fcntl(*tparent_tmp, F_DUPFD_CLOEXEC, 0));
            parent = parent_of(*parts, shown);
            if (!parent) return fail(parent.error());
            pfd = *parent;
            HUSK_TRY(make_room(pfd, name, false, shown));
            parent = parent_of(*parts, shown);
            if (!parent) return fail(parent.error());
            if (::linkat(tparent.get(), tparts->back().c_str(), *parent, name.c_str(), 0) != 0)
                return fail_errno("entry {:?}: hardlink to {:?}", shown, link);
            return {};
        }

        mode_t type = archive_entry_filetype(e);
        // Regular files (nearly every entry) find out with O_EXCL whether something is in
        // the way: one syscall less per file.
        if (type != AE_IFREG) HUSK_TRY(make_room(pfd, name, type == AE_IFDIR, shown));
        uid_t uid = archive_entry_uid(e);
        gid_t gid = archive_entry_gid(e);
        switch (type) {
            case AE_IFDIR: {
                if (::mkdirat(pfd, name.c_str(), 0755) != 0 && errno != EEXIST)
                    return fail_errno("entry {:?}: mkdir", shown);
                UniqueFd dir(
                    ::openat(pfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
                if (!dir) return fail_errno("entry {:?}: open", shown);
                HUSK_TRY(set_xattrs(dir.get(), e, shown));
                DirMeta m{join(*parts, parts->size()), archive_entry_perm(e), uid, gid, {}};
                m.times[0] = m.times[1] = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
                dirs_.push_back(std::move(m));
                return {};
            }
            case AE_IFREG:
                return regular(a, e, pfd, name, shown);
            case AE_IFLNK: {
                const char* target = archive_entry_symlink(e);
                if (target == nullptr)
                    return fail_invalid("entry {:?}: symlink without a target", shown);
                if (::symlinkat(target, pfd, name.c_str()) != 0)
                    return fail_errno("entry {:?}: symlink", shown);
                if (chown_failed(::fchownat(pfd, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW)))
                    return fail_errno("entry {:?}: chown", shown);
                struct timespec times[2] = {{archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
                                            {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
                ::utimensat(pfd, name.c_str(), times, AT_SYMLINK_NOFOLLOW);
                return {};
            }
            case AE_IFCHR:
            case AE_IFBLK:
            case AE_IFIFO: {
                if (::mknodat(pfd, name.c_str(), type | archive_entry_perm(e),
                              archive_entry_rdev(e)) != 0) {
                    // Root of a user namespace may not make device nodes; a container
                    // gets its devices bound from the host anyway.
                    if (errno == EPERM && type != S_IFIFO && rootless_store()) {
                        log::warn("entry {:?}: device node skipped (rootless storage)", shown);
                        return {};
                    }
                    return fail_errno("entry {:?}: mknod", shown);
                }
                if (chown_failed(::fchownat(pfd, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW)))
                    return fail_errno("entry {:?}: chown", shown);
                if (::fchmodat(pfd, name.c_str(), archive_entry_perm(e), 0) != 0)
                    return fail_errno("entry {:?}: chmod", shown);
                return {};
            }
            default:
                return {};  // sockets and unknown types carry no content
        }
    }

    // Directory modes and times last: creating children would change the times, and a
    // read-only mode would stop the children being created.
    Status finish_dirs() {
        for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
            struct open_how how {};
            how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
            how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
            long fd = sys_openat2(root_, it->path.c_str(), &how);
            if (fd < 0) continue;  // replaced by a later entry
            UniqueFd dir(static_cast<int>(fd));
            if (chown_failed(::fchown(dir.get(), it->uid, it->gid)))
                return fail_errno("chown {}", it->path);
            if (::fchmod(dir.get(), it->mode) != 0) return fail_errno("chmod {}", it->path);
            ::futimens(dir.get(), it->times);
        }
        return {};
    }

private:
    int root_;
    uid_t owner_uid_;
    bool warned_chown_ = false;
    gid_t owner_gid_;
    mode_t umask_ = 022;
    std::string cached_path_;
    UniqueFd cached_fd_;
    std::vector<DirMeta> dirs_;
};

}  // namespace

Result<UnpackResult> unpack_layer(int blob_fd, const std::string& dest) {
    UniqueFd root(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root) return fail_errno("open {}", dest);

    ArchivePtr outer(archive_read_new());
    archive_read_support_filter_all(outer.get());
    archive_read_support_format_raw(outer.get());
    if (archive_read_open_fd(outer.get(), blob_fd, 1 << 20) != ARCHIVE_OK)
        return fail_invalid("{}", archive_error_string(outer.get()));
    archive_entry* raw_entry;
    int r = archive_read_next_header(outer.get(), &raw_entry);
    if (r == ARCHIVE_EOF) return fail_invalid("empty layer");
    if (r != ARCHIVE_OK) return fail_invalid("{}", archive_error_string(outer.get()));

    Stream stream;
    stream.outer = outer.get();
    ArchivePtr tar(archive_read_new());
    archive_read_support_format_tar(tar.get());
    archive_read_support_format_gnutar(tar.get());
    if (archive_read_open(tar.get(), &stream, nullptr, stream_read, nullptr) != ARCHIVE_OK) {
        if (!stream.error.empty()) return fail_invalid("{}", stream.error);
        return fail_invalid("not a tar archive: {}", archive_error_string(tar.get()));
    }
    Extractor extractor(root.get());
    archive_entry* e;
    while (true) {
        r = archive_read_next_header(tar.get(), &e);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            if (!stream.error.empty()) return fail_invalid("{}", stream.error);
            return fail_invalid("{}", archive_error_string(tar.get()));
        }
        HUSK_TRY(extractor.entry(tar.get(), e));
    }
    // The diffID covers the whole stream, padding after the end-of-archive blocks included.
    const void* ignored;
    while (!stream.eof) {
        if (stream_read(nullptr, &stream, &ignored) < 0) return fail_invalid("{}", stream.error);
    }
    HUSK_TRY(extractor.finish_dirs());
    return UnpackResult{stream.hasher.finish(), stream.size};
}

}  // namespace husk::image
