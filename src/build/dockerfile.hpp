#pragma once
// A Dockerfile, parsed into stages and instructions with the line each came from. Parsing is
// purely syntactic: variables ($VAR, ${VAR:-x}) are left in place and expanded by the builder
// with the ARG/ENV values in scope at each step (words.hpp), as Docker does.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace husk::build {

enum class Keyword {
    from,
    run,
    cmd,
    label,
    expose,
    env,
    add,
    copy,
    entrypoint,
    volume,
    user,
    workdir,
    arg,
    onbuild,
    stopsignal,
    healthcheck,
    shell,
    maintainer
};

std::string_view keyword_name(Keyword keyword);

// `RUN <<EOF ... EOF`: the body and how to treat it.
struct Heredoc {
    std::string delimiter;
    std::string body;    // with the final newline; leading tabs stripped for <<-
    bool expand = true;  // false when the delimiter was quoted (<<"EOF", <<'EOF')
    bool chomp_tabs = false;
};

struct Instruction {
    Keyword keyword;
    int line = 0;                                            // where the instruction starts
    int column = 1;                                          // of its keyword
    std::vector<std::pair<std::string, std::string>> flags;  // --from=x, in order (repeatable)
    bool exec_form = false;                                  // a JSON array was given
    std::vector<std::string> args;                           // exec form: the array; else see text
    std::string text;  // everything after the flags, as written
    std::vector<Heredoc> heredocs;
    // ONBUILD's trigger, parsed like any instruction.
    std::vector<Instruction> trigger;

    // The value of the last --name flag, if any.
    std::optional<std::string> flag(std::string_view name) const;
    std::vector<std::string> flag_values(std::string_view name) const;
};

struct Stage {
    int index = 0;
    int line = 0;
    int column = 1;        // of its FROM
    std::string base;      // FROM's image (may contain variables) or an earlier stage name
    std::string name;      // AS name, lower-cased; empty when unnamed
    std::string platform;  // --platform
    std::vector<Instruction> instructions;
};

struct Dockerfile {
    std::string file;  // for error messages
    char escape = '\\';
    std::vector<Instruction> global_args;  // ARGs before the first FROM
    std::vector<Stage> stages;

    // Stage by name or by index ("0", "1"); nullptr when there is none.
    const Stage* find_stage(std::string_view name_or_index) const;
};

// Errors name the file and line: "Dockerfile:7: unknown instruction FORM".
[[nodiscard]] Result<Dockerfile> parse_dockerfile(std::string_view text, std::string file);

}  // namespace husk::build
