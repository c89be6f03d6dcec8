#!/usr/bin/env bats
# husk-runtime --debug: the step-by-step trace of how a container is built.

load ../helpers

setup() {
	common_setup
	husk_only "the build trace is husk-runtime's"
}
teardown() { common_teardown; }

# trace_lines FILE: the trace's step lines ("trace:  start took who step detail").
trace_lines() {
	grep -E 'trace: +[0-9]+\.[0-9]+ +[0-9]+\.[0-9]+ ' "$1"
}

@test "--debug run lists every step of the build with its time, and their coverage of the wall time" {
	set_args true
	bind_out
	update_config '.linux.resources = {pids: {limit: 50}}
		| .process.noNewPrivileges = true
		| .linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
			syscalls: [{names: ["mkdir"], action: "SCMP_ACT_ERRNO"}]}'
	rt --debug run -b "$BUNDLE" "$ID" </dev/null 2>"$TEST_TMP/err"
	local steps
	steps=$(trace_lines "$TEST_TMP/err")
	echo "$steps" >&2
	for step in "runtime parse config.json" "runtime create cgroup" "runtime cgroup write" \
		"runtime clone3" "init    mount" "init    devices" "init    pivot_root" \
		"init    masks, read-only paths" "init    identity, capabilities" \
		"init    load seccomp" "runtime start and exec" "runtime container runs" \
		"runtime delete"; do
		assert_contains "$steps" "$step"
	done
	# Details name what was done: the namespaces cloned, each mount of the plan with its
	# flags, the cgroup file and value written.
	assert_match "$steps" "clone3 +new namespaces: [a-z,]*mount,pid"
	assert_match "$steps" "mount +/out bind $OUT flags 0x"
	assert_match "$steps" "mount +/proc proc proc flags 0x"
	assert_match "$steps" "cgroup write +/sys/fs/cgroup/pids/[^ ]*/pids.max = 50"
	# One line per config mount.
	assert_equal "$(grep -c 'init    mount ' <<<"$steps")" "$(jq '.mounts | length' "$BUNDLE/config.json")"
	# The steps are in time order and every duration is a number.
	local starts
	starts=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "trace:") { print $(i + 1); break } }' <<<"$steps")
	assert_equal "$starts" "$(sort -n <<<"$starts")" "start order"
	# The total: wall time and the share the steps account for.
	local total
	total=$(grep 'trace: total' "$TEST_TMP/err")
	assert_match "$total" "total [0-9.]+ ms wall \(from main\), steps cover [0-9.]+ ms \(([0-9.]+)%\), [0-9]+ steps"
	local coverage=${BASH_REMATCH[1]}
	echo "coverage: $coverage%" >&3
	# Most of the wall time is in steps (the gaps are bookkeeping between them).
	awk -v c="$coverage" 'BEGIN { exit !(c >= 50 && c <= 100) }' || fail "coverage $coverage%"
}

@test "--debug create traces up to the ready init; without --debug there is no trace" {
	set_args true
	rtd --debug create -b "$BUNDLE" "$ID"
	assert_success
	assert_contains "$stderr" "trace: total"
	assert_contains "$stderr" "init    pivot_root"
	rt delete -f "$ID"
	rtd run -b "$BUNDLE" "$ID"
	assert_success
	assert_not_contains "$stderr" "trace:"
}

@test "--debug with --log-format json: each step is a JSON log line" {
	set_args true
	rt --debug --log "$TEST_TMP/log.json" --log-format json run -b "$BUNDLE" "$ID" </dev/null
	jq -e 'select(.msg | startswith("trace: total"))' "$TEST_TMP/log.json" >/dev/null ||
		fail "no total line in $(cat "$TEST_TMP/log.json")"
	[[ $(jq -r 'select(.msg | test("init +pivot_root")) | .level' "$TEST_TMP/log.json") == debug ]] ||
		fail "no pivot_root step"
}

@test "--debug: a namespace joined by path is a setns step, the new ones are in the clone" {
	set_args true
	make_netns
	update_config '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
		--arg p "/var/run/netns/$HOST_NETNS"
	rt --debug run -b "$BUNDLE" "$ID" </dev/null 2>"$TEST_TMP/err"
	local steps
	steps=$(grep 'trace:' "$TEST_TMP/err")
	assert_match "$steps" "init +setns +join the network namespace"
	assert_match "$steps" "clone3 +new namespaces: mount,pid,uts,ipc"
	assert_not_contains "$(grep clone3 <<<"$steps")" "network"
}
