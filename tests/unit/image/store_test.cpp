#include "image/store.hpp"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "common/files.hpp"
#include "image/archive.hpp"
#include "image/rootfs.hpp"
#include "tar_builder.hpp"

namespace husk::image {
namespace {

using test::TarBuilder;

size_t count_entries(const std::string& dir) {
    size_t n = 0;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return 0;
    while (auto* e = ::readdir(d))
        if (e->d_name[0] != '.') ++n;
    ::closedir(d);
    return n;
}

class StoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/husk-store-XXXXXX";
        base_ = ::mkdtemp(tmpl);
        auto s = Store::open(base_ + "/root");
        ASSERT_TRUE(s) << s.error().what();
        store_.emplace(std::move(*s));
    }
    void TearDown() override {
        ::umount2((base_ + "/c1/rootfs").c_str(), MNT_DETACH);
        (void)remove_tree(base_);
        ::unsetenv("HUSK_STORAGE_DRIVER");
    }
    // A two-layer image: the second deletes a file and makes a directory opaque.
    ImageRecord two_layers() {
        std::string l1 = base_ + "/l1.tar", l2 = base_ + "/l2.tar";
        {
            TarBuilder t(l1, true);
            t.dir("etc/").file("etc/a", "a").file("etc/b", "b").dir("d/").file("d/old", "o");
        }
        {
            TarBuilder t(l2, true);
            t.file("etc/.wh.a", "")
                .file("d/.wh..wh..opq", "")
                .file("d/new", "n")
                .file("etc/c", "c");
        }
        auto r1 = import_tarball(*store_, l1, "base:1");
        EXPECT_TRUE(r1) << r1.error().what();
        // Build the second image by hand: manifest with both layers.
        auto c1 = store_->config_of(*r1);
        auto m1 = store_->manifest_of(*r1);
        auto blob2 = store_->blob_writer();
        auto bytes = read_file(l2);
        EXPECT_TRUE(blob2->write(bytes->data(), bytes->size()));
        auto d2 = blob2->commit(std::nullopt);
        std::string tmp = store_->temp_path("x");
        ::mkdir(tmp.c_str(), 0755);
        auto fd = store_->open_blob(*d2);
        oci::ImageConfig config = *c1;
        // diffID of layer 2: unpack it once to learn it.
        auto diff = [&] {
            auto u = store_->unpack_to_temp(*d2, "sha256:" + std::string(64, '0'));
            std::string msg = u ? "" : u.error().what();
            auto pos = msg.find("the content is ");
            return msg.substr(pos + 15);
        }();
        config.diff_ids.push_back(diff);
        auto cd = store_->put_blob(oci::image_config_json(config));
        oci::Manifest m = *m1;
        m.config.digest = cd->str();
        m.layers.push_back({std::string(oci::media_type::oci_layer_gzip),
                            d2->str(),
                            static_cast<int64_t>(bytes->size()),
                            {},
                            {},
                            false,
                            {}});
        auto md = store_->put_blob(oci::manifest_json(m));
        auto rec = store_->commit_image(*md, {"docker.io/library/two:1"}, {});
        EXPECT_TRUE(rec) << rec.error().what();
        return *rec;
    }

    std::string base_;
    std::optional<Store> store_;
};

TEST_F(StoreTest, BlobDigestMismatchLeavesNothing) {
    auto r = store_->put_blob("hello", sha256_of("other"));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().what().find("digest mismatch"), std::string::npos);
    EXPECT_EQ(count_entries(base_ + "/root/blobs/sha256"), 0u);
    EXPECT_EQ(count_entries(base_ + "/root/tmp"), 0u);
    auto ok = store_->put_blob("hello", sha256_of("hello"));
    ASSERT_TRUE(ok);
    EXPECT_EQ(*store_->read_blob(*ok), "hello");
    auto sha512 = store_->put_blob("x", digest_of("sha512", "x"));
    ASSERT_TRUE(sha512) << sha512.error().what();
    EXPECT_TRUE(store_->has_blob(*sha512));
}

TEST_F(StoreTest, OpenRemovesWhatDeadProcessesLeft) {
    ASSERT_TRUE(make_dirs(base_ + "/root/tmp/999999999.dead.1.layer/x"));
    ASSERT_TRUE(write_file_atomic(base_ + "/root/tmp/999999999.dead.2.blob", "partial"));
    auto live = store_->temp_path("blob");
    ASSERT_TRUE(write_file_atomic(live, "mine"));
    ASSERT_TRUE(Store::open(base_ + "/root"));
    EXPECT_FALSE(path_exists(base_ + "/root/tmp/999999999.dead.1.layer"));
    EXPECT_FALSE(path_exists(base_ + "/root/tmp/999999999.dead.2.blob"));
    EXPECT_TRUE(path_exists(live));
}

TEST_F(StoreTest, ImportFindTagGcAndCheck) {
    auto rec = two_layers();
    auto db = store_->load_db();
    ASSERT_TRUE(db);
    EXPECT_EQ(db->images.size(), 2u);
    auto found = store_->find_image(*db, "two:1");
    ASSERT_TRUE(found) << found.error().what();
    EXPECT_EQ(found->id, rec.id);
    EXPECT_TRUE(store_->find_image(*db, rec.id.substr(7, 10)));
    EXPECT_FALSE(store_->find_image(*db, "nothere"));
    auto problems = store_->check();
    ASSERT_TRUE(problems);
    EXPECT_TRUE(problems->empty()) << (*problems)[0];
    // A corrupted blob is found.
    auto md = parse_digest(rec.manifest_digest);
    std::string path = store_->blob_path(*md);
    ASSERT_TRUE(write_file_atomic(path, "garbage"));
    problems = store_->check();
    ASSERT_TRUE(problems);
    EXPECT_FALSE(problems->empty());
    // Dropping the record and collecting garbage leaves only the first image's content.
    ASSERT_TRUE(store_->update_db([&](Db& d) -> Status {
        d.images.erase(rec.id);
        return {};
    }));
    auto freed = store_->collect_garbage();
    ASSERT_TRUE(freed) << freed.error().what();
    EXPECT_GT(*freed, 0);
    EXPECT_EQ(count_entries(base_ + "/root/layers"), 1u);
    problems = store_->check();
    ASSERT_TRUE(problems);
    EXPECT_TRUE(problems->empty());
}

void check_merged(const std::string& rootfs) {
    EXPECT_FALSE(path_exists(rootfs + "/etc/a"));  // whited out
    EXPECT_EQ(*read_file(rootfs + "/etc/b"), "b");
    EXPECT_EQ(*read_file(rootfs + "/etc/c"), "c");
    EXPECT_FALSE(path_exists(rootfs + "/d/old"));  // opaque
    EXPECT_EQ(*read_file(rootfs + "/d/new"), "n");
}

TEST_F(StoreTest, OverlayRootfs) {
    auto rec = two_layers();
    auto driver = choose_driver(*store_);
    if (driver.name != "overlay") GTEST_SKIP() << "overlay unavailable: " << driver.reason;
    auto rootfs = prepare_rootfs(*store_, rec.id, "c1", base_ + "/c1");
    ASSERT_TRUE(rootfs) << rootfs.error().what();
    check_merged(*rootfs);
    auto db = store_->load_db();
    EXPECT_EQ(db->containers.at("c1").image_id, rec.id);
    ASSERT_TRUE(release_rootfs(*store_, "c1"));
    EXPECT_FALSE(path_exists(base_ + "/c1/upper"));
    EXPECT_EQ(store_->load_db()->containers.size(), 0u);
}

TEST_F(StoreTest, VfsRootfs) {
    auto rec = two_layers();
    ::setenv("HUSK_STORAGE_DRIVER", "vfs", 1);
    auto rootfs = prepare_rootfs(*store_, rec.id, "c1", base_ + "/c1");
    ASSERT_TRUE(rootfs) << rootfs.error().what();
    check_merged(*rootfs);
    ASSERT_TRUE(release_rootfs(*store_, "c1"));
    EXPECT_FALSE(path_exists(*rootfs));
}

}  // namespace
}  // namespace husk::image
