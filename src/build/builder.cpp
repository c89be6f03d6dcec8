// The build driver: stage selection, ARG scoping, the step loop with its cache, and the
// final image. The pieces it drives are in steps.hpp.
#include "build/builder.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <functional>
#include <map>
#include <set>

#include "build/steps.hpp"
#include "common/files.hpp"
#include "common/safe_path.hpp"
#include "image/archive.hpp"
#include "image/reference.hpp"
#include "image/registry.hpp"
#include "image/rootfs.hpp"

namespace husk::build {
namespace {

using namespace detail;

struct StageResult {
    oci::ImageConfig config;
    std::vector<LayerRef> layers;
    std::string key;
};

// ARGs Docker defines without a declaration (usable in RUN when given with --build-arg),
// left out of the cache key as Docker does.
const std::set<std::string> proxy_args = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
                                          "FTP_PROXY",  "ftp_proxy",  "NO_PROXY",    "no_proxy",
                                          "ALL_PROXY",  "all_proxy"};

// Where a `RUN <<EOF` script with a #! line is bound: inside the container's /dev tmpfs, so
// the mount point never lands in the layer.
constexpr std::string_view heredoc_script = "/dev/.husk-heredoc-script";

std::string rfc3339(int64_t t) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    ::gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) {
        if (i) out += sep;
        out += v[i];
    }
    return out;
}

class Builder {
public:
    Builder(image::Store& store, const BuildOptions& options, const Dockerfile& df, Context& ctx)
        : store_(store), options_(options), df_(df), ctx_(ctx) {}

    Result<std::string> run() {
        if (auto epoch = std::getenv("SOURCE_DATE_EPOCH"); epoch && *epoch) {
            try {
                epoch_ = std::stoll(epoch);
            } catch (...) {
                return fail_invalid("SOURCE_DATE_EPOCH={:?}: not a number of seconds", epoch);
            }
        }
        for (auto& a : options_.build_args) {
            auto eq = a.find('=');
            if (eq == std::string::npos) {
                if (const char* v = std::getenv(a.c_str())) build_args_[a] = v;
            } else {
                build_args_[a.substr(0, eq)] = a.substr(eq + 1);
            }
        }
        HUSK_TRY(global_args());
        const Stage* target = &df_.stages.back();
        if (!options_.target.empty()) {
            target = df_.find_stage(options_.target);
            if (target == nullptr)
                return fail_invalid("{}: --target {}: no such stage in the Dockerfile", df_.file,
                                    options_.target);
        }
        std::set<int> needed;
        HUSK_TRY(collect(*target, needed));
        total_stages_ = static_cast<int>(needed.size());
        for (int i : needed) HUSK_TRY(build_stage(df_.stages[static_cast<size_t>(i)]));
        std::vector<std::string> unused;
        for (auto& [k, v] : build_args_)
            if (!used_args_.count(k) && !proxy_args.count(k)) unused.push_back(k);
        if (!unused.empty())
            say("[Warning] one or more build-args [{}] were not consumed", join(unused, " "));
        return commit(built_.at(target->index));
    }

private:
    template <typename... Args>
    void say(fmt::format_string<Args...> format, Args&&... args) {
        if (options_.quiet) return;
        fmt::print(options_.out, format, std::forward<Args>(args)...);
        std::fputc('\n', options_.out);
        std::fflush(options_.out);
    }

    std::string now() const { return epoch_ ? rfc3339(*epoch_) : image::now_rfc3339(); }
    // A step that changes no file takes the time of the newest step before it (a cached
    // layer keeps its own time), so that an unchanged rebuild gives the same image id.
    std::string latest_created(const oci::ImageConfig& config) const {
        for (auto it = config.history.rbegin(); it != config.history.rend(); ++it)
            if (!it->created.empty()) return it->created;
        return config.created.empty() ? now() : config.created;
    }

    Error at(const Instruction& ins, const Error& e) const {
        return e.wrap("{}:{}", df_.file, ins.line);
    }

    Status global_args() {
        VariableLookup lookup = [this](std::string_view name) -> std::optional<std::string> {
            if (auto it = globals_.find(std::string(name)); it != globals_.end()) return it->second;
            return std::nullopt;
        };
        for (auto& ins : df_.global_args) {
            auto words = split_words(ins.text, &lookup, df_.escape);
            if (!words) return fail(at(ins, words.error()));
            for (auto& w : *words) {
                auto eq = w.find('=');
                std::string name = w.substr(0, eq);
                global_declared_.insert(name);
                if (auto it = build_args_.find(name); it != build_args_.end()) {
                    globals_[name] = it->second;
                    used_args_.insert(name);
                } else if (eq != std::string::npos) {
                    globals_[name] = w.substr(eq + 1);
                }
            }
        }
        return {};
    }

    Result<std::string> expand_global(const std::string& text, const Instruction* ins) {
        VariableLookup lookup = [this](std::string_view name) -> std::optional<std::string> {
            if (auto it = globals_.find(std::string(name)); it != globals_.end()) return it->second;
            return std::nullopt;
        };
        auto v = expand_text(text, lookup, df_.escape);
        if (!v && ins) return fail(at(*ins, v.error()));
        return v;
    }

    // The stage named by a FROM or --from, if it is an earlier stage.
    const Stage* earlier_stage(const std::string& name, int before) const {
        const Stage* s = df_.find_stage(name);
        return s && s->index < before ? s : nullptr;
    }

    Status collect(const Stage& stage, std::set<int>& needed) {
        if (!needed.insert(stage.index).second) return {};
        auto base = expand_global(stage.base, nullptr);
        if (base)
            if (auto* s = earlier_stage(*base, stage.index)) HUSK_TRY(collect(*s, needed));
        for (auto& ins : stage.instructions)
            if (auto from = ins.flag("from")) {
                auto name = expand_global(*from, nullptr);
                if (!name) continue;
                if (auto* s = earlier_stage(*name, stage.index)) HUSK_TRY(collect(*s, needed));
            }
        return {};
    }

    // An image from the store, pulled when missing (or always) as --pull says.
    Result<StageResult> image_base(const std::string& ref) {
        auto db = store_.load_db();
        if (!db) return fail(db.error());
        auto rec = store_.find_image(*db, ref);
        if (options_.pull == "always" || (!rec && options_.pull != "never")) {
            auto parsed = image::parse_reference(ref);
            if (!parsed) return fail(parsed.error());
            image::TransferOptions t;
            if (!options_.quiet) t.progress = [this](const std::string& line) { say("{}", line); };
            auto pulled = image::pull(store_, *parsed, t);
            if (!pulled) {
                if (rec && options_.pull == "always") return fail(pulled.error());
                return fail(
                    pulled.error().wrap("image {} is not in the store and pulling it failed", ref));
            }
            rec = *pulled;
        }
        if (!rec) return fail(rec.error().wrap("image {} (--pull=never)", ref));
        auto config = store_.config_of(*rec);
        if (!config) return fail(config.error());
        auto manifest = store_.manifest_of(*rec);
        if (!manifest) return fail(manifest.error());
        StageResult r;
        r.config = *config;
        for (auto& l : manifest->layers) r.layers.push_back({l.digest, l.media_type, l.size});
        r.key = "image " + rec->id;
        return r;
    }

    // --------------------------------------------------------------------------------------
    // One stage.
    struct State {
        StageResult r;
        std::map<std::string, std::string> args;  // ARGs in scope with a value
        bool cmd_set = false;
        int index = 0;
        int step = 0;
        int steps = 0;
        std::string prefix;
    };

    VariableLookup lookup_for(const State& st) const {
        return [&st](std::string_view name) -> std::optional<std::string> {
            for (auto& e : st.r.config.config.env)
                if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 &&
                    e[name.size()] == '=')
                    return e.substr(name.size() + 1);
            if (auto it = st.args.find(std::string(name)); it != st.args.end()) return it->second;
            return std::nullopt;
        };
    }

    Status build_stage(const Stage& stage) {
        State st;
        st.index = stage.index;
        auto base = expand_global(stage.base, nullptr);
        if (!base) return fail(base.error().wrap("{}:{}: FROM", df_.file, stage.line));
        std::vector<Instruction> triggers;
        st.steps = 1 + static_cast<int>(stage.instructions.size());
        if (total_stages_ > 1) st.prefix = fmt::format("[{}/{}] ", ++stage_counter_, total_stages_);
        say("{}STEP 1/{}: FROM {}{}", st.prefix, st.steps, *base,
            stage.name.empty() ? "" : " AS " + stage.name);
        std::string lower = *base;
        std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
        if (lower == "scratch") {
            st.r.config.architecture = image::host_architecture();
            st.r.config.os = "linux";
            st.r.key = "scratch";
        } else if (auto* s = earlier_stage(*base, stage.index)) {
            st.r = built_.at(s->index);
        } else {
            if (df_.find_stage(*base))
                return fail_invalid("{}:{}: FROM {}: a stage can only use an earlier stage",
                                    df_.file, stage.line, *base);
            auto img = image_base(*base);
            if (!img) return fail(img.error().wrap("{}:{}: FROM {}", df_.file, stage.line, *base));
            st.r = std::move(*img);
        }
        if (st.r.config.architecture.empty()) st.r.config.architecture = image::host_architecture();
        if (st.r.config.os.empty()) st.r.config.os = "linux";
        // ONBUILD triggers of the base run first, then are cleared (Docker's rule).
        for (auto& t : st.r.config.config.on_build) {
            auto parsed = parse_dockerfile("FROM scratch\n" + t + "\n", df_.file + " (ONBUILD)");
            if (!parsed)
                return fail(parsed.error().wrap("{}:{}: ONBUILD trigger", df_.file, stage.line));
            for (auto& ins : parsed->stages[0].instructions) {
                Instruction copy = ins;
                copy.line = stage.line;
                triggers.push_back(copy);
            }
        }
        st.r.config.config.on_build.clear();
        st.steps += static_cast<int>(triggers.size());
        st.step = 1;
        for (auto& ins : triggers) HUSK_TRY(step(st, ins));
        for (auto& ins : stage.instructions) HUSK_TRY(step(st, ins));
        built_[stage.index] = std::move(st.r);
        return {};
    }

    Status step(State& st, const Instruction& ins) {
        ++st.step;
        say("{}STEP {}/{}: {} {}", st.prefix, st.step, st.steps, keyword_name(ins.keyword),
            ins.exec_form ? "[\"" + join(ins.args, "\", \"") + "\"]" : ins.text);
        Status s;
        switch (ins.keyword) {
            case Keyword::arg:
                s = arg_step(st, ins);
                break;
            case Keyword::run:
                s = run_step(st, ins);
                break;
            case Keyword::copy:
            case Keyword::add:
                s = copy_step(st, ins);
                break;
            case Keyword::workdir:
                s = workdir_step(st, ins);
                break;
            case Keyword::from:
                return fail_invalid("{}:{}: unexpected FROM", df_.file, ins.line);
            default:
                s = metadata_step(st, ins);
                break;
        }
        if (!s) {
            // Errors that already carry the location keep it as is.
            if (s.error().message().starts_with(df_.file + ":")) return s;
            return fail(at(ins, s.error().wrap("{}", keyword_name(ins.keyword))));
        }
        return {};
    }

    Status arg_step(State& st, const Instruction& ins) {
        auto lookup = lookup_for(st);
        auto words = split_words(ins.text, &lookup, df_.escape);
        if (!words) return fail(words.error());
        for (auto& w : *words) {
            auto eq = w.find('=');
            std::string name = w.substr(0, eq);
            if (auto it = build_args_.find(name); it != build_args_.end()) {
                st.args[name] = it->second;
                used_args_.insert(name);
            } else if (eq != std::string::npos) {
                st.args[name] = w.substr(eq + 1);
            } else if (auto g = globals_.find(name); g != globals_.end()) {
                st.args[name] = g->second;  // a global ARG re-declared in the stage
            } else if (name == "TARGETOS" || name == "BUILDOS") {
                st.args[name] = "linux";
            } else if (name == "TARGETARCH" || name == "BUILDARCH") {
                st.args[name] = image::host_architecture();
            } else if (name == "TARGETPLATFORM" || name == "BUILDPLATFORM") {
                st.args[name] = "linux/" + image::host_architecture();
            }
        }
        return {};
    }

    Status metadata_step(State& st, const Instruction& ins) {
        auto lookup = lookup_for(st);
        HUSK_TRY(apply_metadata(st.r.config.config, st.r.config.author, ins, lookup, df_.escape,
                                st.cmd_set));
        oci::ImageConfig only;
        only.config = st.r.config.config;
        st.r.key = cache_key(st.r.key, fmt::format("{} {}\n{}", keyword_name(ins.keyword), ins.text,
                                                   oci::image_config_json(only)));
        std::string shown = ins.exec_form ? "[\"" + join(ins.args, "\", \"") + "\"]" : ins.text;
        st.r.config.history.push_back({latest_created(st.r.config),
                                       fmt::format("{} {}", keyword_name(ins.keyword), shown), "",
                                       "husk build", true});
        return {};
    }

    // A step that may change the filesystem: cached by key, else run on a workspace.
    Status fs_step(State& st, const std::string& key_text, const std::string& created_by,
                   const std::function<Status(Workspace&)>& action) {
        std::string key = cache_key(st.r.key, key_text);
        if (!options_.no_cache)
            if (auto hit = cache_lookup(store_, key, st.r.config.diff_ids)) {
                say("--> Using cache {}", key.substr(0, 12));
                apply(st, *hit, key);
                return {};
            }
        auto ws = Workspace::open(store_, st.r.config.diff_ids, true);
        if (!ws) return fail(ws.error());
        HUSK_TRY(action(*ws));
        HUSK_TRY(ws->unmount());
        CacheEntry entry;
        entry.history = {now(), created_by, "", "husk build", false};
        if (ws->changed()) {
            auto layer = write_layer(store_, ws->upper(), epoch_);
            if (!layer) return fail(layer.error());
            auto ids = st.r.config.diff_ids;
            ids.push_back(layer->diff_id);
            HUSK_TRY(install_layer(store_, *layer, ids));
            entry.layer = layer->ref;
            entry.diff_id = layer->diff_id;
        } else {
            entry.history.empty_layer = true;
        }
        HUSK_TRY(cache_store(store_, key, entry));
        apply(st, entry, key);
        say("--> {}", key.substr(0, 12));
        return {};
    }

    void apply(State& st, const CacheEntry& entry, const std::string& key) {
        if (entry.layer) {
            st.r.config.diff_ids.push_back(entry.diff_id);
            st.r.layers.push_back(*entry.layer);
        }
        auto h = entry.history;
        h.empty_layer = !entry.layer;
        st.r.config.history.push_back(h);
        st.r.key = key;
    }

    std::vector<std::string> run_env(const State& st) const {
        std::vector<std::string> env = st.r.config.config.env;
        auto has = [&](const std::string& k) {
            return std::any_of(env.begin(), env.end(),
                               [&](const std::string& e) { return e.starts_with(k + "="); });
        };
        for (auto& [k, v] : st.args)
            if (!has(k)) env.push_back(k + "=" + v);
        for (auto& [k, v] : build_args_)
            if (proxy_args.count(k) && !has(k)) env.push_back(k + "=" + v);
        return env;
    }

    Status run_step(State& st, const Instruction& ins) {
        std::vector<std::string> shell = st.r.config.config.shell.empty()
                                             ? std::vector<std::string>{"/bin/sh", "-c"}
                                             : st.r.config.config.shell;
        std::vector<std::string> args;
        std::string shown;
        std::string script;  // `RUN <<EOF` whose body starts with #!
        if (ins.exec_form) {
            args = ins.args;
            shown = "[\"" + join(ins.args, "\", \"") + "\"]";
        } else {
            args = shell;
            std::string text = ins.text;
            std::string trimmed = text.substr(text.find_first_not_of(" \t") == std::string::npos
                                                  ? text.size()
                                                  : text.find_first_not_of(" \t"));
            while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\t'))
                trimmed.pop_back();
            if (ins.heredocs.size() == 1 && trimmed.starts_with("<<") &&
                trimmed.find_first_of(" \t") == std::string::npos) {
                if (ins.heredocs[0].body.starts_with("#!")) {
                    // A script naming its interpreter runs as a file (bound in from the
                    // step's temp dir, so it is not part of the layer).
                    script = ins.heredocs[0].body;
                    args = {std::string(heredoc_script)};
                } else {
                    args.push_back(ins.heredocs[0].body);  // `RUN <<EOF`: the body is the script
                }
            } else {
                for (auto& h : ins.heredocs) text += "\n" + h.body + h.delimiter;
                args.push_back(text);
            }
            shown = ins.text;
        }
        if (auto sec = ins.flag("security"); sec && *sec != "sandbox")
            return fail_invalid("--security={} is not supported by husk build", *sec);
        std::string network = ins.flag("network").value_or(options_.network);
        if (network == "default") network = options_.network;
        if (network != "none" && network != "host" && network != "bridge")
            return fail_invalid("--network={}: husk build supports bridge (default), none and host",
                                network);
        std::vector<std::pair<std::string, std::string>> cache_mounts;
        for (auto& m : ins.flag_values("mount")) {
            std::map<std::string, std::string> kv;
            size_t start = 0;
            while (start <= m.size()) {
                size_t end = m.find(',', start);
                if (end == std::string::npos) end = m.size();
                std::string part = m.substr(start, end - start);
                auto eq = part.find('=');
                kv[part.substr(0, eq)] = eq == std::string::npos ? "" : part.substr(eq + 1);
                start = end + 1;
            }
            if (kv["type"] != "cache")
                return fail_invalid("--mount={}: only type=cache is supported", m);
            std::string target = kv.count("target") ? kv["target"] : kv["dst"];
            if (target.empty()) target = kv["destination"];
            if (target.empty()) return fail_invalid("--mount={}: no target", m);
            if (target[0] != '/') target = st.r.config.config.working_dir + "/" + target;
            std::string id = kv.count("id") ? kv["id"] : target;
            std::string dir =
                store_.root() + "/build-cache/mounts/" + image::sha256_of(id).hex.substr(0, 32);
            HUSK_TRY(make_dirs(dir, 0755));
            cache_mounts.emplace_back(dir, clean_path(target));
        }
        std::string user = st.r.config.config.user;
        std::string cwd =
            st.r.config.config.working_dir.empty() ? "/" : st.r.config.config.working_dir;
        auto env = run_env(st);
        std::string key_text = fmt::format("RUN\n{}\n{}\n{}\n{}\n{}\n", join(args, "\x1f"),
                                           join(env, "\x1f"), user, cwd, network);
        for (auto& [dir, target] : cache_mounts) key_text += "mount " + target + "\n";
        key_text += script;
        int line = ins.line;
        return fs_step(st, key_text, "RUN " + shown, [&](Workspace& ws) -> Status {
            RunSpec spec;
            spec.args = args;
            spec.env = env;
            spec.user = user;
            spec.cwd = cwd;
            spec.network = network;
            spec.store_root = store_.root();
            spec.upper_dir = ws.upper();
            spec.quiet = options_.quiet;
            spec.runroot = options_.runroot;
            spec.rootfs = ws.rootfs();
            spec.bundle_dir = ws.dir() + "/bundle";
            spec.cache_mounts = cache_mounts;
            if (!script.empty()) {
                std::string file = ws.dir() + "/heredoc-script";
                HUSK_TRY(write_file_atomic(file, script, 0755, Durability::survive_crash));
                spec.cache_mounts.emplace_back(file, std::string(heredoc_script));
            }
            auto status = run_in_rootfs(spec);
            if (!status) return fail(status.error());
            if (*status != 0)
                return fail_invalid("{}:{}: RUN {}: exit status {}", df_.file, line, shown,
                                    *status);
            return {};
        });
    }

    Status workdir_step(State& st, const Instruction& ins) {
        auto lookup = lookup_for(st);
        auto dir = expand_text(ins.text, lookup, df_.escape);
        if (!dir) return fail(dir.error());
        if (dir->empty()) return fail_invalid("WORKDIR requires a path");
        std::string path = (*dir)[0] == '/' ? *dir : st.r.config.config.working_dir + "/" + *dir;
        path = clean_path("/" + path);
        st.r.config.config.working_dir = path;
        return fs_step(st, "WORKDIR " + path, "WORKDIR " + path, [&](Workspace& ws) -> Status {
            auto root = ws.open_rootfs();
            if (!root) return fail(root.error());
            auto made = make_dirs_in_root(root->get(), path);
            if (!made) return fail(made.error());
            return {};
        });
    }

    Status copy_step(State& st, const Instruction& ins);
    Result<std::string> commit(const StageResult& result);

    image::Store& store_;
    const BuildOptions& options_;
    const Dockerfile& df_;
    Context& ctx_;
    std::optional<int64_t> epoch_;
    std::map<std::string, std::string> build_args_;
    std::map<std::string, std::string> globals_;
    std::set<std::string> global_declared_;
    std::set<std::string> used_args_;
    std::map<int, StageResult> built_;
    int total_stages_ = 0;
    int stage_counter_ = 0;
};

// Docker expands $VAR and ${VAR} in a COPY heredoc unless its delimiter was quoted.
std::string expand_body(const std::string& body, const VariableLookup& lookup) {
    std::string out;
    for (size_t i = 0; i < body.size(); ++i) {
        if (body[i] == '\\' && i + 1 < body.size() && body[i + 1] == '$') {
            out += '$';
            ++i;
            continue;
        }
        if (body[i] != '$' || i + 1 >= body.size()) {
            out += body[i];
            continue;
        }
        size_t start = i + 1;
        bool braced = body[start] == '{';
        if (braced) ++start;
        size_t end = start;
        while (end < body.size() &&
               (isalnum(static_cast<unsigned char>(body[end])) || body[end] == '_'))
            ++end;
        if (end == start || (braced && (end >= body.size() || body[end] != '}'))) {
            out += body[i];
            continue;
        }
        out += lookup(body.substr(start, end - start)).value_or("");
        i = braced ? end : end - 1;
    }
    return out;
}

Status Builder::copy_step(State& st, const Instruction& ins) {
    bool add = ins.keyword == Keyword::add;
    std::string_view kw = keyword_name(ins.keyword);
    auto lookup = lookup_for(st);
    std::vector<std::string> words;
    if (ins.exec_form) {
        for (auto& a : ins.args) {
            auto v = expand_text(a, lookup, df_.escape);
            if (!v) return fail(v.error());
            words.push_back(*v);
        }
    } else {
        auto w = split_words(ins.text, &lookup, df_.escape);
        if (!w) return fail(w.error());
        words = *w;
    }
    if (words.size() < 2) return fail_invalid("requires at least a source and a destination");
    std::string dest = words.back();
    words.pop_back();
    bool dest_slash = dest.ends_with('/') || dest == "." || dest.ends_with("/.");
    std::string wd = st.r.config.config.working_dir.empty() ? "/" : st.r.config.config.working_dir;
    std::string dest_abs = clean_path(dest[0] == '/' ? dest : wd + "/" + dest);

    std::vector<std::pair<std::string, std::string>> bodies;  // file name, content
    std::vector<std::string> sources;
    for (auto& w : words) {
        if (w.starts_with("<<") && !ins.heredocs.empty()) {
            std::string delim = w.substr(2);
            if (delim.starts_with("-")) delim = delim.substr(1);
            auto it = std::find_if(ins.heredocs.begin(), ins.heredocs.end(),
                                   [&](const Heredoc& h) { return h.delimiter == delim; });
            if (it == ins.heredocs.end()) return fail_invalid("no heredoc named {}", delim);
            bodies.emplace_back(delim, it->expand ? expand_body(it->body, lookup) : it->body);
            continue;
        }
        if (w.starts_with("http://") || w.starts_with("https://") || w.starts_with("git@"))
            return fail_invalid(
                "{}: remote sources are not supported by husk build; download them in a RUN step",
                w);
        sources.push_back(w);
    }
    for (const char* unsupported : {"parents", "exclude", "checksum", "keep-git-dir"})
        if (ins.flag(unsupported))
            return fail_invalid("--{} is not supported by husk build", unsupported);
    std::optional<std::string> chown = ins.flag("chown");
    std::optional<mode_t> chmod;
    if (auto c = ins.flag("chmod")) {
        if (c->empty() || c->find_first_not_of("01234567") != std::string::npos || c->size() > 4)
            return fail_invalid("--chmod={}: expected an octal mode such as 755", *c);
        chmod = static_cast<mode_t>(std::stoul(*c, nullptr, 8));
    }

    // Where the sources come from: the context, or a stage's / image's filesystem.
    std::optional<StageResult> from;
    std::string from_text;
    if (auto f = ins.flag("from")) {
        auto name = expand_text(*f, lookup, df_.escape);
        if (!name) return fail(name.error());
        from_text = *name;
        if (auto* s = earlier_stage(*name, st.index)) {
            from = built_.at(s->index);
        } else if (df_.find_stage(*name)) {
            return fail_invalid("--from={}: a stage can only copy from an earlier stage", *name);
        } else {
            auto img = image_base(*name);
            if (!img)
                return fail(img.error().wrap(
                    "--from={}: no stage of that name in {}, and no such image", *name, df_.file));
            from = std::move(*img);
        }
    }
    CopySpec spec;
    spec.extract_archives = add && !from;
    spec.chmod = chmod;
    std::string content_key;
    if (from) {
        for (auto& s : sources) spec.sources.push_back(clean_path("/" + s));
        content_key = "from " + from->key;
    } else {
        for (auto& s : sources) {
            auto matched = ctx_.match(s);
            if (!matched) return fail(matched.error());
            spec.sources.insert(spec.sources.end(), matched->begin(), matched->end());
        }
        spec.src_root = ctx_.fd();
        spec.ignore = &ctx_.ignore();
        auto hash = hash_sources(spec);
        if (!hash) return fail(hash.error());
        content_key = *hash;
    }
    size_t count = spec.sources.size() + bodies.size();
    if (count > 1 && !dest_slash)
        return fail_invalid("more than one source: the destination {} must end with /", dest);
    spec.dest = dest_abs;
    spec.dest_is_dir = dest_slash;
    std::string key_text =
        fmt::format("{}\nchown={}\nchmod={:o}\nfrom={}\n{}\n{}{}\n{}\n", kw, chown.value_or(""),
                    chmod.value_or(0), content_key, join(spec.sources, "\x1f"), dest_abs,
                    dest_slash ? "/" : "", wd);
    for (auto& [name, body] : bodies) key_text += "<<" + name + "\n" + body;
    std::string created_by =
        fmt::format("{} {}", kw, ins.exec_form ? join(ins.args, " ") : ins.text);
    return fs_step(st, key_text, created_by, [&](Workspace& ws) -> Status {
        auto root = ws.open_rootfs();
        if (!root) return fail(root.error());
        if (chown) {
            auto ids = resolve_chown(root->get(), *chown);
            if (!ids) return fail(ids.error());
            spec.uid = ids->first;
            spec.gid = ids->second;
        }
        for (auto& [name, body] : bodies)
            HUSK_TRY(write_file_into(root->get(), dest_abs, dest_slash, name, body, spec.uid,
                                     spec.gid, chmod));
        if (spec.sources.empty()) return {};
        if (!from) return copy_into(root->get(), spec);
        auto src_ws = Workspace::open(store_, from->config.diff_ids, false);
        if (!src_ws) return fail(src_ws.error());
        UniqueFd src_root(::open(src_ws->rootfs().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!src_root) return fail_errno("open {}", src_ws->rootfs());
        spec.src_root = src_root.get();
        spec.in_root = true;
        // Wildcards in --from sources match inside the source stage's filesystem.
        std::vector<std::string> expanded;
        for (auto& source : spec.sources) {
            std::string rel = clean_relative_path(source);
            if (!has_wildcards(rel)) {
                expanded.push_back(source);
                continue;
            }
            auto matched = glob_under(src_root.get(), rel, true);
            if (matched.empty())
                return fail_invalid("--from={}: {}: no files match", from_text, source);
            std::sort(matched.begin(), matched.end());
            expanded.insert(expanded.end(), matched.begin(), matched.end());
        }
        if (expanded.size() > 1 && !dest_slash)
            return fail_invalid("more than one source: the destination {} must end with /", dest);
        spec.sources = expanded;
        auto copied = copy_into(root->get(), spec);
        if (!copied) return fail(copied.error().wrap("--from={}", from_text));
        return {};
    });
}

Result<std::string> Builder::commit(const StageResult& result) {
    oci::ImageConfig config = result.config;
    config.created = latest_created(config);
    std::string config_json = oci::image_config_json(config);
    auto config_digest = store_.put_blob(config_json);
    if (!config_digest) return fail(config_digest.error());
    oci::Manifest m;
    m.media_type = std::string(oci::media_type::oci_manifest);
    m.config = {std::string(oci::media_type::oci_config),
                config_digest->str(),
                static_cast<int64_t>(config_json.size()),
                {},
                {},
                false,
                {}};
    for (auto& l : result.layers)
        m.layers.push_back({l.media_type, l.blob, l.size, {}, {}, false, {}});
    auto mdigest = store_.put_blob(oci::manifest_json(m));
    if (!mdigest) return fail(mdigest.error());
    std::vector<std::string> names;
    for (auto& t : options_.tags) {
        auto ref = image::parse_reference(t);
        if (!ref) return fail(ref.error().wrap("-t {}", t));
        names.push_back(ref->str());
    }
    say("COMMIT {}", join(options_.tags, " "));
    auto rec = store_.commit_image(*mdigest, names, {});
    if (!rec) return fail(rec.error());
    say("--> {}", rec->id.substr(rec->id.find(':') + 1, 12));
    for (auto& n : names) say("Successfully tagged {}", n);
    return rec->id;
}

}  // namespace

Result<std::string> build_image(image::Store& store, const BuildOptions& options) {
    std::string dockerfile =
        options.dockerfile.empty() ? options.context + "/Dockerfile" : options.dockerfile;
    auto text = read_file(dockerfile);
    if (!text) return fail(text.error().wrap("read Dockerfile {}", dockerfile));
    std::string shown = dockerfile;
    if (shown.starts_with(options.context + "/")) shown = shown.substr(options.context.size() + 1);
    auto df = parse_dockerfile(*text, shown);
    if (!df) return fail(df.error());
    auto driver = image::choose_driver(store);
    if (driver.name != "overlay")
        return fail_invalid("husk build needs the overlay driver, but the store {} uses {}: {}",
                            store.root(), driver.name, driver.reason);
    auto ctx = Context::open(options.context, dockerfile);
    if (!ctx) return fail(ctx.error());
    Builder builder(store, options, *df, *ctx);
    return builder.run();
}

}  // namespace husk::build
