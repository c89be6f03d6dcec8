// The engine-facing probes on the live host (skipped where they need root) and the
// one-time notice.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/log.hpp"
#include "system/degradations.hpp"

namespace husk::system {
namespace {

TEST(Degradations, AnnouncedOncePerFeature) {
    ::testing::internal::CaptureStderr();
    announce_degradation("test-feature", "overlay on /x (overlay): Invalid argument: using vfs");
    announce_degradation("test-feature", "a second time");
    announce_degradation("other-feature", "nf_tables: Protocol not supported");
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("test-feature unavailable: overlay on /x (overlay): Invalid argument: "
                       "using vfs"),
              std::string::npos)
        << err;
    EXPECT_EQ(err.find("a second time"), std::string::npos) << err;
    EXPECT_NE(err.find("other-feature unavailable: nf_tables"), std::string::npos) << err;
}

TEST(Degradations, SysctlThatDoesNotExistNamesThePath) {
    auto a = sysctl_writable("/proc/sys/net/ipv4/husk_no_such_sysctl");
    EXPECT_FALSE(a.available);
    EXPECT_NE(a.reason.find("/proc/sys/net/ipv4/husk_no_such_sysctl"), std::string::npos)
        << a.reason;
}

TEST(Degradations, OverlayOnATempDirAsRoot) {
    if (::geteuid() != 0) GTEST_SKIP() << "mounting needs root";
    char tmpl[] = "/tmp/husk-unit-overlay.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    std::string dir = tmpl;
    auto a = overlay_usable(dir + "/not/yet/there");
    EXPECT_TRUE(a.available) << a.reason;
    // Nothing left by the probe.
    EXPECT_TRUE(std::filesystem::is_empty(dir));
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace husk::system
