#pragma once
// fuse-overlayfs (package fuse-overlayfs): the overlay driver of a store whose kernel overlay
// does not mount (an older kernel, or a user namespace where overlay is not allowed).
//
// The layers already hold their real (mapped) owners, so no uid translation is asked of it:
// it only merges directories, reading whiteouts (0/0 character devices) and
// user.overlay.opaque as the kernel's overlay does. Unlike a kernel mount it is a process:
// each mount has one fuse-overlayfs, started detached (its own session, stdio on /dev/null
// and <log>) and recorded in a pid file ("PID STARTTIME") so that the unmount can make sure
// it ended, also when the mount itself is already gone (a namespace holder that died).
#include <string>
#include <vector>

#include "common/error.hpp"

namespace husk::image {

// The fuse-overlayfs binary on PATH when it can be used here (the binary exists and
// /dev/fuse opens read-write), else the reason it cannot.
[[nodiscard]] Result<std::string> fuse_overlay_binary();

struct FuseOverlayFiles {
    std::string pid_file;  // "PID STARTTIME" of the fuse-overlayfs serving the mount
    std::string log_file;  // its stderr: the reason when it fails
};

// Mounts lowers (top first) + upper/work on target and returns once the mount serves
// requests. On failure the process is stopped and the error carries its own message.
[[nodiscard]] Status mount_fuse_overlay(const std::string& binary,
                                        const std::vector<std::string>& lowers_top_first,
                                        const std::string& upper, const std::string& work,
                                        const std::string& target, const FuseOverlayFiles& files);

// Unmounts target (when mounted here) and waits for its fuse-overlayfs to end; one that does
// not within 2 s is killed (by pid, checked against the recorded start time).
[[nodiscard]] Status unmount_fuse_overlay(const std::string& target, const FuseOverlayFiles& files);

}  // namespace husk::image
