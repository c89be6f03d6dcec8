#include "engine/store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "common/files.hpp"
#include "common/scope_exit.hpp"
#include "engine/ids.hpp"

namespace husk::engine {

ContainerStore::ContainerStore(std::string root, std::string runroot)
    : root_(std::move(root)),
      runroot_(std::move(runroot)),
      containers_(root_ + "/containers"),
      names_(root_ + "/container-names") {}

Status ContainerStore::claim_name(const std::string& name, const std::string& id) {
    // The id goes into a temporary file first and is linked to the name: link() fails with
    // EEXIST atomically, and a reader never sees a name file without its id.
    std::string path = name_file(name);
    std::string tmp = names_ + "/.tmp-" + id;
    {
        UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!fd) return fail_errno("create {}", tmp);
        if (::write(fd.get(), id.data(), id.size()) != static_cast<ssize_t>(id.size())) {
            auto err = Error::from_errno("write {}", tmp);
            ::unlink(tmp.c_str());
            return fail(err);
        }
    }
    auto drop_tmp = ScopeExit([&] { ::unlink(tmp.c_str()); });
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (::link(tmp.c_str(), path.c_str()) == 0) return {};
        if (errno != EEXIST) return fail_errno("create {}", path);
        auto owner = read_file(path);
        std::string owner_id = owner ? *owner : "";
        // Records are written before their name is claimed, so an owner without config.json
        // is gone (removed, or a create killed half-way): the name is free.
        if (owner_id == id) return {};
        if (owner_id.size() == 64 && path_exists(dir(owner_id) + "/config.json"))
            return fail_invalid("the container name \"/{}\" is already in use by container \"{}\"",
                                name, owner_id);
        ::unlink(path.c_str());
    }
    return fail_invalid("the container name \"/{}\" is already in use", name);
}

Result<UniqueFd> ContainerStore::begin_create(const std::string& id) {
    HUSK_TRY(make_dirs(containers_, 0700));
    std::string d = dir(id);
    if (::mkdir(d.c_str(), 0700) != 0) return fail_errno("mkdir {}", d);
    auto creating = lock(id);
    if (!creating) (void)remove_tree(d);
    return creating;
}

Status ContainerStore::commit_create(ContainerRecord& record) {
    HUSK_TRY(make_dirs(names_, 0700));
    bool random = record.name.empty();
    if (random) record.name = random_name();
    // config.json first (a directory with config.json is a container), then the name: a
    // name always points at a complete record.
    Status st = save(record);
    for (int i = 0; st && i < 10; ++i) {
        auto claimed = claim_name(record.name, record.id);
        if (claimed) return {};
        if (!random) {
            st = claimed;
            break;
        }
        // Random names may collide: try others, then one with a piece of the id.
        record.name = i < 8 ? random_name() : random_name() + "_" + record.id.substr(0, 6);
        st = save(record);
    }
    if (st) st = fail_invalid("no free random name for container {}", record.id);
    // Not a container: the caller removes the directory.
    ::unlink((dir(record.id) + "/config.json").c_str());
    return st;
}

Status ContainerStore::create(ContainerRecord& record) {
    auto creating = begin_create(record.id);
    if (!creating) return fail(creating.error());
    auto st = commit_create(record);
    if (!st) (void)remove_tree(dir(record.id));
    return st;
}

std::vector<std::string> ContainerStore::unrecorded() const {
    std::vector<std::string> out;
    auto ids = list();
    if (!ids) return out;
    for (const auto& id : *ids)
        if (!path_exists(dir(id) + "/config.json")) out.push_back(id);
    return out;
}

Result<ContainerRecord> ContainerStore::load(const std::string& id) const {
    std::string path = dir(id) + "/config.json";
    auto text = read_file(path);
    if (!text) {
        if (text.error().errnum() == ENOENT) return fail(Error(ENOENT, "no such container: " + id));
        return fail(text.error());
    }
    return parse_record(*text, path);
}

Result<ContainerRecord> ContainerStore::load_removed(const std::string& id) const {
    std::string path = dir(id) + "/removed.json";
    auto text = read_file(path);
    if (!text) return fail(text.error());
    return parse_record(*text, path);
}

Status ContainerStore::save(const ContainerRecord& record) const {
    return write_file_atomic(dir(record.id) + "/config.json", record_json(record), 0600,
                             Durability::survive_crash);
}

Result<ContainerRuntime> ContainerStore::load_runtime(const std::string& id) const {
    std::string path = dir(id) + "/state.json";
    auto text = read_file(path);
    if (!text) return fail(text.error());
    return parse_runtime(*text, path);
}

Status ContainerStore::save_runtime(const std::string& id, const ContainerRuntime& rt) const {
    return write_file_atomic(dir(id) + "/state.json", runtime_json(rt), 0600,
                             Durability::survive_crash);
}

Result<std::vector<std::string>> ContainerStore::list() const {
    std::vector<std::string> ids;
    DIR* d = ::opendir(containers_.c_str());
    if (d == nullptr) {
        if (errno == ENOENT) return ids;
        return fail_errno("open {}", containers_);
    }
    while (auto* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (is_full_id(name)) ids.push_back(name);
    }
    ::closedir(d);
    std::sort(ids.begin(), ids.end());
    return ids;
}

Result<std::string> ContainerStore::resolve(const std::string& ref) const {
    if (ref.empty()) return fail_invalid("empty container name or id");
    if (is_full_id(ref) && path_exists(dir(ref) + "/config.json")) return ref;
    std::string name = ref.starts_with("/") ? ref.substr(1) : ref;
    if (name.find('/') == std::string::npos && name != "." && name != "..") {
        if (auto owner = read_file(name_file(name));
            owner && owner->size() == 64 && path_exists(dir(*owner) + "/config.json"))
            return *owner;
    }
    auto ids = list();
    if (!ids) return fail(ids.error());
    std::string found;
    for (const auto& id : *ids) {
        if (!id.starts_with(ref)) continue;
        if (!found.empty())
            return fail_invalid("multiple containers match the prefix {:?}: be more specific", ref);
        found = id;
    }
    if (found.empty() || !path_exists(dir(found) + "/config.json"))
        return fail(Error(ENOENT, fmt::format("no such container: {}", ref)));
    return found;
}

Status ContainerStore::rename(ContainerRecord& record, const std::string& new_name) {
    if (new_name == record.name) return {};
    HUSK_TRY(claim_name(new_name, record.id));
    std::string old = record.name;
    record.name = new_name;
    if (auto st = save(record); !st) {
        ::unlink(name_file(new_name).c_str());
        record.name = old;
        return st;
    }
    ::unlink(name_file(old).c_str());
    return {};
}

Status ContainerStore::remove(const std::string& id, const std::string& name) {
    // The record goes first (a container without config.json no longer exists), then the
    // name, then the rest of the directory: a crash in between leaves only garbage that
    // claim_name, `rm` and collect_garbage recognise.
    HUSK_TRY(remove_record(id, name));
    return remove_tree(dir(id));
}

Status ContainerStore::remove_record(const std::string& id, const std::string& name) {
    std::string d = dir(id);
    // A rename: the record is gone for every reader at once, and the cleanup still has it.
    if (::rename((d + "/config.json").c_str(), (d + "/removed.json").c_str()) != 0 &&
        errno != ENOENT)
        return fail_errno("remove {}/config.json", d);
    if (!name.empty()) {
        auto owner = read_file(name_file(name));
        if (owner && *owner == id) ::unlink(name_file(name).c_str());
    }
    return {};
}

Result<UniqueFd> ContainerStore::lock(const std::string& id) const {
    std::string path = dir(id) + "/lock";
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return fail_errno("open {}", path);
    while (::flock(fd.get(), LOCK_EX) != 0)
        if (errno != EINTR) return fail_errno("lock {}", path);
    return fd;
}

}  // namespace husk::engine
