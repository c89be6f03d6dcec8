#!/usr/bin/env bats
# `husk system bootstrap`: a no-op on a normal host (mount table and sysctls identical before
# and after), and in a private mount namespace where /proc, /sys, /dev/pts and /dev/shm are
# hidden it mounts them, after which the doctor is clean for those checks.

load system

setup() { system_setup; }
teardown() { system_teardown; }

# What the bootstrap could change: the mount table, the forwarding sysctls, the cgroup v2
# tree's delegation and membership.
host_snapshot() {
	cat /proc/self/mountinfo
	cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding
	local v2
	v2=$(awk '$9 == "cgroup2" || $10 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	if [[ -n "$v2" ]]; then
		cat "$v2/cgroup.subtree_control"
		find "$v2" -maxdepth 1 -type d | sort
	fi
	ls -la /dev/fd /dev/stdin /dev/stdout /dev/stderr
}

@test "bootstrap on this host changes nothing and says every step is already ok" {
	local before after
	before=$(host_snapshot)
	run --separate-stderr husk system bootstrap --json
	assert_success
	after=$(host_snapshot)
	assert_equal "$after" "$before" "host state"
	assert_equal "$(jq -r '[.[] | select(.state != "already ok")] | length' <<<"$output")" 0 \
		"steps that did something: $(jq -c '[.[] | select(.state != "already ok")]' <<<"$output")"
	assert_contains "$(jq -r '.[].step' <<<"$output")" "mount proc on /proc"
	# Twice in a row: still nothing.
	run --separate-stderr husk system bootstrap
	assert_success
	assert_equal "$(host_snapshot)" "$before" "host state after a second run"
	assert_not_contains "$output" "done "
}

@test "bootstrap mounts hidden /proc, /sys, /dev/pts, /dev/shm and cgroups; the doctor is then clean for them" {
	# Everything happens in a private mount namespace that dies with the shell.
	run --separate-stderr unshare --mount --propagation private sh -c '
		set -e
		for d in /sys /dev/pts /dev/shm; do mount -t tmpfs -o size=16k husk-hide "$d"; done
		mount -t tmpfs -o size=16k husk-hide /proc
		"$@" doctor --json > "$0/before.json" || true
		"$@" system bootstrap --json > "$0/boot.json" || echo "bootstrap status $?" >&2
		"$@" system bootstrap --json > "$0/again.json" || echo "second bootstrap status $?" >&2
		"$@" doctor --json > "$0/after.json" || true
		' "$TEST_TMP" "$HUSK" --root "$STORE" --runroot "$TEST_TMP/run"
	assert_success
	[[ -z "$stderr" ]] || fail "stderr: $stderr"
	local before after boot
	before=$(cat "$TEST_TMP/before.json")
	after=$(cat "$TEST_TMP/after.json")
	boot=$(cat "$TEST_TMP/boot.json")
	# Before: no mount table to read at all.
	assert_equal "$(check_field "$before" mounts.proc .status)" fail
	assert_contains "$(check_field "$before" mounts.proc .fix)" "husk system bootstrap"
	# The bootstrap did each of them.
	local step
	for step in "mount proc on /proc" "mount sysfs on /sys" "mount devpts on /dev/pts" \
		"mount tmpfs on /dev/shm"; do
		assert_equal "$(jq -r --arg s "$step" '.[] | select(.step == $s) | .state' <<<"$boot")" \
			done "$step"
	done
	assert_equal "$(jq -r '.[] | select(.step == "mount devtmpfs on /dev") | .state' <<<"$boot")" \
		"already ok" "/dev"
	# /sys came back empty of cgroups: they are mounted again in the layout the kernel has.
	assert_equal "$(jq -r '[.[] | select(.step | startswith("mount cgroup")) | .state] | unique | join(",")' \
		<<<"$boot")" done "cgroup mounts"
	assert_equal "$(jq -r '[.[] | select(.state == "cannot")] | length' <<<"$boot")" 0 \
		"steps that could not be done: $(jq -c '[.[] | select(.state == "cannot")]' <<<"$boot")"
	# Idempotent: the second run found everything in place.
	assert_equal "$(jq -r '[.[] | select(.state != "already ok")] | length' \
		<"$TEST_TMP/again.json")" 0 "second run"
	# After: clean for every mount, and the same cgroup layout as the host.
	for step in mounts.proc mounts.sys mounts.dev mounts.devpts mounts.shm; do
		assert_equal "$(check_field "$after" "$step" .status)" pass "$step after bootstrap"
	done
	assert_equal "$(check_field "$after" cgroups.layout .facts.layout)" "$(machine_cgroup_layout)" \
		"cgroup layout after bootstrap"
	assert_equal "$(check_field "$after" cgroups.writable .status)" pass
}

@test "bootstrap --network turns ip_forward on in its own network namespace only" {
	local host_forward
	host_forward=$(cat /proc/sys/net/ipv4/ip_forward)
	run --separate-stderr unshare --net --mount --propagation private sh -c '
		"$@" system bootstrap --network --json > "$0/first.json"
		"$@" system bootstrap --network --json > "$0/second.json"
		cat /proc/sys/net/ipv4/ip_forward
		' "$TEST_TMP" "$HUSK" --root "$STORE" --runroot "$TEST_TMP/run"
	assert_success
	assert_equal "$output" 1 "ip_forward in the namespace"
	assert_equal "$(jq -r '.[] | select(.step == "net.ipv4.ip_forward = 1") | .state' \
		<"$TEST_TMP/first.json")" done
	assert_equal "$(jq -r '.[] | select(.step == "net.ipv4.ip_forward = 1") | .detail' \
		<"$TEST_TMP/first.json")" "was 0"
	assert_equal "$(jq -r '.[] | select(.step == "net.ipv4.ip_forward = 1") | .state' \
		<"$TEST_TMP/second.json")" "already ok"
	assert_equal "$(cat /proc/sys/net/ipv4/ip_forward)" "$host_forward" "host ip_forward"
}

@test "bootstrap --network where /proc/sys is read-only: cannot, with the reason" {
	run --separate-stderr unshare --net --mount --propagation private sh -c '
		mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys &&
		"$@" system bootstrap --network --json
		' sh "$HUSK" --root "$STORE" --runroot "$TEST_TMP/run"
	assert_status 1
	assert_equal "$(jq -r '.[] | select(.step == "net.ipv4.ip_forward = 1") | .state' <<<"$output")" \
		cannot
	assert_contains "$(jq -r '.[] | select(.step == "net.ipv4.ip_forward = 1") | .detail' <<<"$output")" \
		"read-only mount"
}
