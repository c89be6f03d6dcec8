#pragma once
// A connection to systemd's manager over D-Bus (sd-bus), for the systemd cgroup driver:
// start a transient scope and wait for its job, change its properties, stop it.
//
// libsystemd is loaded with dlopen on first use: only containers made with --systemd-cgroup
// pay for it (it and the compression and crypto libraries it links would otherwise be mapped
// by every husk-runtime start).
#include <memory>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/cgroups_systemd.hpp"

namespace husk::runtime {

class SystemdBus {
public:
    // The system bus (/run/dbus/system_bus_socket, or $DBUS_SYSTEM_BUS_ADDRESS), else
    // systemd's private socket /run/systemd/private (root only; works without dbus-daemon).
    [[nodiscard]] static Result<SystemdBus> connect();

    SystemdBus(SystemdBus&&) noexcept;
    SystemdBus& operator=(SystemdBus&&) noexcept;
    ~SystemdBus();

    // StartTransientUnit(unit, "fail", properties) and waits (up to `timeout_s`) for the
    // JobRemoved signal of its job; fails unless the job's result is "done".
    [[nodiscard]] Status start_transient_unit(const std::string& unit,
                                              const std::vector<UnitProperty>& properties,
                                              int timeout_s = 60);
    // SetUnitProperties(unit, runtime=true, properties).
    [[nodiscard]] Status set_unit_properties(const std::string& unit,
                                             const std::vector<UnitProperty>& properties);
    // StopUnit(unit, "replace") and waits for the job; a unit that is gone already (a scope
    // whose processes all exited is collected by systemd) is success.
    [[nodiscard]] Status stop_unit(const std::string& unit, int timeout_s = 60);
    // Whether systemd has the unit loaded (GetUnit succeeds).
    [[nodiscard]] Result<bool> unit_exists(const std::string& unit);

    // "system bus" or "/run/systemd/private": for messages.
    const std::string& address() const { return address_; }

private:
    struct Impl;
    explicit SystemdBus(std::unique_ptr<Impl> impl, std::string address);
    std::unique_ptr<Impl> impl_;
    std::string address_;
};

}  // namespace husk::runtime
