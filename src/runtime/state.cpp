#include "runtime/state.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/files.hpp"
#include "runtime/cgroup_control.hpp"

namespace husk::runtime {

using nlohmann::json;

const char* status_name(ContainerStatus status) {
    switch (status) {
        case ContainerStatus::creating:
            return "creating";
        case ContainerStatus::created:
            return "created";
        case ContainerStatus::running:
            return "running";
        case ContainerStatus::stopped:
            return "stopped";
        case ContainerStatus::paused:
            return "paused";
    }
    return "stopped";
}

Status validate_container_id(const std::string& id) {
    if (id.empty()) return fail_invalid("container id must not be empty");
    if (id.size() > 1024) return fail_invalid("container id is too long");
    if (id == "." || id == "..") return fail_invalid("invalid container id {:?}", id);
    for (char c : id) {
        bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
                  c == '+';
        if (!ok) return fail_invalid("invalid container id {:?}: use letters, digits, _ - . +", id);
    }
    return {};
}

Status StateStore::reserve(const std::string& id) const {
    HUSK_TRY(make_dirs(root_, 0711));
    if (::mkdir(dir(id).c_str(), 0711) != 0) {
        if (errno == EEXIST) return fail(Error(EEXIST, fmt::format("container {:?}", id)));
        return fail_errno("create {}", dir(id));
    }
    return {};
}

Status StateStore::save(const ContainerState& s) const {
    json cgroups = json::array();
    for (auto& d : s.cgroup_dirs)
        cgroups.push_back(
            {{"mount", d.mount_point}, {"controllers", d.controllers}, {"path", d.path}});
    json j = {{"ociVersion", kOciVersion},
              {"id", s.id},
              {"pid", s.pid},
              {"initStartTime", s.init_start_time},
              {"bundle", s.bundle},
              {"rootfs", s.rootfs},
              {"created", s.created},
              {"annotations", s.annotations},
              {"cgroups", cgroups},
              {"cgroupsCreated", s.cgroup_created}};
    if (!s.systemd_unit.empty()) j["systemdUnit"] = s.systemd_unit;
    // State under the runtime root describes processes: after a power loss there is nothing
    // to describe, so atomic (rename) is enough and no fsync is paid per container.
    return write_file_atomic(dir(s.id) + "/state.json", j.dump(), 0600, Durability::survive_crash);
}

Result<ContainerState> StateStore::load(const std::string& id) const {
    HUSK_TRY(validate_container_id(id));
    auto text = read_file(dir(id) + "/state.json");
    if (!text) {
        if (text.error().errnum() == ENOENT)
            return fail(Error(ENOENT, fmt::format("container {:?} does not exist", id)));
        return fail(text.error());
    }
    json j = json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return fail_invalid("{}/state.json: not valid JSON", dir(id));
    try {
        ContainerState s;
        s.id = j.at("id").get<std::string>();
        s.pid = j.at("pid").get<pid_t>();
        s.init_start_time = j.at("initStartTime").get<uint64_t>();
        s.bundle = j.at("bundle").get<std::string>();
        s.rootfs = j.at("rootfs").get<std::string>();
        s.created = j.at("created").get<std::string>();
        // Who made the container: the owner of its record, looked up when asked rather
        // than on every create (the passwd lookup is not free).
        struct stat st {};
        if (::stat(dir(id).c_str(), &st) == 0) {
            struct passwd* pw = ::getpwuid(st.st_uid);
            s.owner = pw ? pw->pw_name : std::to_string(st.st_uid);
        }
        s.annotations = j.value("annotations", std::map<std::string, std::string>{});
        for (auto& c : j.at("cgroups"))
            s.cgroup_dirs.push_back({c.at("mount").get<std::string>(),
                                     c.at("controllers").get<std::string>(),
                                     c.at("path").get<std::string>()});
        s.cgroup_created = j.at("cgroupsCreated").get<std::vector<std::string>>();
        s.systemd_unit = j.value("systemdUnit", std::string());
        return s;
    } catch (const json::exception& e) {
        return fail_invalid("{}/state.json: {}", dir(id), e.what());
    }
}

Status StateStore::remove(const std::string& id) const {
    return remove_tree(dir(id));
}

Result<std::vector<ContainerState>> StateStore::list() const {
    std::vector<ContainerState> out;
    DIR* d = ::opendir(root_.c_str());
    if (d == nullptr) {
        if (errno == ENOENT) return out;
        return fail_errno("open {}", root_);
    }
    std::vector<std::string> ids;
    while (struct dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        if (path_exists(dir(name) + "/state.json")) ids.push_back(name);
    }
    ::closedir(d);
    std::sort(ids.begin(), ids.end());
    for (auto& id : ids)
        if (auto s = load(id)) out.push_back(std::move(*s));
    return out;
}

Result<UniqueFd> StateStore::lock(const std::string& id) const {
    UniqueFd fd(::open(dir(id).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT)
            return fail(Error(ENOENT, fmt::format("container {:?} does not exist", id)));
        return fail_errno("open {}", dir(id));
    }
    if (::flock(fd.get(), LOCK_EX) != 0) return fail_errno("lock {}", dir(id));
    return fd;
}

ContainerStatus StateStore::status(const ContainerState& s) const {
    if (s.pid <= 0) return ContainerStatus::stopped;
    uint64_t start = process_start_time(s.pid);
    if (start == 0 || start != s.init_start_time) return ContainerStatus::stopped;
    if (path_exists(fifo_path(s.id))) return ContainerStatus::created;
    // A frozen v1 freezer or v2 cgroup means paused.
    if (cgroup_frozen(s.cgroup_dirs)) return ContainerStatus::paused;
    return ContainerStatus::running;
}

std::string state_json(const ContainerState& s, ContainerStatus status) {
    json j = {{"ociVersion", kOciVersion},
              {"id", s.id},
              {"pid", status == ContainerStatus::stopped ? 0 : s.pid},
              {"status", status_name(status)},
              {"bundle", s.bundle},
              {"rootfs", s.rootfs},
              {"created", s.created},
              {"owner", s.owner}};
    if (!s.annotations.empty()) j["annotations"] = s.annotations;
    return j.dump(2);
}

}  // namespace husk::runtime
