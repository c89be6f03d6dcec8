#pragma once
// A container's record under the runtime root: <root>/<id>/state.json (written atomically)
// and <root>/<id>/exec.fifo (present from create until start). The status is not stored:
// it is read from the kernel each time (is the init alive, is it still the same process,
// has it been started), so a crash can never leave a stale "running".
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/proc.hpp"
#include "common/unique_fd.hpp"
#include "runtime/cgroups.hpp"

namespace husk::runtime {

inline constexpr const char* kDefaultRoot = "/run/husk-runtime";
inline constexpr const char* kOciVersion = "1.2.0";

enum class ContainerStatus { creating, created, running, stopped, paused };
const char* status_name(ContainerStatus status);

struct ContainerState {
    std::string id;
    pid_t pid = 0;
    uint64_t init_start_time = 0;  // /proc/<pid>/stat field 22: tells a reused pid apart
    std::string bundle;
    std::string rootfs;
    std::string created;  // RFC 3339, UTC
    std::string owner;
    std::map<std::string, std::string> annotations;
    std::vector<CgroupDir> cgroup_dirs;
    std::vector<std::string> cgroup_created;
    std::string systemd_unit;  // the transient scope (--systemd-cgroup), "" on cgroupfs
};

using husk::process_start_time;  // common/proc.hpp

class StateStore {
public:
    explicit StateStore(std::string root) : root_(std::move(root)) {}

    const std::string& root() const { return root_; }
    std::string dir(const std::string& id) const { return root_ + "/" + id; }
    std::string fifo_path(const std::string& id) const { return dir(id) + "/exec.fifo"; }

    // Makes <root>/<id>, failing with "container ID already exists" when it is there.
    [[nodiscard]] Status reserve(const std::string& id) const;
    [[nodiscard]] Status save(const ContainerState& state) const;
    [[nodiscard]] Result<ContainerState> load(const std::string& id) const;
    [[nodiscard]] Status remove(const std::string& id) const;
    // Every container with a state file, in name order.
    [[nodiscard]] Result<std::vector<ContainerState>> list() const;
    // An exclusive lock on the container's record, held while a command changes it.
    [[nodiscard]] Result<UniqueFd> lock(const std::string& id) const;

    ContainerStatus status(const ContainerState& state) const;

private:
    std::string root_;
};

// The state JSON that `state` prints (runtime-spec state plus runc's created/owner).
std::string state_json(const ContainerState& state, ContainerStatus status);
// Container ids: the characters runc allows, so ids are always safe as file names.
[[nodiscard]] Status validate_container_id(const std::string& id);

}  // namespace husk::runtime
