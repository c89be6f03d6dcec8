#pragma once
// Scripted answers for the probes that act on the live kernel.
#include <cerrno>
#include <map>

#include "system/host.hpp"

namespace husk::system::testing {

class FakeProbes : public Probes {
public:
    OverlayProbe overlay_answer{true, "", "ext4", "/var/lib"};
    ProbeResult nft_answer{true, "nft ok"};
    ProbeResult links_answer{true, "links ok"};
    std::map<int, int> unshare_errno;  // flag -> errno; absent means it works
    std::optional<DiskSpace> disk{DiskSpace{50ull << 30, 100ull << 30, 1000000, 2000000}};
    std::string overlay_dir_asked;

    OverlayProbe overlay(const std::string& dir) override {
        overlay_dir_asked = dir;
        return overlay_answer;
    }
    ProbeResult nftables() override { return nft_answer; }
    ProbeResult veth_bridge() override { return links_answer; }
    int try_unshare(int flags) override {
        auto it = unshare_errno.find(flags);
        return it == unshare_errno.end() ? 0 : it->second;
    }
    std::optional<DiskSpace> disk_space(const std::string&) override { return disk; }
};

}  // namespace husk::system::testing
