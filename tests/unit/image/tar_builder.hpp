#pragma once
// Test helper: writes tar layers (optionally gzip-compressed) entry by entry with libarchive,
// including the hostile ones no well-behaved tool would write.
#include <archive.h>
#include <archive_entry.h>

#include <string>

namespace husk::image::test {

class TarBuilder {
public:
    explicit TarBuilder(const std::string& path, bool gzip = false) {
        a_ = archive_write_new();
        archive_write_set_format_pax_restricted(a_);
        if (gzip) archive_write_add_filter_gzip(a_);
        archive_write_open_filename(a_, path.c_str());
    }
    ~TarBuilder() { close(); }
    void close() {
        if (a_ != nullptr) {
            archive_write_close(a_);
            archive_write_free(a_);
            a_ = nullptr;
        }
    }
    TarBuilder& file(const std::string& name, const std::string& content, int mode = 0644,
                     int uid = 0, int gid = 0) {
        auto* e = entry(name, AE_IFREG, mode);
        archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
        archive_entry_set_uid(e, uid);
        archive_entry_set_gid(e, gid);
        archive_write_header(a_, e);
        archive_write_data(a_, content.data(), content.size());
        archive_entry_free(e);
        return *this;
    }
    TarBuilder& file_with_xattr(const std::string& name, const std::string& content,
                                const std::string& xname, const std::string& xvalue) {
        auto* e = entry(name, AE_IFREG, 0644);
        archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
        archive_entry_xattr_add_entry(e, xname.c_str(), xvalue.data(), xvalue.size());
        archive_write_header(a_, e);
        archive_write_data(a_, content.data(), content.size());
        archive_entry_free(e);
        return *this;
    }
    TarBuilder& dir(const std::string& name, int mode = 0755) {
        auto* e = entry(name, AE_IFDIR, mode);
        archive_write_header(a_, e);
        archive_entry_free(e);
        return *this;
    }
    TarBuilder& symlink(const std::string& name, const std::string& target) {
        auto* e = entry(name, AE_IFLNK, 0777);
        archive_entry_set_symlink(e, target.c_str());
        archive_write_header(a_, e);
        archive_entry_free(e);
        return *this;
    }
    TarBuilder& hardlink(const std::string& name, const std::string& target) {
        auto* e = entry(name, AE_IFREG, 0644);
        archive_entry_set_hardlink(e, target.c_str());
        archive_entry_set_size(e, 0);
        archive_write_header(a_, e);
        archive_entry_free(e);
        return *this;
    }
    TarBuilder& device(const std::string& name, mode_t type, int major, int minor) {
        auto* e = entry(name, type, 0600);
        archive_entry_set_rdevmajor(e, major);
        archive_entry_set_rdevminor(e, minor);
        archive_write_header(a_, e);
        archive_entry_free(e);
        return *this;
    }

private:
    archive_entry* entry(const std::string& name, mode_t type, int mode) {
        auto* e = archive_entry_new();
        archive_entry_set_pathname(e, name.c_str());
        archive_entry_set_filetype(e, type);
        archive_entry_set_perm(e, static_cast<mode_t>(mode));
        archive_entry_set_mtime(e, 1000000000, 0);
        return e;
    }
    archive* a_ = nullptr;
};

}  // namespace husk::image::test
