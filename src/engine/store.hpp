#pragma once
// The container store: <root>/containers/<id>/ per container (see record.hpp) and
// <root>/container-names/<name> (a file holding the id). A name is taken by creating its
// file with O_EXCL, so parallel `husk run --name x` cannot both win; a name file whose
// container directory is gone (a create killed half-way) is stale and reclaimed.
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "engine/record.hpp"

namespace husk::engine {

class ContainerStore {
public:
    ContainerStore(std::string root, std::string runroot);

    const std::string& root() const { return root_; }
    const std::string& runroot() const { return runroot_; }
    std::string dir(const std::string& id) const { return containers_ + "/" + id; }
    std::string runtime_root() const { return runroot_ + "/runtime"; }

    // A create in two steps, so that the record is written once, complete. begin_create
    // makes the directory and returns its lock, held until the create is done: unrecorded()
    // directories that are locked are being made, the others are garbage. commit_create
    // writes config.json, then takes the record's name (random when empty): the container
    // exists from then on. A failed commit leaves the directory to its caller.
    [[nodiscard]] Result<UniqueFd> begin_create(const std::string& id);
    [[nodiscard]] Status commit_create(ContainerRecord& record);
    // Both, for a record with nothing to prepare in between; nothing is left when it fails.
    [[nodiscard]] Status create(ContainerRecord& record);
    [[nodiscard]] Result<ContainerRecord> load(const std::string& id) const;
    [[nodiscard]] Status save(const ContainerRecord& record) const;
    [[nodiscard]] Result<ContainerRuntime> load_runtime(const std::string& id) const;
    [[nodiscard]] Status save_runtime(const std::string& id, const ContainerRuntime& rt) const;
    // A full id, a name, or a unique prefix of an id.
    [[nodiscard]] Result<std::string> resolve(const std::string& ref) const;
    // Every container directory (full ids), in name order.
    [[nodiscard]] Result<std::vector<std::string>> list() const;
    [[nodiscard]] Status rename(ContainerRecord& record, const std::string& new_name);
    // Removes the directory and releases the name.
    [[nodiscard]] Status remove(const std::string& id, const std::string& name);
    // The first half of remove: the container no longer exists (config.json becomes
    // removed.json, its name is free); what the directory still holds (a mounted rootfs,
    // volumes to drop) is for Engine::purge, which reads removed.json.
    [[nodiscard]] Status remove_record(const std::string& id, const std::string& name);
    // What remove_record left of a container (absent when a create died before its record).
    [[nodiscard]] Result<ContainerRecord> load_removed(const std::string& id) const;
    // Container directories without a record: removed ones whose cleanup is pending or
    // running, creates in progress or killed half-way.
    [[nodiscard]] std::vector<std::string> unrecorded() const;
    // An exclusive flock on the container (start, stop, rm take it); blocks.
    [[nodiscard]] Result<UniqueFd> lock(const std::string& id) const;

private:
    [[nodiscard]] Status claim_name(const std::string& name, const std::string& id);
    std::string name_file(const std::string& name) const { return names_ + "/" + name; }

    std::string root_, runroot_, containers_, names_;
};

}  // namespace husk::engine
