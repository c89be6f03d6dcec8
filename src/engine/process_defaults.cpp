#include "engine/process_defaults.hpp"

#include <algorithm>

namespace husk::engine {

void set_env(std::vector<std::string>& env, const std::string& entry) {
    std::string key = entry.substr(0, entry.find('='));
    std::erase_if(env, [&](const std::string& e) { return e.substr(0, e.find('=')) == key; });
    env.push_back(entry);
}

Status apply_image_defaults(ContainerRecord& r, const oci::ContainerDefaults& image) {
    bool user_entrypoint = !r.entrypoint.empty();
    if (!user_entrypoint && image.entrypoint) r.entrypoint = *image.entrypoint;
    if (r.cmd.empty() && !user_entrypoint && image.cmd) r.cmd = *image.cmd;
    r.args = r.entrypoint;
    r.args.insert(r.args.end(), r.cmd.begin(), r.cmd.end());
    if (r.args.empty()) return fail_invalid("no command specified");
    if (r.init) r.args.insert(r.args.begin(), "/dev/init");
    std::vector<std::string> env = image.env;
    if (std::none_of(env.begin(), env.end(), [](const auto& e) { return e.starts_with("PATH="); }))
        env.insert(env.begin(),
                   "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for (const auto& e : r.env) set_env(env, e);
    r.env = std::move(env);
    if (r.working_dir.empty()) r.working_dir = image.working_dir;
    if (r.user.empty()) r.user = image.user;
    if (r.stop_signal == "SIGTERM" && !image.stop_signal.empty()) r.stop_signal = image.stop_signal;
    if (!r.healthcheck && image.healthcheck) r.healthcheck = image.healthcheck;
    for (const auto& [k, v] : image.labels) r.labels.try_emplace(k, v);
    return {};
}

}  // namespace husk::engine
