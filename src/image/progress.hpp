#pragma once
// Progress output of pull and push: on a terminal, one bar per blob redrawn in place with
// ANSI escapes (one write per frame, at most ten frames a second, the last frame left on
// screen); elsewhere, plain lines.
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "image/registry.hpp"

namespace husk::image {

class ProgressBars {
public:
    // Draws on `fd` (a terminal); `width` 0: asks the terminal.
    explicit ProgressBars(int fd, int width = 0);
    ~ProgressBars();
    ProgressBars(const ProgressBars&) = delete;
    ProgressBars& operator=(const ProgressBars&) = delete;

    // A line printed above the bars.
    void line(const std::string& text);
    void blob(const BlobProgress& event);
    // Draws the final state (the destructor does too).
    void finish();

    // Options wired to this renderer.
    void attach(TransferOptions& options);

private:
    struct Row {
        std::string digest;
        int64_t done = 0;
        int64_t total = 0;
        BlobProgress::State state = BlobProgress::State::active;
        std::chrono::steady_clock::time_point started;
        bool timed = false;
    };
    void draw(bool force);
    std::string render(const Row& row) const;

    int fd_;
    int width_;
    std::mutex mu_;
    std::vector<Row> rows_;
    std::vector<std::string> pending_lines_;
    size_t drawn_ = 0;  // rows on screen below the lines
    std::chrono::steady_clock::time_point last_draw_{};
    bool finished_ = false;
};

// "1.5 MB", "12 kB", "300 B"
std::string human_bytes(int64_t bytes);

}  // namespace husk::image
