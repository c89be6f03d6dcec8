#include "build/words.hpp"

#include <map>

#include <gtest/gtest.h>

#include "build/ignore.hpp"

namespace husk::build {
namespace {

VariableLookup vars(std::map<std::string, std::string> values) {
    return [values](std::string_view name) -> std::optional<std::string> {
        auto it = values.find(std::string(name));
        if (it == values.end()) return std::nullopt;
        return it->second;
    };
}

TEST(Words, SplitsQuotesAndExpands) {
    auto lookup = vars({{"A", "x y"}, {"E", ""}});
    auto words = split_words(R"(k="$A" 'l=$A' m=${B:-def} n=${A:+set} o=\$A p=$E)", &lookup);
    ASSERT_TRUE(words) << words.error().what();
    EXPECT_EQ(*words, (std::vector<std::string>{"k=x y", "l=$A", "m=def", "n=set", "o=$A", "p="}));
}

TEST(Words, WithoutLookupKeepsVariables) {
    auto words = split_words("a=$X \"b c\"", nullptr);
    ASSERT_TRUE(words);
    EXPECT_EQ(*words, (std::vector<std::string>{"a=$X", "b c"}));
}

TEST(Words, Errors) {
    auto lookup = vars({});
    EXPECT_EQ(split_words("\"open", &lookup).error().what(),
              "unterminated double quote in \"\"open\"");
    EXPECT_EQ(expand_text("${X:?must be set}", lookup).error().what(), "X: must be set");
    EXPECT_FALSE(expand_text("${X", lookup));
    EXPECT_EQ(*expand_text("/app/$NOPE/x", lookup), "/app//x");
}

TEST(Ignore, DockerRules) {
    auto rules =
        IgnoreRules::parse("# comment\n*.log\n!keep.log\nbuild/\n**/tmp\n/secret\ndocs/*.md\n");
    ASSERT_TRUE(rules);
    EXPECT_TRUE(rules->excluded("a.log"));
    EXPECT_FALSE(rules->excluded("keep.log"));
    EXPECT_FALSE(rules->excluded("sub/a.log"));  // `*` does not cross directories
    EXPECT_TRUE(rules->excluded("build"));
    EXPECT_TRUE(rules->excluded("build/x/y.o"));  // under an excluded directory
    EXPECT_TRUE(rules->excluded("tmp"));
    EXPECT_TRUE(rules->excluded("a/b/tmp/c"));
    EXPECT_TRUE(rules->excluded("secret"));
    EXPECT_TRUE(rules->excluded("docs/a.md"));
    EXPECT_FALSE(rules->excluded("docs/sub/a.md"));
    EXPECT_FALSE(rules->excluded("src/main.c"));
    EXPECT_TRUE(rules->has_exceptions());
}

TEST(Ignore, CleanPaths) {
    EXPECT_EQ(clean_relative_path("./a//b/../c/"), "a/c");
    EXPECT_EQ(clean_relative_path("/"), "");
    EXPECT_EQ(clean_relative_path("../../x"), "x");
}

}  // namespace
}  // namespace husk::build
