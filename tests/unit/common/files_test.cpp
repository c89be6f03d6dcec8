// Whole-file reads and writes, the atomic write, make_dirs and remove_tree.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/files.hpp"
#include "common/unique_fd.hpp"
#include "test_dir.hpp"

namespace husk {
namespace {

using testing::entry_count;
using testing::exists_nofollow;
using testing::is_dir;
using testing::slurp;
using testing::spit;
using testing::TempDir;

mode_t mode_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
}

// Runs `fn` with the umask cleared so that modes are checked exactly.
template <typename F>
void with_umask(mode_t mask, F fn) {
    mode_t old = ::umask(mask);
    fn();
    ::umask(old);
}

TEST(ReadFile, ReadsWholeFile) {
    TempDir tmp;
    std::string big(100000, 'x');
    big[5] = 'y';
    spit(tmp / "f", big);
    auto r = read_file(tmp / "f");
    ASSERT_TRUE(r.has_value()) << r.error().what();
    EXPECT_EQ(*r, big);
}

TEST(ReadFile, MissingFileIsErrorWithPathAndErrno) {
    TempDir tmp;
    auto r = read_file(tmp / "missing");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().errnum(), ENOENT);
    EXPECT_NE(r.error().message().find(tmp / "missing"), std::string::npos);
}

TEST(ReadFile, AtDirFd) {
    TempDir tmp;
    spit(tmp / "f", "hello");
    UniqueFd dir(::open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY));
    ASSERT_TRUE(dir.valid());
    auto r = read_file_at(dir.get(), "f");
    ASSERT_TRUE(r.has_value()) << r.error().what();
    EXPECT_EQ(*r, "hello");
}

TEST(WriteFile, OverwritesExistingButDoesNotCreate) {
    TempDir tmp;
    spit(tmp / "f", "");
    ASSERT_TRUE(write_file(tmp / "f", "abc").has_value());
    EXPECT_EQ(slurp(tmp / "f"), "abc");

    auto st = write_file(tmp / "new", "abc");
    ASSERT_FALSE(st.has_value());
    EXPECT_EQ(st.error().errnum(), ENOENT);
    EXPECT_FALSE(exists_nofollow(tmp / "new"));
}

TEST(WriteFile, AtDirFd) {
    TempDir tmp;
    spit(tmp / "f", "");
    UniqueFd dir(::open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY));
    ASSERT_TRUE(write_file_at(dir.get(), "f", "xyz").has_value());
    EXPECT_EQ(slurp(tmp / "f"), "xyz");
}

TEST(WriteFileAtomic, WritesContentWithModeAndLeavesNoTemp) {
    TempDir tmp;
    with_umask(0, [&] {
        auto st = write_file_atomic(tmp / "state.json", "{\"a\":1}", 0600);
        ASSERT_TRUE(st.has_value()) << st.error().what();
    });
    EXPECT_EQ(slurp(tmp / "state.json"), "{\"a\":1}");
    EXPECT_EQ(mode_of(tmp / "state.json"), 0600u);
    EXPECT_EQ(entry_count(tmp.path()), 1u);
}

TEST(WriteFileAtomic, DefaultMode) {
    TempDir tmp;
    with_umask(0, [&] { ASSERT_TRUE(write_file_atomic(tmp / "f", "x").has_value()); });
    EXPECT_EQ(mode_of(tmp / "f"), 0644u);
}

TEST(WriteFileAtomic, EmptyContent) {
    TempDir tmp;
    ASSERT_TRUE(write_file_atomic(tmp / "f", "").has_value());
    EXPECT_TRUE(testing::is_regular(tmp / "f"));
    EXPECT_EQ(slurp(tmp / "f"), "");
}

TEST(WriteFileAtomic, ReplacesExistingFileByRename) {
    TempDir tmp;
    spit(tmp / "f", "old content that is longer than the new one");
    struct stat before {};
    ASSERT_EQ(::stat((tmp / "f").c_str(), &before), 0);
    // A reader holding the old file keeps seeing the old content: the file was replaced,
    // not rewritten in place.
    UniqueFd reader(::open((tmp / "f").c_str(), O_RDONLY));
    ASSERT_TRUE(reader.valid());

    ASSERT_TRUE(write_file_atomic(tmp / "f", "new").has_value());
    EXPECT_EQ(slurp(tmp / "f"), "new");

    struct stat after {};
    ASSERT_EQ(::stat((tmp / "f").c_str(), &after), 0);
    EXPECT_NE(before.st_ino, after.st_ino);
    char buf[64] = {};
    ssize_t n = ::pread(reader.get(), buf, sizeof buf - 1, 0);
    EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0),
              "old content that is longer than the new one");
    EXPECT_EQ(entry_count(tmp.path()), 1u);
}

TEST(WriteFileAtomic, ReplacesSymlinkRatherThanWritingThroughIt) {
    TempDir tmp;
    spit(tmp / "target", "target");
    ASSERT_EQ(::symlink((tmp / "target").c_str(), (tmp / "link").c_str()), 0);
    ASSERT_TRUE(write_file_atomic(tmp / "link", "new").has_value());
    EXPECT_EQ(slurp(tmp / "target"), "target");
    EXPECT_TRUE(testing::is_regular(tmp / "link"));
    EXPECT_EQ(slurp(tmp / "link"), "new");
}

TEST(WriteFileAtomic, MissingDirectoryIsErrorAndLeavesNothing) {
    TempDir tmp;
    auto st = write_file_atomic(tmp / "no/such/f", "x");
    ASSERT_FALSE(st.has_value());
    EXPECT_EQ(st.error().errnum(), ENOENT);
    EXPECT_EQ(entry_count(tmp.path()), 0u);
}

TEST(WriteFileAtomic, TargetIsDirectoryFailsAndCleansTemp) {
    TempDir tmp;
    ASSERT_EQ(::mkdir((tmp / "d").c_str(), 0755), 0);
    spit(tmp / "d/inner", "keep");
    auto st = write_file_atomic(tmp / "d", "x");
    ASSERT_FALSE(st.has_value());
    EXPECT_TRUE(is_dir(tmp / "d"));
    EXPECT_EQ(slurp(tmp / "d/inner"), "keep");
    EXPECT_EQ(entry_count(tmp.path()), 1u) << "temp file left behind";
}

TEST(MakeDirs, CreatesNestedWithMode) {
    TempDir tmp;
    with_umask(0, [&] { ASSERT_TRUE(make_dirs(tmp / "a/b/c", 0711).has_value()); });
    EXPECT_TRUE(is_dir(tmp / "a"));
    EXPECT_TRUE(is_dir(tmp / "a/b"));
    EXPECT_TRUE(is_dir(tmp / "a/b/c"));
    EXPECT_EQ(mode_of(tmp / "a/b/c"), 0711u);
    EXPECT_EQ(mode_of(tmp / "a"), 0711u);
}

TEST(MakeDirs, ExistingIsFine) {
    TempDir tmp;
    ASSERT_TRUE(make_dirs(tmp / "a/b").has_value());
    spit(tmp / "a/b/keep", "k");
    auto st = make_dirs(tmp / "a/b");
    EXPECT_TRUE(st.has_value()) << st.error().what();
    EXPECT_TRUE(make_dirs(tmp.path()).has_value());
    EXPECT_EQ(slurp(tmp / "a/b/keep"), "k");
}

TEST(MakeDirs, TrailingAndDoubleSlashes) {
    TempDir tmp;
    auto st = make_dirs(tmp.path() + "//x//y/");
    EXPECT_TRUE(st.has_value()) << st.error().what();
    EXPECT_TRUE(is_dir(tmp / "x/y"));
}

TEST(MakeDirs, FileInTheWayIsEnotdir) {
    TempDir tmp;
    spit(tmp / "file", "x");
    auto st = make_dirs(tmp / "file/sub");
    ASSERT_FALSE(st.has_value());
    EXPECT_EQ(st.error().errnum(), ENOTDIR);

    // The last component itself a file.
    auto last = make_dirs(tmp / "file");
    ASSERT_FALSE(last.has_value());
    EXPECT_EQ(last.error().errnum(), ENOTDIR);
    EXPECT_NE(last.error().message().find(tmp / "file"), std::string::npos);
    EXPECT_EQ(slurp(tmp / "file"), "x");
}

TEST(MakeDirs, FollowsSymlinkToDirectory) {
    TempDir tmp;
    ASSERT_EQ(::mkdir((tmp / "real").c_str(), 0755), 0);
    ASSERT_EQ(::symlink("real", (tmp / "link").c_str()), 0);
    ASSERT_TRUE(make_dirs(tmp / "link/sub").has_value());
    EXPECT_TRUE(is_dir(tmp / "real/sub"));
}

TEST(RemoveTree, RemovesNestedTree) {
    TempDir tmp;
    ASSERT_TRUE(make_dirs(tmp / "t/a/b/c").has_value());
    ASSERT_TRUE(make_dirs(tmp / "t/d").has_value());
    spit(tmp / "t/f", "1");
    spit(tmp / "t/a/b/c/g", "2");
    spit(tmp / "t/d/h", "3");
    ASSERT_EQ(::mkfifo((tmp / "t/a/fifo").c_str(), 0600), 0);
    ASSERT_EQ(::symlink("dangling", (tmp / "t/a/b/dangling").c_str()), 0);
    // An empty directory.
    ASSERT_TRUE(make_dirs(tmp / "t/empty").has_value());

    auto st = remove_tree(tmp / "t");
    ASSERT_TRUE(st.has_value()) << st.error().what();
    EXPECT_FALSE(exists_nofollow(tmp / "t"));
    EXPECT_EQ(entry_count(tmp.path()), 0u);
}

TEST(RemoveTree, SymlinkToOutsideDirIsRemovedNotFollowed) {
    TempDir tmp;
    TempDir outside("husk-unit-outside");
    spit(outside / "precious", "keep me");
    ASSERT_TRUE(make_dirs(outside / "sub").has_value());
    spit(outside / "sub/also", "keep");

    ASSERT_TRUE(make_dirs(tmp / "t/inner").has_value());
    ASSERT_EQ(::symlink(outside.path().c_str(), (tmp / "t/link").c_str()), 0);
    ASSERT_EQ(::symlink(outside.path().c_str(), (tmp / "t/inner/link2").c_str()), 0);
    ASSERT_EQ(::symlink((outside / "precious").c_str(), (tmp / "t/filelink").c_str()), 0);

    auto st = remove_tree(tmp / "t");
    ASSERT_TRUE(st.has_value()) << st.error().what();
    EXPECT_FALSE(exists_nofollow(tmp / "t"));
    EXPECT_EQ(slurp(outside / "precious"), "keep me");
    EXPECT_EQ(slurp(outside / "sub/also"), "keep");
    EXPECT_EQ(entry_count(outside.path()), 2u);
}

TEST(RemoveTree, TopLevelSymlinkIsRemovedNotFollowed) {
    TempDir tmp;
    TempDir outside("husk-unit-outside");
    spit(outside / "precious", "keep me");
    ASSERT_EQ(::symlink(outside.path().c_str(), (tmp / "link").c_str()), 0);
    ASSERT_TRUE(remove_tree(tmp / "link").has_value());
    EXPECT_FALSE(exists_nofollow(tmp / "link"));
    EXPECT_EQ(slurp(outside / "precious"), "keep me");
}

TEST(RemoveTree, SingleFileAndMissingPath) {
    TempDir tmp;
    spit(tmp / "f", "x");
    ASSERT_TRUE(remove_tree(tmp / "f").has_value());
    EXPECT_FALSE(exists_nofollow(tmp / "f"));
    EXPECT_TRUE(remove_tree(tmp / "never-existed").has_value());
}

TEST(RemoveTree, DoesNotLeakFds) {
    TempDir tmp;
    ASSERT_TRUE(make_dirs(tmp / "t/a/b/c/d/e").has_value());
    int probe_before = ::open("/dev/null", O_RDONLY);
    ::close(probe_before);
    ASSERT_TRUE(remove_tree(tmp / "t").has_value());
    int probe_after = ::open("/dev/null", O_RDONLY);
    ::close(probe_after);
    EXPECT_EQ(probe_before, probe_after);
}

TEST(PathExists, DoesNotFollowSymlinks) {
    TempDir tmp;
    EXPECT_TRUE(path_exists(tmp.path()));
    EXPECT_FALSE(path_exists(tmp / "nope"));
    ASSERT_EQ(::symlink("nope", (tmp / "dangling").c_str()), 0);
    EXPECT_TRUE(path_exists(tmp / "dangling"));
}

}  // namespace
}  // namespace husk
