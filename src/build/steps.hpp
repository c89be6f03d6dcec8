#pragma once
// The builder's internal pieces, one concern per file: the mounted workspace of a step
// (workspace.cpp), the build context and COPY/ADD (context.cpp, copy.cpp), the upper dir to
// a layer blob (layer_tar.cpp), RUN in a container (run_step.cpp), the step cache
// (cache.cpp) and the config-only instructions (metadata.cpp).
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "build/dockerfile.hpp"
#include "build/ignore.hpp"
#include "build/words.hpp"
#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "image/store.hpp"
#include "oci/image_spec.hpp"

namespace husk::build::detail {

struct LayerRef {
    std::string blob;  // "sha256:..." of the compressed blob
    std::string media_type;
    int64_t size = 0;
};

// An overlay of an image's layers on <tmp>/rootfs, writable into <tmp>/upper unless
// read-only. Unmounted and removed when destroyed.
class Workspace {
public:
    [[nodiscard]] static Result<Workspace> open(const image::Store& store,
                                                const std::vector<std::string>& diff_ids,
                                                bool writable);
    Workspace(Workspace&& other) noexcept;
    Workspace& operator=(Workspace&&) = delete;
    ~Workspace();

    const std::string& rootfs() const { return rootfs_; }
    std::string upper() const { return dir_ + "/upper"; }
    const std::string& dir() const { return dir_; }
    // A directory fd of the mounted rootfs.
    [[nodiscard]] Result<UniqueFd> open_rootfs() const;
    [[nodiscard]] Status unmount();
    // Whether the step left anything in the upper dir (call after unmount).
    bool changed() const;

private:
    Workspace() = default;
    std::string dir_;
    std::string rootfs_;
    bool mounted_ = false;
};

// layer_tar.cpp: the upper dir as a gzip'd OCI layer, streamed into the store.
struct NewLayer {
    LayerRef ref;
    std::string diff_id;
};
[[nodiscard]] Result<NewLayer> write_layer(image::Store& store, const std::string& upper_dir,
                                           std::optional<int64_t> source_date_epoch);
// Unpacks the new layer's blob into layers/<chain> (where later steps find it as a lower).
[[nodiscard]] Status install_layer(image::Store& store, const NewLayer& layer,
                                   const std::vector<std::string>& diff_ids_with_it);

// context.cpp: the build context directory and its ignore rules.
class Context {
public:
    [[nodiscard]] static Result<Context> open(const std::string& dir,
                                              const std::string& dockerfile);
    int fd() const { return fd_.get(); }
    const IgnoreRules& ignore() const { return ignore_; }
    // Expands one source (wildcards allowed) to cleaned relative paths inside the context,
    // excluding ignored ones. Errors name the source.
    [[nodiscard]] Result<std::vector<std::string>> match(const std::string& source) const;

private:
    UniqueFd fd_;
    IgnoreRules ignore_;
};

// openat2 relative to `dirfd`: RESOLVE_BENEATH (the context: a way out is an error) or
// RESOLVE_IN_ROOT (a rootfs: "/" and symlinks stay inside).
[[nodiscard]] Result<UniqueFd> open_under(int dirfd, const std::string& path, int flags,
                                          bool in_root);

// Expands a cleaned relative pattern with wildcards (per path component, fnmatch) under
// root_fd; non-wildcard components must exist. Unsorted, unfiltered.
std::vector<std::string> glob_under(int root_fd, const std::string& pattern, bool in_root);
bool has_wildcards(std::string_view path);

// copy.cpp: COPY and ADD into a mounted rootfs.
struct CopySpec {
    int src_root = -1;     // directory fd the sources are relative to
    bool in_root = false;  // resolve inside src_root as "/" (a stage's rootfs) vs beneath (context)
    const IgnoreRules* ignore = nullptr;  // context only
    std::vector<std::string> sources;     // relative to src_root
    std::string dest;                     // absolute path in the rootfs
    bool dest_is_dir = false;             // dest ended with '/' or several sources
    std::optional<uid_t> uid;             // --chown (context sources default to 0:0)
    std::optional<gid_t> gid;
    std::optional<mode_t> chmod;
    bool extract_archives = false;  // ADD: local tar archives are unpacked
};
[[nodiscard]] Status copy_into(int rootfs_fd, const CopySpec& spec);
// A digest over the sources' relative paths, modes, owners, symlink targets and contents.
[[nodiscard]] Result<std::string> hash_sources(const CopySpec& spec);
// Writes `content` as the file `dest` (absolute) in the rootfs: COPY <<EOF.
[[nodiscard]] Status write_file_into(int rootfs_fd, const std::string& dest, bool dest_is_dir,
                                     const std::string& name, const std::string& content,
                                     std::optional<uid_t> uid, std::optional<gid_t> gid,
                                     std::optional<mode_t> chmod);

// run_step.cpp
struct UserIds {
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> additional;
    std::string home;
};
// "name", "uid", "name:group", "uid:gid", resolved with the rootfs's /etc/passwd and
// /etc/group (read inside the rootfs).
[[nodiscard]] Result<UserIds> resolve_user(int rootfs_fd, const std::string& user);
// --chown: as resolve_user, but a missing group defaults to the user's... as Docker: the
// same name/number.
[[nodiscard]] Result<std::pair<uid_t, gid_t>> resolve_chown(int rootfs_fd, const std::string& spec);

struct RunSpec {
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string user;
    std::string cwd = "/";
    std::string network = "none";  // none, host, or bridge (the store's default network)
    bool quiet = false;
    std::string store_root;  // the networks of this store
    std::string runroot;
    std::string upper_dir;  // the workspace's overlay upper: mount targets made are removed
    std::string rootfs;                                             // mounted
    std::string bundle_dir;                                         // where config.json goes
    std::vector<std::pair<std::string, std::string>> cache_mounts;  // host dir, target
};
// Runs the process in a container on the rootfs; returns its exit status.
[[nodiscard]] Result<int> run_in_rootfs(const RunSpec& spec);

// cache.cpp
struct CacheEntry {
    std::optional<LayerRef> layer;
    std::string diff_id;
    oci::HistoryEntry history;
};
std::string cache_key(const std::string& parent, const std::string& step);
// A hit only when its blob and unpacked layer still exist.
std::optional<CacheEntry> cache_lookup(const image::Store& store, const std::string& key,
                                       const std::vector<std::string>& diff_ids);
[[nodiscard]] Status cache_store(const image::Store& store, const std::string& key,
                                 const CacheEntry& entry);

// metadata.cpp: ENV, LABEL, EXPOSE, VOLUME, USER, CMD, ENTRYPOINT, SHELL, STOPSIGNAL,
// HEALTHCHECK, MAINTAINER, ONBUILD. `cmd_set` tracks whether this stage set CMD
// (ENTRYPOINT clears an inherited CMD, as Docker).
[[nodiscard]] Status apply_metadata(oci::ContainerDefaults& config, std::string& author,
                                    const Instruction& ins, const VariableLookup& lookup,
                                    char escape, bool& cmd_set);

}  // namespace husk::build::detail
