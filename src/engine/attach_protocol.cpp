#include "engine/attach_protocol.hpp"

#include <sys/socket.h>

namespace husk::engine {

Status send_frame(int fd, Frame type, std::string_view payload) {
    char header[5];
    header[0] = static_cast<char>(type);
    uint32_t n = static_cast<uint32_t>(payload.size());
    for (int i = 0; i < 4; ++i) header[1 + i] = static_cast<char>((n >> (8 * i)) & 0xff);
    std::string buf(header, 5);
    buf.append(payload);
    size_t off = 0;
    while (off < buf.size()) {
        ssize_t w = ::send(fd, buf.data() + off, buf.size() - off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            return fail_errno("send to attach socket");
        }
        off += static_cast<size_t>(w);
    }
    return {};
}

bool FrameReader::next(Frame& type, std::string& payload) {
    if (buffer_.size() < 5) return false;
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i)
        n |= static_cast<uint32_t>(static_cast<unsigned char>(buffer_[1 + i])) << (8 * i);
    if (buffer_.size() < 5 + static_cast<size_t>(n)) return false;
    type = static_cast<Frame>(buffer_[0]);
    payload.assign(buffer_, 5, n);
    buffer_.erase(0, 5 + n);
    return true;
}

Result<std::pair<Frame, std::string>> read_one_frame(int fd) {
    auto read_exact = [fd](char* buf, size_t n) -> Status {
        size_t got = 0;
        while (got < n) {
            ssize_t r = ::recv(fd, buf + got, n - got, MSG_WAITALL);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) return fail_errno("read from monitor");
            if (r == 0) return fail_invalid("the container's monitor closed the connection");
            got += static_cast<size_t>(r);
        }
        return {};
    };
    char header[5];
    HUSK_TRY(read_exact(header, 5));
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i)
        n |= static_cast<uint32_t>(static_cast<unsigned char>(header[1 + i])) << (8 * i);
    std::string payload(n, '\0');
    if (n > 0) HUSK_TRY(read_exact(payload.data(), n));
    return std::pair{static_cast<Frame>(header[0]), std::move(payload)};
}

Result<std::pair<Frame, std::string>> read_frame(int fd, FrameReader& reader) {
    while (true) {
        Frame type{};
        std::string payload;
        if (reader.next(type, payload)) return std::pair{type, std::move(payload)};
        char buf[65536];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno("read from monitor");
        }
        if (n == 0) return fail_invalid("the container's monitor closed the connection");
        reader.feed(buf, static_cast<size_t>(n));
    }
}

}  // namespace husk::engine
