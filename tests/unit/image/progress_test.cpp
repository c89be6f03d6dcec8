// Progress bars: frames redraw in place, rows fit the terminal, the last frame shows every
// blob's final state.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "image/progress.hpp"

namespace husk::image {
namespace {

std::string drain(int fd) {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
}

TEST(Progress, HumanBytes) {
    EXPECT_EQ(human_bytes(999), "999 B");
    EXPECT_EQ(human_bytes(1500), "1.5 kB");
    EXPECT_EQ(human_bytes(3'000'000), "3.0 MB");
    EXPECT_EQ(human_bytes(2'500'000'000), "2.50 GB");
}

TEST(Progress, FramesRedrawInPlaceAndFitTheWidth) {
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    std::string a = "sha256:" + std::string(64, 'a');
    std::string b = "sha256:" + std::string(64, 'b');
    {
        ProgressBars bars(p[1], 60);
        bars.line("Trying to pull x");
        bars.blob({a, 0, 1'000'000, BlobProgress::State::active});
        bars.blob({b, 0, 0, BlobProgress::State::skipped});
        bars.blob({a, 500'000, 1'000'000, BlobProgress::State::active});
        bars.blob({a, 1'000'000, 1'000'000, BlobProgress::State::done});
        bars.line("Writing manifest");
    }  // the destructor draws the final frame
    ::close(p[1]);
    std::string out = drain(p[0]);
    ::close(p[0]);
    // Back up over the two rows before each later frame.
    EXPECT_NE(out.find("\r\x1b[2A"), std::string::npos) << out;
    // No visible line wider than the terminal (wrapping would break the cursor arithmetic).
    std::string plain = std::regex_replace(out, std::regex("\x1b\\[[0-9]*[A-Za-z]|\r"), "\n");
    std::istringstream lines(plain);
    for (std::string l; std::getline(lines, l);) EXPECT_LT(l.size(), 60u) << l;
    // The last frame: both rows in their final state.
    auto last = out.rfind("\x1b[2A");
    ASSERT_NE(last, std::string::npos);
    std::string frame = out.substr(last);
    EXPECT_NE(frame.find("Copying blob aaaaaaaaaaaa done  1.0 MB"), std::string::npos) << frame;
    EXPECT_NE(frame.find("Copying blob bbbbbbbbbbbb skipped: already exists"), std::string::npos)
        << frame;
    // A bar was drawn while a was under way.
    EXPECT_NE(out.find("Copying blob aaaaaaaaaaaa ["), std::string::npos) << out;
}

}  // namespace
}  // namespace husk::image
