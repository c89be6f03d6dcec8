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

    // Takes the record's name (random when empty) and writes config.json and state.json.
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
    // The first half of remove: the container no longer exists (no record, its name free);
    // the directory left is garbage that remove_tree, or collect_garbage later, takes.
    [[nodiscard]] Status remove_record(const std::string& id, const std::string& name);
    // Removes container directories without a record whose creator is gone (a create
    // killed half-way).
    void collect_garbage() const;
    // An exclusive flock on the container (start, stop, rm take it); blocks.
    [[nodiscard]] Result<UniqueFd> lock(const std::string& id) const;

private:
    [[nodiscard]] Status claim_name(const std::string& name, const std::string& id);
    std::string name_file(const std::string& name) const { return names_ + "/" + name; }

    std::string root_, runroot_, containers_, names_;
};

}  // namespace husk::engine
