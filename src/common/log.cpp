#include "common/log.hpp"

#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <ctime>

#include <nlohmann/json.hpp>

namespace husk::log {
namespace {

struct Sink {
    int fd = STDERR_FILENO;
    Format format = Format::text;
    bool debug = false;
};

Sink& sink() {
    static Sink s;
    return s;
}

const char* level_name(Level level) {
    switch (level) {
        case Level::debug:
            return "debug";
        case Level::info:
            return "info";
        case Level::warning:
            return "warning";
        case Level::error:
            return "error";
    }
    return "info";
}

std::string timestamp() {
    struct timespec ts {};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm {};
    ::gmtime_r(&ts.tv_sec, &tm);
    char buf[64];
    size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    return std::string(buf, n) + fmt::format(".{:09}Z", ts.tv_nsec);
}

}  // namespace

void configure(const std::string& path, Format format, bool debug) {
    Sink& s = sink();
    s.format = format;
    s.debug = debug;
    if (!path.empty()) {
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) {
            if (s.fd != STDERR_FILENO) ::close(s.fd);
            s.fd = fd;
        }
    }
}

bool debug_enabled() {
    return sink().debug;
}

void write(Level level, std::string_view message) {
    const Sink& s = sink();
    std::string line;
    if (s.format == Format::json) {
        nlohmann::json j = {{"level", level_name(level)}, {"msg", message}, {"time", timestamp()}};
        line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    } else if (s.fd == STDERR_FILENO) {
        line = fmt::format("husk-runtime: {}{}\n",
                           level == Level::error ? "" : std::string(level_name(level)) + ": ",
                           message);
    } else {
        line = fmt::format("{} {} {}\n", timestamp(), level_name(level), message);
    }
    // One write per line so that concurrent writers do not interleave.
    (void)!::write(s.fd, line.data(), line.size());
}

}  // namespace husk::log
