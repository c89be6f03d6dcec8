#pragma once
// `husk build`: a Dockerfile and a context directory to an image in the store. Each
// filesystem step (RUN, COPY, ADD, WORKDIR) runs on an overlay of the layers so far plus a
// fresh upper dir; a changed upper becomes a layer. Steps are cached by a key chained from
// the parent step (see docs/build.md).
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "image/store.hpp"

namespace husk::build {

struct BuildOptions {
    std::string context = ".";
    std::string dockerfile;  // default <context>/Dockerfile
    std::vector<std::string> tags;
    std::vector<std::string> build_args;  // "k=v", or "k" to take the value from our env
    std::string target;                   // default: the last stage
    bool no_cache = false;
    std::string network = "bridge";  // RUN's network: "bridge" (Docker's default), "none" or "host"
    std::string pull = "missing";  // missing, always, never
    bool quiet = false;            // no progress, no RUN output
    std::string runroot = "/run/husk";
    std::FILE* out = stdout;
};

// Builds and returns the image id ("sha256:...").
[[nodiscard]] Result<std::string> build_image(image::Store& store, const BuildOptions& options);

}  // namespace husk::build
