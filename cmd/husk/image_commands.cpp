// `husk` image commands: pull, push, login, logout, images, tag, rmi, import, load, save,
// image inspect/prune/check, info. Each is a call into husk::image.
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <iostream>
#include <set>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "common/files.hpp"
#include "engine/engine.hpp"
#include "image/archive.hpp"
#include "image/progress.hpp"
#include "image/reference.hpp"
#include "image/registry.hpp"
#include "image/rootfs.hpp"
#include "image/store.hpp"

namespace husk::cli {
namespace {

using Json = nlohmann::ordered_json;
namespace img = husk::image;

struct RegistryFlags {
    bool tls_verify = true;
    std::string auth_file = img::default_auth_file();
    std::string cert_dir;
};

void add_registry_flags(CLI::App* cmd, RegistryFlags& flags) {
    cmd->add_flag("--tls-verify", flags.tls_verify,
                  "verify TLS certificates; --tls-verify=false also allows plain HTTP");
    cmd->add_option("--authfile", flags.auth_file, "credentials file (docker config.json format)")
        ->capture_default_str();
    cmd->add_option("--cert-dir", flags.cert_dir,
                    "the registry's certificates: *.crt CAs (added to the system's), "
                    "*.cert/*.key client certificate (default: /etc/containers/certs.d/HOST:PORT)");
}

img::ClientOptions client_options(const RegistryFlags& flags) {
    img::ClientOptions o;
    o.tls_verify = flags.tls_verify;
    o.auth_file = flags.auth_file;
    o.cert_dir = flags.cert_dir;
    return o;
}

// Progress on stderr: bars on a terminal, lines otherwise, nothing with --quiet.
std::unique_ptr<img::ProgressBars> wire_progress(img::TransferOptions& o, bool quiet) {
    if (quiet) return nullptr;
    const char* term = std::getenv("TERM");
    if (::isatty(STDERR_FILENO) && (term == nullptr || std::string(term) != "dumb")) {
        auto bars = std::make_unique<img::ProgressBars>(STDERR_FILENO);
        bars->attach(o);
        return bars;
    }
    o.progress = [](const std::string& line) { std::cerr << line << "\n"; };
    return nullptr;
}

// "64M", "512k", "1G", "1048576" -> bytes
Result<int64_t> parse_size(const std::string& text, const std::string& what) {
    size_t used = 0;
    long long n = 0;
    try {
        n = std::stoll(text, &used);
    } catch (const std::exception&) {
        return fail_invalid("invalid {} {:?}: expected a size like 5M", what, text);
    }
    std::string unit = text.substr(used);
    int64_t mult = 1;
    if (unit == "k" || unit == "K" || unit == "KiB")
        mult = 1 << 10;
    else if (unit == "m" || unit == "M" || unit == "MiB")
        mult = 1 << 20;
    else if (unit == "g" || unit == "G" || unit == "GiB")
        mult = int64_t(1) << 30;
    else if (!unit.empty() && unit != "b" && unit != "B")
        return fail_invalid("invalid {} {:?}: unknown unit {:?}", what, text, unit);
    if (n < 0) return fail_invalid("invalid {} {:?}: negative", what, text);
    return static_cast<int64_t>(n) * mult;
}

std::string short_id(const std::string& id) {
    auto colon = id.find(':');
    return id.substr(colon + 1, 12);
}

std::string human_size(int64_t bytes) {
    const char* units[] = {"B", "kB", "MB", "GB", "TB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1000 && u < 4) {
        v /= 1000;
        ++u;
    }
    return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.3g} {}", v, units[u]);
}

std::string ago(const std::string& rfc3339) {
    std::tm tm{};
    if (rfc3339.empty() || ::strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr)
        return "N/A";
    std::time_t then = ::timegm(&tm);
    long s = static_cast<long>(std::time(nullptr) - then);
    if (s < 60) return "Less than a minute ago";
    if (s < 3600) return fmt::format("{} minutes ago", s / 60);
    if (s < 86400 * 2) return fmt::format("{} hours ago", s / 3600);
    if (s < 86400 * 60) return fmt::format("{} days ago", s / 86400);
    if (s < 86400 * 365 * 2) return fmt::format("{} months ago", s / (86400 * 30));
    return fmt::format("{} years ago", s / (86400 * 365));
}

int64_t image_size(const img::Store& store, const img::ImageRecord& rec) {
    auto m = store.manifest_of(rec);
    if (!m) return 0;
    int64_t size = m->config.size;
    for (auto& l : m->layers) size += l.size;
    return size;
}

// "docker.io/library/busybox:latest" -> {"busybox", "latest"}
std::pair<std::string, std::string> split_name(const std::string& full) {
    auto colon = full.rfind(':');
    return {img::familiar_name(full.substr(0, colon)), full.substr(colon + 1)};
}

std::string familiar_ref(const std::string& full) {
    auto [repo, tag] = split_name(full);
    return repo + ":" + tag;
}

// Image id -> the containers whose records name it. images.json's uses are not synced to
// disk (image/rootfs.cpp): after a power cut only the records may know a use.
using RecordUses = std::multimap<std::string, std::string>;

RecordUses record_uses(const Globals& g) {
    RecordUses uses;
    engine::ContainerStore containers(g.root, g.runroot);
    if (auto ids = containers.list())
        for (const auto& id : *ids)
            if (auto r = containers.load(id); r && !r->image_id.empty())
                uses.emplace(r->image_id, id);
    return uses;
}

std::vector<std::string> users_of(const img::Db& db, const RecordUses& records,
                                  const std::string& id) {
    std::set<std::string> out;
    for (auto& [cid, use] : db.containers)
        if (use.image_id == id) out.insert(cid);
    for (auto [it, end] = records.equal_range(id); it != end; ++it) out.insert(it->second);
    return {out.begin(), out.end()};
}

// A `run --rm` that has returned may still be giving its rootfs back (Engine::purge): the
// image is not in use by a container that no longer exists.
void finish_container_removals(const Globals& g) {
    engine::Engine(g.root, g.runroot).collect_garbage(true);
}

Result<img::Store> open_store(const Globals& g) {
    return img::Store::open(g.root);
}

Json inspect_json(const img::Store& store, const img::ImageRecord& rec) {
    Json j;
    j["Id"] = rec.id;
    Json tags = Json::array();
    for (auto& n : rec.names) tags.push_back(familiar_ref(n));
    j["RepoTags"] = tags;
    Json digests = Json::array();
    for (auto& d : rec.repo_digests) {
        auto at = d.find('@');
        digests.push_back(img::familiar_name(d.substr(0, at)) + d.substr(at));
    }
    j["RepoDigests"] = digests;
    j["Parent"] = "";
    j["Comment"] = "";
    auto config = store.config_of(rec);
    if (config) {
        Json full = Json::parse(oci::image_config_json(*config), nullptr, false);
        j["Created"] = config->created;
        j["Author"] = config->author;
        j["Config"] = full.is_object() && full.contains("config") ? full["config"] : Json::object();
        j["Architecture"] = config->architecture;
        if (!config->variant.empty()) j["Variant"] = config->variant;
        j["Os"] = config->os;
        j["Size"] = image_size(store, rec);
        j["RootFS"] = Json{{"Type", "layers"}, {"Layers", config->diff_ids}};
        Json history = Json::array();
        for (auto& h : config->history)
            history.push_back(Json{{"created", h.created},
                                   {"created_by", h.created_by},
                                   {"empty_layer", h.empty_layer}});
        j["History"] = history;
    }
    j["Digest"] = rec.manifest_digest;
    j["ManifestMediaType"] = rec.manifest_media_type;
    j["Metadata"] = Json{{"Stored", rec.stored}};
    return j;
}

// Removes names/records as `husk rmi` does; returns the lines to print.
Result<std::vector<std::string>> remove_image(img::Store& store, const RecordUses& records,
                                              const std::string& what, bool force) {
    std::vector<std::string> lines;
    HUSK_TRY(store.update_db([&](img::Db& db) -> Status {
        auto rec = store.find_image(db, what);
        if (!rec) return fail(rec.error());
        auto& stored = db.images[rec->id];
        auto ref = img::parse_reference(what);
        bool by_name = ref && std::find(stored.names.begin(), stored.names.end(), ref->str()) !=
                                  stored.names.end();
        if (by_name && stored.names.size() > 1) {
            std::erase(stored.names, ref->str());
            lines.push_back("Untagged: " + familiar_ref(ref->str()));
            return {};
        }
        auto users = users_of(db, records, rec->id);
        if (!users.empty() && !force)
            return fail_invalid(
                "image {} is in use by container {}: remove the container first, or use -f", what,
                users.front());
        if (!by_name && stored.names.size() > 1 && !force)
            return fail_invalid("image {} has {} names: remove them by name, or use -f", what,
                                stored.names.size());
        for (auto& n : stored.names) lines.push_back("Untagged: " + familiar_ref(n));
        if (!users.empty()) {
            stored.names.clear();  // -f on an image in use: untagged, kept for its container
            return {};
        }
        db.images.erase(rec->id);
        lines.push_back("Deleted: " + rec->id);
        return {};
    }));
    return lines;
}

void register_pull_push(CLI::App& app, Globals& g) {
    struct PullArgs {
        std::string ref;
        bool quiet = false;
        std::string platform;
        RegistryFlags reg;
    };
    auto pa = std::make_shared<PullArgs>();
    auto* pull = app.add_subcommand("pull", "pull an image from a registry");
    pull->add_option("image", pa->ref, "image reference")->required();
    pull->add_flag("-q,--quiet", pa->quiet, "print only the image id");
    pull->add_option("--platform", pa->platform, "os/arch[/variant] (default: this host's)");
    add_registry_flags(pull, pa->reg);
    pull->callback([pa, &g] {
        g.exit_code = finish([&]() -> Status {
            auto ref = img::parse_reference(pa->ref);
            if (!ref) return fail(ref.error());
            auto store = open_store(g);
            if (!store) return fail(store.error());
            img::TransferOptions o;
            o.client = client_options(pa->reg);
            o.platform = pa->platform;
            auto bars = wire_progress(o, pa->quiet);
            auto rec = img::pull(*store, *ref, o);
            bars.reset();  // the final frame before the id
            if (!rec) return fail(rec.error());
            std::cout << rec->id.substr(rec->id.find(':') + 1) << "\n";
            return {};
        }());
    });

    struct PushArgs {
        std::string image, dest;
        bool quiet = false;
        std::string chunk_size;
        RegistryFlags reg;
    };
    auto ua = std::make_shared<PushArgs>();
    auto* push = app.add_subcommand("push", "push an image to a registry");
    push->add_option("image", ua->image, "image in the store")->required();
    push->add_option("destination", ua->dest, "where to push (default: the image's name)");
    push->add_flag("-q,--quiet", ua->quiet, "print only the pushed manifest's digest");
    push->add_option("--chunk-size", ua->chunk_size,
                     "upload blobs larger than this in PATCH chunks of this size (0: one PUT "
                     "each; default 64M, or $HUSK_PUSH_CHUNK_SIZE)");
    add_registry_flags(push, ua->reg);
    push->callback([ua, &g] {
        g.exit_code = finish([&]() -> Status {
            auto dest = img::parse_reference(ua->dest.empty() ? ua->image : ua->dest);
            if (!dest) return fail(dest.error());
            auto store = open_store(g);
            if (!store) return fail(store.error());
            img::TransferOptions o;
            o.client = client_options(ua->reg);
            std::string chunk = ua->chunk_size;
            if (const char* env = std::getenv("HUSK_PUSH_CHUNK_SIZE"); chunk.empty() && env)
                chunk = env;
            if (!chunk.empty()) {
                auto n = parse_size(chunk, "--chunk-size");
                if (!n) return fail(n.error());
                o.chunk_size = *n;
            }
            auto bars = wire_progress(o, ua->quiet);
            auto digest = img::push(*store, ua->image, *dest, o);
            bars.reset();
            if (!digest) return fail(digest.error());
            std::cout << digest->str() << "\n";
            return {};
        }());
    });

    struct LoginArgs {
        std::string registry, username, password;
        bool password_stdin = false;
        RegistryFlags reg;
    };
    auto la = std::make_shared<LoginArgs>();
    auto* login = app.add_subcommand("login", "store credentials for a registry");
    login->add_option("registry", la->registry)->required();
    login->add_option("-u,--username", la->username)->required();
    login->add_option("-p,--password", la->password);
    login->add_flag("--password-stdin", la->password_stdin, "read the password from stdin");
    add_registry_flags(login, la->reg);
    login->callback([la, &g] {
        g.exit_code = finish([&]() -> Status {
            if (la->password_stdin) {
                std::getline(std::cin, la->password);
            }
            if (la->password.empty())
                return fail_invalid("login {}: no password (-p or --password-stdin)", la->registry);
            HUSK_TRY(
                img::login(la->registry, {la->username, la->password}, client_options(la->reg)));
            std::cout << "Login Succeeded!\n";
            return {};
        }());
    });

    auto lo = std::make_shared<LoginArgs>();
    auto* logout = app.add_subcommand("logout", "forget the credentials for a registry");
    logout->add_option("registry", lo->registry)->required();
    logout->add_option("--authfile", lo->reg.auth_file)->capture_default_str();
    logout->callback([lo, &g] {
        g.exit_code = finish([&]() -> Status {
            HUSK_TRY(img::store_credentials(lo->reg.auth_file, lo->registry, std::nullopt));
            std::cout << "Removed login credentials for " << lo->registry << "\n";
            return {};
        }());
    });
}

void register_listing(CLI::App& app, CLI::App& image, Globals& g) {
    struct ListArgs {
        bool quiet = false;
        std::string format;
    };
    auto la = std::make_shared<ListArgs>();
    auto list = [la, &g] {
        g.exit_code = finish([&]() -> Status {
            auto store = open_store(g);
            if (!store) return fail(store.error());
            auto db = store->load_db();
            if (!db) return fail(db.error());
            std::vector<img::ImageRecord> recs;
            for (auto& [id, r] : db->images) recs.push_back(r);
            std::sort(recs.begin(), recs.end(),
                      [](auto& a, auto& b) { return a.stored > b.stored; });
            if (la->format == "json") {
                Json out = Json::array();
                for (auto& r : recs) {
                    Json names = Json::array();
                    for (auto& n : r.names) names.push_back(familiar_ref(n));
                    auto c = store->config_of(r);
                    out.push_back(Json{{"Id", r.id.substr(r.id.find(':') + 1)},
                                       {"RepoTags", names},
                                       {"RepoDigests", r.repo_digests},
                                       {"Created", c ? c->created : ""},
                                       {"Size", image_size(*store, r)}});
                }
                std::cout << out.dump(4) << "\n";
                return {};
            }
            if (!la->format.empty())
                return fail_invalid("unknown --format {:?}: json or the table", la->format);
            if (la->quiet) {
                std::set<std::string> printed;
                for (auto& r : recs)
                    if (printed.insert(r.id).second) std::cout << short_id(r.id) << "\n";
                return {};
            }
            std::cout << fmt::format("{:<40} {:<15} {:<14} {:<20} {}\n", "REPOSITORY", "TAG",
                                     "IMAGE ID", "CREATED", "SIZE");
            for (auto& r : recs) {
                auto c = store->config_of(r);
                std::string created = ago(c ? c->created : "");
                std::string size = human_size(image_size(*store, r));
                if (r.names.empty())
                    std::cout << fmt::format("{:<40} {:<15} {:<14} {:<20} {}\n", "<none>", "<none>",
                                             short_id(r.id), created, size);
                for (auto& n : r.names) {
                    auto [repo, tag] = split_name(n);
                    std::cout << fmt::format("{:<40} {:<15} {:<14} {:<20} {}\n", repo, tag,
                                             short_id(r.id), created, size);
                }
            }
            return {};
        }());
    };
    for (auto* parent : {&app, &image}) {
        auto* cmd = parent == &app ? app.add_subcommand("images", "list images")
                                   : image.add_subcommand("ls", "list images");
        cmd->add_flag("-q,--quiet", la->quiet, "only ids");
        cmd->add_option("--format", la->format, "json");
        cmd->callback(list);
    }

    struct InspectArgs {
        std::vector<std::string> images;
    };
    auto ia = std::make_shared<InspectArgs>();
    auto* inspect = image.add_subcommand("inspect", "show images as JSON (docker's field names)");
    inspect->add_option("images", ia->images)->required();
    inspect->callback([ia, &g] {
        g.exit_code = finish([&]() -> Status {
            auto store = open_store(g);
            if (!store) return fail(store.error());
            auto db = store->load_db();
            if (!db) return fail(db.error());
            Json out = Json::array();
            for (auto& what : ia->images) {
                auto rec = store->find_image(*db, what);
                if (!rec) return fail(rec.error());
                out.push_back(inspect_json(*store, *rec));
            }
            std::cout << out.dump(4) << "\n";
            return {};
        }());
    });
}

void register_changes(CLI::App& app, CLI::App& image, Globals& g) {
    struct TagArgs {
        std::string source;
        std::vector<std::string> targets;
    };
    auto ta = std::make_shared<TagArgs>();
    auto tag = [ta, &g] {
        g.exit_code = finish([&]() -> Status {
            auto store = open_store(g);
            if (!store) return fail(store.error());
            std::vector<std::string> names;
            for (auto& t : ta->targets) {
                auto ref = img::parse_reference(t);
                if (!ref) return fail(ref.error());
                if (ref->tag.empty()) return fail_invalid("tag {}: needs a tag, not a digest", t);
                names.push_back(ref->str());
            }
            return store->update_db([&](img::Db& db) -> Status {
                auto rec = store->find_image(db, ta->source);
                if (!rec) return fail(rec.error());
                for (auto& [id, other] : db.images)
                    std::erase_if(other.names, [&](const std::string& n) {
                        return std::find(names.begin(), names.end(), n) != names.end();
                    });
                auto& names_of = db.images[rec->id].names;
                for (auto& n : names) names_of.push_back(n);
                return {};
            });
        }());
    };
    for (auto* parent : {&app, &image}) {
        auto* cmd = parent->add_subcommand("tag", "give an image another name");
        cmd->add_option("source", ta->source)->required();
        cmd->add_option("target", ta->targets)->required();
        cmd->callback(tag);
    }

    struct RmiArgs {
        std::vector<std::string> images;
        bool force = false;
    };
    auto ra = std::make_shared<RmiArgs>();
    auto rmi = [ra, &g] {
        g.exit_code = finish([&]() -> Status {
            finish_container_removals(g);
            auto store = open_store(g);
            if (!store) return fail(store.error());
            auto records = record_uses(g);
            std::optional<Error> first;
            for (auto& what : ra->images) {
                auto lines = remove_image(*store, records, what, ra->force);
                if (!lines) {
                    if (!first) first = lines.error();
                    continue;
                }
                for (auto& l : *lines) std::cout << l << "\n";
            }
            auto freed = store->collect_garbage();
            if (!freed) return fail(freed.error());
            if (first) return fail(*first);
            return {};
        }());
    };
    for (auto* parent : {&app, &image}) {
        auto* cmd = parent == &app ? app.add_subcommand("rmi", "remove images")
                                   : image.add_subcommand("rm", "remove images");
        cmd->add_option("images", ra->images)->required();
        cmd->add_flag("-f,--force", ra->force,
                      "remove even when a container uses it (untagged, kept for it)");
        cmd->callback(rmi);
    }

    auto all = std::make_shared<bool>(false);
    auto* prune = image.add_subcommand("prune", "remove unused images");
    prune->add_flag("-a,--all", *all, "every image no container uses, not only untagged ones");
    prune->add_flag("-f,--force");  // accepted for docker compatibility: there is no prompt
    prune->callback([all, &g] {
        g.exit_code = finish([&]() -> Status {
            finish_container_removals(g);
            auto store = open_store(g);
            if (!store) return fail(store.error());
            auto records = record_uses(g);
            std::vector<std::string> deleted;
            HUSK_TRY(store->update_db([&](img::Db& db) -> Status {
                for (auto it = db.images.begin(); it != db.images.end();) {
                    bool unused = users_of(db, records, it->first).empty();
                    if (unused && (*all || it->second.names.empty())) {
                        deleted.push_back(it->first);
                        it = db.images.erase(it);
                    } else {
                        ++it;
                    }
                }
                return {};
            }));
            auto freed = store->collect_garbage();
            if (!freed) return fail(freed.error());
            if (!deleted.empty()) std::cout << "Deleted Images\n";
            for (auto& d : deleted) std::cout << "deleted: " << d << "\n";
            std::cout << "Total reclaimed space: " << human_size(*freed) << "\n";
            return {};
        }());
    });

    // A rootfs of the image outside any container (podman's `image mount`): what the
    // snapshotter gives the engine, for looking at an image's files.
    auto mount_image = std::make_shared<std::string>();
    auto* mount = image.add_subcommand("mount", "prepare the image's rootfs and print its path");
    mount->add_option("image", *mount_image)->required();
    mount->callback([mount_image, &g] {
        g.exit_code = finish([&]() -> Status {
            auto store = open_store(g);
            if (!store) return fail(store.error());
            auto image = img::resolve_image(*store, *mount_image);
            if (!image) return fail(image.error());
            std::string id = "image-mount-" + short_id(image->id);
            auto rootfs = img::prepare_rootfs(
                *store, image->id, id, store->root() + "/image-mounts/" + short_id(image->id));
            if (!rootfs) return fail(rootfs.error());
            std::cout << *rootfs << "\n";
            return {};
        }());
    });
    auto unmount_image = std::make_shared<std::string>();
    auto* unmount = image.add_subcommand("unmount", "release a rootfs made by `husk image mount`");
    unmount->add_option("image", *unmount_image)->required();
    unmount->callback([unmount_image, &g] {
        g.exit_code = finish([&]() -> Status {
            auto store = open_store(g);
            if (!store) return fail(store.error());
            auto image = img::resolve_image(*store, *unmount_image);
            if (!image) return fail(image.error());
            HUSK_TRY(img::release_rootfs(*store, "image-mount-" + short_id(image->id)));
            return remove_tree(store->root() + "/image-mounts/" + short_id(image->id));
        }());
    });

    auto* check = image.add_subcommand(
        "check", "verify every blob's digest and every image's blobs and layers");
    check->callback([&g] {
        g.exit_code = finish([&]() -> Status {
            auto store = open_store(g);
            if (!store) return fail(store.error());
            auto problems = store->check();
            if (!problems) return fail(problems.error());
            for (auto& p : *problems) std::cerr << p << "\n";
            if (!problems->empty())
                return fail_invalid("store {}: {} problems", store->root(), problems->size());
            std::cout << "store " << store->root() << ": consistent\n";
            return {};
        }());
    });
}

void register_archives(CLI::App& app, CLI::App& image, Globals& g) {
    struct ImportArgs {
        std::string tarball, name;
    };
    auto ia = std::make_shared<ImportArgs>();
    auto import = [ia, &g] {
        g.exit_code = finish([&]() -> Status {
            auto store = open_store(g);
            if (!store) return fail(store.error());
            auto rec = img::import_tarball(*store, ia->tarball, ia->name);
            if (!rec) return fail(rec.error());
            std::cout << rec->id << "\n";
            return {};
        }());
    };
    for (auto* parent : {&app, &image}) {
        auto* cmd = parent->add_subcommand("import", "make a one-layer image of a rootfs tarball");
        cmd->add_option("tarball", ia->tarball)->required();
        cmd->add_option("reference", ia->name, "name:tag for the image");
        cmd->callback(import);
    }

    struct LoadArgs {
        std::string input;
        bool quiet = false;
    };
    auto la = std::make_shared<LoadArgs>();
    auto load = [la, &g] {
        g.exit_code = finish([&]() -> Status {
            auto store = open_store(g);
            if (!store) return fail(store.error());
            auto recs = img::load_archive(*store, la->input);
            if (!recs) return fail(recs.error());
            for (auto& r : *recs) {
                if (r.names.empty()) std::cout << "Loaded image: " << r.id << "\n";
                for (auto& n : r.names) std::cout << "Loaded image: " << familiar_ref(n) << "\n";
            }
            return {};
        }());
    };
    for (auto* parent : {&app, &image}) {
        auto* cmd = parent->add_subcommand(
            "load", "load images from a docker-archive, OCI archive or OCI layout");
        cmd->add_option("-i,--input", la->input, "archive file or OCI layout directory")
            ->required();
        cmd->add_flag("-q,--quiet", la->quiet);
        cmd->callback(load);
    }

    struct SaveArgs {
        std::string output;
        std::string format = "docker-archive";
        std::vector<std::string> images;
    };
    auto sa = std::make_shared<SaveArgs>();
    auto save = [sa, &g] {
        g.exit_code = finish([&]() -> Status {
            auto store = open_store(g);
            if (!store) return fail(store.error());
            return img::save_archive(*store, sa->images, sa->output, sa->format);
        }());
    };
    for (auto* parent : {&app, &image}) {
        auto* cmd = parent->add_subcommand("save", "write images to an archive");
        cmd->add_option("-o,--output", sa->output, "archive file")->required();
        cmd->add_option("--format", sa->format, "docker-archive or oci-archive")
            ->capture_default_str();
        cmd->add_option("images", sa->images)->required();
        cmd->callback(save);
    }
}

void register_info(CLI::App& app, Globals& g) {
    auto format = std::make_shared<std::string>();
    auto* info = app.add_subcommand("info", "storage driver and store facts");
    info->add_option("--format", *format, "json");
    info->callback([format, &g] {
        g.exit_code = finish([&]() -> Status {
            auto store = open_store(g);
            if (!store) return fail(store.error());
            auto db = store->load_db();
            if (!db) return fail(db.error());
            auto driver = img::choose_driver(*store);
            if (*format == "json") {
                std::cout << Json{{"StorageDriver", driver.name},
                                  {"StorageDriverReason", driver.reason},
                                  {"StorageRoot", store->root()},
                                  {"Images", db->images.size()},
                                  {"ContainersWithRootfs", db->containers.size()},
                                  {"Architecture", img::host_architecture()}}
                                 .dump(4)
                          << "\n";
                return {};
            }
            std::cout << "Storage Driver: " << driver.name << "\n"
                      << " Reason: " << driver.reason << "\n"
                      << "Storage Root: " << store->root() << "\n"
                      << "Images: " << db->images.size() << "\n"
                      << "Containers with a rootfs: " << db->containers.size() << "\n"
                      << "Architecture: " << img::host_architecture() << "\n";
            return {};
        }());
    });
}

}  // namespace

void register_image_commands(CLI::App& app, Globals& globals) {
    auto* image = app.add_subcommand("image", "manage images");
    image->require_subcommand(1);
    register_pull_push(app, globals);
    register_listing(app, *image, globals);
    register_changes(app, *image, globals);
    register_archives(app, *image, globals);
    register_info(app, globals);
}

}  // namespace husk::cli
