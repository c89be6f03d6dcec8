#pragma once
// Named volumes: <root>/volumes/<name>/_data (what containers mount) and
// <root>/volumes/<name>/volume.json (driver "local", labels, creation time). A volume is in
// use while a container record mounts it; `rm` and `prune` refuse or skip those.
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace husk::engine {

struct Volume {
    std::string name;
    std::string mountpoint;
    std::string created;
    std::map<std::string, std::string> labels;
    bool anonymous = false;
};

class VolumeStore {
public:
    explicit VolumeStore(std::string dir) : dir_(std::move(dir)) {}

    // Creates the volume, or returns the existing one of that name.
    [[nodiscard]] Result<Volume> create(const std::string& name,
                                        const std::map<std::string, std::string>& labels,
                                        bool anonymous = false);
    [[nodiscard]] Result<Volume> get(const std::string& name) const;
    [[nodiscard]] Result<std::vector<Volume>> list() const;
    [[nodiscard]] Status remove(const std::string& name);

private:
    std::string dir_;
};

[[nodiscard]] Status validate_volume_name(const std::string& name);

}  // namespace husk::engine
