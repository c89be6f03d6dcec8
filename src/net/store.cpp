#include "net/store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "common/files.hpp"

namespace husk::net {

std::string fnv1a_hex(const std::string& s, int digits) {
    uint64_t h = 14695981039346656037ull;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return fmt::format("{:016x}", h).substr(0, static_cast<size_t>(digits));
}

Result<Store> Store::open(const std::string& root) {
    Store s;
    HUSK_TRY(make_dirs(root + "/networks", 0700));
    char* real = ::realpath(root.c_str(), nullptr);
    if (!real) return fail_errno("resolve {}", root);
    std::string canonical(real);
    std::free(real);
    s.dir_ = canonical + "/networks";
    s.is_system_ = canonical == "/var/lib/husk";
    std::string hash = fnv1a_hex(canonical, 4);
    s.prefix_ = "hk" + hash;
    s.table_ = s.is_system_ ? "husk" : "husk-" + hash;
    return s;
}

std::string Store::default_bridge() const {
    return is_system_ ? "husk0" : prefix_ + "d";
}

std::string Store::bridge_name(const std::string& network_id) const {
    return prefix_ + "b" + network_id.substr(0, 8);
}

std::string Store::veth_name(const std::string& network_id, const std::string& container_id) const {
    return prefix_ + "v" + fnv1a_hex(network_id + "/" + container_id, 8);
}

Result<Store::Lock> Store::lock() const {
    std::string path = dir_ + "/.lock";
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return fail_errno("open {}", path);
    if (::flock(fd.get(), LOCK_EX) != 0) return fail_errno("lock {}", path);
    return Lock(std::move(fd));
}

Result<std::vector<Network>> Store::list() const {
    std::vector<Network> out;
    DIR* d = ::opendir(dir_.c_str());
    if (!d) return fail_errno("open {}", dir_);
    std::vector<std::string> names;
    while (auto* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n.size() > 5 && n.ends_with(".json") && n[0] != '.')
            names.push_back(n.substr(0, n.size() - 5));
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
        auto net = get(n);
        if (!net) return fail(net.error());
        if (*net) out.push_back(std::move(**net));
    }
    return out;
}

Result<std::optional<Network>> Store::get(const std::string& name) const {
    HUSK_TRY(check_network_name(name));
    std::string path = dir_ + "/" + name + ".json";
    if (!path_exists(path)) return std::optional<Network>{};
    auto text = read_file(path);
    if (!text) return fail(text.error());
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded()) return fail_invalid("{}: not valid JSON", path);
    auto net = network_from_json(j);
    if (!net) return fail(net.error().wrap("{}", path));
    return std::optional<Network>(std::move(*net));
}

Status Store::put(const Network& network) const {
    std::string path = dir_ + "/" + network.name + ".json";
    return write_file_atomic(path, to_json(network).dump(2) + "\n", 0600);
}

Status Store::remove(const std::string& name) const {
    std::string path = dir_ + "/" + name + ".json";
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return fail_errno("remove {}", path);
    return {};
}

}  // namespace husk::net
