#pragma once
// `husk pull` and `husk push`: images between a registry and the store.
#include <functional>
#include <string>

#include "common/error.hpp"
#include "image/reference.hpp"
#include "image/registry_client.hpp"
#include "image/store.hpp"

namespace husk::image {

struct TransferOptions {
    ClientOptions client;
    std::string platform;  // "os/arch[/variant]"; empty: linux/<host arch>
    int parallel = 6;      // blob transfers at once
    // One line per step ("Copying blob 1a2b3c4d5e6f done (2.1 MB)"); null: quiet.
    std::function<void(const std::string&)> progress;
};

[[nodiscard]] Result<ImageRecord> pull(Store& store, const Reference& ref,
                                       const TransferOptions& options);
[[nodiscard]] Status push(Store& store, const std::string& image, const Reference& dest,
                          const TransferOptions& options);
// Checks the credentials against the registry and stores them in the auth file.
[[nodiscard]] Status login(const std::string& registry, const Credentials& credentials,
                           const ClientOptions& options);

}  // namespace husk::image
