#include "oci/hooks_parse.hpp"

namespace husk::oci {
namespace detail {
namespace {

Status parse_hook_list(const Node& node, std::vector<Hook>& out) {
    auto elements = node.elements();
    if (!elements) return fail(elements.error());
    for (const Node& element : *elements) {
        HUSK_TRY(element.expect_object());
        Hook hook;
        HUSK_TRY(read_required(element, "path", hook.path));
        if (hook.path.empty() || hook.path.front() != '/')
            return fail_at(member_path(element.path(), "path"), "must be an absolute path, got {}",
                           quote(hook.path));
        HUSK_TRY(read_field(element, "args", hook.args));
        HUSK_TRY(read_field(element, "env", hook.env));
        for (size_t i = 0; i < hook.env.size(); ++i) {
            size_t eq = hook.env[i].find('=');
            if (eq == std::string::npos || eq == 0)
                return fail_at(index_path(member_path(element.path(), "env"), i),
                               "expected KEY=VALUE, got {}", quote(hook.env[i]));
        }
        HUSK_TRY(read_field(element, "timeout", hook.timeout));
        if (hook.timeout && *hook.timeout <= 0)
            return fail_at(member_path(element.path(), "timeout"),
                           "must be greater than zero, got {}", *hook.timeout);
        out.push_back(std::move(hook));
    }
    return {};
}

}  // namespace

Status parse_hooks_node(const Node& node, Hooks& out) {
    HUSK_TRY(node.expect_object());
    struct Kind {
        const char* name;
        std::vector<Hook>* list;
    };
    for (const Kind& kind :
         {Kind{"prestart", &out.prestart}, Kind{"createRuntime", &out.create_runtime},
          Kind{"createContainer", &out.create_container},
          Kind{"startContainer", &out.start_container}, Kind{"poststart", &out.poststart},
          Kind{"poststop", &out.poststop}})
        if (auto list = node.get(kind.name)) HUSK_TRY(parse_hook_list(*list, *kind.list));
    return {};
}

}  // namespace detail

std::string hooks_json(const std::vector<Hook>& hooks) {
    auto array = detail::Json::array();
    for (const auto& hook : hooks) {
        detail::Json j = {{"path", hook.path}, {"args", hook.args}, {"env", hook.env}};
        if (hook.timeout) j["timeout"] = *hook.timeout;
        array.push_back(std::move(j));
    }
    return array.dump();
}

Result<std::vector<Hook>> parse_hook_list_json(const std::string& json_text,
                                               const std::string& source) {
    detail::Json document = detail::Json::parse(json_text, nullptr, false);
    if (document.is_discarded()) return fail_invalid("{}: not valid JSON", source);
    std::vector<Hook> out;
    if (auto st = detail::parse_hook_list(detail::Node(document, ""), out); !st)
        return fail(st.error().wrap("{}", source));
    return out;
}

}  // namespace husk::oci
