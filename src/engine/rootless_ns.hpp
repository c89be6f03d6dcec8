#pragma once
// Rootless husk: every command of an unprivileged user runs as root of one user namespace
// (with its own mount namespace) per user, held open by a small holder process, as podman's
// pause process does. Inside it the ordinary code paths work: layers are unpacked with their
// owners (ids mapped onto the user's /etc/subuid range), overlays are mounted and stay
// mounted between commands, the monitor and the runtime run there, and `exec` joins
// containers whose namespaces that user namespace owns.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace husk::engine {

// The storage, state and config defaults of an unprivileged user (XDG base directories).
struct UserDirs {
    std::string root;     // $XDG_DATA_HOME/husk, else ~/.local/share/husk
    std::string runroot;  // $XDG_RUNTIME_DIR/husk, else /tmp/husk-<uid> (0700, checked)
    std::string config;   // $XDG_CONFIG_HOME/husk, else ~/.config/husk
};
[[nodiscard]] Result<UserDirs> rootless_dirs();

// The id maps of the user namespace: 0 -> the caller's uid, 1.. -> its /etc/subuid ranges
// (gid likewise); only its own id when it has no range (then every file is the user's).
struct RootlessMaps {
    std::string uid_text, gid_text;  // for messages: "0 1000 1, 1 100000 65536"
    bool single_id = false;
};

// Joins the user's namespace (creating the holder when none lives; its pid is recorded in
// `<state_dir>/userns.pid` with its start time). On return this process is root of that
// user namespace and in its mount namespace, with the same working directory. The caller
// must be single-threaded.
[[nodiscard]] Status enter_rootless_namespace(const std::string& state_dir);

// `--userns=keep-id`: maps for a container's own user namespace nested in the rootless one,
// in which the user's host uid U is U again (the rootless namespace's 0), 0..U-1 are the
// namespace's 1..U and the rest map onto themselves. Each triple is {container, parent, size}.
struct KeepIdMaps {
    uint32_t uid = 0, gid = 0;  // the user's host ids
    std::vector<std::array<uint32_t, 3>> uid_maps, gid_maps;
};
// Read from /proc/self/{uid,gid}_map of the rootless namespace; errors when it is too small.
[[nodiscard]] Result<KeepIdMaps> keep_id_maps();

// Whether this process is already in a user namespace (then there is nothing to enter).
bool already_in_user_namespace();

// Whether this process entered its user namespace with setns (enter_rootless_namespace)
// rather than being exec'd in it. Its memory then still belongs to the initial namespace:
// a process cloned from it (a container's init) has /proc files (ns/*, uid_map) nothing in
// the user namespace may open once it is non-dumpable, so containers are created by a
// process exec'd inside.
bool entered_user_namespace_by_setns();

}  // namespace husk::engine
