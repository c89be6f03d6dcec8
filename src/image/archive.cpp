#include "image/archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "common/files.hpp"
#include "common/safe_path.hpp"
#include "common/scope_exit.hpp"
#include "image/reference.hpp"
#include "image/unpack.hpp"

namespace husk::image {
namespace {

using Json = nlohmann::ordered_json;
constexpr size_t small_file_limit = 16 << 20;
constexpr std::string_view ref_name_annotation = "org.opencontainers.image.ref.name";

struct ReadDeleter {
    void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteDeleter {
    void operator()(archive* a) const { archive_write_free(a); }
};

// "gzip", "zstd" or "" from a blob's first bytes.
std::string compression_of(int fd) {
    unsigned char magic[4] = {};
    ssize_t n = ::pread(fd, magic, sizeof magic, 0);
    if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) return "gzip";
    if (n >= 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
        return "zstd";
    return "";
}

std::string layer_media_type(const std::string& compression) {
    if (compression == "gzip") return std::string(oci::media_type::oci_layer_gzip);
    if (compression == "zstd") return std::string(oci::media_type::oci_layer_zstd);
    return std::string(oci::media_type::oci_layer);
}

Result<int64_t> blob_size(const Store& store, const Digest& d) {
    struct stat st {};
    if (::stat(store.blob_path(d).c_str(), &st) != 0) return fail_errno("stat blob {}", d.str());
    return static_cast<int64_t>(st.st_size);
}

// Normalises a user-given name to the stored form: "busybox" -> docker.io/library/busybox:latest.
Result<std::string> full_name(const std::string& name) {
    auto ref = parse_reference(name);
    if (!ref) return fail(ref.error());
    if (ref->tag.empty()) return fail_invalid("{:?}: a name needs a tag, not a digest", name);
    return ref->str();
}

std::string strip_dot_slash(std::string name) {
    while (name.starts_with("./")) name.erase(0, 2);
    return name;
}

// Files read from an archive: each regular file becomes a verified blob in the store; the
// small ones (manifests, configs) are also kept in memory.
struct ArchiveFiles {
    std::map<std::string, Digest> blobs;
    std::map<std::string, std::string> small;
    std::map<std::string, std::string> links;  // symlink name -> target name

    std::string resolve(std::string name) const {
        for (int i = 0; i < 16; ++i) {
            auto it = links.find(name);
            if (it == links.end()) break;
            name = it->second;
        }
        return name;
    }
};

Result<ArchiveFiles> read_archive(Store& store, const std::string& path) {
    std::unique_ptr<archive, ReadDeleter> a(archive_read_new());
    archive_read_support_filter_all(a.get());
    archive_read_support_format_tar(a.get());
    archive_read_support_format_gnutar(a.get());
    if (archive_read_open_filename(a.get(), path.c_str(), 1 << 20) != ARCHIVE_OK)
        return fail_invalid("{}: {}", path, archive_error_string(a.get()));
    ArchiveFiles files;
    archive_entry* e;
    std::vector<char> buf(1 << 20);
    while (true) {
        int r = archive_read_next_header(a.get(), &e);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
            return fail_invalid("{}: {}", path, archive_error_string(a.get()));
        const char* raw = archive_entry_pathname(e);
        if (raw == nullptr) continue;
        std::string name = strip_dot_slash(raw);
        if (name.find("..") != std::string::npos || name.starts_with("/"))
            return fail_invalid("{}: entry {:?} leads outside the archive", path, name);
        if (archive_entry_filetype(e) == AE_IFLNK) {
            std::string target = archive_entry_symlink(e) ? archive_entry_symlink(e) : "";
            auto slash = name.rfind('/');
            std::string base = slash == std::string::npos ? "" : name.substr(0, slash + 1);
            files.links[name] =
                clean_path(target.starts_with("/") ? target : "/" + base + target).substr(1);
            continue;
        }
        if (archive_entry_filetype(e) != AE_IFREG) continue;
        if (archive_entry_size(e) > max_blob_size)
            return fail_invalid("{}: entry {:?} declares {} bytes, more than the limit", path, name,
                                archive_entry_size(e));
        // An OCI layout's blob is checked against the digest its name claims.
        std::optional<Digest> expected;
        if (name.starts_with("blobs/")) {
            std::string rest = name.substr(6);
            auto slash = rest.find('/');
            if (slash != std::string::npos) {
                auto d = parse_digest(rest.substr(0, slash) + ":" + rest.substr(slash + 1));
                if (!d) return fail(d.error().wrap("{}: entry {:?}", path, name));
                expected = *d;
            }
        }
        auto writer = store.blob_writer(expected ? expected->algorithm : "sha256");
        if (!writer) return fail(writer.error());
        bool keep = archive_entry_size(e) <= static_cast<int64_t>(small_file_limit);
        std::string content;
        while (true) {
            la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
            if (n < 0)
                return fail_invalid("{}: entry {:?}: {}", path, name,
                                    archive_error_string(a.get()));
            if (n == 0) break;
            HUSK_TRY(writer->write(buf.data(), static_cast<size_t>(n)));
            if (keep) content.append(buf.data(), static_cast<size_t>(n));
        }
        auto digest = writer->commit(expected);
        if (!digest) return fail(digest.error().wrap("{}: entry {:?}", path, name));
        files.blobs[name] = *digest;
        if (keep) files.small[name] = std::move(content);
    }
    return files;
}

// An OCI layout directory: only what index.json reaches is read, each blob verified.
Result<ArchiveFiles> read_layout_dir(Store& store, const std::string& dir) {
    ArchiveFiles files;
    auto index = read_file(dir + "/index.json");
    if (!index) return fail(index.error().wrap("{}: not an OCI layout", dir));
    files.small["index.json"] = *index;
    UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root) return fail_errno("open {}", dir);
    // Every blob under blobs/: copied through the verifying writer.
    for (const char* algo : {"sha256", "sha512"}) {
        auto sub = open_in_root(root.get(), std::string("blobs/") + algo, O_RDONLY | O_DIRECTORY);
        if (!sub) continue;
        DIR* d = ::fdopendir(sub->release());
        if (d == nullptr) continue;
        std::vector<std::string> names;
        while (auto* ent = ::readdir(d))
            if (ent->d_name[0] != '.') names.push_back(ent->d_name);
        ::closedir(d);
        for (auto& hex : names) {
            std::string name = std::string("blobs/") + algo + "/" + hex;
            auto expected = parse_digest(std::string(algo) + ":" + hex);
            if (!expected) return fail(expected.error().wrap("{}/{}", dir, name));
            auto fd = open_in_root(root.get(), name, O_RDONLY | O_NOFOLLOW);
            if (!fd) return fail(fd.error());
            auto writer = store.blob_writer(algo);
            if (!writer) return fail(writer.error());
            std::vector<char> buf(1 << 20);
            std::string content;
            ssize_t n;
            while ((n = ::read(fd->get(), buf.data(), buf.size())) > 0) {
                HUSK_TRY(writer->write(buf.data(), static_cast<size_t>(n)));
                if (content.size() < small_file_limit)
                    content.append(buf.data(), static_cast<size_t>(n));
            }
            if (n < 0) return fail_errno("read {}/{}", dir, name);
            auto digest = writer->commit(*expected);
            if (!digest) return fail(digest.error().wrap("{}/{}", dir, name));
            files.blobs[name] = *digest;
            if (content.size() < small_file_limit) files.small[name] = std::move(content);
        }
    }
    return files;
}

Result<std::vector<ImageRecord>> load_docker_archive(Store& store, const ArchiveFiles& files,
                                                     const std::string& path) {
    Json doc = Json::parse(files.small.at("manifest.json"), nullptr, false);
    if (!doc.is_array()) return fail_invalid("{}: manifest.json: expected an array", path);
    std::vector<ImageRecord> out;
    for (auto& item : doc) {
        if (!item.is_object() || !item.contains("Config") || !item["Config"].is_string())
            return fail_invalid("{}: manifest.json: an entry without Config", path);
        auto blob_of = [&](const std::string& name) -> Result<Digest> {
            auto it = files.blobs.find(files.resolve(strip_dot_slash(name)));
            if (it == files.blobs.end())
                return fail_invalid("{}: {} is missing from the archive", path, name);
            return it->second;
        };
        auto config = blob_of(item["Config"].get<std::string>());
        if (!config) return fail(config.error());
        oci::Manifest m;
        m.media_type = std::string(oci::media_type::oci_manifest);
        auto csize = blob_size(store, *config);
        if (!csize) return fail(csize.error());
        m.config = {
            std::string(oci::media_type::oci_config), config->str(), *csize, {}, {}, false, {}};
        for (auto& layer : item.value("Layers", Json::array())) {
            if (!layer.is_string())
                return fail_invalid("{}: manifest.json: a layer is not a string", path);
            auto d = blob_of(layer.get<std::string>());
            if (!d) return fail(d.error());
            auto fd = store.open_blob(*d);
            if (!fd) return fail(fd.error());
            auto size = blob_size(store, *d);
            if (!size) return fail(size.error());
            m.layers.push_back(
                {layer_media_type(compression_of(fd->get())), d->str(), *size, {}, {}, false, {}});
        }
        std::vector<std::string> names;
        for (auto& tag : item.value("RepoTags", Json::array())) {
            if (!tag.is_string()) continue;
            auto n = full_name(tag.get<std::string>());
            if (!n) return fail(n.error().wrap("{}: RepoTags", path));
            names.push_back(*n);
        }
        auto mdigest = store.put_blob(oci::manifest_json(m));
        if (!mdigest) return fail(mdigest.error());
        auto rec = store.commit_image(*mdigest, names, {});
        if (!rec) return fail(rec.error().wrap("{}", path));
        out.push_back(std::move(*rec));
    }
    return out;
}

Result<std::vector<ImageRecord>> load_oci_layout(Store& store, const ArchiveFiles& files,
                                                 const std::string& path) {
    auto index = oci::parse_index(files.small.at("index.json"));
    if (!index) return fail(index.error().wrap("{}: index.json", path));
    std::vector<ImageRecord> out;
    for (auto& desc : index->manifests) {
        auto d = parse_digest(desc.digest);
        if (!d) return fail(d.error().wrap("{}: index.json", path));
        if (!store.has_blob(*d))
            return fail_invalid("{}: manifest {} is missing from the archive", path, desc.digest);
        Digest manifest_digest = *d;
        if (oci::is_index_media_type(desc.media_type)) {
            auto text = store.read_blob(*d);
            if (!text) return fail(text.error());
            auto nested = oci::parse_index(*text);
            if (!nested) return fail(nested.error().wrap("{}: index {}", path, desc.digest));
            const oci::Descriptor* pick = nullptr;
            for (auto& m : nested->manifests)
                if (!m.has_platform ||
                    (m.platform.os == "linux" && m.platform.architecture == host_architecture())) {
                    pick = &m;
                    break;
                }
            if (pick == nullptr)
                return fail_invalid("{}: index {} has no manifest for linux/{}", path, desc.digest,
                                    host_architecture());
            auto pd = parse_digest(pick->digest);
            if (!pd) return fail(pd.error());
            manifest_digest = *pd;
        } else if (desc.has_platform && desc.platform.architecture != host_architecture()) {
            continue;
        }
        std::vector<std::string> names;
        if (auto it = desc.annotations.find(std::string(ref_name_annotation));
            it != desc.annotations.end()) {
            std::string ref = it->second;
            // A bare tag ("latest") names no repository: nothing to call the image.
            if (ref.find('/') != std::string::npos || ref.find(':') != std::string::npos) {
                auto n = full_name(ref);
                if (n) names.push_back(*n);
            }
        }
        auto rec = store.commit_image(manifest_digest, names, {});
        if (!rec) return fail(rec.error().wrap("{}", path));
        out.push_back(std::move(*rec));
    }
    return out;
}

class TarWriter {
public:
    static Result<TarWriter> create(const std::string& path) {
        TarWriter w;
        w.a_.reset(archive_write_new());
        archive_write_set_format_pax_restricted(w.a_.get());
        if (archive_write_open_filename(w.a_.get(), path.c_str()) != ARCHIVE_OK)
            return fail_invalid("{}: {}", path, archive_error_string(w.a_.get()));
        w.path_ = path;
        return w;
    }
    Status add(const std::string& name, std::string_view data) {
        HUSK_TRY(header(name, static_cast<int64_t>(data.size()), AE_IFREG));
        if (archive_write_data(a_.get(), data.data(), data.size()) < 0)
            return fail_invalid("{}: {}", path_, archive_error_string(a_.get()));
        return {};
    }
    Status add_dir(const std::string& name) { return header(name, 0, AE_IFDIR); }
    Status add_fd(const std::string& name, int fd) {
        struct stat st {};
        if (::fstat(fd, &st) != 0) return fail_errno("stat {}", name);
        HUSK_TRY(header(name, st.st_size, AE_IFREG));
        std::vector<char> buf(1 << 20);
        ssize_t n;
        while ((n = ::pread(fd, buf.data(), buf.size(), offset_)) > 0) {
            offset_ += n;
            if (archive_write_data(a_.get(), buf.data(), static_cast<size_t>(n)) < 0)
                return fail_invalid("{}: {}", path_, archive_error_string(a_.get()));
        }
        offset_ = 0;
        if (n < 0) return fail_errno("read {}", name);
        return {};
    }
    Status close() {
        if (archive_write_close(a_.get()) != ARCHIVE_OK)
            return fail_invalid("{}: {}", path_, archive_error_string(a_.get()));
        return {};
    }

private:
    Status header(const std::string& name, int64_t size, mode_t type) {
        archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, name.c_str());
        archive_entry_set_size(e, size);
        archive_entry_set_filetype(e, type);
        archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
        archive_entry_set_mtime(e, 0, 0);
        int r = archive_write_header(a_.get(), e);
        archive_entry_free(e);
        if (r != ARCHIVE_OK) return fail_invalid("{}: {}", path_, archive_error_string(a_.get()));
        return {};
    }
    std::unique_ptr<archive, WriteDeleter> a_;
    std::string path_;
    off_t offset_ = 0;
};

// A layer as an uncompressed tar (docker-archive wants those): the blob itself when it is
// not compressed, else decompressed into a temp file.
Result<UniqueFd> uncompressed_layer(Store& store, const Digest& blob, std::string& temp) {
    auto fd = store.open_blob(blob);
    if (!fd) return fail(fd.error());
    if (compression_of(fd->get()).empty()) return fd;
    std::unique_ptr<archive, ReadDeleter> a(archive_read_new());
    archive_read_support_filter_all(a.get());
    archive_read_support_format_raw(a.get());
    if (archive_read_open_fd(a.get(), fd->get(), 1 << 20) != ARCHIVE_OK)
        return fail_invalid("layer {}: {}", blob.str(), archive_error_string(a.get()));
    archive_entry* e;
    if (archive_read_next_header(a.get(), &e) != ARCHIVE_OK)
        return fail_invalid("layer {}: {}", blob.str(), archive_error_string(a.get()));
    temp = store.temp_path("layer.tar");
    UniqueFd out(::open(temp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!out) return fail_errno("create {}", temp);
    std::vector<char> buf(1 << 20);
    while (true) {
        la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
        if (n < 0) return fail_invalid("layer {}: {}", blob.str(), archive_error_string(a.get()));
        if (n == 0) break;
        if (::write(out.get(), buf.data(), static_cast<size_t>(n)) != n)
            return fail_errno("write {}", temp);
    }
    return out;
}

}  // namespace

std::string host_architecture() {
    struct utsname u {};
    ::uname(&u);
    std::string m = u.machine;
    if (m == "x86_64") return "amd64";
    if (m == "aarch64") return "arm64";
    if (m.starts_with("arm")) return "arm";
    if (m == "i686" || m == "i386") return "386";
    return m;
}

Result<ImageRecord> import_tarball(Store& store, const std::string& path, const std::string& name) {
    std::string stored_name;
    if (!name.empty()) {
        auto n = full_name(name);
        if (!n) return fail(n.error());
        stored_name = *n;
    }
    UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) return fail_errno("open {}", path);
    auto writer = store.blob_writer();
    if (!writer) return fail(writer.error());
    std::vector<char> buf(1 << 20);
    ssize_t n;
    while ((n = ::read(in.get(), buf.data(), buf.size())) > 0)
        HUSK_TRY(writer->write(buf.data(), static_cast<size_t>(n)));
    if (n < 0) return fail_errno("read {}", path);
    auto blob = writer->commit(std::nullopt);
    if (!blob) return fail(blob.error());
    auto fd = store.open_blob(*blob);
    if (!fd) return fail(fd.error());
    // Unpacked once here (the diffID is only known after reading it all) and moved into
    // place, so committing the image finds the layer already there.
    std::string tmp = store.temp_path("layer");
    if (::mkdir(tmp.c_str(), 0755) != 0) return fail_errno("mkdir {}", tmp);
    auto cleanup = ScopeExit([&] { (void)remove_tree(tmp); });
    auto unpacked = unpack_layer(fd->get(), tmp);
    if (!unpacked) return fail(unpacked.error().wrap("import {}", path));
    std::string dest = store.layer_path(unpacked->diff_id.str());
    if (!path_exists(dest) && ::rename(tmp.c_str(), dest.c_str()) != 0 && errno != ENOTEMPTY &&
        errno != EEXIST)
        return fail_errno("rename {} to {}", tmp, dest);

    oci::ImageConfig config;
    config.created = now_rfc3339();
    config.architecture = host_architecture();
    config.os = "linux";
    config.config.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
    config.diff_ids = {unpacked->diff_id.str()};
    config.history.push_back({config.created, "husk import " + path, "", "", false});
    std::string config_json = oci::image_config_json(config);
    auto config_digest = store.put_blob(config_json);
    if (!config_digest) return fail(config_digest.error());
    auto size = blob_size(store, *blob);
    if (!size) return fail(size.error());
    oci::Manifest m;
    m.media_type = std::string(oci::media_type::oci_manifest);
    m.config = {std::string(oci::media_type::oci_config),
                config_digest->str(),
                static_cast<int64_t>(config_json.size()),
                {},
                {},
                false,
                {}};
    m.layers.push_back(
        {layer_media_type(compression_of(fd->get())), blob->str(), *size, {}, {}, false, {}});
    auto mdigest = store.put_blob(oci::manifest_json(m));
    if (!mdigest) return fail(mdigest.error());
    std::vector<std::string> names;
    if (!stored_name.empty()) names.push_back(stored_name);
    return store.commit_image(*mdigest, names, {});
}

Result<std::vector<ImageRecord>> load_archive(Store& store, const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return fail_errno("load {}", path);
    auto files = S_ISDIR(st.st_mode) ? read_layout_dir(store, path) : read_archive(store, path);
    if (!files) return fail(files.error());
    if (files->small.count("manifest.json")) return load_docker_archive(store, *files, path);
    if (files->small.count("index.json")) return load_oci_layout(store, *files, path);
    return fail_invalid(
        "{}: neither a docker-archive (manifest.json) nor an OCI layout (index.json)", path);
}

Status save_archive(Store& store, const std::vector<std::string>& images, const std::string& path,
                    const std::string& format) {
    if (format != "docker-archive" && format != "oci-archive")
        return fail_invalid("unknown archive format {:?}: docker-archive or oci-archive", format);
    auto db = store.load_db();
    if (!db) return fail(db.error());
    struct Saved {
        ImageRecord rec;
        std::vector<std::string> names;  // only the names asked for, when asked by name
        oci::Manifest manifest;
        oci::ImageConfig config;
    };
    std::vector<Saved> saved;
    for (auto& what : images) {
        auto rec = store.find_image(*db, what);
        if (!rec) return fail(rec.error());
        Saved s{*rec, {}, {}, {}};
        auto ref = parse_reference(what);
        bool by_name =
            ref && std::find(rec->names.begin(), rec->names.end(), ref->str()) != rec->names.end();
        s.names = by_name ? std::vector<std::string>{ref->str()} : rec->names;
        auto m = store.manifest_of(*rec);
        if (!m) return fail(m.error());
        s.manifest = std::move(*m);
        auto c = store.config_of(*rec);
        if (!c) return fail(c.error());
        s.config = std::move(*c);
        saved.push_back(std::move(s));
    }
    std::string tmp = path + ".husk-tmp";
    auto cleanup = ScopeExit([&] { ::unlink(tmp.c_str()); });
    auto tar = TarWriter::create(tmp);
    if (!tar) return fail(tar.error());
    std::vector<std::string> temps;
    auto temps_cleanup = ScopeExit([&] {
        for (auto& t : temps) ::unlink(t.c_str());
    });
    if (format == "docker-archive") {
        Json manifest = Json::array();
        std::set<std::string> written;
        for (auto& s : saved) {
            auto cd = parse_digest(s.rec.id);
            if (!cd) return fail(cd.error());
            auto config_text = store.read_blob(*cd);
            if (!config_text) return fail(config_text.error());
            std::string config_name = cd->hex + ".json";
            if (written.insert(config_name).second) HUSK_TRY(tar->add(config_name, *config_text));
            Json layers = Json::array();
            for (size_t i = 0; i < s.manifest.layers.size(); ++i) {
                auto diff = parse_digest(s.config.diff_ids.at(i));
                if (!diff) return fail(diff.error());
                std::string name = diff->hex + ".tar";
                layers.push_back(name);
                if (!written.insert(name).second) continue;
                auto blob = parse_digest(s.manifest.layers[i].digest);
                if (!blob) return fail(blob.error());
                std::string temp;
                auto fd = uncompressed_layer(store, *blob, temp);
                if (!temp.empty()) temps.push_back(temp);
                if (!fd) return fail(fd.error());
                HUSK_TRY(tar->add_fd(name, fd->get()));
            }
            Json tags = Json::array();
            for (auto& n : s.names)
                tags.push_back(familiar_name(n.substr(0, n.rfind(':'))) + n.substr(n.rfind(':')));
            manifest.push_back(
                Json{{"Config", config_name}, {"RepoTags", tags}, {"Layers", layers}});
        }
        HUSK_TRY(tar->add("manifest.json", manifest.dump()));
    } else {
        HUSK_TRY(tar->add("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
        HUSK_TRY(tar->add_dir("blobs"));
        HUSK_TRY(tar->add_dir("blobs/sha256"));
        oci::Index index;
        index.media_type = std::string(oci::media_type::oci_index);
        std::set<std::string> written;
        auto add_blob = [&](const std::string& digest) -> Status {
            if (!written.insert(digest).second) return {};
            auto d = parse_digest(digest);
            if (!d) return fail(d.error());
            auto fd = store.open_blob(*d);
            if (!fd) return fail(fd.error());
            return tar->add_fd("blobs/" + d->algorithm + "/" + d->hex, fd->get());
        };
        for (auto& s : saved) {
            HUSK_TRY(add_blob(s.rec.manifest_digest));
            HUSK_TRY(add_blob(s.rec.id));
            for (auto& l : s.manifest.layers) HUSK_TRY(add_blob(l.digest));
            auto md = parse_digest(s.rec.manifest_digest);
            if (!md) return fail(md.error());
            auto msize = blob_size(store, *md);
            if (!msize) return fail(msize.error());
            oci::Descriptor d{
                s.rec.manifest_media_type, s.rec.manifest_digest, *msize, {}, {}, false, {}};
            if (s.names.empty()) {
                index.manifests.push_back(d);
            }
            for (auto& n : s.names) {
                d.annotations[std::string(ref_name_annotation)] = n;
                index.manifests.push_back(d);
            }
        }
        HUSK_TRY(tar->add("index.json", oci::index_json(index)));
    }
    HUSK_TRY(tar->close());
    if (::rename(tmp.c_str(), path.c_str()) != 0) return fail_errno("rename {} to {}", tmp, path);
    cleanup.dismiss();
    return {};
}

}  // namespace husk::image
