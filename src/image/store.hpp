#pragma once
// husk's image store under <root> (see docs/images.md):
//   blobs/<algo>/<hex>   content-addressed blobs, visible only once verified and renamed
//   layers/<chainhex>/   one unpacked layer each (overlay form: whiteouts as 0/0 char devices)
//   images.json          image records and which containers use which image
//   image.lock           flock held while images.json is read-modified-written
//   gc.lock              flock: shared by every open store, exclusive for garbage collection
//   tmp/<pid>.*          work in progress; a dead pid's entries are removed on open
#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/files.hpp"
#include "common/unique_fd.hpp"
#include "image/digest.hpp"
#include "oci/image_manifest.hpp"
#include "oci/image_spec.hpp"

namespace husk::image {

struct ImageRecord {
    std::string id;               // the config's digest, "sha256:..."
    std::string manifest_digest;  // the manifest blob this image was stored from
    std::string manifest_media_type;
    std::vector<std::string> names;         // "docker.io/library/busybox:latest"
    std::vector<std::string> repo_digests;  // "localhost:5000/x@sha256:..."
    std::string stored;                     // RFC 3339: when it entered the store
};

struct ContainerUse {
    std::string image_id;
    std::string dir;     // the container directory the rootfs lives in
    std::string driver;  // "overlay" or "vfs"
};

struct Db {
    std::map<std::string, ImageRecord> images;  // by id
    std::map<std::string, ContainerUse> containers;
};

// A blob being written: hashed while streamed into a temp file, renamed into place by
// commit() only when the digest matches.
class BlobWriter {
public:
    BlobWriter() = default;
    BlobWriter(BlobWriter&&) noexcept = default;
    BlobWriter& operator=(BlobWriter&&) noexcept = default;
    ~BlobWriter();
    [[nodiscard]] Status write(const void* data, size_t size);
    int64_t written() const { return written_; }
    // Verifies against `expected` (when given) and the size limit; renames into place.
    [[nodiscard]] Result<Digest> commit(const std::optional<Digest>& expected);

private:
    friend class Store;
    std::string blobs_dir_;
    std::string temp_path_;
    UniqueFd fd_;
    std::optional<Hasher> hasher_;
    std::string algorithm_;
    int64_t written_ = 0;
};

class Store {
public:
    // Creates the layout when missing and removes what crashed commands left in tmp/.
    [[nodiscard]] static Result<Store> open(const std::string& root);

    const std::string& root() const { return root_; }

    // Blobs.
    std::string blob_path(const Digest& digest) const;
    bool has_blob(const Digest& digest) const;
    [[nodiscard]] Result<std::string> read_blob(const Digest& digest) const;
    [[nodiscard]] Result<UniqueFd> open_blob(const Digest& digest) const;
    [[nodiscard]] Result<BlobWriter> blob_writer(const std::string& algorithm = "sha256") const;
    [[nodiscard]] Result<Digest> put_blob(std::string_view data,
                                          const std::optional<Digest>& expected = std::nullopt);

    // Records. update_db holds image.lock across read, change and atomic write.
    [[nodiscard]] Result<Db> load_db() const;
    [[nodiscard]] Status update_db(const std::function<Status(Db&)>& change,
                                   Durability durability = Durability::survive_power_loss);

    // Layers: the directory holding one unpacked layer, named by its chain id.
    std::string layer_path(const std::string& chain_id) const;

    // A fresh path under tmp/ (nothing created), removed by open() if this process dies.
    std::string temp_path(const std::string& what) const;

    // Reads an image's manifest and config out of the store.
    [[nodiscard]] Result<oci::Manifest> manifest_of(const ImageRecord& image) const;
    [[nodiscard]] Result<oci::ImageConfig> config_of(const ImageRecord& image) const;

    // Unpacks the manifest's layers that are not unpacked yet (verifying each diffID against
    // the config) and records the image under `names`, moving those names off other images.
    // `prepared` maps chain ids to layers already unpacked into temp dirs (by
    // unpack_to_temp, while other blobs were still downloading); they are moved into place.
    [[nodiscard]] Result<ImageRecord> commit_image(
        const Digest& manifest_digest, const std::vector<std::string>& names,
        const std::vector<std::string>& repo_digests,
        const std::map<std::string, std::string>& prepared = {});
    // Unpacks a layer blob into a new temp dir and checks its diffID; returns the dir.
    [[nodiscard]] Result<std::string> unpack_to_temp(const Digest& blob,
                                                     const std::string& diff_id) const;

    // Finds an image by name ("busybox", "localhost:5000/x:1"), id, id prefix or
    // name@digest.
    [[nodiscard]] Result<ImageRecord> find_image(const Db& db, const std::string& what) const;

    // Removes blobs and layers that no image references. Returns bytes freed. Skipped (0)
    // while another husk process has the store open: its pull may have committed blobs it
    // has not recorded yet (every open store holds gc.lock shared; GC needs it exclusive).
    [[nodiscard]] Result<int64_t> collect_garbage();
    // Verifies every blob's digest and that every record's blobs and layers exist; returns
    // the problems found (empty when consistent).
    [[nodiscard]] Result<std::vector<std::string>> check();

private:
    std::string root_;
    UniqueFd gc_lock_;
};

// chain id of layer n: diffID_0, then sha256(chain_{n-1} + " " + diffID_n).
std::vector<std::string> chain_ids(const std::vector<std::string>& diff_ids);
// Largest blob accepted (a declared size above it is refused before any download).
inline constexpr int64_t max_blob_size = int64_t(64) << 30;
std::string now_rfc3339();

}  // namespace husk::image
