// The step cache: <root>/build-cache/<key>.json, one small file per step, so a lookup is one
// read and entries survive across runs. A key chains its parent's key with everything that
// determines the step's result (see docs/build.md).
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "build/steps.hpp"
#include "common/files.hpp"
#include "image/digest.hpp"

namespace husk::build::detail {
namespace {

using Json = nlohmann::json;

std::string cache_dir(const image::Store& store) {
    return store.root() + "/build-cache";
}

}  // namespace

std::string cache_key(const std::string& parent, const std::string& step) {
    std::string text = parent;
    text += '\0';
    text += step;
    return image::sha256_of(text).hex;
}

std::optional<CacheEntry> cache_lookup(const image::Store& store, const std::string& key,
                                       const std::vector<std::string>& diff_ids) {
    auto text = read_file(cache_dir(store) + "/" + key + ".json");
    if (!text) return std::nullopt;
    try {
        Json j = Json::parse(*text);
        CacheEntry entry;
        entry.history.created = j.value("created", "");
        entry.history.created_by = j.value("created_by", "");
        entry.history.comment = j.value("comment", "");
        if (j.contains("layer") && j["layer"].is_object()) {
            auto& l = j["layer"];
            LayerRef ref{l.at("blob").get<std::string>(), l.at("media_type").get<std::string>(),
                         l.at("size").get<int64_t>()};
            entry.diff_id = l.at("diff_id").get<std::string>();
            auto blob = image::parse_digest(ref.blob);
            if (!blob || !store.has_blob(*blob)) return std::nullopt;
            auto chain = diff_ids;
            chain.push_back(entry.diff_id);
            if (::access(store.layer_path(image::chain_ids(chain).back()).c_str(), F_OK) != 0)
                return std::nullopt;
            entry.layer = ref;
        } else {
            entry.history.empty_layer = true;
        }
        return entry;
    } catch (const Json::exception&) {
        return std::nullopt;  // a damaged entry is a miss, rewritten by this build
    }
}

Status cache_store(const image::Store& store, const std::string& key, const CacheEntry& entry) {
    HUSK_TRY(make_dirs(cache_dir(store), 0700));
    Json j = {{"created", entry.history.created},
              {"created_by", entry.history.created_by},
              {"comment", entry.history.comment}};
    if (entry.layer)
        j["layer"] = {{"blob", entry.layer->blob},
                      {"media_type", entry.layer->media_type},
                      {"size", entry.layer->size},
                      {"diff_id", entry.diff_id}};
    else
        j["layer"] = nullptr;
    return write_file_atomic(cache_dir(store) + "/" + key + ".json", j.dump() + "\n", 0600,
                             Durability::survive_crash);
}

}  // namespace husk::build::detail
