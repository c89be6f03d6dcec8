#!/usr/bin/env bats
# husk-runtime's systemd cgroup driver on systemd's hybrid layout (v1 controllers, cgroup2 at
# /sys/fs/cgroup/unified; systemd.unified_cgroup_hierarchy=0): v1 unit properties
# (MemoryLimit, CPUShares), the v1 files, and the hierarchies systemd does not manage (cpuset,
# net_cls, ...) made and joined by husk-runtime. The full set of checks runs on v2
# (systemd-cgroup.bats); this is the subset that differs on v1.

load vm

setup_file() {
	vm_boot hybrid "$VM_GUEST/systemd-cgroup.sh" --systemd --timeout 300
}

@test "systemd hybrid guest: systemd is PID 1 with v1 controllers and the unified tree" {
	vm_booted hybrid
	vm_log | grep -aq "^HUSK-VM-BOOTED mode=hybrid bare=0 init=systemd " || fail "PID 1 is not systemd"
	vm_result booted
}
@test "systemd hybrid: the scope has the v1 properties and files, and the init is in every hierarchy's scope" { vm_result scope; }
@test "systemd hybrid: update sets MemoryLimit/TasksMax/CPUQuotaPerSecUSec and the v1 files" { vm_result update; }
@test "systemd hybrid: delete stops the scope and removes the directories husk-runtime made" { vm_result delete; }
