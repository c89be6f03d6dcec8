#!/usr/bin/env bats
# Device rules through the cgroup v2 eBPF program. This host has a v1 devices hierarchy, so
# the runtime runs in a private mount namespace where it is unmounted: the layout is then v1
# controllers without devices plus the cgroup2 tree, and the rules go to an eBPF program
# attached to the container's v2 directory. (The kernel checks both; the v1 root allows all.)

load ../helpers
load cgroups

setup() {
	[[ -d /sys/fs/cgroup/unified ]] || skip "no cgroup2 tree at /sys/fs/cgroup/unified"
	cgroup_setup
	# An unbound loop device: root can open it without any capability, so a refusal can
	# only come from the device rules.
	update_config '.linux.devices = [{path: "/dev/husk-loop", type: "b", major: 7, minor: 0, fileMode: 384}]'
	set_cmd 'echo x > /dev/null && echo null-ok; (exec 3</dev/husk-loop) 2>/dev/null && echo dev-ok || echo dev-denied'
}
teardown() { cgroup_teardown; }

# rt_v2_devices ARGS...: the runtime where /sys/fs/cgroup/devices is not mounted.
rt_v2_devices() {
	HUSK_TEST_TAG="$ID" unshare --mount --propagation private sh -c \
		'umount /sys/fs/cgroup/devices && exec "$@"' sh "$HUSK_RUNTIME" --root "$ROOT" "$@"
}

@test "v2 devices: without rules the device can be read" {
	husk_only
	run --separate-stderr rt_v2_devices run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_contains "$output" null-ok
	assert_contains "$output" dev-ok
}

@test "v2 devices: deny all keeps the default devices and denies the rest" {
	husk_only
	set_resources '{"devices": [{"allow": false, "access": "rwm"}]}'
	run --separate-stderr rt_v2_devices run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_contains "$output" null-ok
	assert_contains "$output" dev-denied
	assert_no_cgroup
}

@test "v2 devices: a single deny rule, and a later allow overriding it" {
	husk_only
	set_resources '{"devices": [{"allow": false, "type": "b", "major": 7, "minor": 0, "access": "r"}]}'
	run --separate-stderr rt_v2_devices run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_contains "$output" dev-denied
	set_resources '{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "b", "major": 7, "minor": 0, "access": "r"}]}'
	run --separate-stderr rt_v2_devices run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_contains "$output" dev-ok
}

@test "v2 devices: update replaces the program (a denied device becomes allowed)" {
	husk_only
	bind_out
	set_resources '{"devices": [{"allow": false, "access": "rwm"}]}'
	set_cmd '(exec 3</dev/husk-loop) 2>/dev/null && echo dev-ok > /out/before || echo dev-denied > /out/before; while [ ! -e /out/go ]; do sleep 0.1; done; (exec 3</dev/husk-loop) 2>/dev/null && echo dev-ok > /out/after || echo dev-denied > /out/after; sleep 100'
	rt_v2_devices run -d --bundle "$BUNDLE" "$ID" </dev/null >/dev/null 2>"$TEST_TMP/err" ||
		fail "run -d: $(cat "$TEST_TMP/err")"
	wait_for_file "$OUT/before"
	assert_equal "$(cat "$OUT/before")" dev-denied "before update"
	run --separate-stderr rt update --resources - "$ID" \
		<<<'{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "b", "major": 7, "minor": 0, "access": "r"}]}'
	assert_success
	touch "$OUT/go"
	wait_for_file "$OUT/after"
	assert_equal "$(cat "$OUT/after")" dev-ok "after update"
}
