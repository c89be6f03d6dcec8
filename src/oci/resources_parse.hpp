#pragma once
// Internal to src/oci: the linux.resources and linux.cgroupsPath readers that parse_config
// calls (resources.cpp). Kept out of runtime_spec.cpp so resource work stays in one file.
#include <string>

#include "common/error.hpp"
#include "oci/json_reader.hpp"
#include "oci/runtime_spec.hpp"

namespace husk::oci::detail {

[[nodiscard]] Status parse_resources_node(const Node& node, Resources& out);
// linux.cgroupsPath: no "..", no NUL, no systemd "slice:prefix:name" form (not supported).
[[nodiscard]] Status validate_cgroups_path(const Node& node, const std::string& path);

}  // namespace husk::oci::detail
