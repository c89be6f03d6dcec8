#include "runtime/capabilities.hpp"

#include <sys/capability.h>
#include <sys/prctl.h>

#include <algorithm>

namespace husk::runtime {
namespace {

bool contains(const std::vector<int>& set, int cap) {
    return std::find(set.begin(), set.end(), cap) != set.end();
}

std::string cap_name(int cap) {
    char* name = cap_to_name(static_cast<cap_value_t>(cap));
    std::string out = name ? name : std::to_string(cap);
    cap_free(name);
    std::transform(out.begin(), out.end(), out.begin(), ::toupper);
    return out;
}

}  // namespace

std::vector<int> held_capabilities() {
    std::vector<int> held;
    for (int cap = 0; cap <= static_cast<int>(cap_max_bits()) - 1; ++cap)
        if (cap_get_bound(static_cast<cap_value_t>(cap)) == 1) held.push_back(cap);
    return held;
}

std::vector<std::string> drop_unavailable(oci::Capabilities& caps) {
    auto held = held_capabilities();
    std::vector<std::string> dropped;
    for (auto* set :
         {&caps.bounding, &caps.effective, &caps.inheritable, &caps.permitted, &caps.ambient}) {
        std::erase_if(*set, [&](int cap) {
            if (contains(held, cap)) return false;
            auto name = cap_name(cap);
            if (std::find(dropped.begin(), dropped.end(), name) == dropped.end())
                dropped.push_back(name);
            return true;
        });
    }
    return dropped;
}

std::vector<std::string> drop_unraisable_ambient(oci::Capabilities& caps) {
    std::vector<std::string> dropped;
    std::erase_if(caps.ambient, [&](int cap) {
        if (contains(caps.permitted, cap) && contains(caps.inheritable, cap)) return false;
        dropped.push_back(cap_name(cap));
        return true;
    });
    return dropped;
}

Status apply_capabilities_before_setuid(const oci::Capabilities& caps) {
    for (int cap = 0; cap < static_cast<int>(cap_max_bits()); ++cap) {
        if (contains(caps.bounding, cap)) continue;
        if (cap_drop_bound(static_cast<cap_value_t>(cap)) != 0 && errno != EINVAL)
            return fail_errno("drop {} from the bounding set", cap_name(cap));
    }
    if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return fail_errno("prctl(PR_SET_KEEPCAPS)");
    return {};
}

Status apply_capabilities_after_setuid(const oci::Capabilities& caps) {
    cap_t state = cap_init();
    if (state == nullptr) return fail_errno("cap_init");
    auto set_flag = [&](const std::vector<int>& list, cap_flag_t flag) {
        for (int cap : list) {
            cap_value_t value = static_cast<cap_value_t>(cap);
            if (cap_set_flag(state, flag, 1, &value, CAP_SET) != 0) return -1;
        }
        return 0;
    };
    if (set_flag(caps.effective, CAP_EFFECTIVE) != 0 ||
        set_flag(caps.permitted, CAP_PERMITTED) != 0 ||
        set_flag(caps.inheritable, CAP_INHERITABLE) != 0) {
        cap_free(state);
        return fail_errno("build capability sets");
    }
    int rc = cap_set_proc(state);
    cap_free(state);
    if (rc != 0) return fail_errno("set capabilities (effective must be within permitted)");

    if (cap_reset_ambient() != 0 && errno != EINVAL)
        return fail_errno("reset ambient capabilities");
    for (int cap : caps.ambient) {
        if (cap_set_ambient(static_cast<cap_value_t>(cap), CAP_SET) != 0)
            return fail_errno("raise ambient {} (it must be permitted and inheritable)",
                              cap_name(cap));
    }
    if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return fail_errno("prctl(PR_SET_KEEPCAPS)");
    return {};
}

}  // namespace husk::runtime
