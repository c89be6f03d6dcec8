#pragma once
// The stream between a monitor and a `husk run`/`start -a`/`attach` client over a unix
// socket: frames of [type:1][length:4, little endian][payload]. The monitor sends the
// container's output and, last, its exit code; the client sends stdin and window sizes.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace husk::engine {

enum class Frame : uint8_t {
    stdin_data = 0,
    stdout_data = 1,
    stderr_data = 2,
    exit_code = 3,  // payload: decimal exit code
    stdin_eof = 4,
    resize = 5,   // payload: "rows cols"
    started = 6,  // payload: decimal pid of the container's init
    error = 7,    // payload: "<errno> <message>": the container could not start
};

// Writes one frame (blocking; retried on EINTR; no SIGPIPE).
[[nodiscard]] Status send_frame(int fd, Frame type, std::string_view payload);

// Accumulates bytes read from a socket and yields complete frames.
class FrameReader {
public:
    void feed(const char* data, size_t n) { buffer_.append(data, n); }
    // True and fills type/payload when a whole frame is buffered.
    bool next(Frame& type, std::string& payload);

private:
    std::string buffer_;
};

// Reads exactly one frame and nothing after it (what follows stays in the socket for the
// next reader).
[[nodiscard]] Result<std::pair<Frame, std::string>> read_one_frame(int fd);
// Reads from `fd` until one whole frame arrives (blocking). EOF is an error with errno 0.
[[nodiscard]] Result<std::pair<Frame, std::string>> read_frame(int fd, FrameReader& reader);

}  // namespace husk::engine
