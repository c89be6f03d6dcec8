#!/usr/bin/env bats
# Rootless husk-runtime (and the rootless engine) with a delegated cgroup v2 subtree, on a
# pure v2 guest without systemd: the guest script (guest/rootless-cgroup.sh) delegates a
# cgroup to uid 1000 by hand (chown of the directory, cgroup.procs, cgroup.subtree_control,
# cgroup.threads; memory and pids enabled for its children; the user's processes in a leaf)
# and checks that limits asked for without privileges are in force there.

load vm

setup_file() {
	vm_boot v2 "$VM_GUEST/rootless-cgroup.sh" --timeout 300
}

@test "v2 rootless: without a delegated cgroup, a memory limit is refused with the reason" { vm_result refused_undelegated; }
@test "v2 rootless: root delegates a subtree to the user by hand (chown + subtree_control), the user's processes in a leaf" { vm_result delegate; }
@test "v2 rootless: husk-runtime --rootless puts memory.max and pids.max in force in the delegated subtree (OOM kill counted)" { vm_result runtime_limits; }
@test "v2 rootless: a fork bomb of a rootless container stops at pids.max" { vm_result runtime_pids; }
@test "v2 rootless: the rootless engine (husk run --memory --pids-limit) in the delegated subtree" { vm_result engine_limits; }
@test "v2 rootless guest booted pure v2 and finished" { vm_booted v2; }
