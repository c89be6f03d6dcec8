#include "engine/json_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/files.hpp"
#include "engine/ids.hpp"

namespace husk::engine {
namespace {

constexpr size_t kMaxLine = 16 * 1024;  // Docker splits longer lines at this size

const char* stream_name(int stream) {
    return stream == 2 ? "stderr" : "stdout";
}

void append_escaped(std::string& out, std::string_view s) {
    // JSON string escaping by hand: the monitor writes every line through here, and bytes
    // that are not UTF-8 must not stop the log (they are passed as \u00XX of the byte).
    static const char* hex = "0123456789abcdef";
    for (unsigned char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out.push_back(hex[c >> 4]);
                    out.push_back(hex[c & 15]);
                } else {
                    out.push_back(static_cast<char>(c));
                }
        }
    }
}

}  // namespace

JsonLogWriter::JsonLogWriter(std::string path, LogOptions options)
    : path_(std::move(path)), options_(options) {}

Status JsonLogWriter::open() {
    fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
    if (!fd_) return fail_errno("open {}", path_);
    struct stat st {};
    if (::fstat(fd_.get(), &st) == 0) size_ = st.st_size;
    return {};
}

void JsonLogWriter::write(int stream, std::string_view data) {
    std::string& buf = partial_[stream == 2 ? 2 : 1];
    buf.append(data);
    size_t start = 0;
    while (true) {
        size_t nl = buf.find('\n', start);
        if (nl == std::string::npos) {
            while (buf.size() - start >= kMaxLine) {
                emit(stream, std::string_view(buf).substr(start, kMaxLine));
                start += kMaxLine;
            }
            break;
        }
        // A long line goes out in 16 KiB pieces; the last one carries the newline.
        while (nl + 1 - start > kMaxLine) {
            emit(stream, std::string_view(buf).substr(start, kMaxLine));
            start += kMaxLine;
        }
        emit(stream, std::string_view(buf).substr(start, nl + 1 - start));
        start = nl + 1;
    }
    buf.erase(0, start);
}

void JsonLogWriter::flush() {
    for (int s : {1, 2}) {
        if (!partial_[s].empty()) emit(s, partial_[s]);
        partial_[s].clear();
    }
}

void JsonLogWriter::emit(int stream, std::string_view line) {
    if (!fd_) return;
    std::string out = "{\"log\":\"";
    append_escaped(out, line);
    out += "\",\"stream\":\"";
    out += stream_name(stream);
    out += "\",\"time\":\"";
    out += now_rfc3339();
    out += "\"}\n";
    if (options_.max_size > 0 && size_ > 0 &&
        size_ + static_cast<int64_t>(out.size()) > options_.max_size)
        rotate();
    if (::write(fd_.get(), out.data(), out.size()) == static_cast<ssize_t>(out.size()))
        size_ += static_cast<int64_t>(out.size());
}

void JsonLogWriter::rotate() {
    if (options_.max_file <= 1) {
        // One file: start it over, as Docker does with max-file=1.
        if (::ftruncate(fd_.get(), 0) == 0) size_ = 0;
        return;
    }
    for (int i = options_.max_file - 1; i >= 1; --i) {
        std::string from = i == 1 ? path_ : path_ + "." + std::to_string(i - 1);
        std::string to = path_ + "." + std::to_string(i);
        ::rename(from.c_str(), to.c_str());
    }
    fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
    size_ = 0;
}

bool parse_log_line(std::string_view line, LogEntry& entry) {
    try {
        auto j = nlohmann::json::parse(line);
        entry.log = j.at("log").get<std::string>();
        entry.stream = j.value("stream", "stdout");
        entry.time = j.value("time", "");
        entry.time_ns = parse_rfc3339(entry.time);
        return true;
    } catch (const nlohmann::json::exception&) {
        return false;
    }
}

Result<std::vector<LogEntry>> read_logs(const std::string& path, int max_file,
                                        const LogReadOptions& options) {
    std::vector<LogEntry> entries;
    for (int i = std::max(max_file, 1) - 1; i >= 0; --i) {
        std::string file = i == 0 ? path : path + "." + std::to_string(i);
        auto text = read_file(file);
        if (!text) {
            if (text.error().errnum() == ENOENT) continue;
            return fail(text.error());
        }
        size_t pos = 0;
        while (pos < text->size()) {
            size_t nl = text->find('\n', pos);
            if (nl == std::string::npos) break;  // a line still being written
            LogEntry e;
            if (parse_log_line(std::string_view(*text).substr(pos, nl - pos), e)) {
                if ((options.since_ns == 0 || e.time_ns >= options.since_ns) &&
                    (options.until_ns == 0 || e.time_ns < options.until_ns))
                    entries.push_back(std::move(e));
            }
            pos = nl + 1;
        }
    }
    if (options.tail >= 0 && static_cast<size_t>(options.tail) < entries.size())
        entries.erase(entries.begin(), entries.end() - static_cast<std::ptrdiff_t>(options.tail));
    return entries;
}

}  // namespace husk::engine
