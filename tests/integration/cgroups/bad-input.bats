#!/usr/bin/env bats
# Bad resources and cgroup paths: refused with the field's name, and nothing is left behind
# (no state dir, no cgroup directory in any hierarchy, no process, no mount).

load ../helpers
load cgroups

setup() { cgroup_setup; }
teardown() { cgroup_teardown; }

# expect_refused FIELD [MESSAGE]
expect_refused() {
	rtd create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_names_field "$stderr" "$1"
	[[ -z "${2:-}" ]] || assert_contains "$stderr" "$2"
	assert_nothing_left
	assert_no_cgroup
	[[ ! -e "$ROOT/$ID" ]] || fail "state dir left"
	rtd run --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_nothing_left
	assert_no_cgroup
}

@test "bad: negative memory limit" {
	set_resources '{"memory": {"limit": -100}}'
	expect_refused linux.resources.memory.limit "is negative"
}

@test "bad: absurd limits (a 10-byte memory limit, a 2 s cpu period)" {
	set_resources '{"memory": {"limit": 10}}'
	expect_refused linux.resources.memory.limit "below one page"
	set_resources '{"cpu": {"period": 2000000}}'
	expect_refused linux.resources.cpu.period "out of range"
}

@test "bad: negative pids limit" {
	set_resources '{"pids": {"limit": -20}}'
	expect_refused linux.resources.pids.limit
}

@test "bad: cgroupsPath with .." {
	update_config '.linux.cgroupsPath = $p' --arg p "/$CG_PARENT/../../escape-$ID"
	expect_refused linux.cgroupsPath 'contains ".."'
	[[ ! -e /sys/fs/cgroup/memory/escape-$ID ]] || fail "escape cgroup made"
}

@test "bad: unknown unified key" {
	set_resources '{"unified": {"memory.bogus": "1"}}'
	expect_refused 'linux.resources.unified["memory.bogus"]' "unknown cgroup v2 file"
}

@test "bad: a device rule for a nonexistent major, and a bad type and access" {
	set_resources '{"devices": [{"allow": true, "type": "c", "major": 5000, "minor": 1, "access": "rwm"}]}'
	expect_refused "linux.resources.devices[0].major" "not a device major number"
	set_resources '{"devices": [{"allow": true, "type": "x", "access": "rwm"}]}'
	expect_refused "linux.resources.devices[0].type"
	set_resources '{"devices": [{"allow": true, "type": "c", "access": "rwx"}]}'
	expect_refused "linux.resources.devices[0].access"
}

@test "bad: a controller this host does not have (net_cls) is refused before anything is made" {
	[[ -d /sys/fs/cgroup/net_cls ]] && skip "net_cls is mounted here"
	set_resources '{"network": {"classID": 1048577}}'
	expect_refused linux.resources.network.classID "the net_cls controller is not mounted"
}

@test "bad: unified memory key on a hybrid host names the v1 alternative" {
	[[ "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" == hugetlb ]] ||
		skip "not the hybrid layout of the Firecracker host"
	set_resources '{"unified": {"memory.high": "1000000"}}'
	expect_refused 'linux.resources.unified["memory.high"]' "it is a v1 controller here"
}

@test "bad: a limit the kernel refuses (cpuset of a cpu that does not exist) is undone" {
	set_resources '{"cpu": {"cpus": "63"}}'
	expect_refused linux.resources.cpu.cpus "cpuset.cpus"
}

@test "bad: hugepage limits where the v2 root does not delegate hugetlb: precise error, undone" {
	[[ "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" == hugetlb ]] ||
		skip "not the hybrid layout of the Firecracker host"
	grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.subtree_control &&
		skip "the v2 root delegates hugetlb here"
	set_resources '{"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}'
	expect_refused "linux.resources.hugepageLimits[0]" "does not reconfigure cgroups it did not create"
	assert_contains "$stderr" "echo +hugetlb > /sys/fs/cgroup/unified/cgroup.subtree_control"
}

@test "bad: a memory limit too small for the init names the OOM killer, and is undone" {
	husk_only
	set_resources '{"memory": {"limit": 8192}}'
	set_args true
	expect_refused "linux.resources.memory.limit" "the OOM killer killed a process"
}

@test "systemd driver: without systemd as PID 1, --systemd-cgroup is refused up front (bad slice names: unit tests and tests/vm/systemd-cgroup.bats)" {
	husk_only
	[[ ! -e /run/systemd/system ]] || skip "systemd is PID 1 here: the message differs"
	run --separate-stderr "$HUSK_RUNTIME" --root "$ROOT" --systemd-cgroup create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_contains "$stderr" "--systemd-cgroup: systemd is not running on this host (no /run/systemd/system"
	assert_contains "$stderr" "drop --systemd-cgroup"
	assert_nothing_left
	assert_no_cgroup
	[[ ! -e "$ROOT/$ID" ]] || fail "state dir left"
	# A slice path without the flag names the flag.
	update_config '.linux.cgroupsPath = $p' --arg p "system.slice:husk:$ID"
	expect_refused linux.cgroupsPath "is a systemd slice path (slice:prefix:name): pass --systemd-cgroup"
}
