#include "image/unpack.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "common/files.hpp"
#include "common/unique_fd.hpp"
#include "tar_builder.hpp"

namespace husk::image {
namespace {

using test::TarBuilder;

class UnpackTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/husk-unpack-XXXXXX";
        base_ = ::mkdtemp(tmpl);
        dest_ = base_ + "/layer";
        outside_ = base_ + "/outside";
        ASSERT_EQ(::mkdir(dest_.c_str(), 0755), 0);
        ASSERT_EQ(::mkdir(outside_.c_str(), 0755), 0);
        tar_ = base_ + "/layer.tar";
    }
    void TearDown() override { (void)remove_tree(base_); }

    Result<UnpackResult> unpack() {
        UniqueFd fd(::open(tar_.c_str(), O_RDONLY | O_CLOEXEC));
        return unpack_layer(fd.get(), dest_);
    }
    std::string slurp(const std::string& path) {
        std::ifstream in(path);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
    bool outside_empty() {
        auto out = read_file(outside_ + "/passwd");
        return !out && !path_exists(outside_ + "/x");
    }

    std::string base_, dest_, outside_, tar_;
};

TEST_F(UnpackTest, RegularTreeWithMetadata) {
    {
        TarBuilder t(tar_, true);
        t.dir("etc/", 0755).file("etc/hello", "hi\n", 0640, 1000, 1001);
        t.file("bin/tool", "#!/bin/sh\n", 04755);
        t.symlink("bin/link", "/etc/hello").hardlink("bin/hard", "bin/tool");
        t.device("dev/null", AE_IFCHR, 1, 3).device("run/fifo", AE_IFIFO, 0, 0);
        t.file_with_xattr("data", "x", "user.note", "value");
        t.file(std::string(200, 'a') + "/" + std::string(150, 'b'), "long");
    }
    auto r = unpack();
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->diff_id.algorithm, "sha256");
    EXPECT_EQ(slurp(dest_ + "/etc/hello"), "hi\n");
    struct stat st {};
    ASSERT_EQ(::lstat((dest_ + "/etc/hello").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    EXPECT_EQ(st.st_uid, 1000u);
    EXPECT_EQ(st.st_gid, 1001u);
    EXPECT_EQ(st.st_mtime, 1000000000);
    ASSERT_EQ(::lstat((dest_ + "/bin/tool").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 04755u);
    EXPECT_EQ(st.st_nlink, 2u);
    struct stat st2 {};
    ASSERT_EQ(::lstat((dest_ + "/bin/hard").c_str(), &st2), 0);
    EXPECT_EQ(st.st_ino, st2.st_ino);
    char target[64] = {};
    ASSERT_GT(::readlink((dest_ + "/bin/link").c_str(), target, sizeof target - 1), 0);
    EXPECT_STREQ(target, "/etc/hello");
    ASSERT_EQ(::lstat((dest_ + "/dev/null").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(st.st_rdev, ::makedev(1, 3));
    ASSERT_EQ(::lstat((dest_ + "/run/fifo").c_str(), &st), 0);
    EXPECT_TRUE(S_ISFIFO(st.st_mode));
    char value[16] = {};
    EXPECT_EQ(::getxattr((dest_ + "/data").c_str(), "user.note", value, sizeof value), 5);
    EXPECT_EQ(slurp(dest_ + "/" + std::string(200, 'a') + "/" + std::string(150, 'b')), "long");
}

TEST_F(UnpackTest, DiffIdIsTheUncompressedStreamDigest) {
    std::string plain = base_ + "/plain.tar";
    {
        TarBuilder t(plain, false);
        t.file("a", "content");
    }
    {
        TarBuilder t(tar_, true);
        t.file("a", "content");
    }
    auto r = unpack();
    ASSERT_TRUE(r) << r.error().what();
    auto bytes = read_file(plain);
    ASSERT_TRUE(bytes);
    EXPECT_EQ(r->diff_id, sha256_of(*bytes));
    EXPECT_EQ(r->size, static_cast<int64_t>(bytes->size()));
}

TEST_F(UnpackTest, WhiteoutsBecomeOverlayForm) {
    {
        TarBuilder t(tar_);
        t.dir("etc/").file("etc/.wh.gone", "").dir("opaque/").file("opaque/.wh..wh..opq", "");
        t.file("opaque/kept", "k");
    }
    auto r = unpack();
    ASSERT_TRUE(r) << r.error().what();
    struct stat st {};
    ASSERT_EQ(::lstat((dest_ + "/etc/gone").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(st.st_rdev, ::makedev(0, 0));
    EXPECT_FALSE(path_exists(dest_ + "/etc/.wh.gone"));
    char v[4] = {};
    EXPECT_EQ(::getxattr((dest_ + "/opaque").c_str(), "trusted.overlay.opaque", v, sizeof v), 1);
    EXPECT_EQ(v[0], 'y');
    EXPECT_FALSE(path_exists(dest_ + "/opaque/.wh..wh..opq"));
    EXPECT_TRUE(path_exists(dest_ + "/opaque/kept"));
}

TEST_F(UnpackTest, RefusesDotDot) {
    {
        TarBuilder t(tar_);
        t.file("../outside/x", "evil");
    }
    auto r = unpack();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().what().find("outside the layer"), std::string::npos) << r.error().what();
    EXPECT_TRUE(outside_empty());
}

TEST_F(UnpackTest, RefusesAbsolutePath) {
    {
        TarBuilder t(tar_);
        t.file(outside_ + "/x", "evil");
    }
    auto r = unpack();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().what().find("absolute path"), std::string::npos) << r.error().what();
    EXPECT_TRUE(outside_empty());
}

TEST_F(UnpackTest, RefusesWritingThroughASymlink) {
    {
        TarBuilder t(tar_);
        t.symlink("escape", outside_).file("escape/x", "evil");
    }
    auto r = unpack();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().what().find("symlink"), std::string::npos) << r.error().what();
    EXPECT_TRUE(outside_empty());
}

TEST_F(UnpackTest, RefusesWritingThroughARelativeSymlink) {
    {
        TarBuilder t(tar_);
        t.symlink("escape", "../outside").file("escape/x", "evil");
    }
    ASSERT_FALSE(unpack());
    EXPECT_TRUE(outside_empty());
}

TEST_F(UnpackTest, RefusesHardlinkToOutside) {
    std::string secret = outside_ + "/passwd";
    ASSERT_TRUE(write_file_atomic(secret, "secret"));
    for (std::string target : {std::string("../outside/passwd"), secret}) {
        {
            TarBuilder t(tar_);
            t.hardlink("stolen", target);
        }
        auto r = unpack();
        ASSERT_FALSE(r) << target;
        EXPECT_FALSE(path_exists(dest_ + "/stolen"));
    }
    // Through a symlink inside the layer: refused too.
    {
        TarBuilder t(tar_);
        t.symlink("out", outside_).hardlink("stolen", "out/passwd");
    }
    ASSERT_FALSE(unpack());
    EXPECT_FALSE(path_exists(dest_ + "/stolen"));
    struct stat st {};
    ASSERT_EQ(::stat(secret.c_str(), &st), 0);
    EXPECT_EQ(st.st_nlink, 1u);
}

TEST_F(UnpackTest, RefusesTruncatedGzip) {
    {
        TarBuilder t(tar_, true);
        t.file("big", std::string(1 << 20, 'x'));
    }
    auto bytes = read_file(tar_);
    ASSERT_TRUE(bytes);
    ASSERT_TRUE(write_file_atomic(tar_, bytes->substr(0, bytes->size() / 2)));
    auto r = unpack();
    ASSERT_FALSE(r);
}

TEST_F(UnpackTest, LaterEntryReplacesEarlier) {
    {
        TarBuilder t(tar_);
        t.dir("a/").file("a/f", "1").file("a", "now a file");
    }
    auto r = unpack();
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(slurp(dest_ + "/a"), "now a file");
}

}  // namespace
}  // namespace husk::image
