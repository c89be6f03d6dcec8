#include "build/ignore.hpp"

namespace husk::build {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

// A glob to an ECMAScript regex matching whole paths: `*` and `?` stop at '/', `**` does not.
Result<std::string> glob_to_regex(const std::string& glob) {
    std::string re = "^";
    for (size_t i = 0; i < glob.size(); ++i) {
        char c = glob[i];
        switch (c) {
            case '*':
                if (i + 1 < glob.size() && glob[i + 1] == '*') {
                    ++i;
                    if (i + 1 < glob.size() && glob[i + 1] == '/') {
                        ++i;
                        re += "(.*/)?";  // "**/" also matches no directory at all
                    } else {
                        re += ".*";
                    }
                } else {
                    re += "[^/]*";
                }
                break;
            case '?':
                re += "[^/]";
                break;
            case '[': {
                size_t close = glob.find(']', i + 1);
                if (close == std::string::npos)
                    return fail_invalid("unterminated character class in \"{}\"", glob);
                std::string cls = glob.substr(i + 1, close - i - 1);
                if (!cls.empty() && cls[0] == '^') cls[0] = '^';
                if (!cls.empty() && cls[0] == '!') cls[0] = '^';
                re += "[" + cls + "]";
                i = close;
                break;
            }
            case '\\':
                if (i + 1 < glob.size()) {
                    ++i;
                    if (std::string_view(".^$|()[]{}*+?\\/").find(glob[i]) !=
                        std::string_view::npos)
                        re += '\\';
                    re += glob[i];
                }
                break;
            default:
                if (std::string_view(".^$|()[]{}+").find(c) != std::string_view::npos) re += '\\';
                re += c;
        }
    }
    re += "$";
    return re;
}

}  // namespace

std::string clean_relative_path(std::string_view path) {
    std::vector<std::string_view> parts;
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        std::string_view part = path.substr(start, end - start);
        if (part == "..") {
            if (!parts.empty()) parts.pop_back();
        } else if (!part.empty() && part != ".") {
            parts.push_back(part);
        }
        start = end + 1;
    }
    std::string out;
    for (auto& p : parts) {
        if (!out.empty()) out += '/';
        out += p;
    }
    return out;
}

Result<IgnoreRules> IgnoreRules::parse(std::string_view text) {
    IgnoreRules rules;
    size_t start = 0;
    int number = 0;
    while (start <= text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = trim(text.substr(start, end - start));
        start = end + 1;
        ++number;
        if (line.empty() || line.front() == '#') continue;
        Rule rule;
        if (line.front() == '!') {
            rule.exception = true;
            line = trim(line.substr(1));
            rules.has_exceptions_ = true;
        }
        rule.pattern = clean_relative_path(line);
        if (rule.pattern.empty()) continue;
        auto re = glob_to_regex(rule.pattern);
        if (!re) return fail(re.error().wrap(".dockerignore line {}", number));
        try {
            rule.regex = std::regex(*re, std::regex::ECMAScript | std::regex::optimize);
        } catch (const std::regex_error&) {
            return fail_invalid(".dockerignore line {}: bad pattern \"{}\"", number, rule.pattern);
        }
        rules.rules_.push_back(std::move(rule));
        if (end == text.size()) break;
    }
    return rules;
}

bool IgnoreRules::excluded(std::string_view raw_path) const {
    std::string path = clean_relative_path(raw_path);
    bool excluded = false;
    for (const auto& rule : rules_) {
        // A rule matches the path itself or any directory above it.
        bool matched = std::regex_match(path, rule.regex);
        for (size_t slash = path.find('/'); !matched && slash != std::string::npos;
             slash = path.find('/', slash + 1))
            matched = std::regex_match(path.substr(0, slash), rule.regex);
        if (matched) excluded = !rule.exception;
    }
    return excluded;
}

}  // namespace husk::build
