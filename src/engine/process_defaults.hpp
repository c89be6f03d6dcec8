#pragma once
// The image's container defaults applied to a record the way Docker does: Entrypoint and
// Cmd (a user --entrypoint drops the image's Cmd), Env (the user's win), WorkingDir, User,
// StopSignal, Healthcheck and Labels; PATH has Docker's default when the image sets none.
#include <string>
#include <vector>

#include "common/error.hpp"
#include "engine/record.hpp"
#include "oci/image_spec.hpp"

namespace husk::engine {

[[nodiscard]] Status apply_image_defaults(ContainerRecord& record,
                                          const oci::ContainerDefaults& image);
// Sets KEY=VALUE in `env`, replacing an earlier KEY.
void set_env(std::vector<std::string>& env, const std::string& entry);

}  // namespace husk::engine
