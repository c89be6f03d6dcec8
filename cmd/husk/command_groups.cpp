// Registration of the command areas, and the argv scan that picks the area a `husk`
// invocation needs (command_groups.hpp).
#include "command_groups.hpp"

#include <string>

namespace husk::cli {

void register_command_groups(CLI::App& app, Globals& globals, GroupSet groups) {
    auto has = [groups](CommandGroup g) { return (groups & group_bit(g)) != 0; };
    // With the rest of the container commands, `run` and its kin are registered among them
    // (at their place in `husk --help`).
    if (has(CommandGroup::container))
        register_container_commands(app, globals, has(CommandGroup::run));
    else if (has(CommandGroup::run))
        register_run_group(app, globals);
    if (has(CommandGroup::image)) register_image_commands(app, globals);
    if (has(CommandGroup::network)) register_network_commands(app, globals);
    if (has(CommandGroup::system)) register_system_commands(app, globals);
    if (has(CommandGroup::build)) register_build_commands(app, globals);
    if (has(CommandGroup::explain)) register_explain_command(app, globals);
}

CLI::Option* add_global_options(CLI::App& app, Globals& globals) {
    auto* version = app.set_version_flag("-v,--version", "husk version " HUSK_VERSION);
    app.add_option("--root", globals.root, "storage root (images, containers, volumes)")
        ->capture_default_str();
    app.add_option("--runroot", globals.runroot, "runtime state root")->capture_default_str();
    app.add_flag("-D,--debug", globals.debug, "log each step with its timing");
    app.add_option("-l,--log-level", globals.log_level, "debug, info, warn or error")
        ->capture_default_str();
    return version;
}

namespace {

GroupSet groups_named(std::string_view word) {
    GroupSet groups = 0;
    for (const auto& entry : top_level_names)
        if (entry.name == word) groups |= group_bit(entry.group);
    return groups == 0 ? all_groups : groups;
}

}  // namespace

GroupSet groups_for_args(const CLI::App& app, const CLI::Option* version,
                         std::span<const char* const> args) {
    bool version_seen = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view arg = args[i];
        // CLI11 takes a command name before anything else, and anything not shaped like an
        // option as a positional (the root has none: an error, or a command word after it).
        if (arg.size() < 2 || arg[0] != '-' || arg == "--") return groups_named(arg);
        // The option's name, and whether its value is in the same word (--root=X, -lX).
        std::string name;
        bool has_attached = false;
        if (arg[1] == '-') {
            auto eq = arg.find('=');
            name = std::string(arg.substr(0, eq));
            has_attached = eq != std::string_view::npos;
        } else {
            name = std::string(arg.substr(0, 2));
            has_attached = arg.size() > 2;
        }
        const CLI::Option* opt = app.get_option_no_throw(name);
        // Unknown options and help end with an error or a message that lists (or may
        // suggest) every command: those need the whole command line.
        if (opt == nullptr || opt == app.get_help_ptr() || opt == app.get_help_all_ptr())
            return all_groups;
        if (opt == version) {
            if (has_attached) return all_groups;
            version_seen = true;
            continue;
        }
        int min = opt->get_items_expected_min();
        int max = opt->get_items_expected_max();
        if (min == 0 && max == 0) {
            // A flag; `-Dx` or `--debug=x` would be parsed further: leave those to CLI11.
            if (has_attached) return all_groups;
            continue;
        }
        // One value, which CLI11 takes even if it looks like an option.
        if (min != 1 || max != 1) return all_groups;
        if (!has_attached && ++i == args.size()) return all_groups;
    }
    // `husk --version` alone: the version flag ends the parse before any command is needed.
    return version_seen ? 0 : all_groups;
}

}  // namespace husk::cli
