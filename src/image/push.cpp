#include <fcntl.h>
#include <sys/stat.h>

#include <curl/curl.h>

#include <unistd.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "common/unique_fd.hpp"
#include "image/registry.hpp"

namespace husk::image {
namespace {

// Streams [offset, offset + length) of a blob file as a request body.
struct Source {
    int fd = -1;
    int64_t offset = 0;
    int64_t left = 0;
    const std::function<void(int64_t)>* sent = nullptr;
};

size_t read_range(char* buf, size_t size, size_t n, void* user) {
    auto* s = static_cast<Source*>(user);
    size_t want = std::min<size_t>(size * n, static_cast<size_t>(s->left));
    if (want == 0) return 0;
    ssize_t got = ::pread(s->fd, buf, want, s->offset);
    if (got <= 0) return CURL_READFUNC_ABORT;
    s->offset += got;
    s->left -= got;
    return static_cast<size_t>(got);
}

int upload_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t now) {
    auto* s = static_cast<Source*>(user);
    if (s->sent != nullptr && *s->sent) (*s->sent)(static_cast<int64_t>(now));
    return 0;
}

size_t keep_header(char* data, size_t size, size_t n, void* user) {
    std::string line(data, size * n);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
        (*static_cast<std::map<std::string, std::string>*>(user))[name] = value;
    }
    return size * n;
}

size_t keep_body(char* data, size_t size, size_t n, void* user) {
    auto* body = static_cast<std::string*>(user);
    if (body->size() < 4096) body->append(data, std::min<size_t>(size * n, 4096));
    return size * n;
}

// One PUT or PATCH to an upload location with a byte range of the blob file as its body.
// `sent` hears how many bytes of this request went out so far.
Result<Response> send_range(RegistryClient& client, const std::string& auth,
                            const std::string& method, const std::string& url, int fd,
                            int64_t offset, int64_t length, std::vector<std::string> headers,
                            const std::function<void(int64_t)>& sent) {
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
    if (!curl) return fail_invalid("curl_easy_init failed");
    client.setup_handle(curl.get());
    Source source{fd, offset, length, &sent};
    Response response;
    curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_READFUNCTION, read_range);
    curl_easy_setopt(curl.get(), CURLOPT_READDATA, &source);
    curl_easy_setopt(curl.get(), CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(length));
    curl_easy_setopt(curl.get(), CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl.get(), CURLOPT_XFERINFOFUNCTION, upload_progress);
    curl_easy_setopt(curl.get(), CURLOPT_XFERINFODATA, &source);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &response.body);
    curl_easy_setopt(curl.get(), CURLOPT_HEADERFUNCTION, keep_header);
    curl_easy_setopt(curl.get(), CURLOPT_HEADERDATA, &response.headers);
    headers.push_back("Content-Type: application/octet-stream");
    headers.push_back("Expect:");
    if (!auth.empty()) headers.push_back(auth);
    curl_slist* list = nullptr;
    for (auto& h : headers) list = curl_slist_append(list, h.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, list);
    CURLcode rc = curl_easy_perform(curl.get());
    curl_slist_free_all(list);
    if (rc != CURLE_OK) return fail_invalid("{}: {}", method, curl_easy_strerror(rc));
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &response.status);
    return response;
}

std::string absolute(const RegistryClient& client, const std::string& location) {
    return location.starts_with("http://") || location.starts_with("https://")
               ? location
               : client.base_url() + location;
}

std::string with_digest(const std::string& url, const Digest& digest) {
    return url + (url.find('?') == std::string::npos ? "?" : "&") + "digest=" + digest.algorithm +
           "%3A" + digest.hex;
}

// "0-1234" -> 1235: the bytes an upload session holds (docker-registry says "0-0" for none).
int64_t held_bytes(const std::string& range) {
    auto dash = range.find('-');
    if (dash == std::string::npos) return 0;
    try {
        int64_t end = std::stoll(range.substr(dash + 1));
        return end > 0 ? end + 1 : 0;
    } catch (const std::exception&) {
        return 0;
    }
}

constexpr int max_chunk_retries = 3;

// Uploads a blob to an upload session: one PUT (monolithic), or PATCHes of `chunk` bytes
// each with their Content-Range, then a PUT with the digest and no body. A chunk whose
// transfer breaks is resumed where the session's status (GET) says it stands, or, when the
// registry dropped the session, from the start in a new one (`new_session`).
Status upload_blob(RegistryClient& client, const std::string& scope, std::string location,
                   const Store& store, const Digest& digest, int64_t chunk,
                   const std::function<void(int64_t)>& sent,
                   const std::function<Result<std::string>()>& new_session,
                   const std::function<void(const std::string&)>& note) {
    auto fd = store.open_blob(digest);
    if (!fd) return fail(fd.error());
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0) return fail_errno("stat blob {}", digest.str());
    const int64_t size = st.st_size;
    auto auth = client.authorization(scope);
    if (!auth) return fail(auth.error());
    if (chunk <= 0 || size <= chunk) {
        auto r = send_range(client, *auth, "PUT", with_digest(absolute(client, location), digest),
                            fd->get(), 0, size, {}, sent);
        if (!r) return fail(r.error().wrap("upload blob {}", digest.str()));
        if (r->status != 201)
            return fail_invalid("upload blob {}: HTTP {}: {}", digest.str(), r->status,
                                r->body.substr(0, 200));
        return {};
    }
    int retries = 0;
    for (int64_t offset = 0; offset < size;) {
        int64_t n = std::min(chunk, size - offset);
        auto r = send_range(client, *auth, "PATCH", absolute(client, location), fd->get(), offset,
                            n, {fmt::format("Content-Range: {}-{}", offset, offset + n - 1)},
                            [&](int64_t now) {
                                if (sent) sent(offset + now);
                            });
        if (!r || r->status >= 500) {
            std::string why = r ? fmt::format("HTTP {}", r->status) : r.error().what();
            if (++retries > max_chunk_retries)
                return fail_invalid("upload blob {}: chunk at byte {}: {} ({} attempts)",
                                    digest.str(), offset, why, retries);
            auto status = client.request("GET", absolute(client, location), scope);
            if (status && status->status == 204) {
                offset = held_bytes(status->headers["range"]);
                if (!status->headers["location"].empty()) location = status->headers["location"];
            } else {
                auto fresh = new_session();
                if (!fresh) return fail(fresh.error());
                location = *fresh;
                offset = 0;
            }
            note(fmt::format("Retrying blob {} at byte {} ({})", digest.hex.substr(0, 12), offset,
                             why));
            continue;
        }
        if (r->status != 202)
            return fail_invalid("upload blob {}: chunk at byte {}: HTTP {}: {}", digest.str(),
                                offset, r->status, r->body.substr(0, 200));
        // The registry says how much it holds: anything else than what was sent is a bug.
        std::string want = fmt::format("0-{}", offset + n - 1);
        if (r->headers["range"] != want)
            return fail_invalid("upload blob {}: the registry holds {:?} after a chunk, not {:?}",
                                digest.str(), r->headers["range"], want);
        if (!r->headers["location"].empty()) location = r->headers["location"];
        offset += n;
    }
    auto r = send_range(client, *auth, "PUT", with_digest(absolute(client, location), digest),
                        fd->get(), size, 0, {}, {});
    if (!r) return fail(r.error().wrap("upload blob {}: commit", digest.str()));
    if (r->status != 201)
        return fail_invalid("upload blob {}: commit: HTTP {}: {}", digest.str(), r->status,
                            r->body.substr(0, 200));
    return {};
}

}  // namespace

Result<Digest> push(Store& store, const std::string& image, const Reference& dest,
                    const TransferOptions& options) {
    auto say = [&](const std::string& line) {
        if (options.progress) options.progress(line);
    };
    // A blob's step: a progress-bar event when bars are on, else a line when it ends.
    auto blob_step = [&](const Digest& d, BlobProgress::State state, int64_t done, int64_t total,
                         const std::string& line) {
        if (options.blob_progress)
            options.blob_progress(BlobProgress{d.str(), done, total, state});
        else if (!line.empty())
            say("Copying blob " + d.hex.substr(0, 12) + " " + line);
    };
    if (dest.tag.empty()) return fail_invalid("push {}: the destination needs a tag", dest.str());
    auto db = store.load_db();
    if (!db) return fail(db.error());
    auto rec = store.find_image(*db, image);
    if (!rec) return fail(rec.error());
    auto manifest = store.manifest_of(*rec);
    if (!manifest) return fail(manifest.error());
    auto mdigest = parse_digest(rec->manifest_digest);
    if (!mdigest) return fail(mdigest.error());
    auto manifest_text = store.read_blob(*mdigest);
    if (!manifest_text) return fail(manifest_text.error());

    RegistryClient client(dest.registry, options.client);
    std::string scope = "repository:" + dest.repository + ":pull,push";
    // Repositories of the same registry that already hold this image: mount sources.
    std::vector<std::string> mount_from;
    for (auto& d : rec->repo_digests) {
        auto r = parse_reference(d);
        if (r && r->registry == dest.registry && r->repository != dest.repository &&
            std::find(mount_from.begin(), mount_from.end(), r->repository) == mount_from.end())
            mount_from.push_back(r->repository);
    }
    std::vector<oci::Descriptor> blobs = manifest->layers;
    blobs.push_back(manifest->config);
    say("Pushing " + dest.str());
    std::set<std::string> done;
    for (auto& b : blobs) {
        if (!done.insert(b.digest).second) continue;
        auto digest = parse_digest(b.digest);
        if (!digest) return fail(digest.error());
        auto head = client.request("HEAD", "/v2/" + dest.repository + "/blobs/" + b.digest, scope);
        if (!head) return fail(head.error());
        if (head->status == 200) {
            blob_step(*digest, BlobProgress::State::skipped, b.size, b.size,
                      "skipped: already exists");
            continue;
        }
        bool mounted = false;
        std::string location;
        for (auto& from : mount_from) {
            auto r = client.request(
                "POST",
                "/v2/" + dest.repository + "/blobs/uploads/?mount=" + b.digest + "&from=" + from,
                scope + " repository:" + from + ":pull", {"Content-Length: 0"});
            if (!r) return fail(r.error());
            if (r->status == 201) {
                mounted = true;
                break;
            }
            // 202: the registry could not mount and opened an upload session instead.
            if (r->status == 202) {
                location = r->headers["location"];
                break;
            }
        }
        if (mounted) {
            blob_step(*digest, BlobProgress::State::mounted, b.size, b.size,
                      "mounted from another repository");
            continue;
        }
        auto new_session = [&]() -> Result<std::string> {
            auto r = client.request("POST", "/v2/" + dest.repository + "/blobs/uploads/", scope,
                                    {"Content-Length: 0"});
            if (!r) return fail(r.error());
            if (r->status != 202)
                return fail_invalid("push {}: start upload: HTTP {}: {}", dest.str(), r->status,
                                    r->body.substr(0, 200));
            if (r->headers["location"].empty())
                return fail_invalid("push {}: the registry gave no upload location", dest.str());
            return r->headers["location"];
        };
        if (location.empty()) {
            auto fresh = new_session();
            if (!fresh) return fail(fresh.error());
            location = *fresh;
        }
        blob_step(*digest, BlobProgress::State::active, 0, b.size, "");
        std::function<void(int64_t)> sent;
        if (options.blob_progress)
            sent = [&](int64_t n) {
                options.blob_progress(
                    BlobProgress{digest->str(), n, b.size, BlobProgress::State::active});
            };
        HUSK_TRY_CTX(upload_blob(client, scope, location, store, *digest, options.chunk_size, sent,
                                 new_session, say),
                     "push {}", dest.str());
        blob_step(*digest, BlobProgress::State::done, b.size, b.size, "done");
    }
    auto r = client.request("PUT", "/v2/" + dest.repository + "/manifests/" + dest.tag, scope,
                            {"Content-Type: " + rec->manifest_media_type}, &*manifest_text);
    if (!r) return fail(r.error());
    if (r->status != 201 && r->status != 200)
        return fail_invalid("push {}: manifest: HTTP {}: {}", dest.str(), r->status,
                            r->body.substr(0, 300));
    say("Writing manifest to image destination");
    std::string repo_digest = dest.name() + "@" + mdigest->str();
    HUSK_TRY(store.update_db([&](Db& d) -> Status {
        auto it = d.images.find(rec->id);
        if (it != d.images.end() &&
            std::find(it->second.repo_digests.begin(), it->second.repo_digests.end(),
                      repo_digest) == it->second.repo_digests.end())
            it->second.repo_digests.push_back(repo_digest);
        return {};
    }));
    return *mdigest;
}

Status login(const std::string& registry, const Credentials& credentials,
             const ClientOptions& options) {
    ClientOptions with = options;
    with.credentials = credentials;
    RegistryClient client(registry, with);
    auto r = client.request("GET", "/v2/", "");
    if (!r) return fail(r.error().wrap("login {}", registry));
    if (r->status == 401)
        return fail_invalid("login {}: the registry refused the credentials", registry);
    if (r->status != 200)
        return fail_invalid("login {}: /v2/ answered HTTP {}", registry, r->status);
    return store_credentials(options.auth_file, registry, credentials);
}

}  // namespace husk::image
