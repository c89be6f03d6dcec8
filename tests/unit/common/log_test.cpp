// The log sink: JSON lines for engines, text lines otherwise, debug only when enabled.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "test_dir.hpp"

namespace husk {
namespace {

using testing::slurp;
using testing::TempDir;

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// One test: the sink is process-wide state.
TEST(Log, JsonThenTextToFiles) {
    TempDir tmp;
    log::configure(tmp / "json.log", log::Format::json, false);
    EXPECT_FALSE(log::debug_enabled());
    log::debug("hidden {}", 1);
    log::warn("careful {}", "here");
    log::error("broke: {}", "\"quoted\"\n");

    auto lines = lines_of(slurp(tmp / "json.log"));
    ASSERT_EQ(lines.size(), 2u) << slurp(tmp / "json.log");
    auto w = nlohmann::json::parse(lines[0]);
    EXPECT_EQ(w.at("level"), "warning");
    EXPECT_EQ(w.at("msg"), "careful here");
    std::string time = w.at("time");
    EXPECT_EQ(time.size(), std::string("2024-01-02T03:04:05.123456789Z").size()) << time;
    EXPECT_EQ(time.back(), 'Z');
    auto e = nlohmann::json::parse(lines[1]);
    EXPECT_EQ(e.at("level"), "error");
    EXPECT_EQ(e.at("msg"), "broke: \"quoted\"\n");

    log::configure(tmp / "text.log", log::Format::text, true);
    EXPECT_TRUE(log::debug_enabled());
    log::debug("shown {}", 2);
    log::error("bad");
    auto text = lines_of(slurp(tmp / "text.log"));
    ASSERT_EQ(text.size(), 2u);
    EXPECT_TRUE(text[0].ends_with(" debug shown 2")) << text[0];
    EXPECT_TRUE(text[1].ends_with(" error bad")) << text[1];
    // Appends, never truncates.
    log::configure(tmp / "text.log", log::Format::text, false);
    log::warn("third");
    EXPECT_EQ(lines_of(slurp(tmp / "text.log")).size(), 3u);

    log::configure("/dev/null", log::Format::text, false);
}

}  // namespace
}  // namespace husk
