#!/usr/bin/env bats
# The cgroup verbs on a live container: pause/resume (progress stops and continues), update
# (a live limit changes, read back and in behaviour), ps, events --stats.

load ../helpers
load cgroups

setup() { cgroup_setup; }
teardown() { cgroup_teardown; }

count() { cat "$OUT/count" 2>/dev/null || echo 0; }

@test "pause stops progress and resume continues it" {
	bind_out
	# Written by rename, so a read never sees the file truncated.
	set_cmd 'i=0; while [ $i -lt 2000 ]; do i=$((i+1)); echo $i > /out/count.new; mv /out/count.new /out/count; sleep 0.05; done'
	run_detached
	wait_for_file "$OUT/count"

	run rt pause "$ID"
	assert_success
	assert_equal "$(state_field status)" paused "status after pause"
	local c1 c2 c3
	c1=$(count)
	sleep 0.6
	c2=$(count)
	assert_equal "$c2" "$c1" "counter while paused"
	# Pausing twice is an error, as in runc.
	run rt pause "$ID"
	assert_failure

	run rt resume "$ID"
	assert_success
	assert_equal "$(state_field status)" running "status after resume"
	sleep 0.6
	c3=$(count)
	[[ "$c3" -gt "$c2" ]] || fail "counter did not move after resume ($c2 -> $c3)"
	run rt resume "$ID"
	assert_failure
}

@test "a paused container can be deleted with --force" {
	set_args sleep 100
	run_detached
	local pid
	pid=$(state_field pid)
	run rt pause "$ID"
	assert_success
	run rt delete "$ID"
	assert_failure
	run rt delete --force "$ID"
	assert_success
	wait_pid_gone "$pid"
	assert_no_cgroup
}

@test "update changes a live pids limit: read back and in behaviour" {
	bind_out
	set_resources '{"pids": {"limit": 5}}'
	# Waits for /out/go, then asks for 12 sleepers: over the first limit, under the second.
	set_cmd 'while [ ! -e /out/go ]; do sleep 0.1; done; i=0; while [ $i -lt 12 ]; do sleep 60 & i=$((i+1)); done; echo forked > /out/result; wait'
	run_detached
	assert_equal "$(cat "$(cg_dir pids)/pids.max")" 5 "pids.max before"

	run rt update --pids-limit 30 "$ID"
	assert_success
	assert_equal "$(cat "$(cg_dir pids)/pids.max")" 30 "pids.max after update"
	touch "$OUT/go"
	wait_for_file "$OUT/result"
	assert_equal "$(cat "$OUT/result")" forked
	[[ "$(stats_field pids.current)" -ge 13 ]] || fail "fewer than 13 tasks running"
}

@test "update: memory and cpu flags and --resources JSON" {
	set_resources '{"memory": {"limit": 33554432}}'
	set_args sleep 100
	run_detached
	run rt update --memory 64m --cpu-quota 20000 --cpu-period 100000 --cpu-shares 256 "$ID"
	assert_success
	assert_equal "$(cat "$(cg_dir memory)/memory.limit_in_bytes")" 67108864 "memory after --memory"
	assert_equal "$(cat "$(cg_dir cpu)/cpu.cfs_quota_us")" 20000 "quota"
	assert_equal "$(cat "$(cg_dir cpu)/cpu.shares")" 256 "shares"

	echo '{"memory": {"limit": 16777216}, "cpu": {"quota": -1}}' >"$TEST_TMP/res.json"
	run rt update --resources "$TEST_TMP/res.json" "$ID"
	assert_success
	assert_equal "$(cat "$(cg_dir memory)/memory.limit_in_bytes")" 16777216 "memory after -r"
	assert_equal "$(cat "$(cg_dir cpu)/cpu.cfs_quota_us")" -1 "quota after -r"

	run rt update --resources - "$ID" <<<'{"pids": {"limit": 9}}'
	assert_success
	assert_equal "$(cat "$(cg_dir pids)/pids.max")" 9 "pids after -r -"
}

@test "update: bad values are refused and change nothing" {
	set_resources '{"memory": {"limit": 33554432}}'
	set_args sleep 100
	run_detached
	run --separate-stderr rt update --resources - "$ID" <<<'{"memory": {"limit": -7}}'
	assert_failure
	assert_names_field "$stderr" "resources.memory.limit"
	run --separate-stderr rt update --cpu-period 5 "$ID"
	assert_failure
	assert_names_field "$stderr" "cpu.period"
	run --separate-stderr rt update --memory lots "$ID"
	assert_failure
	assert_equal "$(cat "$(cg_dir memory)/memory.limit_in_bytes")" 33554432 "memory unchanged"
}

@test "update, pause and events refuse a stopped container" {
	set_args true
	rtd create --bundle "$BUNDLE" "$ID"
	assert_success
	run rt start "$ID"
	assert_success
	wait_for_status stopped
	run rt update --pids-limit 3 "$ID"
	assert_failure
	run rt pause "$ID"
	assert_failure
	run rt events --stats "$ID"
	assert_failure
	run rt ps --format json "$ID"
	assert_success
	assert_equal "$output" "[]"
}

@test "ps lists the container's processes; json is an array of pids" {
	set_cmd 'sleep 100 & sleep 100'
	run_detached
	local pid
	pid=$(state_field pid)
	for ((i = 0; i < 50; i++)); do
		[[ "$(rt ps --format json "$ID" | jq length)" == 2 ]] && break
		sleep 0.1
	done
	run --separate-stderr rt ps --format json "$ID"
	assert_success
	assert_equal "$(jq length <<<"$output")" 2 "pids in ps --format json"
	jq -e --argjson p "$pid" 'index($p) != null' <<<"$output" >/dev/null || fail "init $pid not in $output"
	run --separate-stderr rt ps "$ID"
	assert_success
	assert_contains "$output" "PID"
	assert_contains "$output" "sleep 100"
}

@test "events --stats prints one JSON object with cpu, memory and pids" {
	set_resources '{"memory": {"limit": 67108864}, "pids": {"limit": 50}}'
	set_args sleep 100
	run_detached
	run --separate-stderr rt events --stats "$ID"
	assert_success
	assert_equal "$(jq -r .type <<<"$output")" stats
	assert_equal "$(jq -r .id <<<"$output")" "$ID"
	[[ "$(jq .data.cpu.usage.total <<<"$output")" -gt 0 ]] || fail "cpu usage: $output"
	[[ "$(jq .data.memory.usage.usage <<<"$output")" -gt 0 ]] || fail "memory usage: $output"
	assert_equal "$(jq .data.memory.usage.limit <<<"$output")" 67108864 "memory limit"
	assert_equal "$(jq .data.pids.current <<<"$output")" 1 "pids.current"
	assert_equal "$(jq .data.pids.limit <<<"$output")" 50 "pids.limit"
}

@test "events reports an OOM kill as it happens, and state records it" {
	husk_only
	bind_out
	set_resources '{"memory": {"limit": 33554432, "swap": 33554432}}'
	set_cmd 'while [ ! -e /out/go ]; do sleep 0.1; done; dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo $? > /out/rc; sleep 100'
	run_detached
	local key=io.github.husk.runtime.oom-kills
	run --separate-stderr rt state "$ID"
	assert_equal "$(jq -r --arg k "$key" '.annotations[$k] // "none"' <<<"$output")" none "before"
	# With a 60 s interval only the OOM notification (eventfd on v1, inotify on v2) can
	# print the oom event before the second stats object would be due.
	rt events --interval 60 "$ID" >"$TEST_TMP/events" 2>&1 &
	local events_pid=$!
	BG_PIDS+=("$events_pid")
	wait_for_file "$TEST_TMP/events"
	touch "$OUT/go"
	wait_for_file "$OUT/rc"
	local n=0
	until grep -q '"type":"oom"' "$TEST_TMP/events"; do
		n=$((n + 1))
		[[ $n -lt 100 ]] || fail "no oom event in: $(cat "$TEST_TMP/events")"
		sleep 0.1
	done
	kill "$events_pid" 2>/dev/null || true
	assert_equal "$(cat "$OUT/rc")" 137 "dd exit status"
	assert_equal "$(grep -c '"type":"oom"' "$TEST_TMP/events")" 1 "oom events"
	assert_equal "$(grep -c '"type":"stats"' "$TEST_TMP/events")" 1 "stats events"
	assert_equal "$(jq -r 'select(.type == "oom") | .id' "$TEST_TMP/events")" "$ID" "oom event id"
	# The container lives on (only dd died); state shows the kill count.
	run --separate-stderr rt state "$ID"
	assert_equal "$(jq -r .status <<<"$output")" running "status"
	assert_equal "$(jq -r --arg k "$key" '.annotations[$k]' <<<"$output")" 1 "state annotation"
}

@test "events --stats: blkio counts the container's direct reads" {
	# (hugetlb stats are unit-tested: this host's v2 root does not delegate hugetlb, so no
	# container here can have hugetlb files.)
	local dev
	dev=$(stat -c '%d' "$SHARED_ROOTFS/bin/busybox")
	local major=$((dev >> 8)) minor=$((dev & 255))
	# The v1 throttle layer counts only in cgroups with a rule (kernel 6.x), and no scheduler
	# here keeps CFQ/BFQ counters: a rule far above the disk's speed makes it count.
	set_resources "{\"blockIO\": {\"throttleReadBpsDevice\": [{\"major\": $major, \"minor\": $minor, \"rate\": 1073741824}]}}"
	# O_DIRECT reads bypass the page cache, so the block layer sees (and counts) each one.
	set_cmd 'dd if=/bin/busybox of=/dev/null bs=64k iflag=direct 2>/dev/null; sleep 100'
	run_detached
	# At least the busybox binary is read from the device.
	local n=0 read_bytes=0 size
	size=$(stat -c %s "$SHARED_ROOTFS/bin/busybox")
	until [[ "$read_bytes" -ge "$size" ]]; do
		n=$((n + 1))
		[[ $n -lt 50 ]] || fail "read $read_bytes < $size bytes from $major:$minor in: $output"
		sleep 0.1
		run --separate-stderr rt events --stats "$ID"
		assert_success
		read_bytes=$(jq --argjson ma "$major" --argjson mi "$minor" \
			'[.data.blkio.ioServiceBytesRecursive[]? | select(.major == $ma and .minor == $mi and .op == "Read") | .value] | add // 0' <<<"$output")
	done
	jq -e '.data.blkio.ioServicedRecursive | length > 0' <<<"$output" >/dev/null || fail "no ios: $output"
	jq -e '.data.hugetlb | type == "object"' <<<"$output" >/dev/null || fail "no hugetlb: $output"
}
