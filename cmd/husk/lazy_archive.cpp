// libarchive, loaded on first use. Linked normally it brings ~15 libraries (libxml2 and ICU
// among them) that cost every `husk` start ~9 ms of dynamic loading on this machine, while
// only load/save/import/pull, build and cp read or write archives. These definitions take
// the place of libarchive's in the husk binary (linked --as-needed, so libarchive is no
// longer a DT_NEEDED); each dlopens libarchive.so.13 on its first call and forwards to it.
//
// See lazy_library.hpp for how.
#include "lazy_library.hpp"

#ifdef HUSK_LAZY_LIBRARIES
namespace {
husk::cli::lazy::Forward archive_symbol(const char* name) {
    static void* lib = husk::cli::lazy::open_library("libarchive.so.13");
    return husk::cli::lazy::symbol(lib, "libarchive.so.13", name);
}
}  // namespace

#define HUSK_LAZY(name) HUSK_LAZY_FORWARD(archive_symbol, name)

HUSK_LAZY(archive_entry_copy_pathname)
HUSK_LAZY(archive_entry_copy_stat)
HUSK_LAZY(archive_entry_copy_symlink)
HUSK_LAZY(archive_entry_filetype)
HUSK_LAZY(archive_entry_free)
HUSK_LAZY(archive_entry_gid)
HUSK_LAZY(archive_entry_hardlink)
HUSK_LAZY(archive_entry_mode)
HUSK_LAZY(archive_entry_mtime)
HUSK_LAZY(archive_entry_mtime_nsec)
HUSK_LAZY(archive_entry_new)
HUSK_LAZY(archive_entry_pathname)
HUSK_LAZY(archive_entry_perm)
HUSK_LAZY(archive_entry_rdev)
HUSK_LAZY(archive_entry_set_filetype)
HUSK_LAZY(archive_entry_set_gid)
HUSK_LAZY(archive_entry_set_hardlink)
HUSK_LAZY(archive_entry_set_mode)
HUSK_LAZY(archive_entry_set_mtime)
HUSK_LAZY(archive_entry_set_pathname)
HUSK_LAZY(archive_entry_set_perm)
HUSK_LAZY(archive_entry_set_rdev)
HUSK_LAZY(archive_entry_set_size)
HUSK_LAZY(archive_entry_set_symlink)
HUSK_LAZY(archive_entry_set_uid)
HUSK_LAZY(archive_entry_size)
HUSK_LAZY(archive_entry_stat)
HUSK_LAZY(archive_entry_symlink)
HUSK_LAZY(archive_entry_uid)
HUSK_LAZY(archive_entry_xattr_add_entry)
HUSK_LAZY(archive_entry_xattr_next)
HUSK_LAZY(archive_entry_xattr_reset)
HUSK_LAZY(archive_error_string)
HUSK_LAZY(archive_read_data)
HUSK_LAZY(archive_read_data_block)
HUSK_LAZY(archive_read_data_into_fd)
HUSK_LAZY(archive_read_free)
HUSK_LAZY(archive_read_new)
HUSK_LAZY(archive_read_next_header)
HUSK_LAZY(archive_read_open)
HUSK_LAZY(archive_read_open_fd)
HUSK_LAZY(archive_read_open_filename)
HUSK_LAZY(archive_read_support_filter_all)
HUSK_LAZY(archive_read_support_format_gnutar)
HUSK_LAZY(archive_read_support_format_raw)
HUSK_LAZY(archive_read_support_format_tar)
HUSK_LAZY(archive_write_close)
HUSK_LAZY(archive_write_data)
HUSK_LAZY(archive_write_free)
HUSK_LAZY(archive_write_header)
HUSK_LAZY(archive_write_new)
HUSK_LAZY(archive_write_open2)
HUSK_LAZY(archive_write_open_fd)
HUSK_LAZY(archive_write_open_filename)
HUSK_LAZY(archive_write_set_bytes_in_last_block)
HUSK_LAZY(archive_write_set_format_pax_restricted)

#endif
