#pragma once
// What `inspect` and `ps --format` show of a container, in Docker's field names.
#include <nlohmann/json.hpp>

#include "engine/engine.hpp"

namespace husk::engine {

nlohmann::ordered_json inspect_json(const ContainerView& view);
// One row of `ps`: ID (12), Names, Image, Command, CreatedAt, RunningFor, Status, State,
// Labels ("k=v,..."), Ports, Mounts; LabelMap for {{.Label "k"}}.
nlohmann::ordered_json ps_json(const ContainerView& view, bool no_trunc);
// "Up 3 seconds (healthy)", "Exited (1) 2 minutes ago", "Created", "Restarting (1) ...".
std::string status_text(const ContainerView& view);

}  // namespace husk::engine
