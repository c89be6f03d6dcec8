// The command table of cmd/husk/command_groups.hpp against what each area really registers,
// and the argv scan against CLI11's own parse.
#include "command_groups.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace husk::cli {
namespace {

constexpr CommandGroup every_group[] = {
    CommandGroup::container, CommandGroup::run,   CommandGroup::image,  CommandGroup::network,
    CommandGroup::system,    CommandGroup::build, CommandGroup::explain};
static_assert(std::size(every_group) == command_group_count);

// Every name and alias CLI11 matches at the top level of `app`.
std::set<std::string> top_level_of(CLI::App& app) {
    std::set<std::string> names;
    for (auto* sub : app.get_subcommands([](CLI::App*) { return true; })) {
        names.insert(sub->get_name());
        for (const auto& alias : sub->get_aliases()) names.insert(alias);
    }
    return names;
}

std::set<std::string> table_names(GroupSet groups) {
    std::set<std::string> names;
    for (const auto& entry : top_level_names)
        if (groups & group_bit(entry.group)) names.emplace(entry.name);
    return names;
}

TEST(CommandGroups, TableMatchesWhatEachGroupRegisters) {
    for (auto group : every_group) {
        CLI::App app;
        Globals globals;
        add_global_options(app, globals);
        register_command_groups(app, globals, group_bit(group));
        EXPECT_EQ(top_level_of(app), table_names(group_bit(group)))
            << "group " << static_cast<int>(group);
    }
}

// `husk --help` lists the commands in the order they were registered: registering the groups
// one by one must give the order of registering them all at once, container before run.
TEST(CommandGroups, RunIsRegisteredAmongTheContainerCommands) {
    CLI::App app;
    Globals globals;
    register_command_groups(app, globals, all_groups);
    std::vector<std::string> order;
    for (auto* sub : app.get_subcommands([](CLI::App*) { return true; }))
        order.push_back(sub->get_name());
    ASSERT_GE(order.size(), 2u);
    EXPECT_EQ(order[0], "container");
    EXPECT_EQ(order[1], "run");
}

TEST(CommandGroups, AllGroupsTogetherRegisterTheWholeTable) {
    CLI::App app;
    Globals globals;
    add_global_options(app, globals);
    register_command_groups(app, globals, all_groups);
    EXPECT_EQ(top_level_of(app), table_names(all_groups));
}

class Scan : public ::testing::Test {
protected:
    Scan() { version_ = add_global_options(app_, globals_); }

    GroupSet scan(std::vector<const char*> args) {
        return groups_for_args(app_, version_, std::span<const char* const>(args));
    }

    CLI::App app_;
    Globals globals_;
    CLI::Option* version_ = nullptr;
};

TEST_F(Scan, CommandWordPicksItsGroup) {
    EXPECT_EQ(scan({"ps", "-a"}), group_bit(CommandGroup::container));
    EXPECT_EQ(scan({"run", "--rm", "busybox", "true"}), group_bit(CommandGroup::run));
    EXPECT_EQ(scan({"rm", "-f", "c1"}), group_bit(CommandGroup::container));
    EXPECT_EQ(scan({"images"}), group_bit(CommandGroup::image));
    EXPECT_EQ(scan({"image", "ls"}), group_bit(CommandGroup::image));
    EXPECT_EQ(scan({"network", "ls"}), group_bit(CommandGroup::network));
    EXPECT_EQ(scan({"system", "init", "--", "true"}), group_bit(CommandGroup::system));
    EXPECT_EQ(scan({"bud", "."}), group_bit(CommandGroup::build));
    EXPECT_EQ(scan({"explain", "c1"}), group_bit(CommandGroup::explain));
}

TEST_F(Scan, GlobalOptionsAreSkippedWithTheirValues) {
    EXPECT_EQ(scan({"--root", "/r", "--runroot", "/rr", "-D", "-l", "debug", "ps"}),
              group_bit(CommandGroup::container));
    EXPECT_EQ(scan({"--root=/r", "--runroot=/rr", "--debug", "--log-level=info", "images"}),
              group_bit(CommandGroup::image));
    EXPECT_EQ(scan({"-ldebug", "network"}), group_bit(CommandGroup::network));
    // A value is taken even when it looks like an option or a command.
    EXPECT_EQ(scan({"--root", "--debug", "build"}), group_bit(CommandGroup::build));
    EXPECT_EQ(scan({"--root", "ps", "images"}), group_bit(CommandGroup::image));
}

TEST_F(Scan, VersionAloneNeedsNoCommand) {
    EXPECT_EQ(scan({"--version"}), GroupSet{0});
    EXPECT_EQ(scan({"--root", "/r", "-v"}), GroupSet{0});
    EXPECT_EQ(scan({"--version", "ps"}), group_bit(CommandGroup::container));
}

TEST_F(Scan, EverythingWhenTheWordIsUnknownOrMissing) {
    EXPECT_EQ(scan({}), all_groups);
    EXPECT_EQ(scan({"nosuch"}), all_groups);
    EXPECT_EQ(scan({"Ps"}), all_groups);
    EXPECT_EQ(scan({"nosuch", "ps"}), all_groups);
    EXPECT_EQ(scan({"--root", "/r"}), all_groups);
    EXPECT_EQ(scan({"--root"}), all_groups);
    EXPECT_EQ(scan({"-l"}), all_groups);
    EXPECT_EQ(scan({"--", "ps"}), all_groups);
    EXPECT_EQ(scan({"-", "ps"}), all_groups);
}

TEST_F(Scan, EverythingForHelpVersionAndUnknownOptions) {
    EXPECT_EQ(scan({"--help"}), all_groups);
    EXPECT_EQ(scan({"-h", "ps"}), all_groups);
    EXPECT_EQ(scan({"--help-all", "ps"}), all_groups);
    EXPECT_EQ(scan({"-v", "-h"}), all_groups);
    EXPECT_EQ(scan({"-v", "nosuch"}), all_groups);
    EXPECT_EQ(scan({"--nosuch", "ps"}), all_groups);
    EXPECT_EQ(scan({"-x", "ps"}), all_groups);
    // Flags with more in the same word are left to CLI11.
    EXPECT_EQ(scan({"-Dl", "debug", "ps"}), all_groups);
    EXPECT_EQ(scan({"--debug=true", "ps"}), all_groups);
}

// Parses `args` with every group registered (callbacks removed, so nothing runs) and returns
// the name of the top-level command CLI11 picked.
std::string parsed_command(std::vector<const char*> args) {
    CLI::App app;
    app.require_subcommand(1);
    Globals globals;
    add_global_options(app, globals);
    register_command_groups(app, globals, all_groups);
    for (auto* sub : app.get_subcommands([](CLI::App*) { return true; })) {
        sub->callback(std::function<void()>{});
        for (auto* nested : sub->get_subcommands([](CLI::App*) { return true; }))
            nested->callback(std::function<void()>{});
    }
    args.insert(args.begin(), "husk");
    app.parse(static_cast<int>(args.size()), args.data());
    auto parsed = app.get_subcommands();
    return parsed.empty() ? "" : parsed.front()->get_name();
}

TEST_F(Scan, AgreesWithCli11) {
    const std::vector<std::vector<const char*>> cases = {
        {"--root", "/r", "--runroot", "/rr", "-D", "-l", "debug", "ps", "-a"},
        {"--root=/r", "--log-level=info", "images"},
        {"-ldebug", "network", "ls"},
        {"--root", "--debug", "info"},
        {"--root", "ps", "images"},
        {"bud", "."},
    };
    for (const auto& args : cases) {
        auto picked = scan(args);
        ASSERT_NE(picked, all_groups);
        auto command = parsed_command(args);
        EXPECT_EQ(table_names(picked).count(command), 1u) << command;
    }
}

}  // namespace
}  // namespace husk::cli
