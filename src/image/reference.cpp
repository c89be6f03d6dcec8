#include "image/reference.hpp"

#include "image/digest.hpp"

namespace husk::image {
namespace {

bool valid_component(std::string_view c) {
    if (c.empty()) return false;
    for (char ch : c) {
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
                  ch == '-';
        if (!ok) return false;
    }
    return c.front() != '.' && c.front() != '-' && c.front() != '_';
}

bool valid_tag(std::string_view t) {
    if (t.empty() || t.size() > 128 || t.front() == '.' || t.front() == '-') return false;
    for (char ch : t) {
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
        if (!ok) return false;
    }
    return true;
}

}  // namespace

std::string Reference::str() const {
    if (!tag.empty()) return name() + ":" + tag;
    return name() + "@" + digest;
}

std::string Reference::familiar() const {
    std::string n = familiar_name(name());
    if (!tag.empty()) return n + ":" + tag;
    return n + "@" + digest;
}

std::string familiar_name(const std::string& full) {
    constexpr std::string_view lib = "docker.io/library/";
    constexpr std::string_view hub = "docker.io/";
    if (full.starts_with(lib)) return full.substr(lib.size());
    if (full.starts_with(hub)) return full.substr(hub.size());
    return full;
}

Result<Reference> parse_reference(std::string_view text) {
    if (text.empty()) return fail_invalid("invalid image reference \"\": empty");
    if (text.size() > 1024) return fail_invalid("invalid image reference: longer than 1024");
    Reference ref;
    std::string rest(text);
    if (auto at = rest.find('@'); at != std::string::npos) {
        auto d = parse_digest(rest.substr(at + 1));
        if (!d) return fail(d.error().wrap("invalid image reference {:?}", text));
        ref.digest = d->str();
        rest.erase(at);
    }
    // A tag follows the last ':' after the last '/' (a ':' before it is a registry port).
    auto slash = rest.rfind('/');
    auto colon = rest.rfind(':');
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
        ref.tag = rest.substr(colon + 1);
        rest.erase(colon);
        if (!valid_tag(ref.tag)) return fail_invalid("invalid image reference {:?}: bad tag", text);
    }
    // The first component is a registry when it looks like a host: a '.', a ':' or localhost.
    auto first_slash = rest.find('/');
    std::string first = first_slash == std::string::npos ? "" : rest.substr(0, first_slash);
    if (!first.empty() && (first.find('.') != std::string::npos ||
                           first.find(':') != std::string::npos || first == "localhost")) {
        ref.registry = first;
        rest.erase(0, first_slash + 1);
    } else {
        ref.registry = "docker.io";
    }
    if (ref.registry == "index.docker.io" || ref.registry == "registry-1.docker.io")
        ref.registry = "docker.io";
    if (ref.registry == "docker.io" && rest.find('/') == std::string::npos)
        rest = "library/" + rest;
    size_t start = 0;
    while (true) {
        auto end = rest.find('/', start);
        std::string_view comp = std::string_view(rest).substr(
            start, end == std::string::npos ? std::string::npos : end - start);
        if (!valid_component(comp))
            return fail_invalid("invalid image reference {:?}: bad repository name", text);
        if (end == std::string::npos) break;
        start = end + 1;
    }
    ref.repository = rest;
    if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
    return ref;
}

}  // namespace husk::image
