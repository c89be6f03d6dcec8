#include "image/registry.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <future>
#include <list>
#include <map>
#include <set>

#include "common/files.hpp"
#include "common/log.hpp"
#include "common/scope_exit.hpp"
#include "image/archive.hpp"

namespace husk::image {
namespace {

constexpr size_t manifest_limit = 4 << 20;
constexpr int max_attempts = 4;

const std::string accept_manifests =
    fmt::format("Accept: {}, {}, {}, {}", oci::media_type::oci_manifest, oci::media_type::oci_index,
                oci::media_type::docker_manifest, oci::media_type::docker_list);

std::string short_hex(const std::string& digest) {
    auto colon = digest.find(':');
    return digest.substr(colon + 1, 12);
}

std::string human(int64_t bytes) {
    if (bytes >= 1000 * 1000) return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
    if (bytes >= 1000) return fmt::format("{:.1f} kB", static_cast<double>(bytes) / 1e3);
    return fmt::format("{} B", bytes);
}

struct Platform {
    std::string os = "linux";
    std::string architecture;
    std::string variant;
};

Result<Platform> parse_platform(const std::string& text) {
    Platform p;
    p.architecture = host_architecture();
    if (text.empty()) return p;
    auto first = text.find('/');
    if (first == std::string::npos)
        return fail_invalid("invalid platform {:?}: expected os/arch[/variant]", text);
    p.os = text.substr(0, first);
    std::string rest = text.substr(first + 1);
    auto second = rest.find('/');
    p.architecture = rest.substr(0, second);
    if (second != std::string::npos) p.variant = rest.substr(second + 1);
    if (p.os.empty() || p.architecture.empty()) return fail_invalid("invalid platform {:?}", text);
    return p;
}

struct Fetched {
    std::string body;
    Digest digest;
    std::string media_type;
};

Result<Fetched> fetch_manifest(RegistryClient& client, const std::string& repo,
                               const std::string& ref, const std::string& scope) {
    auto r = client.request("GET", "/v2/" + repo + "/manifests/" + ref, scope, {accept_manifests},
                            nullptr, manifest_limit);
    if (!r) return fail(r.error());
    if (r->status == 404)
        return fail(Error(
            ENOENT, fmt::format("{}/{}:{}: manifest not found", client.registry(), repo, ref)));
    if (r->status != 200)
        return fail_invalid("{}/{}: manifest {}: HTTP {}: {}", client.registry(), repo, ref,
                            r->status, r->body.substr(0, 200));
    Fetched f;
    f.body = std::move(r->body);
    auto expected = parse_digest(ref);
    f.digest = digest_of(expected ? expected->algorithm : "sha256", f.body);
    if (expected && f.digest != *expected)
        return fail_invalid("{}/{}: manifest digest mismatch: asked for {}, got {}",
                            client.registry(), repo, expected->str(), f.digest.str());
    auto type = oci::detect_manifest_type(f.body);
    if (!type) return fail(type.error().wrap("{}/{}@{}", client.registry(), repo, f.digest.str()));
    f.media_type = *type;
    return f;
}

// One blob download, resumable: a broken transfer continues with a Range request.
struct Transfer {
    oci::Descriptor desc;
    Digest digest;
    std::optional<BlobWriter> writer;
    CURL* easy = nullptr;
    curl_slist* headers = nullptr;
    int attempts = 0;
    bool too_big = false;
    bool restart = false;
    std::string error;
    Store* store = nullptr;
    std::string url;
    std::string auth;
    int64_t resume_from = 0;
    std::string challenge;  // WWW-Authenticate of a 401 (an expired token)
    const std::function<void(const BlobProgress&)>* report = nullptr;

    void tell(BlobProgress::State state) const {
        if (report != nullptr && *report)
            (*report)(BlobProgress{desc.digest, writer ? writer->written() : 0, desc.size, state});
    }
};

size_t transfer_write(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    long code = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 300) return size * n;  // an error body: discarded, the status is checked later
    if (t->resume_from > 0 && code == 200) {
        // The server ignored the Range: start the blob over.
        auto fresh = t->store->blob_writer(t->digest.algorithm);
        if (!fresh) {
            t->error = fresh.error().what();
            return 0;
        }
        t->writer.emplace(std::move(*fresh));
        t->resume_from = 0;
    }
    if (t->writer->written() + static_cast<int64_t>(size * n) > t->desc.size) {
        t->too_big = true;
        return 0;
    }
    auto w = t->writer->write(data, size * n);
    if (!w) {
        t->error = w.error().what();
        return 0;
    }
    t->tell(BlobProgress::State::active);
    return size * n;
}

size_t transfer_header(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    std::string_view line(data, size * n);
    constexpr std::string_view name = "www-authenticate:";
    if (line.size() > name.size() &&
        std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
            return a == std::tolower(static_cast<unsigned char>(b));
        })) {
        std::string value(line.substr(name.size()));
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
        t->challenge = value;
    }
    return size * n;
}

void start_transfer(RegistryClient& client, Transfer& t, CURLM* multi) {
    t.easy = curl_easy_init();
    client.setup_handle(t.easy);
    curl_easy_setopt(t.easy, CURLOPT_URL, t.url.c_str());
    curl_easy_setopt(t.easy, CURLOPT_WRITEFUNCTION, transfer_write);
    curl_easy_setopt(t.easy, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(t.easy, CURLOPT_PRIVATE, &t);
    curl_easy_setopt(t.easy, CURLOPT_HEADERFUNCTION, transfer_header);
    curl_easy_setopt(t.easy, CURLOPT_HEADERDATA, &t);
    t.challenge.clear();
    if (t.headers != nullptr) curl_slist_free_all(t.headers);
    t.headers = nullptr;
    if (!t.auth.empty()) t.headers = curl_slist_append(t.headers, t.auth.c_str());
    t.resume_from = t.writer->written();
    if (t.resume_from > 0)
        t.headers =
            curl_slist_append(t.headers, fmt::format("Range: bytes={}-", t.resume_from).c_str());
    curl_easy_setopt(t.easy, CURLOPT_HTTPHEADER, t.headers);
    curl_multi_add_handle(multi, t.easy);
    t.tell(t.attempts > 0 ? BlobProgress::State::retrying : BlobProgress::State::active);
    ++t.attempts;
}

}  // namespace

Result<ImageRecord> pull(Store& store, const Reference& ref, const TransferOptions& options) {
    auto say = [&](const std::string& line) {
        if (options.progress) options.progress(line);
    };
    auto platform = parse_platform(options.platform);
    if (!platform) return fail(platform.error());
    RegistryClient client(ref.registry, options.client);
    std::string scope = "repository:" + ref.repository + ":pull";
    say("Trying to pull " + ref.str() + "...");
    auto top = fetch_manifest(client, ref.repository, ref.manifest_ref(), scope);
    if (!top) return fail(top.error());
    Fetched chosen = *top;
    std::optional<Fetched> index_doc;
    if (oci::is_index_media_type(top->media_type)) {
        auto index = oci::parse_index(top->body);
        if (!index) return fail(index.error().wrap("{}", ref.str()));
        const oci::Descriptor* pick = nullptr;
        for (auto& m : index->manifests) {
            if (!m.has_platform || m.platform.os != platform->os ||
                m.platform.architecture != platform->architecture)
                continue;
            if (!platform->variant.empty() && m.platform.variant != platform->variant) continue;
            pick = &m;
            break;
        }
        if (pick == nullptr)
            return fail_invalid("{}: no manifest for {}/{}{} in the index", ref.str(), platform->os,
                                platform->architecture,
                                platform->variant.empty() ? "" : "/" + platform->variant);
        auto m = fetch_manifest(client, ref.repository, pick->digest, scope);
        if (!m) return fail(m.error());
        index_doc = *top;
        chosen = *m;
    }
    if (!oci::is_manifest_media_type(chosen.media_type))
        return fail_invalid("{}: unsupported manifest type {}", ref.str(), chosen.media_type);
    auto manifest = oci::parse_manifest(chosen.body);
    if (!manifest) return fail(manifest.error().wrap("{}", ref.str()));
    for (auto* d : [&] {
             std::vector<const oci::Descriptor*> all{&manifest->config};
             for (auto& l : manifest->layers) all.push_back(&l);
             return all;
         }()) {
        auto dg = parse_digest(d->digest);
        if (!dg) return fail(dg.error().wrap("{}: manifest", ref.str()));
        if (d->size > max_blob_size)
            return fail_invalid("{}: blob {} declares {} bytes, more than the limit of {}",
                                ref.str(), d->digest, d->size, max_blob_size);
    }

    // The config first (small): its diffIDs are what the layers are checked against.
    auto config_digest = *parse_digest(manifest->config.digest);
    std::string config_text;
    if (store.has_blob(config_digest)) {
        auto t = store.read_blob(config_digest);
        if (!t) return fail(t.error());
        config_text = *t;
    } else {
        auto r = client.request("GET", "/v2/" + ref.repository + "/blobs/" + config_digest.str(),
                                scope, {}, nullptr, manifest_limit);
        if (!r) return fail(r.error());
        if (r->status != 200)
            return fail_invalid("{}: config {}: HTTP {}", ref.str(), config_digest.str(),
                                r->status);
        auto put = store.put_blob(r->body, config_digest);
        if (!put) return fail(put.error().wrap("{}: config", ref.str()));
        config_text = std::move(r->body);
        say("Copying config " + short_hex(config_digest.str()) + " done");
    }
    auto config = oci::parse_image_config(config_text);
    if (!config) return fail(config.error().wrap("{}: config", ref.str()));
    if (config->diff_ids.size() != manifest->layers.size())
        return fail_invalid("{}: the manifest has {} layers, the config {} diff_ids", ref.str(),
                            manifest->layers.size(), config->diff_ids.size());
    auto chains = chain_ids(config->diff_ids);

    // Layers: downloaded in parallel; each is unpacked (in a thread) as soon as it is in.
    auto auth = client.authorization(scope);
    if (!auth) return fail(auth.error());
    std::list<Transfer> transfers;
    std::vector<std::pair<size_t, Transfer*>> queue;
    std::map<std::string, std::future<Result<std::string>>> unpacks;  // chain -> temp dir
    std::map<std::string, std::string> prepared;
    auto cleanup = ScopeExit([&] {
        for (auto& [c, f] : unpacks)
            if (f.valid()) {
                auto r = f.get();
                if (r) (void)remove_tree(*r);
            }
        for (auto& [c, dir] : prepared) (void)remove_tree(dir);
    });
    auto start_unpack = [&](size_t i, const Digest& blob) {
        if (path_exists(store.layer_path(chains[i])) || unpacks.count(chains[i])) return;
        std::string diff = config->diff_ids[i];
        unpacks[chains[i]] = std::async(
            std::launch::async, [&store, blob, diff] { return store.unpack_to_temp(blob, diff); });
    };
    std::set<std::string> seen;
    for (size_t i = 0; i < manifest->layers.size(); ++i) {
        auto& d = manifest->layers[i];
        auto digest = *parse_digest(d.digest);
        if (store.has_blob(digest)) {
            if (options.blob_progress)
                options.blob_progress(
                    BlobProgress{d.digest, d.size, d.size, BlobProgress::State::skipped});
            start_unpack(i, digest);
            continue;
        }
        if (!seen.insert(d.digest).second) continue;
        Transfer& t = transfers.emplace_back();
        t.desc = d;
        t.digest = digest;
        t.store = &store;
        t.report = &options.blob_progress;
        t.auth = *auth;
        t.url = client.base_url() + "/v2/" + ref.repository + "/blobs/" + d.digest;
        auto w = store.blob_writer(digest.algorithm);
        if (!w) return fail(w.error());
        t.writer.emplace(std::move(*w));
        queue.emplace_back(i, &t);
    }
    std::unique_ptr<CURLM, decltype(&curl_multi_cleanup)> multi(curl_multi_init(),
                                                                curl_multi_cleanup);
    curl_multi_setopt(multi.get(), CURLMOPT_MAX_TOTAL_CONNECTIONS,
                      static_cast<long>(options.parallel));
    auto free_easy = ScopeExit([&] {
        for (auto& t : transfers) {
            if (t.easy != nullptr) {
                curl_multi_remove_handle(multi.get(), t.easy);
                curl_easy_cleanup(t.easy);
            }
            if (t.headers != nullptr) curl_slist_free_all(t.headers);
        }
    });
    std::map<Transfer*, size_t> layer_index;
    size_t next = 0, active = 0;
    for (auto& [i, t] : queue) layer_index[t] = i;
    auto fill = [&] {
        while (active < static_cast<size_t>(options.parallel) && next < queue.size()) {
            start_transfer(client, *queue[next].second, multi.get());
            ++next;
            ++active;
        }
    };
    fill();
    while (active > 0) {
        int running = 0;
        curl_multi_perform(multi.get(), &running);
        int left = 0;
        while (CURLMsg* msg = curl_multi_info_read(multi.get(), &left)) {
            if (msg->msg != CURLMSG_DONE) continue;
            Transfer* t = nullptr;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
            long code = 0;
            curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
            CURLcode result = msg->data.result;
            curl_multi_remove_handle(multi.get(), t->easy);
            curl_easy_cleanup(t->easy);
            t->easy = nullptr;
            --active;
            std::string what = fmt::format("{}: blob {}", ref.str(), t->desc.digest);
            if (t->too_big)
                return fail_invalid("{}: larger than its declared size {}", what, t->desc.size);
            if (!t->error.empty()) return fail_invalid("{}: {}", what, t->error);
            if (code == 401 && t->attempts < max_attempts) {
                // The token expired during a long pull: a new one for every transfer.
                auto fresh = client.reauthorize(scope, t->challenge);
                if (!fresh) return fail(fresh.error().wrap("{}", what));
                for (auto& other : transfers) other.auth = *fresh;
                say(fmt::format("Renewed the registry token for blob {}",
                                short_hex(t->desc.digest)));
                start_transfer(client, *t, multi.get());
                ++active;
                continue;
            }
            if (code == 404)
                return fail(Error(ENOENT, what + ": not found in the registry (HTTP 404)"));
            if (code >= 400 && code != 416) return fail_invalid("{}: HTTP {}", what, code);
            if (result != CURLE_OK || t->writer->written() < t->desc.size) {
                if (t->attempts >= max_attempts)
                    return fail_invalid(
                        "{}: {} after {} attempts ({} of {} bytes)", what,
                        result != CURLE_OK ? curl_easy_strerror(result) : "transfer ended early",
                        t->attempts, t->writer->written(), t->desc.size);
                if (!options.blob_progress)
                    say(fmt::format("Retrying blob {} at byte {}", short_hex(t->desc.digest),
                                    t->writer->written()));
                start_transfer(client, *t, multi.get());
                ++active;
                continue;
            }
            log::debug("downloaded blob {}", t->desc.digest);
            auto committed = t->writer->commit(t->digest);
            log::debug("stored blob {}", t->desc.digest);
            if (!committed) return fail(committed.error().wrap("{}", what));
            if (options.blob_progress)
                t->tell(BlobProgress::State::done);
            else
                say(fmt::format("Copying blob {} done ({})", short_hex(t->desc.digest),
                                human(t->desc.size)));
            size_t i = layer_index[t];
            for (size_t j = i; j < manifest->layers.size(); ++j)
                if (manifest->layers[j].digest == t->desc.digest) start_unpack(j, t->digest);
        }
        fill();
        if (active > 0) curl_multi_poll(multi.get(), nullptr, 0, 1000, nullptr);
    }
    for (auto& [chain, f] : unpacks) {
        auto dir = f.get();
        if (!dir) return fail(dir.error().wrap("{}", ref.str()));
        prepared[chain] = *dir;
    }
    unpacks.clear();
    auto mdigest = store.put_blob(chosen.body, chosen.digest);
    if (!mdigest) return fail(mdigest.error());
    say("Writing manifest to image destination");
    std::vector<std::string> names;
    if (!ref.tag.empty()) names.push_back(ref.str());
    Digest repo_digest = index_doc ? index_doc->digest : chosen.digest;
    auto rec =
        store.commit_image(*mdigest, names, {ref.name() + "@" + repo_digest.str()}, prepared);
    prepared.clear();  // renamed into layers/ (or removed) by commit_image
    return rec;
}

}  // namespace husk::image
