#pragma once
// A runtime-spec process object on its own, as `husk-runtime exec --process FILE` reads it.
// The rules are config.json's (runtime_spec.cpp), so exec and create accept the same shapes.
#include <string>

#include "common/error.hpp"
#include "oci/runtime_spec.hpp"

namespace husk::oci {

// Parses a process object; errors are prefixed with `source` ("--process /x/p.json: ...").
[[nodiscard]] Result<Process> parse_process_json(const std::string& json_text,
                                                 const std::string& source);

namespace detail {
class Node;
// The "process" member of `root` (runtime_spec.cpp).
[[nodiscard]] Status parse_process_member(const Node& root, Process& process);
}  // namespace detail

}  // namespace husk::oci
