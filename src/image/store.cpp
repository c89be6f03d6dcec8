#include "image/store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <future>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "common/files.hpp"
#include "common/log.hpp"
#include "common/scope_exit.hpp"
#include "image/reference.hpp"
#include "image/unpack.hpp"

namespace husk::image {
namespace {

using Json = nlohmann::json;

Status write_all(int fd, const void* data, size_t size, const std::string& path) {
    auto* p = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::write(fd, p, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno("write {}", path);
        }
        p += n;
        size -= static_cast<size_t>(n);
    }
    return {};
}

Status fsync_dir(const std::string& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return fail_errno("open {}", dir);
    if (::fsync(fd.get()) != 0) return fail_errno("fsync {}", dir);
    return {};
}

std::vector<std::string> list_dir(const std::string& dir) {
    std::vector<std::string> out;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return out;
    while (auto* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(d);
    return out;
}

// Holds an flock for its lifetime.
class FileLock {
public:
    static Result<FileLock> take(const std::string& path, int how) {
        FileLock lock;
        lock.fd_ = UniqueFd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
        if (!lock.fd_) return fail_errno("open {}", path);
        while (::flock(lock.fd_.get(), how) != 0) {
            if (errno != EINTR) return fail_errno("lock {}", path);
        }
        return lock;
    }

private:
    UniqueFd fd_;
};

Json record_json(const ImageRecord& r) {
    return Json{{"manifest", r.manifest_digest},
                {"manifestMediaType", r.manifest_media_type},
                {"names", r.names},
                {"repoDigests", r.repo_digests},
                {"stored", r.stored}};
}

Result<Db> parse_db(const std::string& text, const std::string& path) {
    Db db;
    Json doc = Json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return fail_invalid("{}: not a JSON object", path);
    try {
        // Held in locals: items() of a temporary would dangle.
        Json images = doc.value("images", Json::object());
        Json containers = doc.value("containers", Json::object());
        for (auto& [id, r] : images.items()) {
            ImageRecord rec;
            rec.id = id;
            rec.manifest_digest = r.at("manifest").get<std::string>();
            rec.manifest_media_type = r.value("manifestMediaType", "");
            rec.names = r.value("names", std::vector<std::string>{});
            rec.repo_digests = r.value("repoDigests", std::vector<std::string>{});
            rec.stored = r.value("stored", "");
            db.images[id] = std::move(rec);
        }
        for (auto& [id, c] : containers.items())
            db.containers[id] = ContainerUse{c.at("image").get<std::string>(), c.value("dir", ""),
                                             c.value("driver", "")};
    } catch (const Json::exception& e) {
        return fail_invalid("{}: {}", path, e.what());
    }
    return db;
}

std::string db_json(const Db& db) {
    Json images = Json::object();
    for (auto& [id, r] : db.images) images[id] = record_json(r);
    Json containers = Json::object();
    for (auto& [id, c] : db.containers)
        containers[id] = Json{{"image", c.image_id}, {"dir", c.dir}, {"driver", c.driver}};
    return Json{{"images", images}, {"containers", containers}}.dump(2) + "\n";
}

bool pid_alive(pid_t pid) {
    return ::kill(pid, 0) == 0 || errno == EPERM;
}

}  // namespace

std::string now_rfc3339() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::vector<std::string> chain_ids(const std::vector<std::string>& diff_ids) {
    std::vector<std::string> out;
    for (auto& d : diff_ids) {
        if (out.empty())
            out.push_back(d);
        else
            out.push_back(sha256_of(out.back() + " " + d).str());
    }
    return out;
}

BlobWriter::~BlobWriter() {
    if (fd_) ::unlink(temp_path_.c_str());
}

Status BlobWriter::write(const void* data, size_t size) {
    written_ += static_cast<int64_t>(size);
    if (written_ > max_blob_size)
        return fail_invalid("blob larger than the limit of {} bytes", max_blob_size);
    hasher_->update(data, size);
    return write_all(fd_.get(), data, size, temp_path_);
}

Result<Digest> BlobWriter::commit(const std::optional<Digest>& expected) {
    Digest got = hasher_->finish();
    if (expected && got != *expected)
        return fail_invalid("digest mismatch: expected {}, got {}", expected->str(), got.str());
    if (::fsync(fd_.get()) != 0) return fail_errno("fsync {}", temp_path_);
    std::string dir = blobs_dir_ + "/" + got.algorithm;
    std::string final_path = dir + "/" + got.hex;
    if (::rename(temp_path_.c_str(), final_path.c_str()) != 0)
        return fail_errno("rename {} to {}", temp_path_, final_path);
    fd_.reset();
    HUSK_TRY(fsync_dir(dir));
    return got;
}

Result<Store> Store::open(const std::string& root) {
    if (root.empty() || root.front() != '/')
        return fail_invalid("storage root {:?}: not an absolute path", root);
    Store store;
    store.root_ = root;
    for (const char* sub : {"", "/blobs/sha256", "/blobs/sha512", "/layers", "/tmp"})
        HUSK_TRY(make_dirs(root + sub, 0700));
    store.gc_lock_ =
        UniqueFd(::open((root + "/gc.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!store.gc_lock_) return fail_errno("open {}/gc.lock", root);
    while (::flock(store.gc_lock_.get(), LOCK_SH) != 0)
        if (errno != EINTR) return fail_errno("lock {}/gc.lock", root);
    // What a killed command left behind: its pid is gone.
    for (auto& name : list_dir(root + "/tmp")) {
        pid_t pid = static_cast<pid_t>(std::atol(name.c_str()));
        if (pid > 0 && pid_alive(pid)) continue;
        auto removed = remove_tree(root + "/tmp/" + name);
        if (!removed) log::warn("clean {}: {}", root + "/tmp/" + name, removed.error().what());
    }
    return store;
}

std::string Store::blob_path(const Digest& digest) const {
    return root_ + "/blobs/" + digest.algorithm + "/" + digest.hex;
}

bool Store::has_blob(const Digest& digest) const {
    return path_exists(blob_path(digest));
}

Result<std::string> Store::read_blob(const Digest& digest) const {
    auto content = read_file(blob_path(digest));
    if (!content) return fail(content.error().wrap("blob {}", digest.str()));
    return content;
}

Result<UniqueFd> Store::open_blob(const Digest& digest) const {
    UniqueFd fd(::open(blob_path(digest).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail_errno("open blob {}", digest.str());
    return fd;
}

std::string Store::temp_path(const std::string& what) const {
    static std::atomic<unsigned> counter{0};
    static const unsigned salt = std::random_device{}();
    return fmt::format("{}/tmp/{}.{:x}.{}.{}", root_, ::getpid(), salt, counter++, what);
}

Result<BlobWriter> Store::blob_writer(const std::string& algorithm) const {
    BlobWriter w;
    w.blobs_dir_ = root_ + "/blobs";
    w.temp_path_ = temp_path("blob");
    w.algorithm_ = algorithm;
    w.hasher_.emplace(algorithm);
    w.fd_ = UniqueFd(::open(w.temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!w.fd_) return fail_errno("create {}", w.temp_path_);
    return w;
}

Result<Digest> Store::put_blob(std::string_view data, const std::optional<Digest>& expected) {
    auto w = blob_writer(expected ? expected->algorithm : "sha256");
    if (!w) return fail(w.error());
    HUSK_TRY(w->write(data.data(), data.size()));
    return w->commit(expected);
}

Result<Db> Store::load_db() const {
    std::string path = root_ + "/images.json";
    if (!path_exists(path)) return Db{};
    auto text = read_file(path);
    if (!text) return fail(text.error());
    return parse_db(*text, path);
}

Status Store::update_db(const std::function<Status(Db&)>& change, Durability durability) {
    auto lock = FileLock::take(root_ + "/image.lock", LOCK_EX);
    if (!lock) return fail(lock.error());
    auto db = load_db();
    if (!db) return fail(db.error());
    HUSK_TRY(change(*db));
    return write_file_atomic(root_ + "/images.json", db_json(*db), 0600, durability);
}

std::string Store::layer_path(const std::string& chain_id) const {
    auto colon = chain_id.find(':');
    return root_ + "/layers/" +
           (colon == std::string::npos ? chain_id : chain_id.substr(colon + 1));
}

Result<oci::Manifest> Store::manifest_of(const ImageRecord& image) const {
    auto d = parse_digest(image.manifest_digest);
    if (!d) return fail(d.error());
    auto text = read_blob(*d);
    if (!text) return fail(text.error());
    auto m = oci::parse_manifest(*text);
    if (!m) return fail(m.error().wrap("image {}", image.id));
    return m;
}

Result<oci::ImageConfig> Store::config_of(const ImageRecord& image) const {
    auto d = parse_digest(image.id);
    if (!d) return fail(d.error());
    auto text = read_blob(*d);
    if (!text) return fail(text.error());
    auto c = oci::parse_image_config(*text);
    if (!c) return fail(c.error().wrap("image {}", image.id));
    return c;
}

Result<std::string> Store::unpack_to_temp(const Digest& blob, const std::string& diff_id) const {
    auto fd = open_blob(blob);
    if (!fd) return fail(fd.error());
    std::string tmp = temp_path("layer");
    if (::mkdir(tmp.c_str(), 0755) != 0) return fail_errno("mkdir {}", tmp);
    auto cleanup = ScopeExit([&] { (void)remove_tree(tmp); });
    log::debug("unpack layer {}", blob.str());
    auto unpacked = unpack_layer(fd->get(), tmp);
    if (!unpacked) return fail(unpacked.error().wrap("unpack layer {}", blob.str()));
    log::debug("unpacked layer {}: {} bytes", blob.str(), unpacked->size);
    if (unpacked->diff_id.str() != diff_id)
        return fail_invalid("layer {}: diffID mismatch: the config says {}, the content is {}",
                            blob.str(), diff_id, unpacked->diff_id.str());
    cleanup.dismiss();
    return tmp;
}

Result<ImageRecord> Store::commit_image(const Digest& manifest_digest,
                                        const std::vector<std::string>& names,
                                        const std::vector<std::string>& repo_digests,
                                        const std::map<std::string, std::string>& prepared) {
    std::vector<std::pair<std::string, std::string>> renames;  // temp dir -> layer dir
    auto cleanup = ScopeExit([&] {
        for (auto& [tmp, dst] : renames) (void)remove_tree(tmp);
    });
    for (auto& [chain, tmp] : prepared) renames.emplace_back(tmp, layer_path(chain));
    auto text = read_blob(manifest_digest);
    if (!text) return fail(text.error());
    auto manifest = oci::parse_manifest(*text);
    if (!manifest) return fail(manifest.error().wrap("manifest {}", manifest_digest.str()));
    auto config_digest = parse_digest(manifest->config.digest);
    if (!config_digest) return fail(config_digest.error().wrap("manifest config"));
    auto config_text = read_blob(*config_digest);
    if (!config_text) return fail(config_text.error());
    auto config = oci::parse_image_config(*config_text);
    if (!config) return fail(config.error().wrap("config {}", config_digest->str()));
    if (config->diff_ids.size() != manifest->layers.size())
        return fail_invalid("image {}: the manifest has {} layers, the config {} diff_ids",
                            config_digest->str(), manifest->layers.size(), config->diff_ids.size());
    auto chains = chain_ids(config->diff_ids);
    // Missing layers are unpacked side by side: gzip is CPU-bound, the disk rarely is.
    std::vector<std::future<Result<std::string>>> jobs;
    std::vector<std::string> job_chains;
    for (size_t i = 0; i < manifest->layers.size(); ++i) {
        std::string dest = layer_path(chains[i]);
        if (path_exists(dest) || prepared.count(chains[i]) ||
            std::find(job_chains.begin(), job_chains.end(), chains[i]) != job_chains.end())
            continue;
        auto blob = parse_digest(manifest->layers[i].digest);
        if (!blob) return fail(blob.error().wrap("layer {}", i));
        if (!has_blob(*blob))
            return fail(Error(ENOENT, fmt::format("image {}: layer blob {} is missing",
                                                  config_digest->str(), blob->str())));
        std::string diff = config->diff_ids[i];
        job_chains.push_back(chains[i]);
        jobs.push_back(std::async(std::launch::async,
                                  [this, b = *blob, diff] { return unpack_to_temp(b, diff); }));
    }
    std::optional<Error> first_error;
    for (size_t j = 0; j < jobs.size(); ++j) {
        auto dir = jobs[j].get();
        if (dir)
            renames.emplace_back(*dir, layer_path(job_chains[j]));
        else if (!first_error)
            first_error = dir.error();
    }
    if (first_error) return fail(*first_error);
    if (!renames.empty()) {
        // One syncfs makes every unpacked file durable before any layer becomes visible.
        UniqueFd rootfd(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        log::debug("syncfs {}", root_);
        if (rootfd) ::syncfs(rootfd.get());
        log::debug("syncfs done");
        for (auto& [tmp, dst] : renames) {
            if (::rename(tmp.c_str(), dst.c_str()) != 0 && errno != EEXIST && errno != ENOTEMPTY)
                return fail_errno("rename {} to {}", tmp, dst);
        }
        HUSK_TRY(fsync_dir(root_ + "/layers"));
    }
    ImageRecord record;
    HUSK_TRY(update_db([&](Db& db) -> Status {
        auto& rec = db.images[config_digest->str()];
        rec.id = config_digest->str();
        rec.manifest_digest = manifest_digest.str();
        rec.manifest_media_type = manifest->media_type;
        if (rec.stored.empty()) rec.stored = now_rfc3339();
        for (auto& [id, other] : db.images) {
            if (id == rec.id) continue;
            std::erase_if(other.names, [&](const std::string& n) {
                return std::find(names.begin(), names.end(), n) != names.end();
            });
        }
        for (auto& n : names)
            if (std::find(rec.names.begin(), rec.names.end(), n) == rec.names.end())
                rec.names.push_back(n);
        for (auto& n : repo_digests)
            if (std::find(rec.repo_digests.begin(), rec.repo_digests.end(), n) ==
                rec.repo_digests.end())
                rec.repo_digests.push_back(n);
        record = rec;
        return {};
    }));
    return record;
}

Result<ImageRecord> Store::find_image(const Db& db, const std::string& what) const {
    if (what.empty()) return fail_invalid("empty image name");
    std::string id = what.starts_with("sha256:") ? what : "sha256:" + what;
    if (auto it = db.images.find(id); it != db.images.end()) return it->second;
    auto ref = parse_reference(what);
    if (ref) {
        for (auto& [i, rec] : db.images) {
            if (!ref->tag.empty()) {
                for (auto& n : rec.names)
                    if (n == ref->str()) return rec;
            } else {
                for (auto& d : rec.repo_digests)
                    if (d == ref->str()) return rec;
            }
        }
    }
    // A unique id prefix, as docker accepts.
    bool hexish =
        what.size() >= 3 && what.find_first_not_of("0123456789abcdef") == std::string::npos;
    if (hexish) {
        const ImageRecord* found = nullptr;
        for (auto& [i, rec] : db.images) {
            if (i.compare(7, what.size(), what) == 0) {
                if (found != nullptr) return fail_invalid("image id prefix {} is ambiguous", what);
                found = &rec;
            }
        }
        if (found != nullptr) return *found;
    }
    return fail(Error(ENOENT, fmt::format("image {} not found", what)));
}

Result<int64_t> Store::collect_garbage() {
    int64_t freed = 0;
    if (::flock(gc_lock_.get(), LOCK_EX | LOCK_NB) != 0) {
        log::debug("garbage collection skipped: another husk process uses {}", root_);
        (void)::flock(gc_lock_.get(), LOCK_SH);
        return 0;
    }
    auto back_to_shared = ScopeExit([&] { (void)::flock(gc_lock_.get(), LOCK_SH); });
    auto lock = FileLock::take(root_ + "/image.lock", LOCK_EX);
    if (!lock) return fail(lock.error());
    auto db = load_db();
    if (!db) return fail(db.error());
    std::set<std::string> blobs, layers;
    for (auto& [id, rec] : db->images) {
        blobs.insert(rec.manifest_digest);
        blobs.insert(rec.id);
        auto m = manifest_of(rec);
        if (!m) return fail(m.error().wrap("garbage collection"));
        for (auto& l : m->layers) blobs.insert(l.digest);
        auto c = config_of(rec);
        if (!c) return fail(c.error().wrap("garbage collection"));
        for (auto& ch : chain_ids(c->diff_ids)) layers.insert(ch.substr(ch.find(':') + 1));
    }
    for (const char* algo : {"sha256", "sha512"}) {
        std::string dir = root_ + "/blobs/" + algo;
        for (auto& hex : list_dir(dir)) {
            if (blobs.count(std::string(algo) + ":" + hex)) continue;
            struct stat st {};
            if (::stat((dir + "/" + hex).c_str(), &st) == 0) freed += st.st_size;
            if (::unlink((dir + "/" + hex).c_str()) != 0 && errno != ENOENT)
                return fail_errno("remove {}", dir + "/" + hex);
        }
    }
    for (auto& hex : list_dir(root_ + "/layers")) {
        if (layers.count(hex)) continue;
        // Renamed into tmp/ first: a crash mid-removal leaves nothing half-visible.
        std::string doomed = temp_path("gc");
        if (::rename((root_ + "/layers/" + hex).c_str(), doomed.c_str()) != 0)
            return fail_errno("remove layer {}", hex);
        HUSK_TRY(remove_tree(doomed));
    }
    return freed;
}

Result<std::vector<std::string>> Store::check() {
    std::vector<std::string> problems;
    auto lock = FileLock::take(root_ + "/image.lock", LOCK_SH);
    if (!lock) return fail(lock.error());
    for (const char* algo : {"sha256", "sha512"}) {
        std::string dir = root_ + "/blobs/" + algo;
        for (auto& hex : list_dir(dir)) {
            auto expected = parse_digest(std::string(algo) + ":" + hex);
            if (!expected) {
                problems.push_back(fmt::format("{}/{}: not a digest name", dir, hex));
                continue;
            }
            UniqueFd fd(::open((dir + "/" + hex).c_str(), O_RDONLY | O_CLOEXEC));
            if (!fd) {
                problems.push_back(Error::from_errno("open {}/{}", dir, hex).what());
                continue;
            }
            Hasher h(algo);
            std::vector<char> buf(1 << 20);
            ssize_t n;
            while ((n = ::read(fd.get(), buf.data(), buf.size())) > 0) h.update(buf.data(), n);
            if (h.finish() != *expected)
                problems.push_back(fmt::format("blob {}: content does not match", expected->str()));
        }
    }
    auto db = load_db();
    if (!db) return fail(db.error());
    for (auto& [id, rec] : db->images) {
        auto m = manifest_of(rec);
        if (!m) {
            problems.push_back(m.error().what());
            continue;
        }
        for (auto& l : m->layers) {
            auto d = parse_digest(l.digest);
            if (!d || !has_blob(*d))
                problems.push_back(fmt::format("image {}: layer blob {} missing", id, l.digest));
        }
        auto c = config_of(rec);
        if (!c) {
            problems.push_back(c.error().what());
            continue;
        }
        for (auto& ch : chain_ids(c->diff_ids))
            if (!path_exists(layer_path(ch)))
                problems.push_back(fmt::format("image {}: unpacked layer {} missing", id, ch));
    }
    for (auto& name : list_dir(root_ + "/tmp")) {
        pid_t pid = static_cast<pid_t>(std::atol(name.c_str()));
        if (pid <= 0 || !pid_alive(pid))
            problems.push_back(fmt::format("tmp/{}: left by a dead process", name));
    }
    return problems;
}

}  // namespace husk::image
