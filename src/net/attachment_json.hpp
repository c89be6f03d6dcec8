#pragma once
// The Attachment as JSON: what `husk network attach` and husk-net print, and what the
// engine keeps in <container dir>/network.json.
#include <nlohmann/json.hpp>

#include "net/attach.hpp"

namespace husk::net {

nlohmann::json attachment_json(const Attachment& attachment);

}  // namespace husk::net
