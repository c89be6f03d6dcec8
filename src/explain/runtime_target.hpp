#pragma once
// The seam to husk-runtime: a bare OCI container found through the runtime's state root.
#include <string>

#include "common/error.hpp"
#include "explain/explain.hpp"
#include "runtime/state.hpp"

namespace husk::explain {

// The target for container `id` under `store`: its init pid (checked live), its bundle's
// config.json, and every other live container of the same root as a peer.
[[nodiscard]] Result<Target> runtime_target(const runtime::StateStore& store,
                                            const std::string& id);

}  // namespace husk::explain
