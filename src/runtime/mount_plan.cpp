#include "runtime/mount_plan.hpp"

#include <sys/mount.h>

#include <string_view>

#include "common/safe_path.hpp"

namespace husk::runtime {
namespace {

struct FlagOption {
    std::string_view name;
    bool clear;
    unsigned long flag;
};

// mount(8)'s names for the generic flags.
constexpr FlagOption kFlagOptions[] = {
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},
    {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},
    {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},
    {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME},
    {"atime", true, MS_NOATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"diratime", true, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"nosymfollow", false, MS_NOSYMFOLLOW},
    {"symfollow", true, MS_NOSYMFOLLOW},
    {"silent", false, MS_SILENT},
    {"loud", true, MS_SILENT},
};

struct PropagationOption {
    std::string_view name;
    unsigned long flags;
};

constexpr PropagationOption kPropagationOptions[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

struct AttrOption {
    std::string_view name;
    bool clear;
    unsigned long long attr;
};

// Recursive mount attributes (mount_setattr with AT_RECURSIVE).
constexpr AttrOption kAttrOptions[] = {
    {"rro", false, MOUNT_ATTR_RDONLY},
    {"rrw", true, MOUNT_ATTR_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID},
    {"rsuid", true, MOUNT_ATTR_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV},
    {"rdev", true, MOUNT_ATTR_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC},
    {"rexec", true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME},
    {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW},
    {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};

}  // namespace

std::vector<std::string> known_mount_options() {
    std::vector<std::string> names = {"bind", "rbind", "idmap", "ridmap"};
    for (const auto& f : kFlagOptions) names.emplace_back(f.name);
    for (const auto& p : kPropagationOptions) names.emplace_back(p.name);
    for (const auto& a : kAttrOptions) names.emplace_back(a.name);
    return names;
}

bool MountStep::needs_remount() const {
    constexpr unsigned long kApplied = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME |
                                       MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME |
                                       MS_NOSYMFOLLOW | MS_SYNCHRONOUS;
    return bind && (flags & kApplied) != 0;
}

Status decode_mount_options(const std::vector<std::string>& options, MountStep& step) {
    for (const auto& opt : options) {
        if (opt == "bind" || opt == "rbind") {
            step.bind = true;
            step.recursive = step.recursive || opt == "rbind";
            continue;
        }
        if (opt == "idmap" || opt == "ridmap") {
            step.idmap = true;
            step.idmap_recursive = opt == "ridmap";
            continue;
        }
        if (opt == "tmpcopyup")
            return fail_invalid("option {:?} is not supported by husk-runtime", opt);
        bool matched = false;
        for (const auto& f : kFlagOptions) {
            if (opt != f.name) continue;
            if (f.clear) {
                step.flags &= ~f.flag;
                step.cleared |= f.flag;
            } else {
                step.flags |= f.flag;
                step.cleared &= ~f.flag;
            }
            matched = true;
        }
        for (const auto& p : kPropagationOptions) {
            if (opt != p.name) continue;
            step.propagation = p.flags;
            matched = true;
        }
        for (const auto& a : kAttrOptions) {
            if (opt != a.name) continue;
            // The last word wins, as for the plain flags.
            (a.clear ? step.attr_clr : step.attr_set) |= a.attr;
            (a.clear ? step.attr_set : step.attr_clr) &= ~a.attr;
            matched = true;
        }
        if (opt == "remount")
            return fail_invalid("option \"remount\" makes no sense for a new mount");
        // Anything else belongs to the filesystem ("size=65536k", "mode=755", "newinstance").
        if (!matched) step.data += (step.data.empty() ? "" : ",") + opt;
    }
    return {};
}

Result<std::vector<MountStep>> plan_mounts(const oci::Spec& spec, const std::string& bundle) {
    std::vector<MountStep> steps;
    for (size_t i = 0; i < spec.mounts.size(); ++i) {
        const auto& m = spec.mounts[i];
        MountStep step;
        step.index = i;
        step.destination = clean_path(m.destination);
        step.fstype = m.type;
        if (auto st = decode_mount_options(m.options, step); !st)
            return fail(st.error().wrap("mounts[{}].options", i));
        if (m.type == "bind") step.bind = true;
        if (step.bind) {
            step.fstype.clear();
            if (m.source.empty())
                return fail_invalid("mounts[{}].source: a bind needs a source", i);
            step.source = m.source.front() == '/' ? m.source : bundle + "/" + m.source;
            if (!step.data.empty())
                return fail_invalid("mounts[{}].options: unknown option(s) {:?} for a bind mount",
                                    i, step.data);
        } else {
            if (step.fstype.empty())
                return fail_invalid("mounts[{}].type: required for a mount that is not a bind", i);
            step.source = m.source.empty() ? step.fstype : m.source;
            step.is_cgroup = step.fstype == "cgroup" || step.fstype == "cgroup2";
        }
        step.uid_mappings = m.uid_mappings;
        step.gid_mappings = m.gid_mappings;
        if (!m.uid_mappings.empty()) step.idmap = true;  // mappings alone ask for it (runc)
        if (step.idmap) {
            if (!step.bind)
                return fail_invalid("mounts[{}]: idmapped mounts must be binds ({:?} is not)", i,
                                    step.fstype);
            const oci::Namespace* user = spec.find_namespace(oci::NamespaceType::user);
            if (step.uid_mappings.empty() && (user == nullptr || !user->path.empty()))
                return fail_invalid(
                    "mounts[{}]: idmap without uidMappings/gidMappings takes the "
                    "container's maps, which needs a new user namespace",
                    i);
            if (step.uid_mappings.empty()) {
                step.uid_mappings = spec.linux.uid_mappings;
                step.gid_mappings = spec.linux.gid_mappings;
            }
        }
        steps.push_back(std::move(step));
    }
    return steps;
}

}  // namespace husk::runtime
