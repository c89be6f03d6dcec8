# Guest scenario: husk-runtime's resource control, checked in behaviour, on the boot's cgroup
# layout (pure v2 with cgroup_no_v1=all, hybrid otherwise). The same kinds of checks as
# tests/integration/cgroups/*.bats run on the (hybrid) build host.
#
# Which checks run: husk.checks=a,b,c on the kernel command line (default: all of them).

. /vm/lib.sh

v2() { [ "$HUSK_VM_MODE" = v2 ]; }

# cg_file V1_CONTROLLER V1_FILE V2_FILE: the container's file for this layout.
cg_file() {
	if v2; then echo "$(cg_dir)/$3"; else echo "$(cg_dir "$1")/$2"; fi
}

check_layout() {
	if v2; then
		fs=$(awk '$2 == "/sys/fs/cgroup" { print $3 }' /proc/mounts)
		expect_eq "$fs" cgroup2 "filesystem at /sys/fs/cgroup"
		for c in cpu io memory pids; do
			grep -qw "$c" /sys/fs/cgroup/cgroup.controllers || fail "no $c in cgroup.controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
		done
		[ -z "$(awk 'NR > 1 && $2 != 0' /proc/cgroups)" ] ||
			fail "v1 hierarchies in use: $(cat /proc/cgroups)"
	else
		[ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ] || fail "no v1 memory hierarchy"
		fs=$(awk '$2 == "/sys/fs/cgroup/unified" { print $3 }' /proc/mounts)
		expect_eq "$fs" cgroup2 "filesystem at /sys/fs/cgroup/unified"
	fi
	DETAIL="controllers: $(cat "$V2/cgroup.controllers")"
}

check_run() {
	set_cmd 'echo "$(hostname) $(cat /proc/self/cgroup | tail -n 1)"; exit 3'
	out=$(rt run --bundle "$BUNDLE" "$ID" 2>"$TMP/err")
	rc=$?
	expect_eq "$rc" 3 "exit status (stderr: $(cat "$TMP/err"))"
	case "$out" in "husk-vm "*) ;; *) fail "output: $out" ;; esac
	[ -z "$(cg_leftovers)" ] || fail "cgroup left after run: $(cg_leftovers)"
	DETAIL=$out
}

check_memory_oom() {
	bind_out
	set_resources '{"memory": {"limit": 33554432, "swap": 33554432}}'
	# dd's 64 MiB buffer cannot fit in 32 MiB: the kernel kills it (137), the shell lives.
	set_cmd 'dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo $? > /out/rc; sleep 100'
	run_detached
	wait_file "$OUT/rc"
	expect_eq "$(cat "$OUT/rc")" 137 "dd exit status"
	expect_eq "$(cat "$(cg_file memory memory.limit_in_bytes memory.max)")" 33554432 "memory limit file"
	if v2; then
		expect_eq "$(cat "$(cg_dir)/memory.swap.max")" 0 memory.swap.max
		kills=$(awk '$1 == "oom_kill" { print $2 }' "$(cg_dir)/memory.events")
	else
		kills=$(awk '$1 == "oom_kill" { print $2 }' "$(cg_dir memory)/memory.oom_control")
	fi
	[ "${kills:-0}" -ge 1 ] || fail "oom_kill in the cgroup's events: '$kills'"
	stat_kills=$(stats_field memory.oomKills)
	[ "${stat_kills:-0}" -ge 1 ] 2>/dev/null || fail "events --stats memory.oomKills: '$stat_kills'"
	rt delete --force "$ID" || fail "delete --force"
	[ -z "$(cg_leftovers)" ] || fail "cgroup left after delete: $(cg_leftovers)"
	DETAIL="oom_kill=$kills"
}

check_memory_under() {
	set_resources '{"memory": {"limit": 67108864}}'
	set_cmd 'dd if=/dev/zero of=/dev/null bs=8M count=1 2>/dev/null && echo ok'
	out=$(rt run --bundle "$BUNDLE" "$ID" 2>"$TMP/err") || fail "run: $(cat "$TMP/err")"
	expect_eq "$out" ok output
}

check_pids_forkbomb() {
	bind_out
	set_resources '{"pids": {"limit": 20}}'
	set_cmd 'i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); echo $i > /out/count; done; echo all-forked'
	out=$(rt run --bundle "$BUNDLE" "$ID" 2>"$TMP/err")
	rc=$?
	[ "$rc" != 0 ] || fail "the fork bomb exited 0: $out"
	case "$out" in *all-forked*) fail "all 40 forked under pids.max 20" ;; esac
	grep -q "can't fork" "$TMP/err" || fail "no fork failure in stderr: $(cat "$TMP/err")"
	n=$(cat "$OUT/count")
	[ "$n" -ge 10 ] && [ "$n" -le 19 ] || fail "forked $n sleepers with pids.max 20"
	[ -z "$(cg_leftovers)" ] || fail "cgroup left: $(cg_leftovers)"
	DETAIL="forked $n of 40"
}

# usage_us: the container's cpu time in microseconds, from the cgroup itself.
usage_us() {
	if v2; then
		awk '$1 == "usage_usec" { print $2 }' "$(cg_dir)/cpu.stat"
	else
		echo $(($(cat "$(cg_dir cpuacct)/cpuacct.usage") / 1000))
	fi
}

check_cpu_quota() {
	set_resources '{"cpu": {"quota": 50000, "period": 100000}}'
	set_cmd 'while :; do :; done'
	run_detached
	if v2; then
		expect_eq "$(cat "$(cg_dir)/cpu.max")" "50000 100000" cpu.max
	else
		expect_eq "$(cat "$(cg_dir cpu)/cpu.cfs_quota_us")" 50000 cpu.cfs_quota_us
	fi
	sleep 1
	u0=$(usage_us)
	t0=$(now_us)
	sleep 4
	u1=$(usage_us)
	t1=$(now_us)
	milli=$(((u1 - u0) * 1000 / (t1 - t0)))
	log "cpu used: $milli/1000 of a cpu over $(((t1 - t0) / 1000)) ms"
	# Generous: the cap is 500; a busy loop without it takes a whole vCPU (1000).
	[ "$milli" -lt 750 ] || fail "busy loop used $milli/1000 cpu with a 0.5 quota"
	[ "$milli" -gt 100 ] || fail "busy loop used only $milli/1000 cpu: did it run?"
	if v2; then
		thr=$(awk '$1 == "nr_throttled" { print $2 }' "$(cg_dir)/cpu.stat")
	else
		thr=$(awk '$1 == "nr_throttled" { print $2 }' "$(cg_dir cpu)/cpu.stat")
	fi
	[ "${thr:-0}" -gt 0 ] || fail "never throttled (nr_throttled '$thr')"
	DETAIL="used $milli/1000 cpu, throttled $thr periods"
}

count() { cat "$OUT/count" 2>/dev/null || echo 0; }

check_freeze() {
	bind_out
	# The counter is renamed into place: a reader never sees a truncated, empty file.
	set_cmd 'i=0; while [ $i -lt 5000 ]; do i=$((i+1)); echo $i > /out/c.new; mv /out/c.new /out/count; sleep 0.05; done'
	run_detached
	wait_file "$OUT/count"
	rt pause "$ID" 2>"$TMP/err" || fail "pause: $(cat "$TMP/err")"
	expect_eq "$(state_field status)" paused "status after pause"
	if v2; then
		expect_eq "$(cat "$(cg_dir)/cgroup.freeze")" 1 cgroup.freeze
		grep -qx 'frozen 1' "$(cg_dir)/cgroup.events" || fail "cgroup.events: $(cat "$(cg_dir)/cgroup.events")"
	else
		expect_eq "$(cat "$(cg_dir freezer)/freezer.state")" FROZEN freezer.state
	fi
	c1=$(count)
	sleep 1.5
	c2=$(count)
	expect_eq "$c2" "$c1" "counter while paused"
	! rt pause "$ID" 2>/dev/null || fail "pausing a paused container succeeded"
	rt resume "$ID" 2>"$TMP/err" || fail "resume: $(cat "$TMP/err")"
	expect_eq "$(state_field status)" running "status after resume"
	sleep 1.5
	c3=$(count)
	[ "$c3" -gt "$c2" ] || fail "counter did not move after resume ($c2 -> $c3)"
	DETAIL="counter $c1 -> $c2 paused, -> $c3 resumed"
}

check_update() {
	bind_out
	set_resources '{"pids": {"limit": 5}, "memory": {"limit": 33554432}}'
	set_cmd 'while [ ! -e /out/go ]; do sleep 0.1; done; i=0; while [ $i -lt 12 ]; do sleep 60 & i=$((i+1)); done; echo forked > /out/result; wait'
	run_detached
	pids_max=$(cg_file pids pids.max pids.max)
	expect_eq "$(cat "$pids_max")" 5 "pids.max before"
	rt update --pids-limit 30 --memory 64m --cpu-quota 20000 --cpu-period 100000 "$ID" 2>"$TMP/err" ||
		fail "update: $(cat "$TMP/err")"
	expect_eq "$(cat "$pids_max")" 30 "pids.max after update"
	expect_eq "$(cat "$(cg_file memory memory.limit_in_bytes memory.max)")" 67108864 "memory after update"
	if v2; then expect_eq "$(cat "$(cg_dir)/cpu.max")" "20000 100000" "cpu.max after update"; fi
	touch "$OUT/go"
	wait_file "$OUT/result"
	expect_eq "$(cat "$OUT/result")" forked "12 forks under the new limit"
	echo '{"pids": {"limit": 9}}' >"$TMP/res.json"
	rt update --resources "$TMP/res.json" "$ID" 2>"$TMP/err" || fail "update -r: $(cat "$TMP/err")"
	expect_eq "$(cat "$pids_max")" 9 "pids.max after --resources"
	! rt update --resources - "$ID" 2>"$TMP/err" <<-EOF || fail "a negative memory limit was accepted"
		{"memory": {"limit": -7}}
	EOF
	grep -q "resources.memory.limit" "$TMP/err" || fail "error does not name the field: $(cat "$TMP/err")"
	expect_eq "$(cat "$(cg_file memory memory.limit_in_bytes memory.max)")" 67108864 "memory after refused update"
}

# A character device outside the default set: /dev/kmsg (1:11), which root may open for
# writing without any capability, so a refusal can only come from the device rules.
check_devices() {
	cfg '.linux.devices = [{path: "/dev/husk-kmsg", type: "c", major: 1, minor: 11, fileMode: 384}]'
	set_cmd 'echo x > /dev/null && echo null-ok; (exec 3>/dev/husk-kmsg) 2>/dev/null && echo dev-ok || echo dev-denied'
	out=$(rt run --bundle "$BUNDLE" "$ID" 2>"$TMP/err") || fail "run: $(cat "$TMP/err")"
	expect_eq "$(echo $out)" "null-ok dev-ok" "without rules"
	set_resources '{"devices": [{"allow": false, "access": "rwm"}]}'
	out=$(rt run --bundle "$BUNDLE" "$ID" 2>"$TMP/err") || fail "run: $(cat "$TMP/err")"
	expect_eq "$(echo $out)" "null-ok dev-denied" "deny all"
	set_resources '{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}]}'
	out=$(rt run --bundle "$BUNDLE" "$ID" 2>"$TMP/err") || fail "run: $(cat "$TMP/err")"
	expect_eq "$(echo $out)" "null-ok dev-ok" "deny all, then allow c 1:11 w"
	[ -z "$(cg_leftovers)" ] || fail "cgroup left: $(cg_leftovers)"
}

check_io_unified() {
	set_resources '{"blockIO": {"weight": 500}, "unified": {"pids.max": "7", "memory.high": "50331648"}}'
	set_cmd 'sleep 100'
	run_detached
	d=$(cg_dir)
	if [ -e "$d/io.bfq.weight" ]; then
		w=$(cat "$d/io.bfq.weight")
		expect_eq "$w" "default 500" io.bfq.weight
	elif [ -e "$d/io.weight" ]; then
		w=$(cat "$d/io.weight")
		expect_eq "$w" "default 4950" "io.weight (blkio 500 scaled)"
	else
		fail "no io.weight or io.bfq.weight in $d: $(ls "$d" | tr '\n' ' ')"
	fi
	expect_eq "$(cat "$d/pids.max")" 7 "unified pids.max"
	expect_eq "$(cat "$d/memory.high")" 50331648 "unified memory.high"
	set_resources '{"unified": {"memory.nonsense": "1"}}'
	! rt run --bundle "$BUNDLE" "$ID-bad" 2>"$TMP/err" >/dev/null || fail "an unknown unified key was accepted"
	grep -q 'memory.nonsense' "$TMP/err" || fail "error does not name the key: $(cat "$TMP/err")"
	[ ! -d "$V2/$CG_PARENT/$ID-bad" ] || fail "cgroup of the refused container exists"
	DETAIL="$w"
}

check_cpu_weight_cpuset() {
	set_resources '{"cpu": {"shares": 512, "cpus": "1", "mems": "0"}}'
	set_cmd 'grep Cpus_allowed_list /proc/self/status; sleep 100'
	run_detached
	d=$(cg_dir)
	# shares 512 -> weight 1 + (512 - 2) * 9999 / 262142 = 20, as runc and crun convert.
	expect_eq "$(cat "$d/cpu.weight")" 20 "cpu.weight for shares 512"
	expect_eq "$(cat "$d/cpuset.cpus")" 1 cpuset.cpus
	expect_eq "$(cat "$d/cpuset.mems")" 0 cpuset.mems
	pid=$(state_field pid)
	expect_eq "$(awk '/Cpus_allowed_list/ { print $2 }' "/proc/$pid/status")" 1 "affinity of the container's init"
}

check_delete() {
	set_cmd 'sleep 100 & sleep 100'
	run_detached
	pid=$(state_field pid)
	[ -d "$(cg_dir)" ] || fail "no cgroup $(cg_dir) while running"
	! rt delete "$ID" 2>/dev/null || fail "delete of a running container succeeded"
	n=$(wc -l <"$(cg_dir)/cgroup.procs")
	rt delete --force "$ID" 2>"$TMP/err" || fail "delete --force: $(cat "$TMP/err")"
	i=0
	while [ -d "/proc/$pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	[ ! -d "/proc/$pid" ] || fail "init $pid still alive"
	[ -z "$(cg_leftovers)" ] || fail "cgroup left after delete --force: $(cg_leftovers)"
	DETAIL="removed a cgroup holding $n processes"
}

check_stats() {
	set_resources '{"memory": {"limit": 67108864}, "pids": {"limit": 50}}'
	set_cmd 'sleep 100 & sleep 100'
	run_detached
	json=$(rt events --stats "$ID" 2>"$TMP/err") || fail "events --stats: $(cat "$TMP/err")"
	[ "$(echo "$json" | jq .data.cpu.usage.total)" -gt 0 ] || fail "cpu usage: $json"
	[ "$(echo "$json" | jq .data.memory.usage.usage)" -gt 0 ] || fail "memory usage: $json"
	expect_eq "$(echo "$json" | jq .data.memory.usage.limit)" 67108864 "memory limit"
	expect_eq "$(echo "$json" | jq .data.pids.limit)" 50 "pids.limit"
	i=0
	while [ "$(rt ps --format json "$ID" | jq length)" != 2 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	expect_eq "$(rt ps --format json "$ID" | jq length)" 2 "processes in ps --format json"
	expect_eq "$(stats_field pids.current)" 2 pids.current
}

# "No internal processes": a cgroup that holds processes cannot enable controllers for
# children, so a container below one of those gets a precise error, and nothing is created.
check_no_internal_processes() {
	holder=$V2/$CG_PARENT
	mkdir -p "$holder"
	sleep 300 &
	sleeper=$!
	echo "$sleeper" >"$holder/cgroup.procs" || fail "cannot move $sleeper into $holder"
	cfg '.linux.cgroupsPath = $p' --arg p "/$CG_PARENT/$ID"
	set_resources '{"memory": {"limit": 33554432}}'
	set_cmd 'echo ran'
	out=$(rt run --bundle "$BUNDLE" "$ID" 2>"$TMP/err")
	rc=$?
	kill "$sleeper"
	wait "$sleeper" 2>/dev/null
	err=$(cat "$TMP/err")
	log "stderr: $err"
	[ "$rc" != 0 ] || fail "the container ran below a cgroup holding processes: $out"
	case "$err" in *"$holder"*) ;; *) fail "error does not name $holder: $err" ;; esac
	case "$err" in *"no internal processes"*) ;; *) fail "error does not explain the rule: $err" ;; esac
	[ ! -d "$holder/$ID" ] || fail "$holder/$ID was created"
	rmdir "$holder" || fail "cannot remove $holder"
	[ -z "$(rt list -q 2>/dev/null)" ] || fail "state left: $(rt list -q)"
}

checks=
for w in $(cat /proc/cmdline); do
	case "$w" in husk.checks=*) checks=$(echo "${w#husk.checks=}" | tr , ' ') ;; esac
done
if [ -z "$checks" ]; then
	checks="layout run memory_oom memory_under pids_forkbomb cpu_quota freeze update devices delete stats"
	v2 && checks="$checks io_unified cpu_weight_cpuset no_internal_processes"
fi
run_checks $checks
