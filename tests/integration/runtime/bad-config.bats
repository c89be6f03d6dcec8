#!/usr/bin/env bats
# Broken and hostile configs: each must fail with a non-zero status and a clear error on
# stderr, and leave nothing behind (no state dir, no mount, no cgroup, no process).
# husk names the offending field in its errors ("process.args", "mounts[2].destination");
# that part is checked only against husk, runc words its errors differently.

load ../helpers

setup() {
	common_setup
	ESCAPE_DIR=/tmp/escape-$ID
	ESCAPE_TARGET=/tmp/husk-escape-target-$ID
}

teardown() {
	local rc=0
	# These host paths must never be touched; if a runtime did, clean up what it made
	# (they are named after this test's id, so they are ours).
	local p
	for p in "${ESCAPE_DIR:-}" "${ESCAPE_TARGET:-}"; do
		[[ -n "$p" && -n "${ID:-}" && "$p" == *"$ID" ]] || continue
		while grep -q " $p[/ ]" /proc/self/mountinfo; do
			umount -l "$(awk -v p="$p" '$5 ~ "^" p { print $5; exit }' /proc/self/mountinfo)" || break
		done
		[[ -e "$p" ]] && rm -rf "$p"
	done
	common_teardown || rc=$?
	return $rc
}

# expect_create_failure FIELD: create must fail, print an error naming FIELD (husk), and
# leave nothing behind.
expect_create_failure() {
	local field=$1
	rtd create --bundle "$BUNDLE" "$ID"
	assert_failure
	[[ -n "$stderr" ]] || fail "no error message on stderr (stdout: $output)"
	assert_names_field "$stderr" "$field"
	# HUSK_BATS_VERBOSE=1 shows each error, to judge how clear it reads.
	[[ -z "${HUSK_BATS_VERBOSE:-}" ]] || echo "# $stderr" >&3
	# No half-made container left for teardown to clean: check before anything deletes it.
	assert_nothing_left
	run rt state "$ID"
	assert_failure
	# run must fail in the same way.
	rtd run --bundle "$BUNDLE" "$ID"
	assert_failure
	[[ -n "$stderr" ]] || fail "run: no error message on stderr"
	assert_nothing_left
}

mount_count() { jq '.mounts | length' "$BUNDLE/config.json"; }

@test "bad: process.args missing" {
	update_config 'del(.process.args)'
	expect_create_failure process.args
}

@test "bad: process.args empty" {
	update_config '.process.args = []'
	expect_create_failure process.args
}

@test "bad: process missing entirely" {
	update_config 'del(.process)'
	expect_create_failure process
}

@test "bad: root.path does not exist" {
	update_config '.root.path = $p' --arg p "$TEST_TMP/no-such-rootfs"
	expect_create_failure root.path
	[[ ! -e "$TEST_TMP/no-such-rootfs" ]] || fail "the runtime created the missing rootfs"
}

@test "bad: root.path is a file" {
	touch "$TEST_TMP/rootfs-file"
	update_config '.root.path = $p' --arg p "$TEST_TMP/rootfs-file"
	expect_create_failure root.path
}

@test "bad: unknown namespace type" {
	update_config '.linux.namespaces[0].type = "bogus"'
	expect_create_failure "linux.namespaces[0].type"
}

@test "bad: duplicate namespace" {
	is_runc && skip "runc 1.1 accepts duplicate namespaces"
	update_config '.linux.namespaces += [{type: "pid"}]'
	expect_create_failure "linux.namespaces"
}

@test "bad: relative process.cwd" {
	update_config '.process.cwd = "tmp"'
	expect_create_failure process.cwd
}

@test "bad: malformed JSON" {
	printf '{"ociVersion": "1.0.2", "process": {"args": ["sh"]' >"$BUNDLE/config.json"
	expect_create_failure config.json
}

@test "bad: config.json is not an object" {
	echo '["not", "an", "object"]' >"$BUNDLE/config.json"
	expect_create_failure config.json
}

@test "bad: wrong JSON type for process.user.uid" {
	update_config '.process.user.uid = "root"'
	expect_create_failure process.user.uid
}

@test "bad: missing config.json" {
	rm "$BUNDLE/config.json"
	expect_create_failure config.json
}

@test "bad: bundle directory does not exist" {
	rtd create --bundle "$TEST_TMP/no-such-bundle" "$ID"
	assert_failure
	[[ -n "$stderr" ]] || fail "no error message on stderr"
	assert_names_field "$stderr" "$TEST_TMP/no-such-bundle"
	assert_nothing_left
}

@test "hostile: mount destination escaping with .. stays inside the rootfs" {
	writable_rootfs
	local n
	n=$(mount_count)
	add_mount "/../../tmp/escape-$ID" tmpfs tmpfs '["size=64k"]'
	set_cmd 'grep escape- /proc/self/mountinfo'
	rtd run --bundle "$BUNDLE" "$ID"
	[[ -z "${HUSK_BATS_VERBOSE:-}" ]] || echo "# status $status: $stderr" >&3
	if [[ "$status" == 0 ]]; then
		# Resolved inside the rootfs, like a chroot would.
		assert_contains "$output" " /tmp/escape-$ID "
		[[ -d "$ROOTFS/tmp/escape-$ID" ]] || fail "mount point not inside the rootfs"
	else
		[[ -n "$stderr" ]] || fail "no error message on stderr"
		assert_names_field "$stderr" "mounts[$n]"
	fi
	[[ ! -e "$ESCAPE_DIR" ]] || fail "the runtime created $ESCAPE_DIR on the host"
	run grep " $ESCAPE_DIR " /proc/self/mountinfo
	assert_failure
	run rt delete --force "$ID"
	assert_nothing_left
}

@test "hostile: mount destination through a symlink pointing outside the rootfs" {
	writable_rootfs
	ln -s "$ESCAPE_TARGET" "$ROOTFS/evil"
	local n
	n=$(mount_count)
	add_mount /evil/x tmpfs tmpfs '["size=64k"]'
	set_cmd 'grep " /.*/x " /proc/self/mountinfo'
	rtd run --bundle "$BUNDLE" "$ID"
	[[ -z "${HUSK_BATS_VERBOSE:-}" ]] || echo "# status $status: $stderr" >&3
	if [[ "$status" == 0 ]]; then
		# The symlink was followed inside the rootfs: ROOTFS/tmp/husk-escape-target-ID/x.
		[[ -d "$ROOTFS$ESCAPE_TARGET/x" ]] || fail "mount point not created inside the rootfs"
	else
		[[ -n "$stderr" ]] || fail "no error message on stderr"
		assert_names_field "$stderr" "mounts[$n]"
		assert_names_field "$stderr" "/evil/x"
	fi
	[[ ! -e "$ESCAPE_TARGET" ]] || fail "the runtime created $ESCAPE_TARGET on the host"
	run grep "$ESCAPE_TARGET" /proc/self/mountinfo
	assert_failure
	run rt delete --force "$ID"
	assert_nothing_left
}

@test "hostile: mount destination through a symlink to an existing host dir" {
	writable_rootfs
	local hostdir=$TEST_TMP/host-target
	mkdir -p "$hostdir"
	ln -s "$hostdir" "$ROOTFS/evil"
	add_mount /evil/x tmpfs tmpfs '["size=64k"]'
	add_mount /evil/y bind "$OUT" '["bind","rw"]'
	set_args true
	rtd run --bundle "$BUNDLE" "$ID"
	[[ -z "${HUSK_BATS_VERBOSE:-}" ]] || echo "# status $status: $stderr" >&3
	[[ "$status" == 0 || -n "$stderr" ]] || fail "failed without a message"
	assert_equal "$(ls -A "$hostdir")" "" "host dir behind the symlink"
	run grep "$hostdir" /proc/self/mountinfo
	assert_failure
	run rt delete --force "$ID"
	assert_nothing_left
}

@test "hostile: bind destination through a dangling symlink one level deeper" {
	writable_rootfs
	mkdir -p "$ROOTFS/a"
	ln -s "$ESCAPE_TARGET/deeper" "$ROOTFS/a/link"
	add_mount /a/link/y bind "$OUT" '["bind","rw"]'
	set_args true
	rtd run --bundle "$BUNDLE" "$ID"
	[[ -z "${HUSK_BATS_VERBOSE:-}" ]] || echo "# status $status: $stderr" >&3
	[[ "$status" == 0 || -n "$stderr" ]] || fail "failed without a message"
	[[ ! -e "$ESCAPE_TARGET" ]] || fail "the runtime created $ESCAPE_TARGET on the host"
	run rt delete --force "$ID"
	assert_nothing_left
}

@test "hostile: /proc in the rootfs is a symlink to a host path" {
	writable_rootfs
	rm -rf "$ROOTFS/proc"
	ln -s "$ESCAPE_TARGET" "$ROOTFS/proc"
	set_args true
	rtd run --bundle "$BUNDLE" "$ID"
	[[ -z "${HUSK_BATS_VERBOSE:-}" ]] || echo "# status $status: $stderr" >&3
	# As runc: procfs goes on an ordinary directory only (CVE-2019-19921 class).
	[[ "$status" != 0 ]] || fail "a /proc symlink was accepted"
	assert_contains "$stderr" "ordinary directory"
	[[ ! -e "$ESCAPE_TARGET" ]] || fail "the runtime created $ESCAPE_TARGET on the host"
	run grep " $ESCAPE_TARGET" /proc/self/mountinfo
	assert_failure
	run rt delete --force "$ID"
	assert_nothing_left
}

@test "hostile: process.cwd /proc/self/fd/N does not reach a host directory" {
	# The CVE-2024-21626 pattern: a runtime fd left open into the host, used as cwd.
	local fd out
	for fd in 3 4 5 6 7 8; do
		update_config '.process.cwd = $c' --arg c "/proc/self/fd/$fd"
		set_cmd 'pwd; cat ../../../../../etc/hostname 2>/dev/null; readlink /proc/self/cwd'
		rtd run --bundle "$BUNDLE" "$ID"
		[[ -z "${HUSK_BATS_VERBOSE:-}" ]] || echo "# fd $fd status $status: $output $stderr" >&3
		if [[ "$status" == 0 ]]; then
			assert_not_contains "$output" "(unreachable)"
			assert_not_contains "$output" "$(hostname)"
		fi
		rt delete --force "$ID" >/dev/null 2>&1 || true
	done
	assert_nothing_left
}

@test "bad: bind mount source does not exist" {
	local n
	n=$(mount_count)
	add_mount /home bind "$TEST_TMP/no-such-source" '["bind"]'
	expect_create_failure "mounts[$n].source"
	[[ ! -e "$TEST_TMP/no-such-source" ]] || fail "the runtime created the missing source"
}

@test "bad: mount without destination" {
	local n
	n=$(mount_count)
	update_config '.mounts += [{type: "tmpfs", source: "tmpfs"}]'
	expect_create_failure "mounts[$n].destination"
}

@test "bad: duplicate container id leaves the first container alone" {
	set_args sleep 1000
	rtd create --bundle "$BUNDLE" "$ID"
	assert_success
	local pid
	pid=$(state_field pid)
	local mounts_before cgroups_before
	mounts_before=$(mount_list)
	cgroups_before=$(cgroup_list "$ID")

	rtd create --bundle "$BUNDLE" "$ID"
	assert_failure
	[[ -n "$stderr" ]] || fail "no error message on stderr"
	assert_names_field "$stderr" "$ID"

	assert_equal "$(state_field status)" created "first container's status"
	assert_equal "$(state_field pid)" "$pid" "first container's pid"
	assert_equal "$(mount_list)" "$mounts_before" "host mounts"
	assert_equal "$(cgroup_list "$ID")" "$cgroups_before" "cgroups"
	assert_equal "$(tagged_processes | awk '{ print $1 }')" "$pid" "container processes"
}

@test "bad: unknown capability" {
	is_runc && skip "runc 1.1 ignores unknown capabilities with a warning"
	update_config '.process.capabilities.bounding += ["CAP_BOGUS"]'
	expect_create_failure "process.capabilities.bounding"
}

@test "bad: unknown rlimit type" {
	update_config '.process.rlimits = [{type: "RLIMIT_BOGUS", soft: 1, hard: 1}]'
	expect_create_failure "process.rlimits[0].type"
}

@test "bad: rlimit soft above hard" {
	update_config '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 2048, hard: 1024}]'
	expect_create_failure "process.rlimits[0]"
}

@test "bad: network namespace path that does not exist" {
	update_config '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
		--arg p "/var/run/netns/husk-no-such-ns-$ID"
	local i
	i=$(jq '.linux.namespaces | map(.type) | index("network")' "$BUNDLE/config.json")
	expect_create_failure "linux.namespaces[$i].path"
}

@test "bad: namespace path of the wrong kind (uts type, netns file)" {
	make_netns
	update_config '.linux.namespaces |= map(if .type == "uts" then .path = $p else . end)' \
		--arg p "/var/run/netns/$HOST_NETNS"
	local i
	i=$(jq '.linux.namespaces | map(.type) | index("uts")' "$BUNDLE/config.json")
	expect_create_failure "linux.namespaces[$i]"
}

@test "hostile: net sysctl without a network namespace is refused, host untouched" {
	remove_namespace network
	local host_fwd want
	host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
	want=$((1 - host_fwd))
	update_config '.linux.sysctl = {"net.ipv4.ip_forward": $v}' --arg v "$want"
	expect_create_failure "linux.sysctl"
	assert_equal "$(cat /proc/sys/net/ipv4/ip_forward)" "$host_fwd" "host ip_forward"
}

@test "hostile: non-namespaced sysctl is refused" {
	# Set to the host's current value, so even a runtime that wrongly writes it changes nothing.
	local cur
	cur=$(cat /proc/sys/kernel/panic)
	update_config '.linux.sysctl = {"kernel.panic": $v}' --arg v "$cur"
	expect_create_failure "linux.sysctl"
}

@test "bad: hostname without a uts namespace" {
	remove_namespace uts
	update_config '.hostname = "must-not-reach-host"'
	local host_before
	host_before=$(hostname)
	expect_create_failure hostname
	assert_equal "$(hostname)" "$host_before" "host hostname"
}

# Failures that can only show up late, once the container is half made (cgroup, namespaces,
# mounts): everything made so far must be undone.

@test "late failure: sysctl that does not exist" {
	update_config '.linux.sysctl = {"net.ipv4.husk_no_such_sysctl": "1"}'
	expect_create_failure "net.ipv4.husk_no_such_sysctl"
}

@test "late failure: RLIMIT_NOFILE above fs.nr_open" {
	local over
	over=$(($(cat /proc/sys/fs/nr_open) + 1))
	update_config '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: $v, hard: $v}]' --argjson v "$over"
	expect_create_failure "RLIMIT_NOFILE"
}

@test "late failure: --pid-file in a directory that does not exist" {
	set_args sleep 1000
	rtd create --bundle "$BUNDLE" --pid-file "$TEST_TMP/no-such-dir/pid" "$ID"
	[[ -z "${HUSK_BATS_VERBOSE:-}" ]] || echo "# status $status: $stderr" >&3
	assert_failure
	[[ -n "$stderr" ]] || fail "no error message on stderr"
	assert_names_field "$stderr" "$TEST_TMP/no-such-dir/pid"
	assert_nothing_left
}
