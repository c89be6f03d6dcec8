#include "oci/process_parse.hpp"

#include "oci/json_reader.hpp"

namespace husk::oci {

Result<Process> parse_process_json(const std::string& json_text, const std::string& source) {
    detail::Json document = detail::Json::parse(json_text, nullptr, false);
    if (document.is_discarded()) return fail_invalid("{}: not valid JSON", source);
    if (!document.is_object()) return fail_invalid("{}: expected a JSON object", source);
    // Wrapped so that errors name the field as in config.json ("process.args: ...").
    detail::Json wrapped = detail::Json::object();
    wrapped["process"] = std::move(document);
    Process process;
    if (auto st = detail::parse_process_member(detail::Node(wrapped, ""), process); !st)
        return fail(st.error().wrap("{}", source));
    return process;
}

}  // namespace husk::oci
