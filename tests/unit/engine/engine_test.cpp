// Unit tests for the engine's pure parts: ids and names, flag parsers, the Go-template
// subset, the json-file log writer/reader and the container store's name rules.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>

#include "common/files.hpp"
#include "engine/go_template.hpp"
#include "engine/ids.hpp"
#include "engine/json_log.hpp"
#include "engine/record.hpp"
#include "engine/store.hpp"

using namespace husk;
using namespace husk::engine;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/husk-unit-engine.XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST(Ids, FullIdsAreUniqueHex) {
    std::set<std::string> seen;
    for (int i = 0; i < 100; ++i) {
        auto id = new_container_id();
        EXPECT_TRUE(is_full_id(id)) << id;
        EXPECT_TRUE(seen.insert(id).second);
    }
    EXPECT_FALSE(is_full_id("abc"));
    EXPECT_FALSE(is_full_id(std::string(64, 'g')));
}

TEST(Ids, Names) {
    EXPECT_EQ(*validate_name("/web-1"), "web-1");
    EXPECT_FALSE(validate_name("a"));
    EXPECT_FALSE(validate_name("-x"));
    EXPECT_FALSE(validate_name("has space"));
    EXPECT_TRUE(validate_name(random_name()));
}

TEST(Ids, Rfc3339RoundTrip) {
    int64_t t = parse_rfc3339("2026-11-22T13:05:25.123456789Z");
    EXPECT_EQ(t % 1000000000, 123456789);
    EXPECT_EQ(parse_rfc3339("2026-11-22T13:05:25Z") + 123456789, t);
    EXPECT_EQ(parse_rfc3339("garbage"), 0);
    int64_t now = now_ns();
    EXPECT_NEAR(static_cast<double>(parse_rfc3339(now_rfc3339())), static_cast<double>(now), 1e9);
}

TEST(Record, RestartPolicy) {
    EXPECT_EQ(parse_restart_policy("no")->name, "no");
    auto p = parse_restart_policy("on-failure:3");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->name, "on-failure");
    EXPECT_EQ(p->max_retries, 3);
    EXPECT_FALSE(parse_restart_policy("always:3"));
    EXPECT_FALSE(parse_restart_policy("on-failure:x"));
    EXPECT_FALSE(parse_restart_policy("sometimes"));
}

TEST(Record, DurationsAndSizes) {
    EXPECT_EQ(*parse_duration_ns("1m30s"), 90'000'000'000);
    EXPECT_EQ(*parse_duration_ns("200ms"), 200'000'000);
    EXPECT_EQ(*parse_duration_ns("5"), 5'000'000'000);
    EXPECT_FALSE(parse_duration_ns("5y"));
    EXPECT_EQ(*parse_bytes("64m"), 64 << 20);
    EXPECT_EQ(*parse_bytes("1k"), 1024);
    EXPECT_EQ(*parse_bytes("1GiB"), int64_t{1} << 30);
    EXPECT_EQ(*parse_bytes("100"), 100);
    EXPECT_FALSE(parse_bytes("12q"));
}

TEST(Record, JsonRoundTrip) {
    ContainerRecord r;
    r.id = new_container_id();
    r.name = "x";
    r.args = {"sh", "-c", "echo"};
    r.labels = {{"a", "b"}};
    r.restart = {"on-failure", 2};
    r.healthcheck = oci::HealthConfig{{"CMD-SHELL", "true"}, 1, 2, 3, 4};
    auto back = parse_record(record_json(r), "config.json");
    ASSERT_TRUE(back);
    EXPECT_EQ(back->args, r.args);
    EXPECT_EQ(back->labels, r.labels);
    EXPECT_EQ(back->restart.max_retries, 2);
    ASSERT_TRUE(back->healthcheck);
    EXPECT_EQ(back->healthcheck->retries, 4);
    EXPECT_FALSE(parse_record("{not json", "bad.json"));
}

TEST(GoTemplate, FieldsFunctionsAndErrors) {
    nlohmann::ordered_json data = {{"Name", "web"},
                                   {"State", {{"Status", "running"}, {"Pid", 42}}},
                                   {"Labels", {{"tier", "db"}}},
                                   {"LabelMap", {{"tier", "db"}}},
                                   {"List", {"a", "b"}}};
    EXPECT_EQ(*render_template("{{.Name}}\\t{{.State.Status}} {{.State.Pid}}", data),
              "web\trunning 42");
    EXPECT_EQ(*render_template("{{json .Labels}}", data), "{\"tier\":\"db\"}");
    EXPECT_EQ(*render_template("{{index .Labels \"tier\"}}", data), "db");
    EXPECT_EQ(*render_template("{{.Label \"tier\"}}", data), "db");
    EXPECT_EQ(*render_template("{{upper .Name}} {{join .List \",\"}}", data), "WEB a,b");
    EXPECT_FALSE(render_template("{{.Nope}}", data));
    EXPECT_FALSE(render_template("{{.Name", data));
}

TEST(JsonLog, LinesPartialsAndRotation) {
    TempDir dir;
    std::string path = dir.path + "/container.log";
    JsonLogWriter w(path, LogOptions{300, 2});
    ASSERT_TRUE(w.open());
    w.write(1, "hello\nwor");
    w.write(2, "err\n");
    w.write(1, "ld\n");
    w.write(1, "tail without newline");
    w.flush();
    auto entries = read_logs(path, 2, {});
    ASSERT_TRUE(entries);
    ASSERT_EQ(entries->size(), 4u);
    EXPECT_EQ((*entries)[0].log, "hello\n");
    EXPECT_EQ((*entries)[1].stream, "stderr");
    EXPECT_EQ((*entries)[2].log, "world\n");
    EXPECT_EQ((*entries)[3].log, "tail without newline");
    for (int i = 0; i < 20; ++i) w.write(1, "line " + std::to_string(i) + "\n");
    EXPECT_TRUE(path_exists(path + ".1"));
    EXPECT_FALSE(path_exists(path + ".2"));
    EXPECT_LE(std::filesystem::file_size(path), 300u);
    LogReadOptions tail;
    tail.tail = 1;
    auto last = read_logs(path, 2, tail);
    ASSERT_TRUE(last);
    ASSERT_EQ(last->size(), 1u);
    EXPECT_EQ((*last)[0].log, "line 19\n");
}

TEST(JsonLog, EscapesControlBytes) {
    TempDir dir;
    std::string path = dir.path + "/c.log";
    JsonLogWriter w(path, {});
    ASSERT_TRUE(w.open());
    w.write(1, std::string("a\"b\\c\x01\n"));
    auto entries = read_logs(path, 1, {});
    ASSERT_TRUE(entries);
    ASSERT_EQ(entries->size(), 1u);
    EXPECT_EQ((*entries)[0].log, std::string("a\"b\\c\x01\n"));
}

TEST(Store, CreateInTwoStepsAndRemoveRecordKeepsItForThePurge) {
    TempDir dir;
    ContainerStore store(dir.path + "/root", dir.path + "/run");
    ContainerRecord r;
    r.id = new_container_id();
    r.name = "two";
    auto creating = store.begin_create(r.id);
    ASSERT_TRUE(creating);
    // Being made: no command finds it, garbage collection sees it locked.
    EXPECT_FALSE(store.resolve("two"));
    EXPECT_EQ(store.unrecorded(), std::vector<std::string>{r.id});
    EXPECT_FALSE(store.lock(r.id, false));
    ASSERT_TRUE(store.commit_create(r));
    creating->reset();
    EXPECT_EQ(*store.resolve("two"), r.id);
    EXPECT_TRUE(store.unrecorded().empty());
    // A second container cannot commit the name; its directory is left to its caller.
    ContainerRecord other;
    other.id = new_container_id();
    other.name = "two";
    ASSERT_TRUE(store.begin_create(other.id));
    EXPECT_FALSE(store.commit_create(other));
    EXPECT_FALSE(std::filesystem::exists(store.dir(other.id) + "/config.json"));
    ASSERT_TRUE(remove_tree(store.dir(other.id)));
    // remove_record: gone for every reader, the name free, the record kept for the purge.
    ASSERT_TRUE(store.remove_record(r.id, r.name));
    EXPECT_FALSE(store.resolve("two"));
    EXPECT_FALSE(store.resolve(r.id));
    auto removed = store.load_removed(r.id);
    ASSERT_TRUE(removed);
    EXPECT_EQ(removed->name, "two");
    EXPECT_EQ(store.unrecorded(), std::vector<std::string>{r.id});
    EXPECT_TRUE(store.lock(r.id, false));
}

TEST(Store, NamesAreExclusiveAndStaleOnesReclaimed) {
    TempDir dir;
    ContainerStore store(dir.path + "/root", dir.path + "/run");
    ContainerRecord a;
    a.id = new_container_id();
    a.name = "web";
    ASSERT_TRUE(store.create(a));
    ContainerRecord b;
    b.id = new_container_id();
    b.name = "web";
    auto st = store.create(b);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("already in use"), std::string::npos);
    EXPECT_EQ(*store.resolve("web"), a.id);
    EXPECT_EQ(*store.resolve(a.id.substr(0, 6)), a.id);
    EXPECT_FALSE(store.resolve("nope"));
    // A name whose container directory vanished (a create killed half-way) is free again.
    std::filesystem::remove_all(store.dir(a.id));
    ASSERT_TRUE(store.create(b));
    EXPECT_EQ(*store.resolve("web"), b.id);
    ASSERT_TRUE(store.remove(b.id, b.name));
    EXPECT_FALSE(store.resolve("web"));
    ContainerRecord c;
    c.id = new_container_id();
    ASSERT_TRUE(store.create(c));
    EXPECT_FALSE(c.name.empty());
}
