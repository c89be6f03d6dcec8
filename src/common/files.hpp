#pragma once
// Whole-file reads and writes, with the atomic write (temp, fsync, rename) that every piece
// of state husk keeps on disk goes through.
#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/error.hpp"

namespace husk {

[[nodiscard]] Result<std::string> read_file(const std::string& path);
// Reads a small file relative to a directory fd (a /proc or cgroupfs file).
[[nodiscard]] Result<std::string> read_file_at(int dirfd, const std::string& path);
// Writes the whole buffer to an existing file, as one write where the kernel expects that
// (procfs, sysfs and cgroupfs files).
[[nodiscard]] Status write_file(const std::string& path, std::string_view content);
[[nodiscard]] Status write_file_at(int dirfd, const std::string& path, std::string_view content);
enum class Durability { survive_power_loss, survive_crash };
// Replaces `path` with `content` so that readers see the old file or the new one, never a
// torn one. `survive_power_loss` also fsyncs before the rename; runtime state that means
// nothing after a reboot (the processes it describes are gone) skips that cost.
[[nodiscard]] Status write_file_atomic(const std::string& path, std::string_view content,
                                       mode_t mode = 0644,
                                       Durability durability = Durability::survive_power_loss);
// mkdir -p. Existing directories are fine.
[[nodiscard]] Status make_dirs(const std::string& path, mode_t mode = 0755);
// Removes a directory tree without crossing into other filesystems (rm -rf --one-file-system).
[[nodiscard]] Status remove_tree(const std::string& path);
bool path_exists(const std::string& path);

}  // namespace husk
