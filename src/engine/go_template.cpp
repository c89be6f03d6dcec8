#include "engine/go_template.hpp"

#include <cctype>
#include <vector>

namespace husk::engine {
namespace {

using Json = nlohmann::ordered_json;

std::vector<std::string> tokenize(const std::string& action) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < action.size()) {
        if (std::isspace(static_cast<unsigned char>(action[i]))) {
            ++i;
            continue;
        }
        if (action[i] == '"') {
            std::string s;
            for (++i; i < action.size() && action[i] != '"'; ++i) {
                if (action[i] == '\\' && i + 1 < action.size()) ++i;
                s.push_back(action[i]);
            }
            ++i;
            out.push_back("\"" + s);
            continue;
        }
        size_t j = i;
        while (j < action.size() && !std::isspace(static_cast<unsigned char>(action[j]))) ++j;
        out.push_back(action.substr(i, j - i));
        i = j;
    }
    return out;
}

std::string as_text(const Json& v) {
    if (v.is_null()) return "<no value>";
    if (v.is_string()) return v.get<std::string>();
    if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
    if (v.is_number()) return v.dump();
    if (v.is_object()) {
        // Go prints a map as map[k:v k2:v2].
        std::string s = "map[";
        bool first = true;
        for (auto it = v.begin(); it != v.end(); ++it) {
            if (!first) s += " ";
            first = false;
            s += it.key() + ":" + as_text(it.value());
        }
        return s + "]";
    }
    std::string s = "[";
    bool first = true;
    for (const auto& e : v) {
        if (!first) s += " ";
        first = false;
        s += as_text(e);
    }
    return s + "]";
}

Result<Json> lookup(const std::string& path, const Json& data) {
    if (path == ".") return data;
    if (!path.starts_with(".")) {
        if (path.starts_with("\"")) return Json(path.substr(1));
        return fail_invalid("template: unexpected {:?}", path);
    }
    const Json* cur = &data;
    size_t i = 1;
    while (i <= path.size()) {
        size_t j = path.find('.', i);
        if (j == std::string::npos) j = path.size();
        std::string key = path.substr(i, j - i);
        if (key.empty()) break;
        if (!cur->is_object()) return Json();
        auto it = cur->find(key);
        if (it == cur->end()) return fail_invalid("template: can't evaluate field {}", key);
        cur = &*it;
        i = j + 1;
    }
    return *cur;
}

Result<std::string> eval(const std::string& action, const Json& data) {
    auto tokens = tokenize(action);
    if (tokens.empty()) return std::string();
    const std::string& fn = tokens[0];
    auto arg = [&](size_t i) -> Result<Json> {
        if (i >= tokens.size()) return fail_invalid("template: {} needs an argument", fn);
        return lookup(tokens[i], data);
    };
    if (fn == "json") {
        auto v = arg(1);
        if (!v) return fail(v.error());
        return v->dump();
    }
    if (fn == "upper" || fn == "lower") {
        auto v = arg(1);
        if (!v) return fail(v.error());
        std::string s = as_text(*v);
        for (auto& c : s)
            c = static_cast<char>(fn == "upper" ? std::toupper(static_cast<unsigned char>(c))
                                                : std::tolower(static_cast<unsigned char>(c)));
        return s;
    }
    if (fn == "index") {
        auto v = arg(1);
        if (!v) return fail(v.error());
        auto k = arg(2);
        if (!k) return fail(k.error());
        if (v->is_object() && k->is_string()) {
            auto it = v->find(k->get<std::string>());
            return it == v->end() ? std::string("<no value>") : as_text(*it);
        }
        if (v->is_array() && tokens[2].size() > 0 &&
            std::isdigit(static_cast<unsigned char>(tokens[2][0]))) {
            size_t idx = std::stoul(tokens[2]);
            return idx < v->size() ? as_text((*v)[idx]) : std::string("<no value>");
        }
        return std::string("<no value>");
    }
    if (fn == "join") {
        auto v = arg(1);
        if (!v) return fail(v.error());
        auto sep = arg(2);
        if (!sep) return fail(sep.error());
        std::string s;
        if (v->is_array())
            for (size_t i = 0; i < v->size(); ++i) {
                if (i) s += sep->get<std::string>();
                s += as_text((*v)[i]);
            }
        return s;
    }
    if (fn == ".Label" && tokens.size() > 1) {
        // ps's {{.Label "key"}}
        auto labels = data.find("LabelMap");
        std::string key = tokens[1].starts_with("\"") ? tokens[1].substr(1) : tokens[1];
        if (labels == data.end() || !labels->contains(key)) return std::string();
        return as_text(labels->at(key));
    }
    if (tokens.size() > 1) return fail_invalid("template: unsupported action {:?}", action);
    auto v = lookup(fn, data);
    if (!v) return fail(v.error());
    return as_text(*v);
}

}  // namespace

Result<std::string> render_template(const std::string& format, const Json& data) {
    std::string out;
    size_t i = 0;
    while (i < format.size()) {
        size_t open = format.find("{{", i);
        std::string text =
            format.substr(i, open == std::string::npos ? std::string::npos : open - i);
        for (size_t k = 0; k < text.size(); ++k) {
            if (text[k] == '\\' && k + 1 < text.size() &&
                (text[k + 1] == 't' || text[k + 1] == 'n')) {
                out.push_back(text[k + 1] == 't' ? '\t' : '\n');
                ++k;
            } else {
                out.push_back(text[k]);
            }
        }
        if (open == std::string::npos) break;
        size_t close = format.find("}}", open);
        if (close == std::string::npos) return fail_invalid("template {:?}: unclosed {{{{", format);
        std::string action = format.substr(open + 2, close - open - 2);
        // Trim markers {{- and -}} are accepted and ignored.
        if (action.starts_with("-")) action.erase(0, 1);
        if (action.ends_with("-")) action.pop_back();
        auto v = eval(action, data);
        if (!v) return fail(v.error().wrap("template {:?}", format));
        out += *v;
        i = close + 2;
    }
    return out;
}

}  // namespace husk::engine
