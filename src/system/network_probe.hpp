#pragma once
// What the engine asks before it relies on a network feature: is nf_tables there, can a
// sysctl be written. Each answer carries the reason when it is no, for the one-time notice.
#include <string>
#include <vector>

#include "system/host.hpp"
#include "system/mountinfo.hpp"

namespace husk::system {

struct SysctlState {
    std::string path;
    bool exists = false;
    bool writable = false;
    std::string value;
    std::string reason;  // why it is not writable / absent
};

// Reads a sysctl and decides whether it can be written (mount flags, then open O_WRONLY,
// which writes nothing).
SysctlState read_sysctl(const HostView& host, const std::vector<MountEntry>& mounts,
                        const std::string& path);

}  // namespace husk::system
