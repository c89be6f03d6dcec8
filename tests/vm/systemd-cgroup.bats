#!/usr/bin/env bats
# husk-runtime's systemd cgroup driver (--systemd-cgroup) against a real systemd: this build
# host has none as PID 1, so a guest boots the host's systemd 252 (tests/vm/guest/systemd/)
# on a pure cgroup v2 kernel, and guest/systemd-cgroup.sh runs as its service. Each test reads
# one check's result from the serial log.

load vm

setup_file() {
	vm_boot v2 "$VM_GUEST/systemd-cgroup.sh" --systemd --timeout 400
}

@test "systemd guest: systemd is PID 1 on cgroup v2, on the system bus" {
	vm_booted v2
	vm_log | grep -aq "^HUSK-VM-BOOTED mode=v2 bare=0 init=systemd " || fail "PID 1 is not systemd"
	vm_result booted
}
@test "systemd: the container gets a delegated transient scope with its limits as properties and in force in the files" { vm_result scope; }
@test "systemd: update sets the unit's properties and the files; a daemon-reload keeps them" { vm_result update; }
@test "systemd: delete stops the scope and its cgroup goes" { vm_result delete; }
@test "systemd: a foreground run's scope goes when the container exits; its status comes back" { vm_result run_exit; }
@test "systemd: a nested slice (husk-vm.slice) lands in husk.slice/husk-vm.slice" { vm_result nested_slice; }
@test "systemd: device rules become DevicePolicy=strict and DeviceAllow, and hold with husk-runtime's own" { vm_result devices; }
@test "systemd: husk-runtime uses the system bus, and systemd's private socket without it" { vm_result private_socket; }
@test "systemd: bad slice names, a cgroupfs path, a missing flag and an existing scope are refused clearly, leaving nothing" { vm_result bad_input; }
