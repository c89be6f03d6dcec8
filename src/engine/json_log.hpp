#pragma once
// Docker's json-file log driver: one JSON object per line,
//   {"log":"hello\n","stream":"stdout","time":"2026-11-22T13:05:25.123456789Z"}
// in <dir>/container.log, rotated to container.log.1 .. .N-1 when max-size is reached
// (--log-opt max-size=10m --log-opt max-file=3). A line longer than 16 KiB is split into
// several entries, as Docker does; output without a final newline is flushed at exit.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "engine/record.hpp"

namespace husk::engine {

class JsonLogWriter {
public:
    JsonLogWriter(std::string path, LogOptions options);
    [[nodiscard]] Status open();
    // Appends output of a stream ("stdout"/"stderr"); complete lines are written at once.
    void write(int stream, std::string_view data);
    // Writes whatever partial line a stream holds (at the container's exit).
    void flush();

private:
    void emit(int stream, std::string_view line);
    void rotate();

    std::string path_;
    LogOptions options_;
    UniqueFd fd_;
    int64_t size_ = 0;
    std::string partial_[3];
};

struct LogEntry {
    std::string stream;
    std::string time;
    int64_t time_ns = 0;
    std::string log;
};

struct LogReadOptions {
    int64_t tail = -1;     // last N entries, -1 = all
    int64_t since_ns = 0;  // entries at or after this time
    int64_t until_ns = 0;  // entries before this time (0 = no bound)
};

// Every entry of the rotated files then the live one, oldest first, filtered.
[[nodiscard]] Result<std::vector<LogEntry>> read_logs(const std::string& path, int max_file,
                                                      const LogReadOptions& options);
// Parses one line of the file; false for a torn or foreign line.
bool parse_log_line(std::string_view line, LogEntry& entry);

}  // namespace husk::engine
