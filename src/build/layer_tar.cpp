// The overlay upper dir of a step as an OCI layer: a deterministic tar (entries sorted,
// owners and modes kept, mtimes clamped to SOURCE_DATE_EPOCH when set), whiteouts in OCI
// form, gzip'd with zlib while it is hashed (the diffID) and streamed into the store.
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>

#include "build/steps.hpp"
#include "common/files.hpp"
#include "common/scope_exit.hpp"
#include "image/digest.hpp"
#include "image/overlay_xattr.hpp"

namespace husk::build::detail {
namespace {

// Receives the uncompressed tar: hashes it and writes it gzip'd to the blob.
class GzipSink {
public:
    explicit GzipSink(image::BlobWriter& out) : out_(out) {
        // 31: zlib's gzip wrapper, with a zero mtime in the header (deterministic).
        ok_ = ::deflateInit2(&z_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) ==
              Z_OK;
    }
    ~GzipSink() { ::deflateEnd(&z_); }

    Status write(const void* data, size_t size, int flush) {
        if (!ok_) return fail_invalid("gzip: deflateInit failed");
        hasher_.update(data, size);
        z_.next_in = static_cast<Bytef*>(const_cast<void*>(data));
        z_.avail_in = static_cast<uInt>(size);
        unsigned char buf[1 << 16];
        int r;
        do {
            z_.next_out = buf;
            z_.avail_out = sizeof buf;
            r = ::deflate(&z_, flush);
            if (r == Z_STREAM_ERROR) return fail_invalid("gzip: deflate failed");
            size_t have = sizeof buf - z_.avail_out;
            if (have) HUSK_TRY(out_.write(buf, have));
        } while (z_.avail_out == 0 || (flush == Z_FINISH && r != Z_STREAM_END));
        return {};
    }
    image::Digest diff_id() { return hasher_.finish(); }

    std::optional<Error> error;  // the first failure inside the libarchive callback

private:
    image::BlobWriter& out_;
    z_stream z_{};
    bool ok_ = false;
    image::Hasher hasher_;
};

la_ssize_t write_callback(struct archive*, void* client, const void* buffer, size_t length) {
    auto* sink = static_cast<GzipSink*>(client);
    if (auto s = sink->write(buffer, length, Z_NO_FLUSH); !s) {
        sink->error = s.error();
        return -1;
    }
    return static_cast<la_ssize_t>(length);
}

class TarWalker {
public:
    TarWalker(struct archive* a, std::optional<int64_t> epoch) : a_(a), epoch_(epoch) {}

    Status dir(int dirfd, const std::string& prefix) {
        DIR* d = ::fdopendir(::fcntl(dirfd, F_DUPFD_CLOEXEC, 0));
        if (d == nullptr) return fail_errno("read {}", prefix.empty() ? "/" : prefix);
        std::vector<std::string> names;
        while (auto* ent = ::readdir(d)) {
            std::string n = ent->d_name;
            if (n != "." && n != "..") names.push_back(n);
        }
        ::closedir(d);
        std::sort(names.begin(), names.end());
        for (auto& n : names) HUSK_TRY(entry(dirfd, n, prefix + n));
        return {};
    }

private:
    Status header(struct archive_entry* e) {
        if (archive_write_header(a_, e) != ARCHIVE_OK)
            return fail_invalid("write layer: {}", archive_error_string(a_));
        return {};
    }

    void fill(struct archive_entry* e, const std::string& path, const struct stat& st) {
        archive_entry_set_pathname(e, path.c_str());
        archive_entry_set_uid(e, st.st_uid);
        archive_entry_set_gid(e, st.st_gid);
        archive_entry_set_mode(e, st.st_mode);
        int64_t mtime = st.st_mtim.tv_sec;
        if (epoch_ && mtime > *epoch_) mtime = *epoch_;
        archive_entry_set_mtime(e, mtime, 0);
    }

    void xattrs(int fd, struct archive_entry* e) {
        char names[8192];
        ssize_t n = ::flistxattr(fd, names, sizeof names);
        for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(strlen(names + i)) + 1) {
            std::string_view key = names + i;
            if (image::is_overlay_xattr(key)) continue;  // overlay's own bookkeeping
            char value[65536];
            ssize_t len = ::fgetxattr(fd, names + i, value, sizeof value);
            if (len >= 0)
                archive_entry_xattr_add_entry(e, names + i, value, static_cast<size_t>(len));
        }
    }

    Status entry(int dirfd, const std::string& name, const std::string& path) {
        struct stat st {};
        if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
            return fail_errno("stat {}", path);
        std::unique_ptr<struct archive_entry, void (*)(struct archive_entry*)> e(
            archive_entry_new(), archive_entry_free);
        // overlay's whiteout: a 0/0 character device.
        if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
            auto slash = path.rfind('/');
            std::string wh = slash == std::string::npos
                                 ? ".wh." + path
                                 : path.substr(0, slash + 1) + ".wh." + path.substr(slash + 1);
            struct stat z = st;
            z.st_mode = S_IFREG | 0644;
            fill(e.get(), wh, z);
            archive_entry_set_size(e.get(), 0);
            return header(e.get());
        }
        if (S_ISDIR(st.st_mode)) {
            UniqueFd sub(
                ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!sub) return fail_errno("open {}", path);
            fill(e.get(), path + "/", st);
            xattrs(sub.get(), e.get());
            HUSK_TRY(header(e.get()));
            char v[4];
            ssize_t len = ::fgetxattr(sub.get(), image::overlay_opaque_xattr(), v, sizeof v);
            if (len == 1 && v[0] == 'y') {
                // An opaque dir hides everything below it in the lower layers.
                std::unique_ptr<struct archive_entry, void (*)(struct archive_entry*)> o(
                    archive_entry_new(), archive_entry_free);
                struct stat z = st;
                z.st_mode = S_IFREG | 0644;
                fill(o.get(), path + "/.wh..wh..opq", z);
                archive_entry_set_size(o.get(), 0);
                HUSK_TRY(header(o.get()));
            }
            return dir(sub.get(), path + "/");
        }
        fill(e.get(), path, st);
        if (S_ISLNK(st.st_mode)) {
            char target[4096];
            ssize_t len = ::readlinkat(dirfd, name.c_str(), target, sizeof target - 1);
            if (len < 0) return fail_errno("readlink {}", path);
            target[len] = 0;
            archive_entry_set_symlink(e.get(), target);
            return header(e.get());
        }
        if (!S_ISREG(st.st_mode)) {
            archive_entry_set_rdev(e.get(), st.st_rdev);
            return header(e.get());
        }
        if (st.st_nlink > 1) {
            auto key = std::make_pair(st.st_dev, st.st_ino);
            if (auto it = links_.find(key); it != links_.end()) {
                archive_entry_set_hardlink(e.get(), it->second.c_str());
                archive_entry_set_size(e.get(), 0);
                return header(e.get());
            }
            links_[key] = path;
        }
        UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) return fail_errno("open {}", path);
        xattrs(fd.get(), e.get());
        archive_entry_set_size(e.get(), st.st_size);
        HUSK_TRY(header(e.get()));
        char buf[1 << 16];
        int64_t left = st.st_size;
        while (left > 0) {
            ssize_t n =
                ::read(fd.get(), buf, static_cast<size_t>(std::min<int64_t>(left, sizeof buf)));
            if (n < 0) return fail_errno("read {}", path);
            if (n == 0) break;  // shrank while read: the header's size is padded by libarchive
            if (archive_write_data(a_, buf, static_cast<size_t>(n)) < 0)
                return fail_invalid("write layer: {}", archive_error_string(a_));
            left -= n;
        }
        return {};
    }

    struct archive* a_;
    std::optional<int64_t> epoch_;
    std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

}  // namespace

Result<NewLayer> write_layer(image::Store& store, const std::string& upper_dir,
                             std::optional<int64_t> source_date_epoch) {
    auto writer = store.blob_writer();
    if (!writer) return fail(writer.error());
    GzipSink sink(*writer);
    struct archive* a = archive_write_new();
    auto free_archive = ScopeExit([&] { archive_write_free(a); });
    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_in_last_block(a, 1);
    if (archive_write_open2(a, &sink, nullptr, write_callback, nullptr, nullptr) != ARCHIVE_OK)
        return fail_invalid("write layer: {}", archive_error_string(a));
    UniqueFd root(::open(upper_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root) return fail_errno("open {}", upper_dir);
    TarWalker walker(a, source_date_epoch);
    auto walked = walker.dir(root.get(), "");
    if (sink.error) return fail(*sink.error);
    if (!walked) return fail(walked.error());
    if (archive_write_close(a) != ARCHIVE_OK) {
        if (sink.error) return fail(*sink.error);
        return fail_invalid("write layer: {}", archive_error_string(a));
    }
    HUSK_TRY(sink.write(nullptr, 0, Z_FINISH));
    NewLayer layer;
    layer.diff_id = sink.diff_id().str();
    layer.ref.size = writer->written();
    layer.ref.media_type = "application/vnd.oci.image.layer.v1.tar+gzip";
    auto blob = writer->commit(std::nullopt);
    if (!blob) return fail(blob.error());
    layer.ref.blob = blob->str();
    return layer;
}

Status install_layer(image::Store& store, const NewLayer& layer,
                     const std::vector<std::string>& diff_ids_with_it) {
    std::string chain = image::chain_ids(diff_ids_with_it).back();
    std::string dest = store.layer_path(chain);
    if (::access(dest.c_str(), F_OK) == 0) return {};
    auto blob = image::parse_digest(layer.ref.blob);
    if (!blob) return fail(blob.error());
    auto tmp = store.unpack_to_temp(*blob, layer.diff_id);
    if (!tmp) return fail(tmp.error());
    if (::rename(tmp->c_str(), dest.c_str()) != 0) {
        int saved = errno;
        (void)remove_tree(*tmp);
        if (saved != EEXIST && saved != ENOTEMPTY) {
            errno = saved;
            return fail_errno("rename {} to {}", *tmp, dest);
        }
    }
    return {};
}

}  // namespace husk::build::detail
