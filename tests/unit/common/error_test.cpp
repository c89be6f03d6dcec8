// Error values, HUSK_TRY / HUSK_TRY_CTX propagation, ScopeExit and UniqueFd.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "common/error.hpp"
#include "common/scope_exit.hpp"
#include "common/unique_fd.hpp"

namespace husk {
namespace {

TEST(Error, DefaultIsEmpty) {
    Error e;
    EXPECT_EQ(e.errnum(), 0);
    EXPECT_EQ(e.message(), "");
    EXPECT_EQ(e.what(), "");
}

TEST(Error, InvalidHasNoErrnoText) {
    Error e = Error::invalid("bad value {}", 42);
    EXPECT_EQ(e.errnum(), 0);
    EXPECT_EQ(e.message(), "bad value 42");
    EXPECT_EQ(e.what(), "bad value 42");
}

TEST(Error, FromErrnoCapturesErrnoAndAppendsItsText) {
    errno = ENOENT;
    Error e = Error::from_errno("open {}", "/nope");
    EXPECT_EQ(e.errnum(), ENOENT);
    EXPECT_EQ(e.message(), "open /nope");
    EXPECT_EQ(e.what(), std::string("open /nope: ") + std::strerror(ENOENT));
}

TEST(Error, FromErrnoAfterFailedSyscall) {
    ASSERT_EQ(::open("/definitely/not/here/husk", O_RDONLY), -1);
    Error e = Error::from_errno("open {}", "x");
    EXPECT_EQ(e.errnum(), ENOENT);
    EXPECT_NE(e.what().find(std::strerror(ENOENT)), std::string::npos);
}

TEST(Error, ExplicitConstructor) {
    Error e(EACCES, "mount proc on /proc");
    EXPECT_EQ(e.what(), std::string("mount proc on /proc: ") + std::strerror(EACCES));
}

TEST(Error, WrapPrefixesContextOutermostFirstAndKeepsErrno) {
    Error inner(EPERM, "mount proc on /proc");
    Error mid = inner.wrap("rootfs {}", "/r");
    Error outer = mid.wrap("create container {}", "x");
    EXPECT_EQ(outer.errnum(), EPERM);
    EXPECT_EQ(outer.message(), "create container x: rootfs /r: mount proc on /proc");
    EXPECT_EQ(outer.what(), "create container x: rootfs /r: mount proc on /proc: " +
                                std::string(std::strerror(EPERM)));
    // wrap does not change the original.
    EXPECT_EQ(inner.message(), "mount proc on /proc");
}

TEST(Error, WrapOfInvalidStaysWithoutErrnoText) {
    Error e = Error::invalid("bad").wrap("field {}", "a.b");
    EXPECT_EQ(e.errnum(), 0);
    EXPECT_EQ(e.what(), "field a.b: bad");
}

TEST(Error, FailHelpers) {
    errno = EEXIST;
    std::unexpected<Error> u = fail_errno("mkdir {}", "/d");
    EXPECT_EQ(u.error().errnum(), EEXIST);
    EXPECT_EQ(u.error().message(), "mkdir /d");

    std::unexpected<Error> v = fail_invalid("nope {}", 1);
    EXPECT_EQ(v.error().errnum(), 0);
    EXPECT_EQ(v.error().message(), "nope 1");

    Result<int> r = fail(Error(EIO, "io"));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().errnum(), EIO);
}

// --- HUSK_TRY ---------------------------------------------------------------------------

int g_after_try = 0;

Status failing_status() {
    return fail(Error(EBUSY, "inner step"));
}
Status ok_status() {
    return {};
}
Result<int> failing_result() {
    return fail_invalid("no number");
}
Result<int> ok_result() {
    return 7;
}

Status try_status(bool fail_it) {
    HUSK_TRY(fail_it ? failing_status() : ok_status());
    ++g_after_try;
    return {};
}

Result<std::string> try_result_into_other_type(bool fail_it) {
    HUSK_TRY(fail_it ? failing_result() : ok_result());
    ++g_after_try;
    return std::string("done");
}

Status try_ctx(int n) {
    HUSK_TRY_CTX(failing_status(), "outer step {}", n);
    ++g_after_try;
    return {};
}

TEST(HuskTry, PropagatesFailureAndStops) {
    g_after_try = 0;
    auto st = try_status(true);
    ASSERT_FALSE(st.has_value());
    EXPECT_EQ(st.error().errnum(), EBUSY);
    EXPECT_EQ(st.error().message(), "inner step");
    EXPECT_EQ(g_after_try, 0);
}

TEST(HuskTry, ContinuesOnSuccess) {
    g_after_try = 0;
    auto st = try_status(false);
    EXPECT_TRUE(st.has_value());
    EXPECT_EQ(g_after_try, 1);
}

TEST(HuskTry, PropagatesAcrossResultTypes) {
    g_after_try = 0;
    auto r = try_result_into_other_type(true);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().message(), "no number");
    EXPECT_EQ(g_after_try, 0);

    auto ok = try_result_into_other_type(false);
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(*ok, "done");
    EXPECT_EQ(g_after_try, 1);
}

TEST(HuskTry, CtxWrapsTheError) {
    g_after_try = 0;
    auto st = try_ctx(3);
    ASSERT_FALSE(st.has_value());
    EXPECT_EQ(st.error().errnum(), EBUSY);
    EXPECT_EQ(st.error().message(), "outer step 3: inner step");
    EXPECT_EQ(g_after_try, 0);
}

TEST(HuskTry, EvaluatesExpressionOnce) {
    int calls = 0;
    auto f = [&]() -> Status {
        HUSK_TRY(([&]() -> Status {
            ++calls;
            return {};
        })());
        return {};
    };
    EXPECT_TRUE(f().has_value());
    EXPECT_EQ(calls, 1);
}

// --- ScopeExit --------------------------------------------------------------------------

TEST(ScopeExit, RunsOnScopeExit) {
    int runs = 0;
    {
        ScopeExit guard([&] { ++runs; });
        EXPECT_EQ(runs, 0);
    }
    EXPECT_EQ(runs, 1);
}

TEST(ScopeExit, DismissedDoesNotRun) {
    int runs = 0;
    {
        ScopeExit guard([&] { ++runs; });
        guard.dismiss();
    }
    EXPECT_EQ(runs, 0);
}

TEST(ScopeExit, RunsOnEarlyReturnInReverseOrder) {
    std::string order;
    auto f = [&](bool early) {
        ScopeExit a([&] { order += "a"; });
        ScopeExit b([&] { order += "b"; });
        if (early) return;
        order += "x";
    };
    f(true);
    EXPECT_EQ(order, "ba");
    order.clear();
    f(false);
    EXPECT_EQ(order, "xba");
}

TEST(ScopeExit, RunsDuringExceptionUnwinding) {
    int runs = 0;
    try {
        ScopeExit guard([&] { ++runs; });
        throw 1;
    } catch (int) {
    }
    EXPECT_EQ(runs, 1);
}

// --- UniqueFd ---------------------------------------------------------------------------

bool fd_open(int fd) {
    return ::fcntl(fd, F_GETFD) != -1;
}

int new_fd() {
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    return fd;
}

TEST(UniqueFd, DefaultIsInvalid) {
    UniqueFd fd;
    EXPECT_FALSE(fd.valid());
    EXPECT_FALSE(static_cast<bool>(fd));
    EXPECT_EQ(fd.get(), -1);
}

TEST(UniqueFd, ClosesOnDestruction) {
    int raw = new_fd();
    {
        UniqueFd fd(raw);
        EXPECT_TRUE(fd.valid());
        EXPECT_EQ(fd.get(), raw);
        EXPECT_TRUE(fd_open(raw));
    }
    errno = 0;
    EXPECT_EQ(::fcntl(raw, F_GETFD), -1);
    EXPECT_EQ(errno, EBADF);
}

TEST(UniqueFd, MoveConstructTransfersOwnership) {
    int raw = new_fd();
    {
        UniqueFd a(raw);
        UniqueFd b(std::move(a));
        EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move)
        EXPECT_EQ(a.get(), -1);   // NOLINT(bugprone-use-after-move)
        EXPECT_EQ(b.get(), raw);
        { UniqueFd gone(std::move(a)); }  // an empty owner closes nothing
        EXPECT_TRUE(fd_open(raw));
    }
    EXPECT_FALSE(fd_open(raw));
}

TEST(UniqueFd, MoveAssignClosesPreviousFd) {
    int raw1 = new_fd();
    int raw2 = new_fd();
    {
        UniqueFd a(raw1);
        UniqueFd b(raw2);
        b = std::move(a);
        EXPECT_FALSE(fd_open(raw2));  // b's old fd was closed
        EXPECT_TRUE(fd_open(raw1));
        EXPECT_EQ(b.get(), raw1);
        EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move)
    }
    EXPECT_FALSE(fd_open(raw1));
}

TEST(UniqueFd, SelfMoveAssignKeepsFd) {
    int raw = new_fd();
    UniqueFd a(raw);
    UniqueFd& alias = a;
    a = std::move(alias);
    EXPECT_EQ(a.get(), raw);
    EXPECT_TRUE(fd_open(raw));
}

TEST(UniqueFd, ReleaseGivesUpOwnership) {
    int raw = new_fd();
    {
        UniqueFd fd(raw);
        EXPECT_EQ(fd.release(), raw);
        EXPECT_FALSE(fd.valid());
    }
    EXPECT_TRUE(fd_open(raw));
    ::close(raw);
}

TEST(UniqueFd, ResetClosesAndTakesNewFd) {
    int raw1 = new_fd();
    int raw2 = new_fd();
    UniqueFd fd(raw1);
    fd.reset(raw2);
    EXPECT_FALSE(fd_open(raw1));
    EXPECT_EQ(fd.get(), raw2);
    fd.reset();
    EXPECT_FALSE(fd_open(raw2));
    EXPECT_FALSE(fd.valid());
}

}  // namespace
}  // namespace husk
