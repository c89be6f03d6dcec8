#!/usr/bin/env bats
# The none layout: no cgroup filesystem at all, simulated in a private mount namespace with
# an empty tmpfs over /sys/fs/cgroup. A container without limits runs; one with a limit is
# refused with the specific error, and nothing is left.

load ../helpers

setup() {
	common_setup
	# Without a cgroup filesystem the container cannot mount one either.
	update_config '.mounts |= map(select(.type != "cgroup" and .type != "cgroup2"))'
}
teardown() { common_teardown; }

# rt_none ARGS...: the runtime in a mount namespace where /sys/fs/cgroup is empty.
rt_none() {
	HUSK_TEST_TAG="$ID" unshare --mount --propagation private sh -c \
		'mount -t tmpfs -o size=64k husk-none /sys/fs/cgroup && exec "$@"' sh \
		"$HUSK_RUNTIME" --root "$ROOT" "$@"
}

@test "none layout: a container without limits runs" {
	husk_only
	set_cmd 'echo ran; cat /proc/self/cgroup | head -1'
	run --separate-stderr rt_none run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_contains "$output" ran
	assert_nothing_left
}

@test "none layout: a memory limit is refused naming the missing mount and the fix" {
	husk_only
	update_config '.linux.resources = {memory: {limit: 33554432}}'
	set_cmd 'echo ran'
	run --separate-stderr rt_none run --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_not_contains "$output" ran
	assert_contains "$stderr" "linux.resources: no cgroup filesystem is mounted"
	assert_contains "$stderr" "mount -t cgroup2 none /sys/fs/cgroup"
	assert_nothing_left
	[[ ! -e "$ROOT/$ID" ]] || fail "state dir left"
}

@test "none layout: pause and events say there is no cgroup" {
	husk_only
	set_args sleep 100
	HUSK_TEST_TAG="$ID" unshare --mount --propagation private sh -c \
		'mount -t tmpfs -o size=64k husk-none /sys/fs/cgroup && exec "$@"' sh \
		"$HUSK_RUNTIME" --root "$ROOT" run -d --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>"$TEST_TMP/err" ||
		fail "run -d: $(cat "$TEST_TMP/err")"
	wait_for_status running
	run --separate-stderr rt pause "$ID"
	assert_failure
	assert_contains "$stderr" "without a cgroup"
	run --separate-stderr rt events --stats "$ID"
	assert_failure
	assert_contains "$stderr" "has no cgroup"
	run --separate-stderr rt ps --format json "$ID"
	assert_success
	assert_equal "$(jq length <<<"$output")" 1 "ps without a cgroup: the init"
	run rt delete --force "$ID"
	assert_success
}
