#pragma once
// Which command areas a `husk` invocation registers. Registering every area builds (and
// destroys) hundreds of CLI11 options, a visible share of each start (docs/PERFORMANCE.md);
// only the area that owns the command word is needed. When the word is unknown or missing
// (`husk`, `husk --help`, a typo), everything is registered so that help, errors and
// suggestions are those of the full command line.
#include <cstdint>
#include <span>
#include <string_view>

#include "cli.hpp"

namespace husk::cli {

// The command areas, in the order they are registered (it decides the order of `husk
// --help`). `run` (run, create, start, attach) is split from the other container commands:
// its options are most of theirs. With them, it is registered at its place among them.
enum class CommandGroup : std::uint8_t { container, run, image, network, system, build, explain };
inline constexpr int command_group_count = 7;

// A set of groups, one bit per CommandGroup.
using GroupSet = std::uint32_t;
inline constexpr GroupSet all_groups = (GroupSet{1} << command_group_count) - 1;
constexpr GroupSet group_bit(CommandGroup g) {
    return GroupSet{1} << static_cast<int>(g);
}

struct TopLevelName {
    std::string_view name;  // a top-level command name or alias, as CLI11 matches it
    CommandGroup group;     // the area that registers it
};

// The one table from command word to area. tests/unit/cli checks it against what each
// area really registers, both ways. A name registered by two areas is listed twice.
inline constexpr TopLevelName top_level_names[] = {
    {"container", CommandGroup::container},
    {"run", CommandGroup::run},
    {"create", CommandGroup::run},
    {"start", CommandGroup::run},
    {"attach", CommandGroup::run},
    {"exec", CommandGroup::container},
    {"volume", CommandGroup::container},
    {"cp", CommandGroup::container},
    {"container-start-helper", CommandGroup::container},
    {"container-cleanup", CommandGroup::container},
    {"ps", CommandGroup::container},
    {"logs", CommandGroup::container},
    {"stop", CommandGroup::container},
    {"restart", CommandGroup::container},
    {"kill", CommandGroup::container},
    {"rm", CommandGroup::container},
    {"wait", CommandGroup::container},
    {"pause", CommandGroup::container},
    {"unpause", CommandGroup::container},
    {"inspect", CommandGroup::container},
    {"top", CommandGroup::container},
    {"rename", CommandGroup::container},
    {"port", CommandGroup::container},
    {"stats", CommandGroup::container},
    {"image", CommandGroup::image},
    {"pull", CommandGroup::image},
    {"push", CommandGroup::image},
    {"login", CommandGroup::image},
    {"logout", CommandGroup::image},
    {"images", CommandGroup::image},
    {"tag", CommandGroup::image},
    {"rmi", CommandGroup::image},
    {"import", CommandGroup::image},
    {"load", CommandGroup::image},
    {"save", CommandGroup::image},
    {"info", CommandGroup::image},
    {"network", CommandGroup::network},
    {"doctor", CommandGroup::system},
    {"system", CommandGroup::system},
    {"build", CommandGroup::build},
    {"bud", CommandGroup::build},
    {"explain", CommandGroup::explain},
};

// Registers the areas in `groups` on `app`, in CommandGroup order (`run` among the container
// commands when both are in `groups`).
void register_command_groups(CLI::App& app, Globals& globals, GroupSet groups);

// The groups that own the command word of `args` (argv without argv[0]), found by skipping
// the options `app` itself defines as CLI11 would parse them. all_groups when there is no
// word, when the word is no top-level name, or when an option before it is unknown or asks
// for help; none for the version flag (`version`, may be null) without a command word.
GroupSet groups_for_args(const CLI::App& app, const CLI::Option* version,
                         std::span<const char* const> args);

// husk's global options (--root, --runroot, -D, -l) and its version flag, on `app`; returns
// the version flag.
CLI::Option* add_global_options(CLI::App& app, Globals& globals);

}  // namespace husk::cli
