#include <gtest/gtest.h>

#include "build/steps.hpp"

namespace husk::build::detail {
namespace {

oci::ContainerDefaults apply_all(const std::string& dockerfile,
                                 oci::ContainerDefaults config = {}) {
    auto df = parse_dockerfile("FROM x\n" + dockerfile, "Dockerfile");
    EXPECT_TRUE(df) << df.error().what();
    std::string author;
    bool cmd_set = false;
    VariableLookup lookup = [&config](std::string_view name) -> std::optional<std::string> {
        for (auto& e : config.env)
            if (e.starts_with(std::string(name) + "=")) return e.substr(name.size() + 1);
        return std::nullopt;
    };
    for (auto& ins : df->stages[0].instructions) {
        auto s = apply_metadata(config, author, ins, lookup, '\\', cmd_set);
        EXPECT_TRUE(s) << s.error().what();
    }
    return config;
}

TEST(Metadata, EnvFormsAndExpansionUseThePreviousValues) {
    auto c = apply_all("ENV A=1 B=\"two words\"\nENV A=x C=$A\nENV LEGACY value with spaces\n");
    EXPECT_EQ(c.env,
              (std::vector<std::string>{"A=x", "B=two words", "C=1", "LEGACY=value with spaces"}));
}

TEST(Metadata, EntrypointClearsAnInheritedCmdButNotItsOwn) {
    oci::ContainerDefaults base;
    base.cmd = std::vector<std::string>{"sh"};
    auto c = apply_all("ENTRYPOINT [\"/bin/app\"]\n", base);
    EXPECT_FALSE(c.cmd.has_value());
    c = apply_all("CMD [\"x\"]\nENTRYPOINT echo hi\n", base);
    EXPECT_EQ(*c.cmd, (std::vector<std::string>{"x"}));
    EXPECT_EQ(*c.entrypoint, (std::vector<std::string>{"/bin/sh", "-c", "echo hi"}));
}

TEST(Metadata, ShellAppliesToLaterShellForms) {
    auto c = apply_all("SHELL [\"/bin/bash\", \"-ec\"]\nCMD run it\n");
    EXPECT_EQ(*c.cmd, (std::vector<std::string>{"/bin/bash", "-ec", "run it"}));
}

TEST(Metadata, ExposeVolumeLabel) {
    auto c = apply_all(
        "EXPOSE 80 53/udp 80/tcp\nVOLUME [\"/b\", \"/a\"]\nVOLUME /a\nLABEL a=1 \"b c\"=d\n");
    EXPECT_EQ(c.exposed_ports, (std::vector<std::string>{"53/udp", "80/tcp"}));
    EXPECT_EQ(c.volumes, (std::vector<std::string>{"/a", "/b"}));
    EXPECT_EQ(c.labels.at("a"), "1");
    EXPECT_EQ(c.labels.at("b c"), "d");
}

TEST(Metadata, Healthcheck) {
    auto c = apply_all("HEALTHCHECK --interval=1m30s --timeout=500ms --retries=3 CMD curl -f x\n");
    ASSERT_TRUE(c.healthcheck);
    EXPECT_EQ(c.healthcheck->test, (std::vector<std::string>{"CMD-SHELL", "curl -f x"}));
    EXPECT_EQ(c.healthcheck->interval, 90'000'000'000);
    EXPECT_EQ(c.healthcheck->timeout, 500'000'000);
    EXPECT_EQ(c.healthcheck->retries, 3);
    c = apply_all("HEALTHCHECK CMD [\"/bin/check\", \"-q\"]\n");
    EXPECT_EQ(c.healthcheck->test, (std::vector<std::string>{"CMD", "/bin/check", "-q"}));
    c = apply_all("HEALTHCHECK NONE\n");
    EXPECT_EQ(c.healthcheck->test, (std::vector<std::string>{"NONE"}));
}

TEST(Metadata, BadInputIsAnError) {
    auto df = parse_dockerfile("FROM x\nEXPOSE 80/xyz\n", "Dockerfile");
    ASSERT_TRUE(df);
    oci::ContainerDefaults c;
    std::string author;
    bool cmd_set = false;
    VariableLookup none = [](std::string_view) { return std::optional<std::string>(); };
    auto s = apply_metadata(c, author, df->stages[0].instructions[0], none, '\\', cmd_set);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().what(), "EXPOSE: invalid port \"80/xyz\"");
}

TEST(Cache, KeysChainAndDiffer) {
    EXPECT_EQ(cache_key("a", "b"), cache_key("a", "b"));
    EXPECT_NE(cache_key("a", "b"), cache_key("ab", ""));
    EXPECT_EQ(cache_key("a", "b").size(), 64u);
}

}  // namespace
}  // namespace husk::build::detail
