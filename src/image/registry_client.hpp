#pragma once
// An OCI distribution-spec client on libcurl: the /v2/ probe, anonymous, Basic and Bearer
// (token from WWW-Authenticate) authentication, HTTPS with the system CAs, and plain HTTP
// for insecure registries (localhost and 127.0.0.1 by default, or --tls-verify=false).
#include <curl/curl.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace husk::image {

struct Credentials {
    std::string username;
    std::string password;
};

// docker's config.json shape: {"auths": {"host:port": {"auth": base64("user:pass")}}}.
std::string default_auth_file();
[[nodiscard]] Result<std::optional<Credentials>> read_credentials(const std::string& auth_file,
                                                                  const std::string& registry);
[[nodiscard]] Status store_credentials(const std::string& auth_file, const std::string& registry,
                                       const std::optional<Credentials>& credentials);

struct ClientOptions {
    bool tls_verify = true;  // false: no certificate check, and plain HTTP allowed
    std::string auth_file = default_auth_file();
    std::optional<Credentials> credentials;  // overrides the auth file
    // This registry's certificates: *.crt (CAs, added to the system's), *.cert + *.key (a
    // client certificate). Empty: <base>/<host:port>/ for base $HUSK_CERTS_D, else
    // /etc/containers/certs.d and /etc/docker/certs.d, when it exists.
    std::string cert_dir;
};

struct Response {
    long status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
};

class RegistryClient {
public:
    RegistryClient(std::string registry, ClientOptions options);
    ~RegistryClient();
    RegistryClient(const RegistryClient&) = delete;
    RegistryClient& operator=(const RegistryClient&) = delete;

    // Probes /v2/ and decides http or https. Called by the first request.
    [[nodiscard]] Status connect();
    // "https://host:port" after connect().
    const std::string& base_url() const { return base_; }
    const std::string& registry() const { return registry_; }

    // A request under /v2/, authenticated for `scope` ("repository:x:pull"); follows the
    // Bearer flow on a 401. body_limit caps what is kept in memory.
    [[nodiscard]] Result<Response> request(const std::string& method, const std::string& path,
                                           const std::string& scope,
                                           const std::vector<std::string>& headers = {},
                                           const std::string* body = nullptr,
                                           size_t body_limit = 8 << 20);
    // The Authorization header for `scope` (empty when anonymous works), for transfers the
    // caller drives itself (parallel blob downloads).
    [[nodiscard]] Result<std::string> authorization(const std::string& scope);
    // A fresh Authorization header for `scope` after a 401 with `challenge` (an expired
    // token in the middle of a long transfer).
    [[nodiscard]] Result<std::string> reauthorize(const std::string& scope,
                                                  const std::string& challenge);
    // Applies TLS options to a handle the caller made.
    void setup_handle(CURL* curl) const;

private:
    [[nodiscard]] Result<Response> perform(const std::string& method, const std::string& url,
                                           const std::vector<std::string>& headers,
                                           const std::string* body, size_t body_limit);
    [[nodiscard]] Status authenticate(const std::string& challenge, const std::string& scope);
    void load_cert_dir();

    std::string registry_;
    std::string host_;  // where requests go (registry-1.docker.io for docker.io)
    ClientOptions options_;
    std::string base_;
    bool insecure_ = false;
    std::optional<Credentials> credentials_;
    std::map<std::string, std::string> tokens_;  // scope -> "Bearer ..." / "Basic ..."
    std::string challenge_;                      // the /v2/ probe's WWW-Authenticate
    std::string ca_pem_;       // the system's CAs and the registry's own, when it has some
    std::string client_cert_;  // paths from the cert dir
    std::string client_key_;
    std::string setup_error_;  // a bad cert dir, reported by connect()
};

bool is_insecure_default(const std::string& registry);
std::string base64_encode(std::string_view in);
[[nodiscard]] Result<std::string> base64_decode(std::string_view in);

}  // namespace husk::image
