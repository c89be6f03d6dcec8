#pragma once
// Volumes at create, as Docker makes them: every path of the image config's Volumes that no
// -v/--mount covers gets a new anonymous volume (removed by `rm -v`), and a volume mounted
// where the image has content starts with a copy of that content when it is empty (Docker's
// copy-up; `-v name:/path:nocopy` skips it). Bind mounts are never written to.
#include <string>

#include "common/error.hpp"
#include "engine/record.hpp"
#include "oci/image_spec.hpp"

namespace husk::engine {

// Adds the anonymous volumes for the image's VOLUMEs to record.mounts, then copies up.
// On failure the anonymous volumes it made are removed again.
[[nodiscard]] Status init_volumes(ContainerRecord& record, const oci::ImageConfig& image,
                                  const std::string& volumes_root);
// Removes the anonymous volumes of the record (a create undone, or `rm -v`).
void remove_anonymous_volumes(const ContainerRecord& record, const std::string& volumes_root);

}  // namespace husk::engine
