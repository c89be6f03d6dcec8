#!/usr/bin/env bats
# `husk system bootstrap`: a no-op on a normal host (mount table and sysctls identical before
# and after), and in a private mount namespace where /proc, /sys, /dev/pts and /dev/shm are
# hidden it mounts them, after which the doctor is clean for those checks.

load system

setup() { system_setup; }
teardown() { system_teardown; }

# What the bootstrap could change on the host: the mounts it would make (at /proc, /sys,
# /dev, /dev/pts, /dev/shm and under /sys/fs/cgroup), the forwarding sysctls, the cgroup v2
# tree's delegation and a husk-host leaf, the /dev symlinks. (Only these mount points: other
# people's tests mount and unmount elsewhere on this shared host meanwhile.)
host_snapshot() {
	awk '$5 ~ /^\/(proc|sys|dev|dev\/pts|dev\/shm)$/ || $5 ~ /^\/sys\/fs\/cgroup/' /proc/self/mountinfo
	cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding
	local v2
	v2=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' \
		/proc/self/mountinfo | head -1)
	if [[ -n "$v2" ]]; then
		echo "subtree_control: $(cat "$v2/cgroup.subtree_control")"
		ls -d "$v2/husk-host" 2>/dev/null || true
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

@test "bootstrap in a private copy of the host's mount namespace: the whole mount table is unchanged" {
	# The copy is immune to other people's mounts on this host, so all of it can be compared.
	run --separate-stderr unshare --mount --propagation private sh -c '
		cat /proc/self/mountinfo > "$0/before"
		"$@" system bootstrap > "$0/boot" || echo "bootstrap status $?" >&2
		cat /proc/self/mountinfo > "$0/after"
		' "$TEST_TMP" "$HUSK" --root "$STORE" --runroot "$TEST_TMP/run"
	assert_success
	[[ -z "$stderr" ]] || fail "$stderr"
	assert_equal "$(cat "$TEST_TMP/after")" "$(cat "$TEST_TMP/before")" "mount table"
	assert_not_contains "$(cat "$TEST_TMP/boot")" "done "
}

@test "bootstrap mounts hidden /proc, /sys, unmounted /dev/pts, /dev/shm and cgroups; the doctor is then clean for them" {
	# Everything happens in a private mount namespace that dies with the shell: /proc and
	# /sys hidden under a tmpfs, /dev/pts and /dev/shm unmounted (all stacked mounts).
	run --separate-stderr unshare --mount --propagation private sh -c '
		set -e
		for d in /dev/pts /dev/shm; do while mountpoint -q "$d"; do umount "$d"; done; done
		mount -t tmpfs -o size=16k husk-hide /sys
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
	# A new namespace may inherit the host's value (net.core.devconf_inherit_init_net):
	# start from 0 in it.
	run --separate-stderr unshare --net --mount --propagation private sh -c '
		echo 0 > /proc/sys/net/ipv4/ip_forward
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
		echo 0 > /proc/sys/net/ipv4/ip_forward &&
		mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys &&
		"$@" system bootstrap --network --json
		' sh "$HUSK" --root "$STORE" --runroot "$TEST_TMP/run"
	assert_status 1
	assert_equal "$(jq -r '.[] | select(.step == "net.ipv4.ip_forward = 1") | .state' <<<"$output")" \
		cannot
	assert_contains "$(jq -r '.[] | select(.step == "net.ipv4.ip_forward = 1") | .detail' <<<"$output")" \
		"read-only mount"
}

@test "a read-only cgroup2 mount is reported by the doctor and made writable by bootstrap (in this namespace only)" {
	local v2
	v2=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' \
		/proc/self/mountinfo | head -1)
	[[ -n "$v2" ]] || skip "no cgroup2 mount on this host"
	local host_line
	host_line=$(grep " $v2 " /proc/self/mountinfo)
	# Only this namespace's mount becomes read-only (a bind remount): the hierarchy itself,
	# and the host's view of it, stay as they are.
	run --separate-stderr unshare --mount --propagation private sh -c '
		v2=$1; shift
		mount -o remount,bind,ro "$v2" || exit 99
		"$@" doctor --json > "$0/before.json"
		"$@" system bootstrap --json > "$0/boot.json"
		"$@" doctor --json > "$0/after.json"
		grep " $v2 " /proc/self/mountinfo
		' "$TEST_TMP" "$v2" "$HUSK" --root "$STORE" --runroot "$TEST_TMP/run"
	assert_success
	assert_equal "$(check_field "$(cat "$TEST_TMP/before.json")" cgroups.writable .status)" warn
	assert_contains "$(check_field "$(cat "$TEST_TMP/before.json")" cgroups.writable .fix)" \
		"mount -o remount,rw $v2"
	assert_equal "$(jq -r --arg s "remount $v2 read-write" '.[] | select(.step == $s) | .state' \
		<"$TEST_TMP/boot.json")" done
	assert_equal "$(check_field "$(cat "$TEST_TMP/after.json")" cgroups.writable .status)" pass
	# In the namespace: rw again, with its other flags and superblock options unchanged.
	assert_equal "$(awk '{ print $6 }' <<<"$output")" "$(awk '{ print $6 }' <<<"$host_line")" \
		"mount options"
	assert_equal "$(awk '{ print $NF }' <<<"$output")" "$(awk '{ print $NF }' <<<"$host_line")" \
		"superblock options"
	assert_equal "$(grep " $v2 " /proc/self/mountinfo)" "$host_line" "the host's mount"
}
