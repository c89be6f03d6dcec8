#include "build/words.hpp"

#include <cctype>

namespace husk::build {
namespace {

bool is_name_start(char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool is_name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

class Lexer {
public:
    Lexer(std::string_view text, const VariableLookup* lookup, char escape)
        : text_(text), lookup_(lookup), escape_(escape) {}

    // Reads words until the end; `split` false keeps whitespace as part of one word.
    Result<std::vector<std::string>> run(bool split) {
        std::vector<std::string> words;
        std::string word;
        bool have_word = false;
        while (pos_ < text_.size()) {
            char c = text_[pos_];
            if (split && std::isspace(static_cast<unsigned char>(c))) {
                ++pos_;
                if (have_word) words.push_back(std::move(word));
                word.clear();
                have_word = false;
                continue;
            }
            have_word = true;
            if (c == escape_) {
                ++pos_;
                if (pos_ < text_.size())
                    word += text_[pos_++];
                else
                    word += c;
            } else if (c == '\'') {
                ++pos_;
                HUSK_TRY(read_single_quoted(word));
            } else if (c == '"') {
                ++pos_;
                HUSK_TRY(read_double_quoted(word));
            } else if (c == '$' && lookup_) {
                HUSK_TRY(expand_variable(word));
            } else {
                word += c;
                ++pos_;
            }
        }
        if (have_word) words.push_back(std::move(word));
        return words;
    }

private:
    Status read_single_quoted(std::string& word) {
        size_t end = text_.find('\'', pos_);
        if (end == std::string_view::npos)
            return fail_invalid("unterminated single quote in {}", quoted_text());
        word.append(text_.substr(pos_, end - pos_));
        pos_ = end + 1;
        return {};
    }

    Status read_double_quoted(std::string& word) {
        while (pos_ < text_.size()) {
            char c = text_[pos_];
            if (c == '"') {
                ++pos_;
                return {};
            }
            if (c == escape_ && pos_ + 1 < text_.size()) {
                char next = text_[pos_ + 1];
                // Inside double quotes the escape only protects quote, escape and dollar.
                if (next == '"' || next == escape_ || next == '$') {
                    word += next;
                    pos_ += 2;
                    continue;
                }
            }
            if (c == '$' && lookup_) {
                HUSK_TRY(expand_variable(word));
                continue;
            }
            word += c;
            ++pos_;
        }
        return fail_invalid("unterminated double quote in {}", quoted_text());
    }

    // At a '$': appends the variable's value (or the '$' itself when no name follows).
    Status expand_variable(std::string& word) {
        ++pos_;
        if (pos_ < text_.size() && text_[pos_] == '{') {
            size_t close = text_.find('}', pos_);
            if (close == std::string_view::npos)
                return fail_invalid("missing '}}' in {}", quoted_text());
            std::string_view inner = text_.substr(pos_ + 1, close - pos_ - 1);
            pos_ = close + 1;
            size_t name_end = 0;
            while (name_end < inner.size() && is_name_char(inner[name_end])) ++name_end;
            std::string_view name = inner.substr(0, name_end);
            if (name.empty() || !is_name_start(name[0]))
                return fail_invalid("bad substitution ${{{}}} in {}", inner, quoted_text());
            auto value = (*lookup_)(name);
            std::string_view rest = inner.substr(name_end);
            if (rest.empty()) {
                word += value.value_or("");
                return {};
            }
            if (rest.size() < 2 || rest[0] != ':')
                return fail_invalid("bad substitution ${{{}}} in {}", inner, quoted_text());
            char op = rest[1];
            // The operand may itself hold variables: ${A:-$B}.
            auto operand = Lexer(rest.substr(2), lookup_, escape_).run(false);
            if (!operand) return fail(operand.error());
            std::string operand_text = operand->empty() ? "" : (*operand)[0];
            bool set = value && !value->empty();
            switch (op) {
                case '-':
                    word += set ? *value : operand_text;
                    return {};
                case '+':
                    word += set ? operand_text : "";
                    return {};
                case '?':
                    if (!set)
                        return fail_invalid("{}: {}", name,
                                            operand_text.empty() ? "is not set" : operand_text);
                    word += *value;
                    return {};
                default:
                    return fail_invalid("bad substitution ${{{}}} in {}", inner, quoted_text());
            }
        }
        size_t start = pos_;
        if (pos_ < text_.size() && is_name_start(text_[pos_])) {
            while (pos_ < text_.size() && is_name_char(text_[pos_])) ++pos_;
            word += (*lookup_)(text_.substr(start, pos_ - start)).value_or("");
        } else {
            word += '$';
        }
        return {};
    }

    std::string quoted_text() const { return "\"" + std::string(text_) + "\""; }

    std::string_view text_;
    const VariableLookup* lookup_;
    char escape_;
    size_t pos_ = 0;
};

}  // namespace

Result<std::vector<std::string>> split_words(std::string_view text, const VariableLookup* lookup,
                                             char escape) {
    return Lexer(text, lookup, escape).run(true);
}

Result<std::string> expand_text(std::string_view text, const VariableLookup& lookup, char escape) {
    auto words = Lexer(text, &lookup, escape).run(false);
    if (!words) return fail(words.error());
    return words->empty() ? std::string() : std::move((*words)[0]);
}

}  // namespace husk::build
