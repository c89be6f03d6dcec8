#!/usr/bin/env bats
# husk doctor and husk system bootstrap in a bare guest (the rig's init mounts only /proc and
# /dev: husk.bare=1), booted with the kernel's default cgroup setup (nothing bound to v1 yet).
# The guest runs guest/system-bare.sh once; each test reads one of its results.

load vm

setup_file() {
	[[ -x "${HUSK:-}" ]] || skip "HUSK (the husk binary) is needed in the guest"
	vm_boot hybrid "$VM_GUEST/system-bare.sh" --bare --timeout 600
}

@test "hybrid bare guest: the doctor reports what is missing (sysfs, devpts, shm, cgroups) and exits 2" {
	vm_booted hybrid
	vm_result doctor_before
}

@test "hybrid bare guest: bootstrap mounts sysfs, devpts, shm and cgroup2 and delegates every controller" {
	vm_result bootstrap
}

@test "hybrid bare guest: a second bootstrap finds everything in place" { vm_result bootstrap_again; }

@test "hybrid bare guest: after the bootstrap only missing kernel modules fail, with modprobe as the fix" {
	vm_result doctor_after
}

@test "hybrid bare guest: with the modules loaded, nf_tables, veth/bridge and overlay pass" {
	vm_result modules
}

@test "hybrid bare guest: a container gets its memory limit in the delegated tree" {
	vm_result memory_limit
}

@test "hybrid bare guest: husk run on the bridge network publishes a port on 127.0.0.1" {
	vm_result bridge_port
}
