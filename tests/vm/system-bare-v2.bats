#!/usr/bin/env bats
# husk doctor and husk system bootstrap in a bare guest (the rig's init mounts only /proc and
# /dev: husk.bare=1), booted with cgroup_no_v1=all (pure v2).
# The guest runs guest/system-bare.sh once; each test reads one of its results.

load vm

setup_file() {
	[[ -x "${HUSK:-}" ]] || skip "HUSK (the husk binary) is needed in the guest"
	vm_boot v2 "$VM_GUEST/system-bare.sh" --bare --timeout 600
}

@test "v2 bare guest: the doctor reports what is missing (sysfs, devpts, shm, cgroups) and exits 2" {
	vm_booted v2
	vm_result doctor_before
}

@test "v2 bare guest: bootstrap mounts sysfs, devpts, shm and cgroup2 and delegates every controller" {
	vm_result bootstrap
}

@test "v2 bare guest: a second bootstrap finds everything in place" { vm_result bootstrap_again; }

@test "v2 bare guest: after the bootstrap only missing kernel modules fail, with modprobe as the fix" {
	vm_result doctor_after
}

@test "v2 bare guest: with the modules loaded, nf_tables, veth/bridge and overlay pass" {
	vm_result modules
}

@test "v2 bare guest: a container gets its memory limit in the delegated tree" {
	vm_result memory_limit
}

@test "v2 bare guest: husk run on the bridge network publishes a port on 127.0.0.1" {
	vm_result bridge_port
}
