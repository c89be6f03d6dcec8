#include <fcntl.h>
#include <sys/stat.h>

#include <curl/curl.h>

#include <algorithm>
#include <memory>

#include "common/unique_fd.hpp"
#include "image/registry.hpp"

namespace husk::image {
namespace {

size_t read_fd(char* buf, size_t size, size_t n, void* user) {
    ssize_t got = ::read(*static_cast<int*>(user), buf, size * n);
    return got < 0 ? CURL_READFUNC_ABORT : static_cast<size_t>(got);
}

size_t discard(char*, size_t size, size_t n, void*) {
    return size * n;
}

// PUT of a whole blob to an upload location (monolithic upload), streamed from the store.
Status upload_blob(RegistryClient& client, const std::string& auth, const std::string& location,
                   const Store& store, const Digest& digest) {
    auto fd = store.open_blob(digest);
    if (!fd) return fail(fd.error());
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0) return fail_errno("stat blob {}", digest.str());
    std::string url = location.starts_with("http") ? location : client.base_url() + location;
    url += (url.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") +
           digest.algorithm + "%3A" + digest.hex;
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
    client.setup_handle(curl.get());
    curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_UPLOAD, 1L);
    int raw = fd->get();
    curl_easy_setopt(curl.get(), CURLOPT_READFUNCTION, read_fd);
    curl_easy_setopt(curl.get(), CURLOPT_READDATA, &raw);
    curl_easy_setopt(curl.get(), CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(st.st_size));
    curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, discard);
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/octet-stream");
    headers = curl_slist_append(headers, "Expect:");
    if (!auth.empty()) headers = curl_slist_append(headers, auth.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers);
    CURLcode rc = curl_easy_perform(curl.get());
    curl_slist_free_all(headers);
    if (rc != CURLE_OK)
        return fail_invalid("upload blob {}: {}", digest.str(), curl_easy_strerror(rc));
    long code = 0;
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &code);
    if (code != 201) return fail_invalid("upload blob {}: HTTP {}", digest.str(), code);
    return {};
}

}  // namespace

Status push(Store& store, const std::string& image, const Reference& dest,
            const TransferOptions& options) {
    auto say = [&](const std::string& line) {
        if (options.progress) options.progress(line);
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
        if (r && r->registry == dest.registry && r->repository != dest.repository)
            mount_from.push_back(r->repository);
    }
    std::vector<std::string> blobs;
    for (auto& l : manifest->layers) blobs.push_back(l.digest);
    blobs.push_back(manifest->config.digest);
    say("Pushing " + dest.str());
    for (auto& b : blobs) {
        auto digest = parse_digest(b);
        if (!digest) return fail(digest.error());
        std::string shown = digest->hex.substr(0, 12);
        auto head = client.request("HEAD", "/v2/" + dest.repository + "/blobs/" + b, scope);
        if (!head) return fail(head.error());
        if (head->status == 200) {
            say("Copying blob " + shown + " skipped: already exists");
            continue;
        }
        bool mounted = false;
        std::string location;
        for (auto& from : mount_from) {
            auto r = client.request(
                "POST", "/v2/" + dest.repository + "/blobs/uploads/?mount=" + b + "&from=" + from,
                scope + " repository:" + from + ":pull", {"Content-Length: 0"});
            if (!r) return fail(r.error());
            if (r->status == 201) {
                mounted = true;
                break;
            }
            if (r->status == 202) {
                location = r->headers["location"];
                break;
            }
        }
        if (mounted) {
            say("Copying blob " + shown + " mounted from another repository");
            continue;
        }
        if (location.empty()) {
            auto r = client.request("POST", "/v2/" + dest.repository + "/blobs/uploads/", scope,
                                    {"Content-Length: 0"});
            if (!r) return fail(r.error());
            if (r->status != 202)
                return fail_invalid("push {}: start upload: HTTP {}: {}", dest.str(), r->status,
                                    r->body.substr(0, 200));
            location = r->headers["location"];
            if (location.empty())
                return fail_invalid("push {}: the registry gave no upload location", dest.str());
        }
        auto auth = client.authorization(scope);
        if (!auth) return fail(auth.error());
        HUSK_TRY_CTX(upload_blob(client, *auth, location, store, *digest), "push {}", dest.str());
        say("Copying blob " + shown + " done");
    }
    auto r = client.request("PUT", "/v2/" + dest.repository + "/manifests/" + dest.tag, scope,
                            {"Content-Type: " + rec->manifest_media_type}, &*manifest_text);
    if (!r) return fail(r.error());
    if (r->status != 201 && r->status != 200)
        return fail_invalid("push {}: manifest: HTTP {}: {}", dest.str(), r->status,
                            r->body.substr(0, 300));
    say("Writing manifest to image destination");
    std::string repo_digest = dest.name() + "@" + mdigest->str();
    return store.update_db([&](Db& d) -> Status {
        auto it = d.images.find(rec->id);
        if (it != d.images.end() &&
            std::find(it->second.repo_digests.begin(), it->second.repo_digests.end(),
                      repo_digest) == it->second.repo_digests.end())
            it->second.repo_digests.push_back(repo_digest);
        return {};
    });
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
