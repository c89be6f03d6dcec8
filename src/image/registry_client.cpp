#include "image/registry_client.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include <nlohmann/json.hpp>

#include "common/files.hpp"

namespace husk::image {
namespace {

using Json = nlohmann::json;

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t collect_body(char* data, size_t size, size_t n, void* user) {
    auto* r = static_cast<std::pair<Response*, size_t>*>(user);
    if (r->first->body.size() + size * n > r->second) return 0;  // aborts: too large
    r->first->body.append(data, size * n);
    return size * n;
}

size_t collect_header(char* data, size_t size, size_t n, void* user) {
    auto* r = static_cast<Response*>(user);
    std::string line(data, size * n);
    if (line.starts_with("HTTP/")) r->headers.clear();  // a new response (after a redirect)
    auto colon = line.find(':');
    if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
        while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
        r->headers[name] = value;
    }
    return size * n;
}

// Bearer realm="https://auth",service="registry",scope="repository:x:pull"
std::map<std::string, std::string> parse_challenge(const std::string& header, std::string& scheme) {
    std::map<std::string, std::string> params;
    auto space = header.find(' ');
    scheme = header.substr(0, space);
    for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (space == std::string::npos) return params;
    size_t i = space + 1;
    while (i < header.size()) {
        while (i < header.size() && (header[i] == ' ' || header[i] == ',')) ++i;
        auto eq = header.find('=', i);
        if (eq == std::string::npos) break;
        std::string key = header.substr(i, eq - i);
        std::string value;
        i = eq + 1;
        if (i < header.size() && header[i] == '"') {
            auto end = header.find('"', i + 1);
            if (end == std::string::npos) end = header.size();
            value = header.substr(i + 1, end - i - 1);
            i = end + 1;
        } else {
            auto end = header.find(',', i);
            if (end == std::string::npos) end = header.size();
            value = header.substr(i, end - i);
            i = end;
        }
        params[key] = value;
    }
    return params;
}

std::string url_escape(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/' ||
            c == ':') {
            out.push_back(static_cast<char>(c));
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
}

}  // namespace

std::string base64_encode(std::string_view in) {
    std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(in.data()),
                            static_cast<int>(in.size()));
    out.resize(static_cast<size_t>(n));
    return out;
}

Result<std::string> base64_decode(std::string_view in) {
    std::string out(3 * ((in.size() + 3) / 4) + 1, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(in.data()),
                            static_cast<int>(in.size()));
    if (n < 0) return fail_invalid("invalid base64");
    size_t len = static_cast<size_t>(n);
    // EVP_DecodeBlock counts the padding as zero bytes.
    if (!in.empty() && in.back() == '=') --len;
    if (in.size() > 1 && in[in.size() - 2] == '=') --len;
    out.resize(len);
    return out;
}

std::string default_auth_file() {
    if (const char* f = std::getenv("HUSK_AUTH_FILE"); f != nullptr && *f) return f;
    if (const char* x = std::getenv("XDG_CONFIG_HOME"); x != nullptr && *x)
        return std::string(x) + "/husk/auth.json";
    const char* home = std::getenv("HOME");
    return std::string(home != nullptr ? home : "/root") + "/.config/husk/auth.json";
}

Result<std::optional<Credentials>> read_credentials(const std::string& auth_file,
                                                    const std::string& registry) {
    if (!path_exists(auth_file)) return std::nullopt;
    auto text = read_file(auth_file);
    if (!text) return fail(text.error());
    Json doc = Json::parse(*text, nullptr, false);
    if (!doc.is_object()) return fail_invalid("{}: not a JSON object", auth_file);
    auto auths = doc.value("auths", Json::object());
    auto it = auths.find(registry);
    if (it == auths.end() || !it->is_object() || !it->contains("auth")) return std::nullopt;
    auto decoded = base64_decode((*it)["auth"].get<std::string>());
    if (!decoded) return fail(decoded.error().wrap("{}: auths[{}].auth", auth_file, registry));
    auto colon = decoded->find(':');
    if (colon == std::string::npos)
        return fail_invalid("{}: auths[{}].auth: no user:password", auth_file, registry);
    return std::optional(Credentials{decoded->substr(0, colon), decoded->substr(colon + 1)});
}

Status store_credentials(const std::string& auth_file, const std::string& registry,
                         const std::optional<Credentials>& credentials) {
    Json doc = Json::object();
    if (path_exists(auth_file)) {
        auto text = read_file(auth_file);
        if (!text) return fail(text.error());
        doc = Json::parse(*text, nullptr, false);
        if (!doc.is_object()) return fail_invalid("{}: not a JSON object", auth_file);
    }
    if (!doc.contains("auths") || !doc["auths"].is_object()) doc["auths"] = Json::object();
    if (credentials)
        doc["auths"][registry] =
            Json{{"auth", base64_encode(credentials->username + ":" + credentials->password)}};
    else if (doc["auths"].erase(registry) == 0)
        return fail(Error(ENOENT, fmt::format("not logged in to {}", registry)));
    auto slash = auth_file.rfind('/');
    if (slash != std::string::npos && slash > 0)
        HUSK_TRY(make_dirs(auth_file.substr(0, slash), 0700));
    return write_file_atomic(auth_file, doc.dump(2) + "\n", 0600);
}

bool is_insecure_default(const std::string& registry) {
    std::string host =
        registry.substr(0, registry.rfind(':') == std::string::npos || registry.back() == ']'
                               ? registry.size()
                               : registry.rfind(':'));
    return host == "localhost" || host == "127.0.0.1" || host == "[::1]" ||
           host.starts_with("127.");
}

RegistryClient::RegistryClient(std::string registry, ClientOptions options)
    : registry_(std::move(registry)), options_(std::move(options)) {
    global_init();
    host_ = registry_ == "docker.io" ? "registry-1.docker.io" : registry_;
    insecure_ = !options_.tls_verify || is_insecure_default(registry_);
    load_cert_dir();
}

void RegistryClient::load_cert_dir() {
    namespace fs = std::filesystem;
    std::string dir = options_.cert_dir;
    if (dir.empty()) {
        std::vector<std::string> bases;
        if (const char* d = std::getenv("HUSK_CERTS_D"); d != nullptr && *d)
            bases.push_back(d);
        else
            bases = {"/etc/containers/certs.d", "/etc/docker/certs.d"};
        for (auto& b : bases) {
            std::error_code ec;
            if (fs::is_directory(b + "/" + registry_, ec)) {
                dir = b + "/" + registry_;
                break;
            }
        }
        if (dir.empty()) return;
    }
    std::error_code ec;
    std::vector<std::string> names;
    for (auto& entry : fs::directory_iterator(dir, ec)) names.push_back(entry.path().filename());
    if (ec) {
        setup_error_ = fmt::format("certificate directory {}: {}", dir, ec.message());
        return;
    }
    std::sort(names.begin(), names.end());
    std::string own;
    for (auto& n : names) {
        std::string path = dir + "/" + n;
        if (n.ends_with(".crt")) {
            auto pem = read_file(path);
            if (!pem) {
                setup_error_ = pem.error().what();
                return;
            }
            if (pem->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
                setup_error_ = fmt::format("{}: not a PEM certificate", path);
                return;
            }
            own += *pem + "\n";
        } else if (n.ends_with(".cert")) {
            client_cert_ = path;
            client_key_ = dir + "/" + n.substr(0, n.size() - 5) + ".key";
            if (!path_exists(client_key_)) {
                setup_error_ = fmt::format("{}: no key {} for it", path, client_key_);
                return;
            }
        }
    }
    if (own.empty()) return;
    // A CA blob replaces curl's bundle: the system's CAs go in first, so both are trusted.
    for (const char* bundle :
         {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"}) {
        if (auto sys = read_file(bundle)) {
            ca_pem_ = *sys + "\n";
            break;
        }
    }
    ca_pem_ += own;
}

RegistryClient::~RegistryClient() = default;

void RegistryClient::setup_handle(CURL* curl) const {
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
    // A transfer slower than 1 KB/s for 60 s is stalled: retried rather than waited on.
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "husk/" HUSK_VERSION);
    if (!options_.tls_verify) {
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!ca_pem_.empty()) {
        curl_blob blob{const_cast<char*>(ca_pem_.data()), ca_pem_.size(), CURL_BLOB_COPY};
        curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (!client_cert_.empty()) {
        curl_easy_setopt(curl, CURLOPT_SSLCERT, client_cert_.c_str());
        curl_easy_setopt(curl, CURLOPT_SSLKEY, client_key_.c_str());
    }
}

Result<Response> RegistryClient::perform(const std::string& method, const std::string& url,
                                         const std::vector<std::string>& headers,
                                         const std::string* body, size_t body_limit) {
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
    if (!curl) return fail_invalid("curl_easy_init failed");
    Response response;
    std::pair<Response*, size_t> sink{&response, body_limit};
    setup_handle(curl.get());
    curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl.get(), CURLOPT_HEADERFUNCTION, collect_header);
    curl_easy_setopt(curl.get(), CURLOPT_HEADERDATA, &response);
    if (method == "HEAD") {
        curl_easy_setopt(curl.get(), CURLOPT_NOBODY, 1L);
    } else if (method != "GET") {
        curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    if (body != nullptr) {
        curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body->data());
        curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(body->size()));
    }
    curl_slist* list = nullptr;
    for (auto& h : headers) list = curl_slist_append(list, h.c_str());
    if (body != nullptr && method != "POST") list = curl_slist_append(list, "Expect:");
    curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, list);
    CURLcode rc = curl_easy_perform(curl.get());
    curl_slist_free_all(list);
    if (rc == CURLE_WRITE_ERROR && response.body.size() + 1 > body_limit)
        return fail_invalid("{} {}: response larger than {} bytes", method, url, body_limit);
    if (rc != CURLE_OK) return fail_invalid("{} {}: {}", method, url, curl_easy_strerror(rc));
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &response.status);
    return response;
}

Status RegistryClient::connect() {
    if (!base_.empty()) return {};
    if (!setup_error_.empty()) return fail_invalid("registry {}: {}", registry_, setup_error_);
    if (!options_.credentials) {
        auto creds = read_credentials(options_.auth_file, registry_);
        if (!creds) return fail(creds.error());
        credentials_ = *creds;
    } else {
        credentials_ = options_.credentials;
    }
    auto probe = perform("GET", "https://" + host_ + "/v2/", {}, nullptr, 1 << 20);
    if (probe) {
        base_ = "https://" + host_;
    } else if (insecure_) {
        auto plain = perform("GET", "http://" + host_ + "/v2/", {}, nullptr, 1 << 20);
        // Neither works: the https error is the useful one when plain HTTP found no
        // registry (an HTTPS server whose certificate is not trusted answers HTTP with 400).
        if (!plain || (plain->status != 200 && plain->status != 401))
            return fail(probe.error().wrap(
                "registry {} (and plain HTTP: {})", registry_,
                plain ? fmt::format("HTTP {}", plain->status) : plain.error().what()));
        base_ = "http://" + host_;
        probe = plain;
    } else {
        return fail(
            probe.error().wrap("registry {} (plain HTTP is used only with --tls-verify=false "
                               "or for localhost)",
                               registry_));
    }
    if (probe->status == 401) {
        challenge_ = probe->headers["www-authenticate"];
    } else if (probe->status != 200) {
        return fail_invalid("registry {}: /v2/ answered HTTP {}: not a registry", registry_,
                            probe->status);
    }
    return {};
}

Status RegistryClient::authenticate(const std::string& challenge, const std::string& scope) {
    std::string scheme;
    auto params = parse_challenge(challenge, scheme);
    if (scheme == "basic") {
        if (!credentials_)
            return fail_invalid("registry {}: authentication required: husk login {}", registry_,
                                registry_);
        tokens_[scope] = "Authorization: Basic " +
                         base64_encode(credentials_->username + ":" + credentials_->password);
        return {};
    }
    if (scheme != "bearer")
        return fail_invalid("registry {}: unsupported authentication {:?}", registry_, challenge);
    std::string url = params["realm"];
    if (url.empty())
        return fail_invalid("registry {}: Bearer challenge without a realm", registry_);
    url += url.find('?') == std::string::npos ? "?" : "&";
    url += "service=" + url_escape(params["service"]);
    // Several scopes ("repository:a:pull,push repository:b:pull") are one scope= each, as
    // the token spec says.
    std::string s = scope.empty() ? params["scope"] : scope;
    for (size_t i = 0; i < s.size();) {
        auto end = s.find(' ', i);
        if (end == std::string::npos) end = s.size();
        if (end > i) url += "&scope=" + url_escape(s.substr(i, end - i));
        i = end + 1;
    }
    std::vector<std::string> headers;
    if (credentials_)
        headers.push_back("Authorization: Basic " +
                          base64_encode(credentials_->username + ":" + credentials_->password));
    auto r = perform("GET", url, headers, nullptr, 1 << 20);
    if (!r) return fail(r.error().wrap("registry {}: token", registry_));
    if (r->status == 401)
        return fail_invalid("registry {}: the token server refused the credentials", registry_);
    if (r->status != 200)
        return fail_invalid("registry {}: token server answered HTTP {}", registry_, r->status);
    Json doc = Json::parse(r->body, nullptr, false);
    std::string token;
    if (doc.is_object()) {
        if (doc.contains("token") && doc["token"].is_string())
            token = doc["token"].get<std::string>();
        else if (doc.contains("access_token") && doc["access_token"].is_string())
            token = doc["access_token"].get<std::string>();
    }
    if (token.empty())
        return fail_invalid("registry {}: the token server's answer has no token", registry_);
    tokens_[scope] = "Authorization: Bearer " + token;
    return {};
}

Result<std::string> RegistryClient::authorization(const std::string& scope) {
    HUSK_TRY(connect());
    auto it = tokens_.find(scope);
    if (it != tokens_.end()) return it->second;
    if (challenge_.empty()) return std::string();
    HUSK_TRY(authenticate(challenge_, scope));
    return tokens_[scope];
}

Result<std::string> RegistryClient::reauthorize(const std::string& scope,
                                                const std::string& challenge) {
    HUSK_TRY(connect());
    tokens_.erase(scope);
    HUSK_TRY(authenticate(challenge.empty() ? challenge_ : challenge, scope));
    return tokens_[scope];
}

Result<Response> RegistryClient::request(const std::string& method, const std::string& path,
                                         const std::string& scope,
                                         const std::vector<std::string>& headers,
                                         const std::string* body, size_t body_limit) {
    HUSK_TRY(connect());
    std::string url =
        path.starts_with("http://") || path.starts_with("https://") ? path : base_ + path;
    for (int attempt = 0; attempt < 2; ++attempt) {
        auto auth = authorization(scope);
        if (!auth) return fail(auth.error());
        auto all = headers;
        if (!auth->empty()) all.push_back(*auth);
        auto r = perform(method, url, all, body, body_limit);
        if (!r) return r;
        if (r->status == 401 && attempt == 1 && !scope.empty()) {
            if (credentials_)
                return fail(Error(EACCES, fmt::format("registry {}: access denied to {} for user "
                                                      "{:?}",
                                                      registry_, scope, credentials_->username)));
            return fail(Error(EACCES, fmt::format("registry {}: access denied to {}: "
                                                  "authentication required: husk login {}",
                                                  registry_, scope, registry_)));
        }
        if (r->status != 401 || attempt == 1) return r;
        std::string challenge = r->headers["www-authenticate"];
        if (challenge.empty()) return r;
        tokens_.erase(scope);
        HUSK_TRY(authenticate(challenge, scope));
    }
    return fail_invalid("unreachable");
}

}  // namespace husk::image
