// parse_process_json (exec --process) and the hooks section: values, errors by field, and the
// saved-hooks round trip start and delete rely on.
#include <gtest/gtest.h>

#include <string>

#include "oci/hooks.hpp"
#include "oci/process_parse.hpp"
#include "oci/runtime_spec.hpp"

namespace husk::oci {
namespace {

TEST(ProcessJson, ParsesAProcessObject) {
    auto p = parse_process_json(
        R"({"args": ["sh", "-c", "true"], "env": ["A=1"], "cwd": "/tmp",
            "user": {"uid": 5, "gid": 6}, "noNewPrivileges": true,
            "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}]})",
        "--process p.json");
    ASSERT_TRUE(p) << p.error().what();
    EXPECT_EQ(p->args.size(), 3u);
    EXPECT_EQ(p->cwd, "/tmp");
    EXPECT_EQ(p->user.uid, 5u);
    EXPECT_EQ(p->user.gid, 6u);
    EXPECT_TRUE(p->no_new_privileges);
    ASSERT_EQ(p->rlimits.size(), 1u);
    EXPECT_EQ(p->rlimits[0].hard, 20u);
}

TEST(ProcessJson, ErrorsNameTheSourceAndTheField) {
    auto p = parse_process_json(R"({"args": [], "cwd": "/", "user": {"uid": 0, "gid": 0}})",
                                "--process p.json");
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().message(), "--process p.json: process.args: must not be empty");
    auto q = parse_process_json("[1]", "--process q.json");
    ASSERT_FALSE(q);
    EXPECT_EQ(q.error().message(), "--process q.json: expected a JSON object");
    auto r = parse_process_json("{", "--process r.json");
    ASSERT_FALSE(r);
}

constexpr const char* kConfigWithHooks = R"({
    "ociVersion": "1.2.0", "root": {"path": "rootfs"},
    "process": {"args": ["true"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
    "linux": {"namespaces": [{"type": "mount"}]},
    "hooks": {
        "prestart": [{"path": "/a"}],
        "createRuntime": [{"path": "/b", "args": ["b", "x"], "env": ["K=V"], "timeout": 3}],
        "createContainer": [{"path": "/c"}], "startContainer": [{"path": "/d"}],
        "poststart": [{"path": "/e"}], "poststop": [{"path": "/f"}, {"path": "/g"}],
        "unknownKind": 5
    }})";

TEST(Hooks, AllSixKindsAreParsed) {
    auto spec = parse_config(kConfigWithHooks);
    ASSERT_TRUE(spec) << spec.error().what();
    const Hooks& h = spec->hooks;
    EXPECT_EQ(h.prestart.at(0).path, "/a");
    EXPECT_EQ(h.create_runtime.at(0).args, (std::vector<std::string>{"b", "x"}));
    EXPECT_EQ(h.create_runtime.at(0).env, (std::vector<std::string>{"K=V"}));
    EXPECT_EQ(h.create_runtime.at(0).timeout, 3);
    EXPECT_EQ(h.create_container.at(0).path, "/c");
    EXPECT_EQ(h.start_container.at(0).path, "/d");
    EXPECT_EQ(h.poststart.at(0).path, "/e");
    EXPECT_EQ(h.poststop.size(), 2u);
    EXPECT_FALSE(h.empty());
}

TEST(Hooks, SavedListRoundTrips) {
    auto spec = parse_config(kConfigWithHooks);
    ASSERT_TRUE(spec);
    auto back = parse_hook_list_json(hooks_json(spec->hooks.create_runtime), "saved");
    ASSERT_TRUE(back) << back.error().what();
    ASSERT_EQ(back->size(), 1u);
    EXPECT_EQ((*back)[0].path, "/b");
    EXPECT_EQ((*back)[0].args, spec->hooks.create_runtime[0].args);
    EXPECT_EQ((*back)[0].env, spec->hooks.create_runtime[0].env);
    EXPECT_EQ((*back)[0].timeout, 3);
}

}  // namespace
}  // namespace husk::oci
