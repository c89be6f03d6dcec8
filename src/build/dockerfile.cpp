#include "build/dockerfile.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <regex>

#include <nlohmann/json.hpp>

#include "build/words.hpp"

namespace husk::build {
namespace {

struct KeywordInfo {
    std::string_view name;
    Keyword keyword;
    std::vector<std::string_view> flags;  // the --flags it accepts
    bool exec_form;                       // may be a JSON array
    bool heredocs;                        // may use <<EOF
};

const std::vector<KeywordInfo>& keywords() {
    static const std::vector<KeywordInfo> table = {
        {"FROM", Keyword::from, {"platform"}, false, false},
        {"RUN", Keyword::run, {"mount", "network", "security"}, true, true},
        {"CMD", Keyword::cmd, {}, true, false},
        {"LABEL", Keyword::label, {}, false, false},
        {"EXPOSE", Keyword::expose, {}, false, false},
        {"ENV", Keyword::env, {}, false, false},
        {"ADD",
         Keyword::add,
         {"chown", "chmod", "link", "checksum", "keep-git-dir", "exclude"},
         true,
         true},
        {"COPY",
         Keyword::copy,
         {"from", "chown", "chmod", "link", "parents", "exclude"},
         true,
         true},
        {"ENTRYPOINT", Keyword::entrypoint, {}, true, false},
        {"VOLUME", Keyword::volume, {}, true, false},
        {"USER", Keyword::user, {}, false, false},
        {"WORKDIR", Keyword::workdir, {}, false, false},
        {"ARG", Keyword::arg, {}, false, false},
        {"ONBUILD", Keyword::onbuild, {}, false, false},
        {"STOPSIGNAL", Keyword::stopsignal, {}, false, false},
        {"HEALTHCHECK",
         Keyword::healthcheck,
         {"interval", "timeout", "start-period", "start-interval", "retries"},
         false,
         false},
        {"SHELL", Keyword::shell, {}, true, false},
        {"MAINTAINER", Keyword::maintainer, {}, false, false},
    };
    return table;
}

const KeywordInfo* find_keyword(std::string_view word) {
    std::string upper(word);
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return std::toupper(c); });
    for (const auto& k : keywords())
        if (k.name == upper) return &k;
    return nullptr;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(start, end - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        lines.push_back(line);
        if (end == text.size()) break;
        start = end + 1;
    }
    return lines;
}

bool is_comment(std::string_view line) {
    std::string_view t = trim(line);
    return !t.empty() && t.front() == '#';
}

class Parser {
public:
    Parser(std::string_view text, std::string file) : lines_(split_lines(text)) {
        result_.file = std::move(file);
    }

    Result<Dockerfile> run() {
        read_directives();
        while (next_ < lines_.size()) {
            auto logical = read_logical_line();
            if (!logical) return fail(logical.error());
            if (logical->second.empty()) continue;
            auto instruction = parse_instruction(logical->second, logical->first, true);
            if (!instruction) return fail(instruction.error());
            HUSK_TRY(place(std::move(*instruction)));
        }
        if (result_.stages.empty())
            return fail_invalid("{}: no FROM instruction: a Dockerfile needs at least one stage",
                                result_.file);
        return std::move(result_);
    }

private:
    struct Location {
        int line = 0;
        int column = 1;
    };
    // Where `needle` is written, from physical line `line` on (an instruction may continue
    // over several lines); an empty or missing needle: the line's first non-blank column.
    Location locate(int line, std::string_view needle) const {
        if (line <= 0 || static_cast<size_t>(line) > lines_.size()) return {line, 1};
        if (!needle.empty())
            for (size_t i = static_cast<size_t>(line) - 1; i < lines_.size() && i < line + 50u;
                 ++i) {
                // As a word: "s" in "FROM x as s" is the name, not the s of "as".
                std::string_view l = lines_[i];
                auto boundary = [&](size_t at) {
                    return at >= l.size() || l[at] == ' ' || l[at] == '\t' || l[at] == '=';
                };
                for (size_t pos = l.find(needle); pos != std::string_view::npos;
                     pos = l.find(needle, pos + 1))
                    if ((pos == 0 || l[pos - 1] == ' ' || l[pos - 1] == '\t') &&
                        boundary(pos + needle.size()))
                        return {static_cast<int>(i) + 1, static_cast<int>(pos) + 1};
            }
        size_t first = std::string_view(lines_[line - 1]).find_first_not_of(" \t");
        return {line, first == std::string_view::npos ? 1 : static_cast<int>(first) + 1};
    }

    // file:line:column: message, the column of `needle` (or of the instruction).
    template <typename... Args>
    std::unexpected<Error> error_near(int line, std::string_view needle,
                                      fmt::format_string<Args...> format, Args&&... args) {
        Location at = locate(line, needle);
        return fail_invalid("{}:{}:{}: {}", result_.file, at.line, at.column,
                            fmt::format(format, std::forward<Args>(args)...));
    }
    template <typename... Args>
    std::unexpected<Error> error_at(int line, fmt::format_string<Args...> format, Args&&... args) {
        return error_near(line, "", format, std::forward<Args>(args)...);
    }
    // At the instruction's keyword (an ONBUILD trigger's is not the line's first word).
    template <typename... Args>
    std::unexpected<Error> error_at(const Instruction& ins, fmt::format_string<Args...> format,
                                    Args&&... args) {
        return fail_invalid("{}:{}:{}: {}", result_.file, ins.line, ins.column,
                            fmt::format(format, std::forward<Args>(args)...));
    }

    // `# escape=`` ` and `# syntax=...` lines at the very top; any other line ends them.
    void read_directives() {
        static const std::regex directive(R"(^#\s*([A-Za-z]+)\s*=\s*(.*?)\s*$)");
        while (next_ < lines_.size()) {
            std::string line(trim(lines_[next_]));
            std::smatch m;
            if (!std::regex_match(line, m, directive)) return;
            std::string key = m[1];
            std::transform(key.begin(), key.end(), key.begin(),
                           [](unsigned char c) { return std::tolower(c); });
            if (key == "escape") {
                std::string value = m[2];
                if (value == "`" || value == "\\") result_.escape = value[0];
            } else if (key != "syntax" && key != "check") {
                return;  // an ordinary comment
            }
            ++next_;
        }
    }

    // One instruction's text with continuations joined, comments dropped; with its first line.
    Result<std::pair<int, std::string>> read_logical_line() {
        std::string joined;
        int first = 0;
        while (next_ < lines_.size()) {
            std::string_view line = lines_[next_++];
            int number = static_cast<int>(next_);
            if (is_comment(line)) continue;
            if (first == 0) {
                if (trim(line).empty()) continue;
                first = number;
            } else if (trim(line).empty()) {
                continue;  // blank lines inside a continuation are skipped, as Docker does
            }
            std::string_view body = line;
            while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back())))
                body.remove_suffix(1);
            if (!body.empty() && body.back() == result_.escape) {
                body.remove_suffix(1);
                joined.append(body);
                continue;
            }
            joined.append(line);
            return std::pair{first, std::string(trim(joined))};
        }
        if (first != 0) return std::pair{first, std::string(trim(joined))};
        return std::pair{0, std::string()};
    }

    Result<Instruction> parse_instruction(std::string_view text, int line, bool top_level) {
        size_t space = text.find_first_of(" \t");
        std::string_view word = text.substr(0, space);
        std::string_view rest = space == std::string_view::npos ? "" : trim(text.substr(space));
        const KeywordInfo* info = find_keyword(word);
        if (!info) return error_near(line, word, "unknown instruction {}", word);
        Instruction ins;
        ins.keyword = info->keyword;
        ins.line = line;
        ins.column = locate(line, word).column;

        // --flags come first.
        while (rest.starts_with("--")) {
            size_t end = rest.find_first_of(" \t");
            std::string_view flag = rest.substr(2, end == std::string_view::npos ? end : end - 2);
            size_t eq = flag.find('=');
            std::string name(flag.substr(0, eq));
            std::string value =
                eq == std::string_view::npos ? "true" : std::string(flag.substr(eq + 1));
            if (std::find(info->flags.begin(), info->flags.end(), name) == info->flags.end())
                return error_near(line, "--" + name, "unknown flag --{} for {}", name, info->name);
            ins.flags.emplace_back(std::move(name), std::move(value));
            rest = end == std::string_view::npos ? "" : trim(rest.substr(end));
        }
        ins.text = std::string(rest);

        if (info->exec_form && rest.starts_with("[")) {
            auto json = nlohmann::json::parse(rest, nullptr, false);
            if (!json.is_discarded() && json.is_array() &&
                std::all_of(json.begin(), json.end(), [](auto& v) { return v.is_string(); })) {
                ins.exec_form = true;
                for (auto& v : json) ins.args.push_back(v.get<std::string>());
            }
        }
        if (info->heredocs && !ins.exec_form && top_level) HUSK_TRY(read_heredocs(ins));
        HUSK_TRY(validate(ins, *info, top_level));
        return ins;
    }

    // Finds <<EOF / <<-EOF / <<"EOF" markers and reads each body from the following lines.
    Status read_heredocs(Instruction& ins) {
        static const std::regex marker(R"(<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2)");
        std::string text = ins.text;
        for (std::sregex_iterator it(text.begin(), text.end(), marker), end; it != end; ++it) {
            Heredoc doc;
            doc.chomp_tabs = (*it)[1].length() > 0;
            doc.expand = (*it)[2].length() == 0;
            doc.delimiter = (*it)[3];
            bool closed = false;
            while (next_ < lines_.size()) {
                std::string_view body_line = lines_[next_++];
                if (doc.chomp_tabs)
                    while (!body_line.empty() && body_line.front() == '\t')
                        body_line.remove_prefix(1);
                if (body_line == doc.delimiter) {
                    closed = true;
                    break;
                }
                doc.body.append(body_line);
                doc.body += '\n';
            }
            if (!closed)
                return error_near(ins.line, "<<" + doc.delimiter,
                                  "heredoc <<{} is never closed by a line \"{}\"", doc.delimiter,
                                  doc.delimiter);
            ins.heredocs.push_back(std::move(doc));
        }
        return {};
    }

    Status validate(Instruction& ins, const KeywordInfo& info, bool top_level) {
        auto words = split_words(ins.text, nullptr, result_.escape);
        if (!words) return error_at(ins, "{}: {}", info.name, words.error().what());
        auto need_text = [&]() -> Status {
            if (ins.text.empty()) return error_at(ins, "{} requires an argument", info.name);
            return {};
        };
        switch (ins.keyword) {
            case Keyword::from:
                if (words->size() != 1 && !(words->size() == 3 && find_as((*words)[1])))
                    return error_at(ins,
                                    "FROM takes an image and an optional \"AS name\", got \"{}\"",
                                    ins.text);
                if (words->size() == 3 && !valid_stage_name((*words)[2]))
                    return error_near(ins.line, (*words)[2], "invalid stage name \"{}\"",
                                      (*words)[2]);
                break;
            case Keyword::run:
            case Keyword::label:
            case Keyword::expose:
            case Keyword::volume:
            case Keyword::maintainer:
                HUSK_TRY(need_text());
                break;
            case Keyword::cmd:
            case Keyword::entrypoint:
                break;  // an empty CMD/ENTRYPOINT clears the inherited one
            case Keyword::user:
            case Keyword::workdir:
            case Keyword::stopsignal:
                HUSK_TRY(need_text());
                if (ins.keyword != Keyword::workdir && words->size() != 1)
                    return error_at(ins, "{} takes exactly one argument, got \"{}\"", info.name,
                                    ins.text);
                break;
            case Keyword::arg:
                if (words->size() != 1)
                    return error_at(ins, "ARG takes one name[=default], got \"{}\"", ins.text);
                break;
            case Keyword::env:
                HUSK_TRY(validate_env(ins, *words));
                break;
            case Keyword::add:
            case Keyword::copy: {
                size_t count = ins.exec_form ? ins.args.size() : words->size();
                if (count < 2 && !(count == 1 && !ins.heredocs.empty()))
                    return error_at(ins, "{} requires at least a source and a destination",
                                    info.name);
                break;
            }
            case Keyword::shell:
                if (!ins.exec_form || ins.args.empty())
                    return error_at(ins, "SHELL requires a JSON array, e.g. [\"/bin/sh\", \"-c\"]");
                break;
            case Keyword::healthcheck:
                if (words->empty()) return error_at(ins, "HEALTHCHECK requires CMD or NONE");
                {
                    std::string first = (*words)[0];
                    std::transform(first.begin(), first.end(), first.begin(),
                                   [](unsigned char c) { return std::toupper(c); });
                    if (first == "NONE" && words->size() != 1)
                        return error_at(ins, "HEALTHCHECK NONE takes no arguments");
                    if (first != "NONE" && (first != "CMD" || words->size() < 2))
                        return error_at(ins,
                                        "HEALTHCHECK requires CMD <command> or NONE, got \"{}\"",
                                        ins.text);
                }
                break;
            case Keyword::onbuild: {
                if (!top_level) return error_at(ins, "ONBUILD cannot be chained");
                HUSK_TRY(need_text());
                auto trigger = parse_instruction(ins.text, ins.line, false);
                if (!trigger) return fail(trigger.error());
                if (trigger->keyword == Keyword::from || trigger->keyword == Keyword::maintainer ||
                    trigger->keyword == Keyword::onbuild)
                    return error_at(ins, "{} is not allowed as an ONBUILD trigger",
                                    keyword_name(trigger->keyword));
                ins.trigger.push_back(std::move(*trigger));
                break;
            }
        }
        return {};
    }

    Status validate_env(const Instruction& ins, const std::vector<std::string>& words) {
        if (words.empty()) return error_at(ins, "ENV requires a name and a value");
        if (words[0].find('=') == std::string::npos) {
            if (words.size() < 2)
                return error_at(ins, "ENV {} has no value (use ENV {}=value)", words[0], words[0]);
            return {};
        }
        for (auto& w : words) {
            size_t eq = w.find('=');
            if (eq == std::string::npos || eq == 0)
                return error_at(ins, "ENV: \"{}\" is not NAME=value", w);
        }
        return {};
    }

    static bool find_as(const std::string& word) {
        return word.size() == 2 && std::tolower(static_cast<unsigned char>(word[0])) == 'a' &&
               std::tolower(static_cast<unsigned char>(word[1])) == 's';
    }

    static bool valid_stage_name(const std::string& name) {
        static const std::regex re(R"(^[a-zA-Z][a-zA-Z0-9_.-]*$)");
        return std::regex_match(name, re);
    }

    Status place(Instruction ins) {
        if (ins.keyword == Keyword::from) {
            auto words = split_words(ins.text, nullptr, result_.escape);
            Stage stage;
            stage.index = static_cast<int>(result_.stages.size());
            stage.line = ins.line;
            stage.column = ins.column;
            stage.base = (*words)[0];
            if (words->size() == 3) {
                stage.name = (*words)[2];
                std::transform(stage.name.begin(), stage.name.end(), stage.name.begin(),
                               [](unsigned char c) { return std::tolower(c); });
                for (auto& earlier : result_.stages)
                    if (earlier.name == stage.name)
                        return error_near(ins.line, (*words)[2],
                                          "stage name \"{}\" is already used on line {}",
                                          stage.name, earlier.line);
            }
            stage.platform = ins.flag("platform").value_or("");
            result_.stages.push_back(std::move(stage));
            return {};
        }
        if (result_.stages.empty()) {
            if (ins.keyword != Keyword::arg)
                return error_at(ins, "{} before the first FROM (only ARG may come first)",
                                keyword_name(ins.keyword));
            result_.global_args.push_back(std::move(ins));
            return {};
        }
        result_.stages.back().instructions.push_back(std::move(ins));
        return {};
    }

    std::vector<std::string_view> lines_;
    size_t next_ = 0;
    Dockerfile result_;
};

}  // namespace

std::string_view keyword_name(Keyword keyword) {
    for (const auto& k : keywords())
        if (k.keyword == keyword) return k.name;
    return "?";
}

std::optional<std::string> Instruction::flag(std::string_view name) const {
    std::optional<std::string> value;
    for (auto& [k, v] : flags)
        if (k == name) value = v;
    return value;
}

std::vector<std::string> Instruction::flag_values(std::string_view name) const {
    std::vector<std::string> values;
    for (auto& [k, v] : flags)
        if (k == name) values.push_back(v);
    return values;
}

const Stage* Dockerfile::find_stage(std::string_view name_or_index) const {
    std::string lower(name_or_index);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    for (auto& s : stages)
        if (!s.name.empty() && s.name == lower) return &s;
    if (!lower.empty() && std::all_of(lower.begin(), lower.end(), ::isdigit)) {
        size_t index = std::stoul(lower);
        if (index < stages.size()) return &stages[index];
    }
    return nullptr;
}

Result<Dockerfile> parse_dockerfile(std::string_view text, std::string file) {
    return Parser(text, std::move(file)).run();
}

}  // namespace husk::build
