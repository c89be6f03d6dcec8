#include "engine/volumes.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/files.hpp"
#include "engine/ids.hpp"

namespace husk::engine {

Status validate_volume_name(const std::string& name) {
    bool ok = name.size() >= 2 && std::isalnum(static_cast<unsigned char>(name[0]));
    for (char c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-')
            ok = false;
    if (!ok)
        return fail_invalid("invalid volume name {:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                            name);
    return {};
}

Result<Volume> VolumeStore::create(const std::string& name,
                                   const std::map<std::string, std::string>& labels,
                                   bool anonymous) {
    HUSK_TRY(validate_volume_name(name));
    if (auto existing = get(name)) return existing;
    HUSK_TRY(make_dirs(dir_, 0700));
    std::string d = dir_ + "/" + name;
    // Built under a temporary name and renamed into place: a half-made volume is never seen,
    // and two creators of the same name both end up with the one that won.
    std::string tmp = dir_ + "/.tmp-" + name + "-" + std::to_string(::getpid());
    HUSK_TRY(make_dirs(tmp + "/_data", 0755));
    Volume v{name, d + "/_data", now_rfc3339(), labels, anonymous};
    nlohmann::json j = {
        {"Name", name}, {"CreatedAt", v.created}, {"Labels", labels}, {"Anonymous", anonymous}};
    if (auto st = write_file_atomic(tmp + "/volume.json", j.dump() + "\n"); !st) {
        (void)remove_tree(tmp);
        return fail(st.error());
    }
    if (::rename(tmp.c_str(), d.c_str()) != 0) {
        int saved = errno;
        (void)remove_tree(tmp);
        if (saved == EEXIST || saved == ENOTEMPTY) return get(name);
        return fail(Error(saved, "create volume " + d));
    }
    return v;
}

Result<Volume> VolumeStore::get(const std::string& name) const {
    HUSK_TRY(validate_volume_name(name));
    std::string d = dir_ + "/" + name;
    auto text = read_file(d + "/volume.json");
    if (!text) {
        if (text.error().errnum() == ENOENT) return fail(Error(ENOENT, "no such volume: " + name));
        return fail(text.error());
    }
    Volume v;
    v.name = name;
    v.mountpoint = d + "/_data";
    try {
        auto j = nlohmann::json::parse(*text);
        v.created = j.value("CreatedAt", "");
        v.labels = j.value("Labels", std::map<std::string, std::string>{});
        v.anonymous = j.value("Anonymous", false);
    } catch (const nlohmann::json::exception& e) {
        return fail_invalid("{}/volume.json: {}", d, e.what());
    }
    return v;
}

Result<std::vector<Volume>> VolumeStore::list() const {
    std::vector<Volume> out;
    DIR* d = ::opendir(dir_.c_str());
    if (d == nullptr) {
        if (errno == ENOENT) return out;
        return fail_errno("open {}", dir_);
    }
    std::vector<std::string> names;
    while (auto* e = ::readdir(d))
        if (e->d_name[0] != '.') names.emplace_back(e->d_name);
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& n : names)
        if (auto v = get(n)) out.push_back(std::move(*v));
    return out;
}

Status VolumeStore::remove(const std::string& name) {
    HUSK_TRY(validate_volume_name(name));
    std::string d = dir_ + "/" + name;
    if (!path_exists(d + "/volume.json")) return fail(Error(ENOENT, "no such volume: " + name));
    // Renamed away first: the volume disappears at once, the tree goes after.
    std::string tmp = dir_ + "/.rm-" + name + "-" + std::to_string(::getpid());
    if (::rename(d.c_str(), tmp.c_str()) != 0) return fail_errno("remove volume {}", d);
    return remove_tree(tmp);
}

}  // namespace husk::engine
