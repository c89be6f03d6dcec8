#include "engine/monitor_handoff.hpp"

#include <charconv>
#include <vector>

#include <fmt/format.h>

namespace husk::engine {
namespace {

template <class Int>
bool parse_int(std::string_view s, Int& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

// Five lines (pid, helper pid, helper driver, helper's netns file, errno), then the error
// message, which may itself hold newlines.
std::string encode_create_report(const CreateReport& r) {
    return fmt::format("{}\n{}\n{}\n{}\n{}\n{}", r.pid, r.rootless_net.pid,
                       static_cast<int>(r.rootless_net.driver), r.rootless_net.netns_file,
                       r.error.errnum(), r.error.message());
}

CreateReport decode_create_report(std::string_view text) {
    CreateReport r;
    std::vector<std::string_view> fields;
    size_t start = 0;
    while (fields.size() < 5) {
        size_t nl = text.find('\n', start);
        if (nl == std::string_view::npos) break;
        fields.push_back(text.substr(start, nl - start));
        start = nl + 1;
    }
    int driver = 0, errnum = 0;
    if (fields.size() < 5 || !parse_int(fields[0], r.pid) ||
        !parse_int(fields[1], r.rootless_net.pid) || !parse_int(fields[2], driver) ||
        !parse_int(fields[4], errnum)) {
        r.pid = 0;
        r.rootless_net = {};
        r.error = Error(0, "the process creating the container ended without saying how it went");
        return r;
    }
    r.rootless_net.driver = static_cast<RootlessNetDriver>(driver);
    r.rootless_net.netns_file = std::string(fields[3]);
    r.error = Error(errnum, std::string(text.substr(start)));
    return r;
}

}  // namespace husk::engine
