#!/usr/bin/env bats
# The same guest in the kernel's default cgroup mode, set up as hybrid (v1 controllers plus
# the cgroup2 tree at /sys/fs/cgroup/unified), with a smaller set of checks: both boot modes
# run containers with limits in force.

load vm

setup_file() {
	vm_boot hybrid "$VM_GUEST/cgroup-checks.sh" --timeout 600 \
		--append "husk.checks=layout,run,memory_oom,pids_forkbomb,freeze,update,delete"
}

@test "hybrid guest boots with v1 controllers and cgroup2 at unified/" {
	vm_booted hybrid
	vm_result layout
}

@test "hybrid: a container runs, its exit status comes back, its cgroup is removed" { vm_result run; }
@test "hybrid: a process over its memory limit is OOM-killed" { vm_result memory_oom; }
@test "hybrid: a fork bomb stops at pids.max" { vm_result pids_forkbomb; }
@test "hybrid: pause (v1 freezer) stops progress and resume continues it" { vm_result freeze; }
@test "hybrid: update changes live limits" { vm_result update; }
@test "hybrid: delete --force removes the cgroup in every hierarchy" { vm_result delete; }
