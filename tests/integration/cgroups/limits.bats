#!/usr/bin/env bats
# Limits that hold, not only files that were written: memory (OOM kill), pids (a bounded
# fork bomb), cpu quota (measured usage), cpuset, devices. On this machine the v1 controllers
# do the work (hybrid layout).

load ../helpers
load cgroups

setup() { cgroup_setup; }
teardown() { cgroup_teardown; }

@test "memory limit: a process over it is OOM-killed and the kill is counted" {
	husk_only
	bind_out
	set_resources '{"memory": {"limit": 33554432, "swap": 33554432}}'
	# dd's 64 MiB buffer cannot fit in 32 MiB: the kernel kills it (137), the shell lives.
	set_cmd 'dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo $? > /out/rc; sleep 100'
	run_detached
	wait_for_file "$OUT/rc"
	assert_equal "$(cat "$OUT/rc")" 137 "dd exit status"
	assert_equal "$(cat "$(cg_dir memory)/memory.limit_in_bytes")" 33554432 "memory.limit_in_bytes"
	assert_equal "$(cat "$(cg_dir memory)/memory.memsw.limit_in_bytes")" 33554432 "memsw"
	local kills
	kills=$(stats_field memory.oomKills)
	[[ "$kills" -ge 1 ]] || fail "oomKills $kills, expected >= 1"
	[[ "$(stats_field memory.usage.limit)" == 33554432 ]] || fail "events: memory limit"
	run rt delete --force "$ID"
	assert_success
	assert_no_cgroup
}

@test "memory limit: a process under it runs" {
	set_resources '{"memory": {"limit": 67108864}}'
	set_cmd 'dd if=/dev/zero of=/dev/null bs=8M count=1 2>/dev/null && echo ok'
	run --separate-stderr rt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_equal "$output" ok
	assert_no_cgroup
}

@test "pids limit: a fork bomb stops at pids.max" {
	bind_out
	set_resources '{"pids": {"limit": 20}}'
	# 40 sleepers asked for, at most 20 tasks allowed (the shell is one): the shell's fork
	# fails, it exits, and the pid namespace takes the rest with it.
	set_cmd 'i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); echo $i > /out/count; done; echo all-forked'
	run --separate-stderr rt run --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_not_contains "$output" all-forked
	assert_contains "$stderr" "can't fork"
	local n
	n=$(cat "$OUT/count")
	[[ "$n" -ge 10 && "$n" -le 19 ]] || fail "forked $n sleepers with pids.max 20"
	assert_no_cgroup
}

@test "pids limit: read back from pids.max and events" {
	set_resources '{"pids": {"limit": 20}}'
	set_args sleep 100
	run_detached
	assert_equal "$(cat "$(cg_dir pids)/pids.max")" 20 "pids.max"
	assert_equal "$(stats_field pids.limit)" 20 "events pids.limit"
	assert_equal "$(stats_field pids.current)" 1 "events pids.current"
}

# usage_ns: the container's cpu time so far, from events --stats.
usage_ns() { stats_field cpu.usage.total; }

@test "cpu quota of 0.5 cpu caps a busy loop" {
	set_resources '{"cpu": {"quota": 50000, "period": 100000}}'
	set_cmd 'while :; do :; done'
	run_detached
	assert_equal "$(cat "$(cg_dir cpu)/cpu.cfs_quota_us")" 50000 "cfs_quota_us"
	assert_equal "$(cat "$(cg_dir cpu)/cpu.cfs_period_us")" 100000 "cfs_period_us"
	sleep 0.3
	local u0 u1 t0 t1
	u0=$(usage_ns)
	t0=$(date +%s%N)
	sleep 1.5
	u1=$(usage_ns)
	t1=$(date +%s%N)
	local milli=$(((u1 - u0) * 1000 / (t1 - t0)))
	echo "cpu used: $milli/1000 of a cpu" >&2
	[[ "$milli" -lt 750 ]] || fail "busy loop used $milli/1000 cpu with a 0.5 quota"
	[[ "$milli" -gt 200 ]] || fail "busy loop used only $milli/1000 cpu: did it run?"
	# On a saturated machine the loop can get less than its quota and is then rightly never
	# throttled; once it gets near the quota, the kernel must have throttled it.
	if [[ "$milli" -ge 400 ]]; then
		[[ "$(stats_field cpu.throttling.throttledPeriods)" -gt 0 ]] || fail "never throttled"
	fi
}

@test "cpu shares, cpuset and swappiness are written where v1 reads them" {
	set_resources '{"cpu": {"shares": 512, "cpus": "0", "mems": "0"}, "memory": {"swappiness": 10}}'
	set_cmd 'grep Cpus_allowed_list /proc/self/status; sleep 100'
	run_detached
	assert_equal "$(cat "$(cg_dir cpu)/cpu.shares")" 512 "cpu.shares"
	assert_equal "$(cat "$(cg_dir cpuset)/cpuset.cpus")" 0 "cpuset.cpus"
	assert_equal "$(cat "$(cg_dir memory)/memory.swappiness")" 10 "memory.swappiness"
	local pid
	pid=$(state_field pid)
	assert_equal "$(awk '/Cpus_allowed_list/ { print $2 }' "/proc/$pid/status")" 0 "affinity"
}

@test "devices: deny all keeps the default devices, and a denied one cannot be opened" {
	# An unbound loop device: root opens it without any capability, so a refusal can only
	# come from the device rules.
	update_config '.linux.devices = [{path: "/dev/husk-loop", type: "b", major: 7, minor: 0, fileMode: 384}]'
	set_cmd 'echo x > /dev/null && echo null-ok; (exec 3</dev/husk-loop) 2>/dev/null && echo dev-ok || echo dev-denied'
	run --separate-stderr rt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_contains "$output" dev-ok
	set_resources '{"devices": [{"allow": false, "access": "rwm"}]}'
	run --separate-stderr rt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_contains "$output" null-ok
	assert_contains "$output" dev-denied
	set_resources '{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "b", "major": 7, "minor": 0, "access": "r"}]}'
	run --separate-stderr rt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_contains "$output" dev-ok
	assert_equal "$(grep -c . <<<"$output")" 2 "output lines"
}
