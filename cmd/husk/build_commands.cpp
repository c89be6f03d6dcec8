// `husk build`: a Dockerfile to an image in the store (src/build/builder.hpp).
#include <cstdio>
#include <iostream>

#include "build/builder.hpp"
#include "cli.hpp"
#include "common/files.hpp"
#include "image/store.hpp"

namespace husk::cli {

void register_build_commands(CLI::App& app, Globals& globals) {
    struct Flags {
        build::BuildOptions options;
        std::string iidfile;
    };
    auto flags = std::make_shared<Flags>();
    auto* cmd = app.add_subcommand("build", "Build an image from a Dockerfile");
    cmd->alias("bud");
    auto& o = flags->options;
    cmd->add_option("-t,--tag", o.tags, "name the image (repeatable)");
    cmd->add_option("-f,--file", o.dockerfile, "the Dockerfile (default: CONTEXT/Dockerfile)");
    cmd->add_option("--build-arg", o.build_args, "set a build-time variable: KEY=value or KEY");
    cmd->add_option("--target", o.target, "build up to this stage");
    cmd->add_flag("--no-cache", o.no_cache, "run every step, ignoring the cache");
    cmd->add_option("--network", o.network, "network for RUN: bridge (default), none or host")
        ->check(CLI::IsMember({"bridge", "none", "host", "default"}));
    cmd->add_option("--iidfile", flags->iidfile, "write the image id to this file");
    cmd->add_flag("-q,--quiet", o.quiet, "print only the image id");
    cmd->add_option("--pull", o.pull, "pull the base images: missing (default), always, never")
        ->check(CLI::IsMember({"missing", "always", "never", "true", "false"}));
    cmd->add_option("context", o.context, "the build context directory")->required();
    cmd->callback([flags, &globals] {
        auto& o = flags->options;
        if (o.pull == "true") o.pull = "always";
        if (o.pull == "false") o.pull = "missing";
        if (o.network == "default") o.network = "bridge";
        while (o.context.size() > 1 && o.context.ends_with('/')) o.context.pop_back();
        o.runroot = globals.runroot;
        auto store = image::Store::open(globals.root);
        if (!store) {
            globals.exit_code = report(store.error());
            return;
        }
        auto id = build::build_image(*store, o);
        if (!id) {
            globals.exit_code = report(id.error());
            return;
        }
        if (!flags->iidfile.empty()) {
            if (auto w = write_file_atomic(flags->iidfile, *id); !w) {
                globals.exit_code = report(w.error());
                return;
            }
        }
        std::cout << *id << "\n";
    });
}

}  // namespace husk::cli
