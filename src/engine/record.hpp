#pragma once
// A container as the engine keeps it on disk, under <root>/containers/<id>/:
//   config.json  ContainerRecord: what the user asked for (written once at create, and by
//                rename); the monitor only reads it
//   state.json   ContainerRuntime: what happened (written by the monitor while it lives, by
//                husk otherwise); always write-temp-rename, so readers see old or new
//   bundle/      the OCI bundle generated from the record (config.json for the runtime)
//   container.log[.N]  Docker json-file logs
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "oci/image_spec.hpp"

namespace husk::engine {

struct RestartPolicy {
    std::string name = "no";  // no, on-failure, always, unless-stopped
    int max_retries = 0;      // on-failure:N, 0 = unlimited
};

struct LogOptions {
    int64_t max_size = -1;  // bytes, -1 = unlimited
    int max_file = 1;
};

struct MountRecord {
    std::string type;  // bind, volume, tmpfs
    std::string name;  // volume name
    std::string source;
    std::string destination;
    bool read_only = false;
    std::string options;  // tmpfs options
};

// What the user asked of the network (Docker's run flags); the addresses and host ports
// actually given are in <container dir>/network.json while the container runs.
struct NetworkRequest {
    std::vector<std::string> publish;  // -p specs, as typed
    bool publish_all = false;          // -P: every exposed port on a random host port
    std::vector<std::string> expose;   // --expose, plus the image's ExposedPorts
    std::string ip;                    // --ip
    std::vector<std::string> aliases;  // --network-alias
    std::vector<std::string> dns, dns_search, dns_options;  // --dns, --dns-search, --dns-option
    std::vector<std::string> extra_hosts;                   // --add-host NAME:IP
};

struct ContainerRecord {
    std::string id;
    std::string name;
    std::string created;
    std::string image;              // what the user named: an image reference, or the --rootfs dir
    std::string image_id;           // empty for --rootfs
    std::string rootfs;             // the rootfs path the bundle points at
    std::string rootfs_mount;       // set when the engine mounted the rootfs (unmounted at rm)
    std::vector<std::string> args;  // entrypoint + cmd, resolved
    std::vector<std::string> entrypoint;
    std::vector<std::string> cmd;
    std::vector<std::string> env;
    std::string working_dir;
    std::string user;
    std::string hostname;
    std::map<std::string, std::string> labels;
    bool tty = false;
    bool open_stdin = false;
    bool auto_remove = false;
    bool read_only = false;
    bool init = false;
    std::string stop_signal = "SIGTERM";
    int stop_timeout = 10;
    // none, host, bridge (Docker's default), container:<id>, or a user network's name
    std::string network_mode = "bridge";
    NetworkRequest network;
    RestartPolicy restart;
    LogOptions log;
    std::optional<oci::HealthConfig> healthcheck;
    std::vector<MountRecord> mounts;
    nlohmann::json host_config = nlohmann::json::object();  // resources and security, as given
};

struct HealthLogEntry {
    std::string start;
    std::string end;
    int exit_code = 0;
    std::string output;
};

struct ContainerRuntime {
    std::string status = "created";  // created, running, restarting, exited, removing
    int pid = 0;
    int monitor_pid = 0;
    uint64_t monitor_start = 0;  // /proc/<pid>/stat starttime: tells a reused pid apart
    std::string started_at;
    std::string finished_at;
    int exit_code = 0;
    std::string error;
    int restart_count = 0;
    bool oom_killed = false;
    std::string health;  // "", starting, healthy, unhealthy
    int failing_streak = 0;
    std::vector<HealthLogEntry> health_log;
};

std::string record_json(const ContainerRecord& record);
[[nodiscard]] Result<ContainerRecord> parse_record(const std::string& json,
                                                   const std::string& path);
std::string runtime_json(const ContainerRuntime& runtime);
[[nodiscard]] Result<ContainerRuntime> parse_runtime(const std::string& json,
                                                     const std::string& path);

[[nodiscard]] Result<RestartPolicy> parse_restart_policy(const std::string& text);
// Docker's durations: "30s", "1m30s", "500ms", "1h"; a bare number is seconds.
[[nodiscard]] Result<int64_t> parse_duration_ns(const std::string& text);
// "10m", "512k", "1g", "100" (bytes): Docker's RAMInBytes.
[[nodiscard]] Result<int64_t> parse_bytes(const std::string& text);

}  // namespace husk::engine
