#include "image/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <fmt/format.h>

namespace husk::image {

std::string human_bytes(int64_t bytes) {
    if (bytes >= 1000 * 1000 * 1000)
        return fmt::format("{:.2f} GB", static_cast<double>(bytes) / 1e9);
    if (bytes >= 1000 * 1000) return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
    if (bytes >= 1000) return fmt::format("{:.1f} kB", static_cast<double>(bytes) / 1e3);
    return fmt::format("{} B", bytes);
}

ProgressBars::ProgressBars(int fd, int width) : fd_(fd), width_(width) {
    if (width_ <= 0) {
        winsize ws{};
        width_ = ::ioctl(fd_, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
    }
}

ProgressBars::~ProgressBars() {
    finish();
}

void ProgressBars::attach(TransferOptions& options) {
    options.progress = [this](const std::string& text) { line(text); };
    options.blob_progress = [this](const BlobProgress& event) { blob(event); };
}

void ProgressBars::line(const std::string& text) {
    std::lock_guard lock(mu_);
    pending_lines_.push_back(text);
    draw(true);
}

void ProgressBars::blob(const BlobProgress& event) {
    std::lock_guard lock(mu_);
    Row* row = nullptr;
    for (auto& r : rows_)
        if (r.digest == event.digest) row = &r;
    if (row == nullptr) {
        row = &rows_.emplace_back();
        row->digest = event.digest;
    }
    bool changed = row->state != event.state;
    if (!row->timed && event.state == BlobProgress::State::active) {
        row->started = std::chrono::steady_clock::now();
        row->timed = true;
    }
    row->done = event.done;
    row->total = event.total;
    row->state = event.state;
    draw(changed || event.done == event.total);
}

void ProgressBars::finish() {
    std::lock_guard lock(mu_);
    if (finished_) return;
    draw(true);
    finished_ = true;
}

std::string ProgressBars::render(const Row& row) const {
    auto colon = row.digest.find(':');
    std::string id = row.digest.substr(colon + 1, 12);
    switch (row.state) {
        case BlobProgress::State::skipped:
            return fmt::format("Copying blob {} skipped: already exists", id);
        case BlobProgress::State::mounted:
            return fmt::format("Copying blob {} mounted from another repository", id);
        case BlobProgress::State::done:
            return fmt::format("Copying blob {} done  {}", id, human_bytes(row.total));
        default:
            break;
    }
    double seconds =
        row.timed
            ? std::chrono::duration<double>(std::chrono::steady_clock::now() - row.started).count()
            : 0;
    std::string rate =
        seconds > 0.05
            ? human_bytes(static_cast<int64_t>(static_cast<double>(row.done) / seconds)) + "/s"
            : "";
    std::string counts = fmt::format("{} / {}", human_bytes(row.done), human_bytes(row.total));
    std::string head = fmt::format("Copying blob {} ", id);
    std::string tail = fmt::format(" {} {}{}", counts, rate,
                                   row.state == BlobProgress::State::retrying ? " (retrying)" : "");
    // The bar takes what the line has left, between 10 and 40 columns.
    int room = width_ - 1 - static_cast<int>(head.size() + tail.size()) - 2;
    int bar = std::clamp(room, 10, 40);
    int filled = row.total > 0
                     ? static_cast<int>(static_cast<double>(bar) * static_cast<double>(row.done) /
                                        static_cast<double>(row.total))
                     : 0;
    filled = std::clamp(filled, 0, bar);
    std::string b = "[" + std::string(static_cast<size_t>(filled), '=') +
                    (filled < bar ? ">" : "") +
                    std::string(static_cast<size_t>(std::max(0, bar - filled - 1)), ' ') + "]";
    return head + b + tail;
}

void ProgressBars::draw(bool force) {
    auto now = std::chrono::steady_clock::now();
    if (finished_ || (!force && now - last_draw_ < std::chrono::milliseconds(100))) return;
    last_draw_ = now;
    // One frame: back to the first bar, then lines (they scroll up), then every bar, each
    // cleared to its end. Nothing is erased before the new text is there: no flicker.
    std::string frame;
    if (drawn_ > 0) frame += fmt::format("\r\x1b[{}A", drawn_);
    for (auto& l : pending_lines_)
        frame += l.substr(0, static_cast<size_t>(width_ - 1)) + "\x1b[K\n";
    pending_lines_.clear();
    for (auto& r : rows_) {
        frame += render(r).substr(0, static_cast<size_t>(width_ - 1)) + "\x1b[K\n";
    }
    frame += "\x1b[J";  // anything below the last bar (a longer earlier frame)
    drawn_ = rows_.size();
    const char* p = frame.data();
    size_t left = frame.size();
    while (left > 0) {
        ssize_t n = ::write(fd_, p, left);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            break;
        }
        p += n;
        left -= static_cast<size_t>(n);
    }
}

}  // namespace husk::image
