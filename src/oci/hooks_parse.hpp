#pragma once
// Internal to src/oci: the `hooks` reader that parse_config calls (hooks_parse.cpp).
#include "common/error.hpp"
#include "oci/hooks.hpp"
#include "oci/json_reader.hpp"

namespace husk::oci::detail {

[[nodiscard]] Status parse_hooks_node(const Node& node, Hooks& out);

}  // namespace husk::oci::detail
