#pragma once
// Capability sets around the uid switch: the bounding set is dropped while the process is
// still root, permitted/effective/inheritable/ambient are set after setuid (KEEPCAPS keeps
// them across it).
#include <vector>

#include "common/error.hpp"
#include "oci/runtime_spec.hpp"

namespace husk::runtime {

// The capabilities this process holds in its bounding set (what any container can get).
std::vector<int> held_capabilities();
// Removes from `caps` what this process cannot grant, returning the names it removed.
std::vector<std::string> drop_unavailable(oci::Capabilities& caps);

// Removes ambient capabilities that are not both permitted and inheritable (the kernel
// refuses to raise them; runc and crun drop them silently), returning their names.
std::vector<std::string> drop_unraisable_ambient(oci::Capabilities& caps);

// Before the uid switch: drop the bounding set, keep capabilities across setuid.
[[nodiscard]] Status apply_capabilities_before_setuid(const oci::Capabilities& caps);
// After the uid switch: the final sets.
[[nodiscard]] Status apply_capabilities_after_setuid(const oci::Capabilities& caps);

}  // namespace husk::runtime
