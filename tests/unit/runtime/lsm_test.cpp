// LSM detection against fixture trees, and the errors that name the missing module.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "common/files.hpp"
#include "runtime/lsm.hpp"

namespace husk::runtime {
namespace {

class LsmTest : public testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/husk-lsm-test.XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        root_ = tmpl;
    }
    void TearDown() override { (void)remove_tree(root_); }
    void put(const std::string& path, const std::string& content) {
        std::string full = root_ + path;
        ASSERT_TRUE(make_dirs(full.substr(0, full.rfind('/'))));
        ASSERT_TRUE(write_file_atomic(full, content));
    }
    std::string root_;
};

TEST_F(LsmTest, ReadsTheActiveList) {
    put("/sys/kernel/security/lsm", "lockdown,capability,landlock,yama,apparmor,bpf\n");
    auto lsms = detect_lsms(root_);
    EXPECT_TRUE(lsms.apparmor);
    EXPECT_FALSE(lsms.selinux);
    put("/sys/kernel/security/lsm", "capability,selinux");
    lsms = detect_lsms(root_);
    EXPECT_FALSE(lsms.apparmor);
    EXPECT_TRUE(lsms.selinux);
}

TEST_F(LsmTest, WithoutSecurityfsLooksAtTheModules) {
    EXPECT_FALSE(detect_lsms(root_).apparmor);
    put("/sys/module/apparmor/parameters/enabled", "Y\n");
    put("/sys/fs/selinux/enforce", "1");
    auto lsms = detect_lsms(root_);
    EXPECT_TRUE(lsms.apparmor);
    EXPECT_TRUE(lsms.selinux);
}

TEST_F(LsmTest, ErrorsNameTheMissingModule) {
    oci::Spec spec;
    LsmSupport none{false, false, "test"};
    EXPECT_TRUE(check_lsm_support(spec, none));
    spec.process.apparmor_profile = "husk-default";
    auto st = check_lsm_support(spec, none);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("process.apparmorProfile \"husk-default\": AppArmor is "
                                        "not enabled"),
              std::string::npos)
        << st.error().message();
    EXPECT_TRUE(check_lsm_support(spec, LsmSupport{true, false, "test"}));
    spec.process.apparmor_profile.clear();
    spec.linux.mount_label = "system_u:object_r:container_file_t:s0";
    st = check_lsm_support(spec, none);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("linux.mountLabel"), std::string::npos);
    EXPECT_NE(st.error().message().find("SELinux is not enabled"), std::string::npos);
}

TEST(MountLabelTest, OnlyMountsThatTakeAContext) {
    std::vector<MountStep> steps(4);
    steps[0].fstype = "tmpfs";
    steps[0].data = "size=64k";
    steps[1].fstype = "proc";
    steps[2].bind = true;
    steps[3].fstype = "mqueue";
    add_mount_label(steps, "system_u:object_r:container_file_t:s0");
    EXPECT_EQ(steps[0].data, "size=64k,context=\"system_u:object_r:container_file_t:s0\"");
    EXPECT_EQ(steps[1].data, "");
    EXPECT_EQ(steps[2].data, "");
    EXPECT_EQ(steps[3].data, "context=\"system_u:object_r:container_file_t:s0\"");
}

}  // namespace
}  // namespace husk::runtime
