// The parent <-> init channel over a SOCK_SEQPACKET pair.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/unique_fd.hpp"
#include "runtime/sync.hpp"

namespace husk::runtime {
namespace {

class Sync : public ::testing::Test {
protected:
    void SetUp() override {
        int fds[2];
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
        parent_.reset(fds[0]);
        child_.reset(fds[1]);
    }
    UniqueFd parent_;
    UniqueFd child_;
};

TEST_F(Sync, PlainMessages) {
    ASSERT_TRUE(sync_send(parent_.get(), SyncType::go).has_value());
    ASSERT_TRUE(sync_send(parent_.get(), SyncType::start).has_value());
    auto go = sync_receive(child_.get());
    ASSERT_TRUE(go.has_value()) << go.error().what();
    EXPECT_EQ(go->type, SyncType::go);
    EXPECT_EQ(go->errnum, 0);
    EXPECT_EQ(go->text, "");
    auto start = sync_receive(child_.get());
    ASSERT_TRUE(start.has_value()) << start.error().what();
    EXPECT_EQ(start->type, SyncType::start);

    ASSERT_TRUE(sync_send(child_.get(), SyncType::ready).has_value());
    auto ready = sync_receive(parent_.get());
    ASSERT_TRUE(ready.has_value());
    EXPECT_EQ(ready->type, SyncType::ready);
}

TEST_F(Sync, ErrorCarriesErrnoAndMessage) {
    Error err = Error(EACCES, "mount proc on /proc").wrap("rootfs");
    ASSERT_TRUE(sync_send(child_.get(), SyncType::error, &err).has_value());
    auto msg = sync_receive(parent_.get());
    ASSERT_TRUE(msg.has_value()) << msg.error().what();
    EXPECT_EQ(msg->type, SyncType::error);
    EXPECT_EQ(msg->errnum, EACCES);
    EXPECT_EQ(msg->text, "rootfs: mount proc on /proc");
    // The receiver can rebuild the error as the user sees it.
    Error back(msg->errnum, msg->text);
    EXPECT_EQ(back.what(), err.what());
    EXPECT_NE(back.what().find(std::strerror(EACCES)), std::string::npos);
}

TEST_F(Sync, ErrorWithoutErrno) {
    Error err = Error::invalid("process.cwd: not a directory");
    ASSERT_TRUE(sync_send(child_.get(), SyncType::error, &err).has_value());
    auto msg = sync_receive(parent_.get());
    ASSERT_TRUE(msg.has_value());
    EXPECT_EQ(msg->errnum, 0);
    EXPECT_EQ(msg->text, "process.cwd: not a directory");
}

TEST_F(Sync, LongMessageIsTruncatedNotSplit) {
    Error err(EIO, std::string(10000, 'm'));
    ASSERT_TRUE(sync_send(child_.get(), SyncType::error, &err).has_value());
    ASSERT_TRUE(sync_send(child_.get(), SyncType::ready).has_value());
    auto msg = sync_receive(parent_.get());
    ASSERT_TRUE(msg.has_value());
    EXPECT_EQ(msg->errnum, EIO);
    EXPECT_GT(msg->text.size(), 1000u);
    EXPECT_LT(msg->text.size(), 10000u);
    EXPECT_EQ(msg->text, std::string(msg->text.size(), 'm'));
    // The next message is intact: message boundaries hold.
    auto next = sync_receive(parent_.get());
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ(next->type, SyncType::ready);
}

TEST_F(Sync, ClosedPeerOnReceive) {
    child_.reset();
    auto msg = sync_receive(parent_.get());
    ASSERT_FALSE(msg.has_value());
    EXPECT_EQ(msg.error().errnum(), EPIPE);
    EXPECT_NE(msg.error().message().find("exited"), std::string::npos) << msg.error().message();
}

TEST_F(Sync, MessageThenClose) {
    ASSERT_TRUE(sync_send(child_.get(), SyncType::ready).has_value());
    child_.reset();
    auto first = sync_receive(parent_.get());
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->type, SyncType::ready);
    EXPECT_FALSE(sync_receive(parent_.get()).has_value());
}

TEST_F(Sync, ClosedPeerOnSendIsErrorNotSigpipe) {
    child_.reset();
    // MSG_NOSIGNAL: no SIGPIPE kills the test process; the error carries EPIPE.
    auto st = sync_send(parent_.get(), SyncType::go);
    ASSERT_FALSE(st.has_value());
    EXPECT_EQ(st.error().errnum(), EPIPE);
    EXPECT_NE(st.error().what().find(std::strerror(EPIPE)), std::string::npos);
}

TEST_F(Sync, ShortMessageRejected) {
    ASSERT_EQ(::send(child_.get(), "ab", 2, 0), 2);
    auto msg = sync_receive(parent_.get());
    ASSERT_FALSE(msg.has_value());
    EXPECT_NE(msg.error().message().find("short"), std::string::npos);
}

TEST(SyncBadFd, SendAndReceive) {
    EXPECT_EQ(sync_send(-1, SyncType::go).error().errnum(), EBADF);
    EXPECT_EQ(sync_receive(-1).error().errnum(), EBADF);
}

TEST_F(Sync, PassesAnFdWithTheMessage) {
    // The init hands the seccomp listener to the runtime this way.
    int pipe_fds[2];
    ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
    UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
    ASSERT_TRUE(sync_send(child_.get(), SyncType::ready, nullptr, write_end.get()).has_value());
    write_end.reset();
    auto ready = sync_receive(parent_.get());
    ASSERT_TRUE(ready.has_value()) << ready.error().what();
    EXPECT_EQ(ready->type, SyncType::ready);
    ASSERT_TRUE(ready->fd.valid());
    EXPECT_EQ(::fcntl(ready->fd.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    ASSERT_EQ(::write(ready->fd.get(), "x", 1), 1);
    char byte = 0;
    ASSERT_EQ(::read(read_end.get(), &byte, 1), 1);
    EXPECT_EQ(byte, 'x');
    // A message without one carries none.
    ASSERT_TRUE(sync_send(child_.get(), SyncType::ready).has_value());
    auto plain = sync_receive(parent_.get());
    ASSERT_TRUE(plain.has_value());
    EXPECT_FALSE(plain->fd.valid());
}

}  // namespace
}  // namespace husk::runtime
