#pragma once
// Typed reads out of a parsed JSON document where every error names the field by its JSON
// path ("process.user.uid: expected an unsigned integer"). Internal to src/oci: the spec
// parsers (config.json now, state.json and image configs later) are written against it.
#include <concepts>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace husk::oci::detail {

using Json = nlohmann::json;

// A string as JSON writes it ("foo" with quotes and escapes): how values appear in errors.
inline std::string quote(std::string_view s) {
    return Json(std::string(s)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

inline bool is_plain_key(std::string_view key) {
    if (key.empty()) return false;
    for (char c : key) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

// "process" + "user" -> "process.user"; keys that would read ambiguously (sysctl names
// with dots, annotation keys) are written as linux.sysctl["net.ipv4.ip_forward"].
inline std::string member_path(std::string_view parent, std::string_view key) {
    if (!is_plain_key(key)) return fmt::format("{}[{}]", parent, quote(key));
    if (parent.empty()) return std::string(key);
    return fmt::format("{}.{}", parent, key);
}

inline std::string index_path(std::string_view parent, size_t index) {
    return fmt::format("{}[{}]", parent, index);
}

template <typename... Args>
std::unexpected<Error> fail_at(std::string_view path, fmt::format_string<Args...> format,
                               Args&&... args) {
    return fail_invalid("{}: {}", path, fmt::format(format, std::forward<Args>(args)...));
}

// A JSON value together with the path that names it in errors. Borrows the value: the
// document must outlive the node.
class Node {
public:
    Node(const Json& value, std::string path) : value_(&value), path_(std::move(path)) {}

    const Json& value() const { return *value_; }
    const std::string& path() const { return path_; }

    // The member `key` of this object; nullopt when it is absent or null (a null member
    // means "not set", as the Go runtimes read it).
    std::optional<Node> get(std::string_view key) const {
        auto it = value_->find(key);
        if (it == value_->end() || it->is_null()) return std::nullopt;
        return Node(*it, member_path(path_, key));
    }
    Result<Node> require(std::string_view key) const {
        if (auto child = get(key)) return *child;
        return fail_at(member_path(path_, key), "required");
    }

    Status expect_object() const {
        if (!value_->is_object()) return fail_at(path_, "expected an object");
        return {};
    }
    Result<std::vector<Node>> elements() const {
        if (!value_->is_array()) return fail_at(path_, "expected an array");
        std::vector<Node> out;
        out.reserve(value_->size());
        for (size_t i = 0; i < value_->size(); ++i)
            out.emplace_back((*value_)[i], index_path(path_, i));
        return out;
    }
    Result<std::vector<std::pair<std::string, Node>>> members() const {
        HUSK_TRY(expect_object());
        std::vector<std::pair<std::string, Node>> out;
        for (const auto& [key, value] : value_->items())
            out.emplace_back(key, Node(value, member_path(path_, key)));
        return out;
    }

    template <typename... Args>
    std::unexpected<Error> fail(fmt::format_string<Args...> format, Args&&... args) const {
        return fail_at(path_, format, std::forward<Args>(args)...);
    }

private:
    const Json* value_;
    std::string path_;
};

// True when a value carries no settings at all: null, {}, [] or containers of those. An
// unsupported section written out empty ("hooks": {}) asks for nothing husk lacks.
inline bool is_empty_value(const Json& value) {
    if (value.is_null()) return true;
    if (value.is_object() || value.is_array()) {
        for (const auto& element : value)
            if (!is_empty_value(element)) return false;
        return true;
    }
    return false;
}

// decode(node, out): one overload per C++ type a field is read into.

inline Status decode(const Node& node, std::string& out) {
    if (!node.value().is_string()) return node.fail("expected a string");
    const auto& s = node.value().get_ref<const std::string&>();
    // Every string ends up in a C API (paths, argv, env) that would cut it at the NUL.
    if (s.find('\0') != std::string::npos) return node.fail("must not contain a NUL byte");
    out = s;
    return {};
}

inline Status decode(const Node& node, bool& out) {
    if (!node.value().is_boolean()) return node.fail("expected a boolean");
    out = node.value().get<bool>();
    return {};
}

template <typename T>
requires(std::integral<T> && !std::same_as<T, bool>) Status decode(const Node& node, T& out) {
    const Json& v = node.value();
    if constexpr (std::is_unsigned_v<T>) {
        if (!v.is_number_unsigned()) return node.fail("expected an unsigned integer");
        uint64_t n = v.get<uint64_t>();
        if (n > std::numeric_limits<T>::max())
            return node.fail("{} is out of range (maximum {})", n, std::numeric_limits<T>::max());
        out = static_cast<T>(n);
    } else {
        if (!v.is_number_integer()) return node.fail("expected an integer");
        if (v.is_number_unsigned()) {
            uint64_t n = v.get<uint64_t>();
            if (n > static_cast<uint64_t>(std::numeric_limits<T>::max()))
                return node.fail("{} is out of range (maximum {})", n,
                                 std::numeric_limits<T>::max());
            out = static_cast<T>(n);
        } else {
            int64_t n = v.get<int64_t>();
            if (n < std::numeric_limits<T>::min() || n > std::numeric_limits<T>::max())
                return node.fail("{} is out of range", n);
            out = static_cast<T>(n);
        }
    }
    return {};
}

template <typename T>
Status decode(const Node& node, std::optional<T>& out) {
    T value{};
    HUSK_TRY(decode(node, value));
    out = std::move(value);
    return {};
}

template <typename T>
Status decode(const Node& node, std::vector<T>& out) {
    auto elements = node.elements();
    if (!elements) return husk::fail(std::move(elements).error());
    std::vector<T> values(elements->size());
    for (size_t i = 0; i < values.size(); ++i) HUSK_TRY(decode((*elements)[i], values[i]));
    out = std::move(values);
    return {};
}

template <typename T>
Status decode(const Node& node, std::map<std::string, T>& out) {
    auto members = node.members();
    if (!members) return husk::fail(std::move(members).error());
    std::map<std::string, T> values;
    for (const auto& [key, child] : *members) HUSK_TRY(decode(child, values[key]));
    out = std::move(values);
    return {};
}

// Reads the member `key` of `object` into `out` when it is set; leaves `out` alone otherwise.
template <typename T>
Status read_field(const Node& object, std::string_view key, T& out) {
    if (auto child = object.get(key)) return decode(*child, out);
    return {};
}

// As read_field, but a missing member is an error: "<path>.<key>: required".
template <typename T>
Status read_required(const Node& object, std::string_view key, T& out) {
    auto child = object.require(key);
    if (!child) return husk::fail(std::move(child).error());
    return decode(*child, out);
}

}  // namespace husk::oci::detail
