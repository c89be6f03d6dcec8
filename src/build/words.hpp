#pragma once
// Docker's word rules for instruction arguments: quotes, the escape character and variable
// expansion ($VAR, ${VAR}, ${VAR:-default}, ${VAR:+alternate}, ${VAR:?message}).
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace husk::build {

// Value of a build variable (ARG or ENV in scope), or nullopt when unset.
using VariableLookup = std::function<std::optional<std::string>(std::string_view)>;

// Splits on unquoted whitespace and removes quotes; expands variables when `lookup` is given
// (not inside single quotes). `ENV a="b c" d=e` -> [a=b c, d=e].
[[nodiscard]] Result<std::vector<std::string>> split_words(std::string_view text,
                                                           const VariableLookup* lookup,
                                                           char escape = '\\');

// The whole text as one word: quotes removed and variables expanded, whitespace kept.
[[nodiscard]] Result<std::string> expand_text(std::string_view text, const VariableLookup& lookup,
                                              char escape = '\\');

}  // namespace husk::build
