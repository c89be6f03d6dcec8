#!/usr/bin/env bats
# husk-runtime's resource control on a pure cgroup v2 host: a guest booted with
# cgroup_no_v1=all (this build host is hybrid and cannot show it). The guest runs
# guest/cgroup-checks.sh once; each test reads one check's result from the serial log.

load vm

setup_file() {
	vm_boot v2 "$VM_GUEST/cgroup-checks.sh" --timeout 900
}

@test "v2 guest boots with every controller in cgroup2 and no v1 hierarchy" {
	vm_booted v2
	vm_result layout
}

@test "v2: a container runs, its exit status comes back, its cgroup is removed" { vm_result run; }
@test "v2: a process over its memory limit is OOM-killed and memory.events counts it" { vm_result memory_oom; }
@test "v2: a process under its memory limit runs" { vm_result memory_under; }
@test "v2: a fork bomb stops at pids.max" { vm_result pids_forkbomb; }
@test "v2: a cpu quota of 0.5 caps a busy loop (cpu.stat usage over wall time)" { vm_result cpu_quota; }
@test "v2: pause (cgroup.freeze) stops progress and resume continues it" { vm_result freeze; }
@test "v2: update changes live limits (pids, memory, cpu.max) and refuses bad ones" { vm_result update; }
@test "v2: the eBPF device program denies a device not allowed" { vm_result devices; }
@test "v2: io weight and unified keys are written; an unknown key is refused" { vm_result io_unified; }
@test "v2: cpu shares become cpu.weight; cpuset.cpus pins the container" { vm_result cpu_weight_cpuset; }
@test "v2: delete --force kills what is left and removes the cgroup" { vm_result delete; }
@test "v2: events --stats and ps read the v2 files" { vm_result stats; }
@test "v2: below a cgroup holding processes, the error names the no-internal-processes rule" { vm_result no_internal_processes; }
