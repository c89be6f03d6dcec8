#pragma once
// The runtime's log: where errors and debug lines go when an engine passes --log and
// --log-format (containerd reads errors back from this file as JSON lines).
#include <string>
#include <string_view>

#include <fmt/core.h>

namespace husk::log {

enum class Level { debug, info, warning, error };
enum class Format { text, json };

// Where log lines go: stderr by default, or appended to `path`.
void configure(const std::string& path, Format format, bool debug);
void write(Level level, std::string_view message);
bool debug_enabled();

template <typename... Args>
void debug(fmt::format_string<Args...> format, Args&&... args) {
    if (debug_enabled()) write(Level::debug, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> format, Args&&... args) {
    write(Level::warning, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> format, Args&&... args) {
    write(Level::error, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace husk::log
