#pragma once
// Container ids (64 hex digits, as Docker's) and the random names given to containers
// started without --name.
#include <string>

#include "common/error.hpp"

namespace husk::engine {

// 32 bytes from getrandom(2), in hex.
std::string new_container_id();
// "adjective_surname" from a fixed word list, as Docker's namesgenerator does.
std::string random_name();
// Docker's rule for names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (a leading "/" is accepted and dropped).
[[nodiscard]] Result<std::string> validate_name(const std::string& name);
bool is_full_id(const std::string& s);
// RFC 3339 with nanoseconds, UTC ("2026-11-22T13:05:25.123456789Z"), as Docker writes times.
std::string now_rfc3339();
// Parses what now_rfc3339 writes (fraction optional) into ns since the epoch; 0 on failure.
int64_t parse_rfc3339(const std::string& s);
int64_t now_ns();

}  // namespace husk::engine
