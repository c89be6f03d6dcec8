#pragma once
// SHA-256 (FIPS 180-4), for content addresses: cache keys now, blob digests later. Small and
// dependency-free so the runtime binary links no crypto library.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace husk {

class Sha256 {
public:
    Sha256();
    void update(std::string_view data);
    std::array<uint8_t, 32> finish();

private:
    void block(const uint8_t* p);
    uint32_t h_[8];
    uint8_t buffer_[64];
    size_t buffered_ = 0;
    uint64_t length_ = 0;
};

// Lower-case hex of the digest of `data`.
std::string sha256_hex(std::string_view data);

}  // namespace husk
