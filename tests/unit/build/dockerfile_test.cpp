#include "build/dockerfile.hpp"

#include <gtest/gtest.h>

namespace husk::build {
namespace {

Dockerfile parse_ok(std::string_view text) {
    auto parsed = parse_dockerfile(text, "Dockerfile");
    EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().what());
    return parsed ? std::move(*parsed) : Dockerfile{};
}

std::string parse_error(std::string_view text) {
    auto parsed = parse_dockerfile(text, "Dockerfile");
    EXPECT_FALSE(parsed);
    return parsed ? "" : parsed.error().what();
}

TEST(Dockerfile, StagesArgsAndInstructions) {
    auto df = parse_ok(R"(# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM --platform=linux/amd64 ${BASE} AS Builder
# a comment
RUN echo one \
    two
COPY --from=builder --chown=1:1 a b /dst/
FROM scratch
CMD ["/bin/app", "x"]
)");
    ASSERT_EQ(df.global_args.size(), 1u);
    ASSERT_EQ(df.stages.size(), 2u);
    EXPECT_EQ(df.stages[0].base, "${BASE}");
    EXPECT_EQ(df.stages[0].name, "builder");
    EXPECT_EQ(df.stages[0].platform, "linux/amd64");
    ASSERT_EQ(df.stages[0].instructions.size(), 2u);
    const auto& run = df.stages[0].instructions[0];
    EXPECT_EQ(run.keyword, Keyword::run);
    EXPECT_EQ(run.line, 5);
    EXPECT_EQ(run.text, "echo one     two");
    const auto& copy = df.stages[0].instructions[1];
    EXPECT_EQ(copy.flag("from"), "builder");
    EXPECT_EQ(copy.flag("chown"), "1:1");
    EXPECT_EQ(copy.line, 7);
    const auto& cmd = df.stages[1].instructions[0];
    EXPECT_TRUE(cmd.exec_form);
    EXPECT_EQ(cmd.args, (std::vector<std::string>{"/bin/app", "x"}));
    EXPECT_EQ(df.find_stage("BUILDER"), &df.stages[0]);
    EXPECT_EQ(df.find_stage("1"), &df.stages[1]);
    EXPECT_EQ(df.find_stage("nope"), nullptr);
}

TEST(Dockerfile, EscapeDirective) {
    auto df = parse_ok("# escape=`\nFROM x\nRUN dir c:\\ `\n  /b\n");
    EXPECT_EQ(df.escape, '`');
    EXPECT_EQ(df.stages[0].instructions[0].text, "dir c:\\   /b");
}

TEST(Dockerfile, Heredocs) {
    auto df = parse_ok(
        "FROM x\nRUN <<EOF\necho $HOME\nexit 0\nEOF\nCOPY <<-'END' /etc/motd\n\thello\n\tEND\nUSER "
        "1\n");
    auto& ins = df.stages[0].instructions;
    ASSERT_EQ(ins.size(), 3u);
    ASSERT_EQ(ins[0].heredocs.size(), 1u);
    EXPECT_EQ(ins[0].heredocs[0].body, "echo $HOME\nexit 0\n");
    EXPECT_TRUE(ins[0].heredocs[0].expand);
    ASSERT_EQ(ins[1].heredocs.size(), 1u);
    EXPECT_EQ(ins[1].heredocs[0].body, "hello\n");
    EXPECT_FALSE(ins[1].heredocs[0].expand);
    EXPECT_EQ(ins[2].keyword, Keyword::user);
}

TEST(Dockerfile, OnbuildAndHealthcheck) {
    auto df = parse_ok(
        "FROM x\nONBUILD RUN make\nHEALTHCHECK --interval=5s --retries=2 CMD true\nHEALTHCHECK "
        "NONE\n");
    auto& ins = df.stages[0].instructions;
    ASSERT_EQ(ins[0].trigger.size(), 1u);
    EXPECT_EQ(ins[0].trigger[0].keyword, Keyword::run);
    EXPECT_EQ(ins[1].flag("interval"), "5s");
    EXPECT_EQ(ins[1].text, "CMD true");
}

TEST(Dockerfile, ErrorsNameTheLine) {
    EXPECT_EQ(parse_error("FROM x\nFORM y\n"), "Dockerfile:2:1: unknown instruction FORM");
    EXPECT_EQ(parse_error("RUN true\n"),
              "Dockerfile:1:1: RUN before the first FROM (only ARG may come first)");
    EXPECT_EQ(parse_error("# only a comment\n"),
              "Dockerfile: no FROM instruction: a Dockerfile needs at least one stage");
    EXPECT_EQ(parse_error("FROM x\nCOPY --form=a b c\n"),
              "Dockerfile:2:6: unknown flag --form for COPY");
    EXPECT_EQ(parse_error("FROM x\nCOPY onlyone\n"),
              "Dockerfile:2:1: COPY requires at least a source and a destination");
    EXPECT_EQ(parse_error("FROM x\nRUN <<EOF\necho\n"),
              "Dockerfile:2:5: heredoc <<EOF is never closed by a line \"EOF\"");
    EXPECT_EQ(parse_error("FROM a AS s\nFROM b AS S\n"),
              "Dockerfile:2:11: stage name \"s\" is already used on line 1");
    EXPECT_EQ(parse_error("FROM a b\n"),
              "Dockerfile:1:1: FROM takes an image and an optional \"AS name\", got \"a b\"");
    EXPECT_EQ(parse_error("FROM a\nENV K\n"),
              "Dockerfile:2:1: ENV K has no value (use ENV K=value)");
    EXPECT_EQ(parse_error("FROM a\nSHELL /bin/sh\n"),
              "Dockerfile:2:1: SHELL requires a JSON array, e.g. [\"/bin/sh\", \"-c\"]");
    EXPECT_EQ(parse_error("FROM a\nONBUILD FROM b\n"),
              "Dockerfile:2:1: FROM is not allowed as an ONBUILD trigger");
    EXPECT_EQ(parse_error("FROM a\nUSER\n"), "Dockerfile:2:1: USER requires an argument");
}

}  // namespace
}  // namespace husk::build
