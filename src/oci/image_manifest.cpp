#include "oci/image_manifest.hpp"

#include <nlohmann/json.hpp>

namespace husk::oci {
namespace {

using Json = nlohmann::ordered_json;

Result<Json> parse_json(std::string_view text, const char* what) {
    Json doc = Json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return fail_invalid("{}: not a JSON object", what);
    return doc;
}

Result<std::string> get_string(const Json& obj, const char* key, const std::string& path,
                               bool required) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
        if (required) return fail_invalid("{}.{}: missing", path, key);
        return std::string();
    }
    if (!it->is_string()) return fail_invalid("{}.{}: expected a string", path, key);
    return it->get<std::string>();
}

Result<std::map<std::string, std::string>> get_annotations(const Json& obj,
                                                           const std::string& path) {
    std::map<std::string, std::string> out;
    auto it = obj.find("annotations");
    if (it == obj.end() || it->is_null()) return out;
    if (!it->is_object()) return fail_invalid("{}.annotations: expected an object", path);
    for (auto& [k, v] : it->items()) {
        if (!v.is_string()) return fail_invalid("{}.annotations[{}]: expected a string", path, k);
        out[k] = v.get<std::string>();
    }
    return out;
}

Result<Descriptor> parse_descriptor(const Json& obj, const std::string& path) {
    if (!obj.is_object()) return fail_invalid("{}: expected an object", path);
    Descriptor d;
    auto mt = get_string(obj, "mediaType", path, true);
    if (!mt) return fail(mt.error());
    d.media_type = *mt;
    auto dg = get_string(obj, "digest", path, true);
    if (!dg) return fail(dg.error());
    d.digest = *dg;
    auto size = obj.find("size");
    if (size == obj.end() || !size->is_number_integer() || size->get<int64_t>() < 0)
        return fail_invalid("{}.size: expected a non-negative integer", path);
    d.size = size->get<int64_t>();
    if (auto urls = obj.find("urls"); urls != obj.end() && urls->is_array())
        for (auto& u : *urls)
            if (u.is_string()) d.urls.push_back(u.get<std::string>());
    auto ann = get_annotations(obj, path);
    if (!ann) return fail(ann.error());
    d.annotations = std::move(*ann);
    if (auto p = obj.find("platform"); p != obj.end() && p->is_object()) {
        d.has_platform = true;
        auto arch = get_string(*p, "architecture", path + ".platform", false);
        auto os = get_string(*p, "os", path + ".platform", false);
        auto variant = get_string(*p, "variant", path + ".platform", false);
        if (!arch) return fail(arch.error());
        if (!os) return fail(os.error());
        if (!variant) return fail(variant.error());
        d.platform = {*arch, *os, *variant};
    }
    return d;
}

Json descriptor_json(const Descriptor& d) {
    Json j;
    j["mediaType"] = d.media_type;
    j["digest"] = d.digest;
    j["size"] = d.size;
    if (!d.urls.empty()) j["urls"] = d.urls;
    if (!d.annotations.empty()) j["annotations"] = d.annotations;
    if (d.has_platform) {
        Json p;
        p["architecture"] = d.platform.architecture;
        p["os"] = d.platform.os;
        if (!d.platform.variant.empty()) p["variant"] = d.platform.variant;
        j["platform"] = p;
    }
    return j;
}

}  // namespace

bool is_index_media_type(std::string_view type) {
    return type == media_type::oci_index || type == media_type::docker_list;
}

bool is_manifest_media_type(std::string_view type) {
    return type == media_type::oci_manifest || type == media_type::docker_manifest;
}

Result<std::string> detect_manifest_type(std::string_view json) {
    auto doc = parse_json(json, "manifest");
    if (!doc) return fail(doc.error());
    auto mt = get_string(*doc, "mediaType", "manifest", false);
    if (!mt) return fail(mt.error());
    if (!mt->empty()) return *mt;
    if (doc->contains("manifests")) return std::string(media_type::oci_index);
    if (doc->contains("config")) return std::string(media_type::oci_manifest);
    if (doc->contains("schemaVersion") && (*doc)["schemaVersion"] == 1)
        return fail_invalid("manifest: schema version 1 is not supported");
    return fail_invalid("manifest: neither a manifest nor an index");
}

Result<Manifest> parse_manifest(std::string_view json) {
    auto doc = parse_json(json, "manifest");
    if (!doc) return fail(doc.error());
    Manifest m;
    if (auto sv = doc->find("schemaVersion"); sv == doc->end() || *sv != 2)
        return fail_invalid("manifest.schemaVersion: expected 2");
    auto mt = get_string(*doc, "mediaType", "manifest", false);
    if (!mt) return fail(mt.error());
    m.media_type = mt->empty() ? std::string(media_type::oci_manifest) : *mt;
    auto config = doc->find("config");
    if (config == doc->end()) return fail_invalid("manifest.config: missing");
    auto cd = parse_descriptor(*config, "manifest.config");
    if (!cd) return fail(cd.error());
    m.config = std::move(*cd);
    auto layers = doc->find("layers");
    if (layers == doc->end() || !layers->is_array())
        return fail_invalid("manifest.layers: expected an array");
    for (size_t i = 0; i < layers->size(); ++i) {
        auto ld = parse_descriptor((*layers)[i], "manifest.layers[" + std::to_string(i) + "]");
        if (!ld) return fail(ld.error());
        m.layers.push_back(std::move(*ld));
    }
    auto ann = get_annotations(*doc, "manifest");
    if (!ann) return fail(ann.error());
    m.annotations = std::move(*ann);
    return m;
}

Result<Index> parse_index(std::string_view json) {
    auto doc = parse_json(json, "index");
    if (!doc) return fail(doc.error());
    Index idx;
    if (auto sv = doc->find("schemaVersion"); sv == doc->end() || *sv != 2)
        return fail_invalid("index.schemaVersion: expected 2");
    auto mt = get_string(*doc, "mediaType", "index", false);
    if (!mt) return fail(mt.error());
    idx.media_type = mt->empty() ? std::string(media_type::oci_index) : *mt;
    auto list = doc->find("manifests");
    if (list == doc->end() || !list->is_array())
        return fail_invalid("index.manifests: expected an array");
    for (size_t i = 0; i < list->size(); ++i) {
        auto d = parse_descriptor((*list)[i], "index.manifests[" + std::to_string(i) + "]");
        if (!d) return fail(d.error());
        idx.manifests.push_back(std::move(*d));
    }
    auto ann = get_annotations(*doc, "index");
    if (!ann) return fail(ann.error());
    idx.annotations = std::move(*ann);
    return idx;
}

std::string manifest_json(const Manifest& m) {
    Json j;
    j["schemaVersion"] = m.schema_version;
    j["mediaType"] = m.media_type;
    j["config"] = descriptor_json(m.config);
    Json layers = Json::array();
    for (auto& l : m.layers) layers.push_back(descriptor_json(l));
    j["layers"] = layers;
    if (!m.annotations.empty()) j["annotations"] = m.annotations;
    return j.dump();
}

std::string index_json(const Index& idx) {
    Json j;
    j["schemaVersion"] = idx.schema_version;
    j["mediaType"] = idx.media_type;
    Json list = Json::array();
    for (auto& d : idx.manifests) list.push_back(descriptor_json(d));
    j["manifests"] = list;
    if (!idx.annotations.empty()) j["annotations"] = idx.annotations;
    return j.dump();
}

}  // namespace husk::oci
