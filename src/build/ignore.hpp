#pragma once
// .dockerignore: which paths of the build context are left out. Docker's rules: one pattern a
// line, `#` comments, `!` re-includes, the last matching pattern wins, a pattern that matches
// a directory matches everything under it, `**` spans any number of directories.
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace husk::build {

class IgnoreRules {
public:
    [[nodiscard]] static Result<IgnoreRules> parse(std::string_view text);

    // `path` is relative to the context root, '/'-separated ("src/main.c").
    bool excluded(std::string_view path) const;
    // With a `!` rule a walker must look inside excluded directories too.
    bool has_exceptions() const { return has_exceptions_; }
    bool empty() const { return rules_.empty(); }

private:
    struct Rule {
        std::string pattern;
        bool exception = false;
        std::regex regex;
    };
    std::vector<Rule> rules_;
    bool has_exceptions_ = false;
};

// "./a//b/../c/" -> "a/c"; "/" and "." -> "".
std::string clean_relative_path(std::string_view path);

}  // namespace husk::build
