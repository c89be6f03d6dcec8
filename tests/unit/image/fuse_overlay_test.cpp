// fuse-overlayfs: finding it, refusing what it cannot take, and a real mount's lifetime
// (the process ends with the unmount) where fuse-overlayfs and /dev/fuse are usable.
#include "image/fuse_overlay.hpp"

#include <gtest/gtest.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "common/files.hpp"

namespace husk::image {
namespace {

class FuseOverlayTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/husk-fuse-test.XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        for (const char* sub : {"/l", "/u", "/w", "/m"}) ASSERT_TRUE(make_dirs(dir_ + sub));
        if (const char* p = std::getenv("PATH")) path_ = p;
    }
    void TearDown() override {
        ::setenv("PATH", path_.c_str(), 1);
        (void)remove_tree(dir_);
    }
    FuseOverlayFiles files() const { return {dir_ + "/pid", dir_ + "/log"}; }
    std::string dir_, path_;
};

TEST_F(FuseOverlayTest, NotOnPathIsNamedWithItsPackage) {
    ::setenv("PATH", dir_.c_str(), 1);
    auto binary = fuse_overlay_binary();
    ASSERT_FALSE(binary.has_value());
    EXPECT_NE(binary.error().what().find("package fuse-overlayfs"), std::string::npos);
}

TEST_F(FuseOverlayTest, APathWithASeparatorIsRefusedBeforeAnythingStarts) {
    ASSERT_TRUE(make_dirs(dir_ + "/a,b"));
    auto st = mount_fuse_overlay("/usr/bin/fuse-overlayfs", {dir_ + "/a,b"}, dir_ + "/u",
                                 dir_ + "/w", dir_ + "/m", files());
    ASSERT_FALSE(st.has_value());
    EXPECT_NE(st.error().what().find(dir_ + "/a,b"), std::string::npos) << st.error().what();
    EXPECT_FALSE(path_exists(dir_ + "/log"));
    EXPECT_FALSE(path_exists(dir_ + "/pid"));
}

TEST_F(FuseOverlayTest, MountServesTheLayersAndUnmountEndsTheProcess) {
    auto binary = fuse_overlay_binary();
    if (!binary) GTEST_SKIP() << binary.error().what();
    ASSERT_TRUE(write_file_atomic(dir_ + "/l/f", "lower"));
    auto st =
        mount_fuse_overlay(*binary, {dir_ + "/l"}, dir_ + "/u", dir_ + "/w", dir_ + "/m", files());
    ASSERT_TRUE(st.has_value()) << st.error().what();
    auto text = read_file(dir_ + "/m/f");
    EXPECT_TRUE(text.has_value() && *text == "lower");
    ASSERT_TRUE(write_file_atomic(dir_ + "/m/new", "upper"));
    auto pid_text = read_file(dir_ + "/pid");
    ASSERT_TRUE(pid_text.has_value());
    pid_t pid = std::atoi(pid_text->c_str());
    ASSERT_GT(pid, 1);
    ASSERT_TRUE(unmount_fuse_overlay(dir_ + "/m", files()).has_value());
    // The change is in the upper dir; the process and its pid file are gone.
    EXPECT_TRUE(path_exists(dir_ + "/u/new"));
    EXPECT_FALSE(path_exists(dir_ + "/pid"));
    auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    EXPECT_TRUE(!stat || stat->find(") Z") != std::string::npos) << *stat;
    struct statfs sfs {};
    ASSERT_EQ(::statfs((dir_ + "/m").c_str(), &sfs), 0);
    EXPECT_NE(static_cast<long>(sfs.f_type), 0x65735546L) << "still a FUSE mount";
}

TEST_F(FuseOverlayTest, AFailingProcessGivesItsOwnMessage) {
    auto binary = fuse_overlay_binary();
    if (!binary) GTEST_SKIP() << binary.error().what();
    auto st = mount_fuse_overlay(*binary, {dir_ + "/absent-lower"}, dir_ + "/u", dir_ + "/w",
                                 dir_ + "/m", files());
    ASSERT_FALSE(st.has_value());
    EXPECT_NE(st.error().what().find("fuse-overlayfs could not mount"), std::string::npos)
        << st.error().what();
    EXPECT_NE(st.error().what().find("absent-lower"), std::string::npos) << st.error().what();
    EXPECT_FALSE(path_exists(dir_ + "/pid"));
}

}  // namespace
}  // namespace husk::image
