#pragma once
// `husk-runtime exec`: a new process in a running container. It joins the init's namespaces
// (/proc/<init>/ns/*) and cgroup, takes the process attributes of --process (or of the
// container's config.json with runc's flag overrides), and is confined as the init was:
// capabilities, no_new_privs, the container's seccomp profile.
#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/state.hpp"

namespace husk::runtime {

struct ExecOptions {
    std::string id;
    std::string process_file;       // --process: a runtime-spec process JSON
    std::vector<std::string> args;  // the command, when there is no --process
    std::vector<std::string> env;   // -e KEY=VALUE, appended
    std::string cwd;                // --cwd
    std::string user;               // -u UID[:GID]
    std::vector<std::string> caps;  // --cap CAP_X, added to bounding, effective, permitted
    bool no_new_privs = false;
    bool detach = false;
    std::string pid_file;
    unsigned preserve_fds = 0;  // fds 3 .. 3+N-1 are passed on to the process
    bool tty = false;           // -t: a pty, its master sent to console_socket
    std::string console_socket;
};

// Foreground: waits and returns the process's exit status (128+N for signal N), forwarding
// signals to it. Detached: returns 0 once the process has exec'd.
[[nodiscard]] Result<int> exec_in_container(const StateStore& store, const ExecOptions& options);

}  // namespace husk::runtime
