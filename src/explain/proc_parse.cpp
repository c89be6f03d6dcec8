#include "explain/proc_parse.hpp"

#include <sys/capability.h>

#include <charconv>

#include <fmt/core.h>

namespace husk::explain {

std::string trim(std::string_view s) {
    size_t b = s.find_first_not_of(" \t\n");
    if (b == std::string_view::npos) return {};
    size_t e = s.find_last_not_of(" \t\n");
    return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> split_lines(std::string_view text) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        if (end > pos) out.emplace_back(text.substr(pos, end - pos));
        pos = end + 1;
    }
    return out;
}

std::vector<std::string> split_words(std::string_view text) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t b = text.find_first_not_of(" \t\n", pos);
        if (b == std::string_view::npos) break;
        size_t e = text.find_first_of(" \t\n", b);
        if (e == std::string_view::npos) e = text.size();
        out.emplace_back(text.substr(b, e - b));
        pos = e;
    }
    return out;
}

std::map<std::string, std::string> parse_status(std::string_view text) {
    std::map<std::string, std::string> out;
    for (auto& line : split_lines(text)) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        out[line.substr(0, colon)] = trim(std::string_view(line).substr(colon + 1));
    }
    return out;
}

std::vector<LimitRow> parse_limits(std::string_view text) {
    // Fixed columns; their starts are where the header's titles are.
    std::vector<LimitRow> out;
    auto lines = split_lines(text);
    if (lines.empty()) return out;
    const std::string& header = lines[0];
    size_t soft = header.find("Soft Limit"), hard = header.find("Hard Limit"),
           units = header.find("Units");
    if (soft == std::string::npos || hard == std::string::npos) return out;
    auto column = [](const std::string& line, size_t from, size_t to) {
        if (from >= line.size()) return std::string();
        return trim(std::string_view(line).substr(from, to == std::string::npos ? to : to - from));
    };
    for (size_t i = 1; i < lines.size(); ++i) {
        const std::string& line = lines[i];
        LimitRow row;
        row.name = column(line, 0, soft);
        row.soft = column(line, soft, hard);
        row.hard = column(line, hard, units);
        row.units = units == std::string::npos ? "" : column(line, units, std::string::npos);
        if (!row.name.empty()) out.push_back(std::move(row));
    }
    return out;
}

namespace {
template <typename T>
bool to_number(std::string_view s, T& out, int base = 10) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
    return ec == std::errc() && p == s.data() + s.size();
}
}  // namespace

std::vector<IdMapRow> parse_id_map(std::string_view text) {
    std::vector<IdMapRow> out;
    for (auto& line : split_lines(text)) {
        auto w = split_words(line);
        IdMapRow row;
        if (w.size() == 3 && to_number(w[0], row.inside) && to_number(w[1], row.outside) &&
            to_number(w[2], row.count))
            out.push_back(row);
    }
    return out;
}

std::vector<ProcCgroup> parse_proc_cgroup(std::string_view text) {
    std::vector<ProcCgroup> out;
    for (auto& line : split_lines(text)) {
        auto first = line.find(':');
        auto second = first == std::string::npos ? first : line.find(':', first + 1);
        if (second == std::string::npos) continue;
        out.push_back({line.substr(0, first), line.substr(first + 1, second - first - 1),
                       line.substr(second + 1)});
    }
    return out;
}

std::map<std::string, std::string> parse_flat_keyed(std::string_view text) {
    std::map<std::string, std::string> out;
    for (auto& line : split_lines(text)) {
        auto w = split_words(line);
        if (w.size() >= 2) out[w[0]] = w[1];
    }
    return out;
}

std::optional<uint64_t> parse_cap_mask(std::string_view hex) {
    uint64_t v = 0;
    std::string t = trim(hex);
    if (t.empty() || !to_number(std::string_view(t), v, 16)) return std::nullopt;
    return v;
}

std::vector<std::string> cap_names(uint64_t mask) {
    std::vector<std::string> out;
    for (int bit = 0; bit < 64; ++bit) {
        if (!(mask & (uint64_t{1} << bit))) continue;
        // libcap knows the names of the capabilities it was built with; newer bits get its
        // numeric form.
        char* name = ::cap_to_name(static_cast<cap_value_t>(bit));
        std::string s = name != nullptr ? name : fmt::format("cap_{}", bit);
        if (name != nullptr) ::cap_free(name);
        // libcap prints bits it has no name for as the bare number.
        if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0])))
            s = fmt::format("cap_{}", bit);
        else
            for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        out.push_back(std::move(s));
    }
    return out;
}

int cap_from_name(const std::string& name) {
    cap_value_t v;
    std::string lower;
    for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (::cap_from_name(lower.c_str(), &v) != 0) return -1;
    return static_cast<int>(v);
}

std::vector<long> parse_id_list(std::string_view text) {
    std::vector<long> out;
    for (auto& w : split_words(text)) {
        long v = 0;
        if (to_number(std::string_view(w), v)) out.push_back(v);
    }
    return out;
}

std::optional<int64_t> parse_cgroup_limit(std::string_view text) {
    std::string t = trim(text);
    if (t == "max" || t == "-1") return std::nullopt;
    int64_t v = 0;
    if (!to_number(std::string_view(t), v)) return std::nullopt;
    // v1 reports "no limit" as the page counter's maximum (PAGE_COUNTER_MAX pages).
    if (v >= (int64_t{1} << 62)) return std::nullopt;
    return v;
}

}  // namespace husk::explain
