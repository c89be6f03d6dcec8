#pragma once
// `husk pull` and `husk push`: images between a registry and the store.
#include <functional>
#include <string>

#include "common/error.hpp"
#include "image/reference.hpp"
#include "image/registry_client.hpp"
#include "image/store.hpp"

namespace husk::image {

// The state of one blob's transfer, for progress bars.
struct BlobProgress {
    enum class State { active, retrying, done, skipped, mounted };
    std::string digest;  // "sha256:..."
    int64_t done = 0;
    int64_t total = 0;
    State state = State::active;
};

// Push: blobs larger than this go up in PATCH chunks of this size (monolithic below).
inline constexpr int64_t default_chunk_size = int64_t(64) << 20;

struct TransferOptions {
    ClientOptions client;
    std::string platform;  // "os/arch[/variant]"; empty: linux/<host arch>
    int parallel = 6;      // blob transfers at once
    // Push: chunk size for blobs larger than it; 0: every blob in one PUT.
    int64_t chunk_size = default_chunk_size;
    // One line per step ("Copying blob 1a2b3c4d5e6f done (2.1 MB)"); null: quiet.
    std::function<void(const std::string&)> progress;
    // When set, blob steps are reported here (for progress bars) instead of as lines.
    std::function<void(const BlobProgress&)> blob_progress;
};

[[nodiscard]] Result<ImageRecord> pull(Store& store, const Reference& ref,
                                       const TransferOptions& options);
// Returns the pushed manifest's digest.
[[nodiscard]] Result<Digest> push(Store& store, const std::string& image, const Reference& dest,
                                  const TransferOptions& options);
// Checks the credentials against the registry and stores them in the auth file.
[[nodiscard]] Status login(const std::string& registry, const Credentials& credentials,
                           const ClientOptions& options);

}  // namespace husk::image
