#include "engine/image_pull.hpp"

#include "image/reference.hpp"
#include "image/registry.hpp"
#include "image/rootfs.hpp"
#include "image/store.hpp"

namespace husk::engine {

Result<PullPolicy> parse_pull_policy(const std::string& text) {
    if (text.empty() || text == "missing") return PullPolicy::missing;
    if (text == "always") return PullPolicy::always;
    if (text == "never") return PullPolicy::never;
    return fail_invalid("--pull {:?}: expected missing, always or never", text);
}

Status ensure_image(const std::string& store_root, const std::string& image, PullPolicy policy,
                    const std::function<void(const std::string&)>& progress) {
    auto store = image::Store::open(store_root);
    if (!store) return fail(store.error());
    if (policy != PullPolicy::always) {
        auto found = image::resolve_image(*store, image);
        if (found) return {};
        if (found.error().errnum() != ENOENT) return fail(found.error());
        if (policy == PullPolicy::never)
            return fail(Error(ENOENT, fmt::format("image {} not found in the store and --pull "
                                                  "never: pull it first (husk pull {})",
                                                  image, image)));
    }
    auto ref = image::parse_reference(image);
    if (!ref) return fail(ref.error().wrap("image {}", image));
    if (policy == PullPolicy::missing && progress)
        progress("Unable to find image '" + ref->familiar() + "' locally");
    image::TransferOptions options;
    options.progress = progress;
    auto pulled = image::pull(*store, *ref, options);
    if (!pulled) return fail(pulled.error().wrap("pull {}", image));
    return {};
}

}  // namespace husk::engine
