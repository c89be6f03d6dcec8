#!/usr/bin/env bats
# Simulated degradations on this machine, each in a namespace of its own so the host is
# untouched: the cgroup filesystem hidden, overlay unusable on the storage dir, nf_tables
# unavailable. Each must produce the documented report (and, for cgroups, the runtime's
# documented behaviour).

load system

setup() { system_setup; }
teardown() {
	[[ -n "${CTR_ID:-}" && -n "${HUSK_RUNTIME:-}" ]] &&
		"$HUSK_RUNTIME" --root "$TEST_TMP/state" delete --force "$CTR_ID" >/dev/null 2>&1
	system_teardown
}

# in_no_cgroups CMD...: CMD in a mount namespace where /sys/fs/cgroup is an empty tmpfs.
in_no_cgroups() {
	unshare --mount --propagation private sh -c \
		'mount -t tmpfs -o size=64k husk-none /sys/fs/cgroup && exec "$@"' sh "$@"
}

@test "cgroup fs hidden: doctor reports none; a container with a memory limit is refused, one without runs" {
	run --separate-stderr in_no_cgroups "$HUSK" --root "$STORE" --runroot "$TEST_TMP/run" \
		doctor --json
	assert_equal "$(check_field "$output" cgroups.layout .facts.layout)" none
	assert_equal "$(check_field "$output" cgroups.layout .status)" warn
	assert_contains "$(check_field "$output" cgroups.layout .summary)" \
		"every resource limit is refused"
	assert_contains "$(check_field "$output" cgroups.layout .fix)" "husk system bootstrap"

	[[ -n "${HUSK_RUNTIME:-}" && -f "${HUSK_BUSYBOX_BUNDLE:-}/config.json" ]] ||
		skip "HUSK_RUNTIME and HUSK_BUSYBOX_BUNDLE are needed for the container half"
	local bundle=$TEST_TMP/bundle
	mkdir -p "$bundle" "$TEST_TMP/state"
	CTR_ID=hsys$$n$RANDOM
	jq --arg r "$(cd "$HUSK_BUSYBOX_BUNDLE/rootfs" && pwd -P)" '
		.root = {path: $r, readonly: true} | .process.terminal = false
		| .process.args = ["/bin/sh", "-c", "echo ran"]
		| .mounts |= map(select(.type != "cgroup" and .type != "cgroup2"))
		| .linux.resources = {memory: {limit: 33554432}}' \
		"$HUSK_BUSYBOX_BUNDLE/config.json" >"$bundle/config.json"
	run --separate-stderr in_no_cgroups "$HUSK_RUNTIME" --root "$TEST_TMP/state" run \
		--bundle "$bundle" "$CTR_ID"
	assert_failure
	assert_not_contains "$output" ran
	assert_contains "$stderr" "linux.resources: no cgroup filesystem is mounted"
	[[ ! -e "$TEST_TMP/state/$CTR_ID" ]] || fail "state left for the refused container"

	jq 'del(.linux.resources)' "$bundle/config.json" >"$bundle/c.json" &&
		mv "$bundle/c.json" "$bundle/config.json"
	run --separate-stderr in_no_cgroups "$HUSK_RUNTIME" --root "$TEST_TMP/state" run \
		--bundle "$bundle" "$CTR_ID"
	assert_success
	assert_equal "$output" ran
}

@test "overlay unusable on the storage dir (an overlayfs cannot be an upper layer): doctor warns with the reason" {
	# The storage root sits on an overlay mount, made in a private mount namespace.
	run --separate-stderr unshare --mount --propagation private sh -c '
		set -e
		t=$0; mkdir -p "$t/l" "$t/u" "$t/w" "$t/ovl"
		mount -t overlay husk-test -o "lowerdir=$t/l,upperdir=$t/u,workdir=$t/w" "$t/ovl"
		mkdir -p "$t/ovl/store"
		"$@" --root "$t/ovl/store" --runroot "$t/run" doctor --json || true
		ls -A "$t/ovl/store"
		' "$TEST_TMP" "$HUSK"
	assert_success
	local report
	report=$(sed '/^}$/q' <<<"$output")
	assert_equal "$(check_field "$report" storage.overlay .status)" warn
	assert_equal "$(check_field "$report" storage.overlay .facts.usable)" false
	assert_equal "$(check_field "$report" storage.overlay .facts.backing_fs)" overlay
	assert_contains "$(check_field "$report" storage.overlay .summary)" "vfs"
	assert_contains "$(check_field "$report" storage.overlay '.evidence | join(" ")')" \
		"mount overlay with upperdir on $TEST_TMP/ovl/store/.husk-overlay-probe-"
	assert_contains "$(check_field "$report" storage.overlay .fix)" \
		"overlay cannot be an overlay upper layer"
	# The probe removed its directory.
	assert_equal "$(sed '1,/^}$/d' <<<"$output")" "" "left in the storage dir"
}

@test "overlay unusable on a read-only storage filesystem: doctor warns naming it" {
	run --separate-stderr unshare --mount --propagation private sh -c '
		mkdir -p "$0/ro" && mount -t tmpfs -o ro,size=64k husk-ro "$0/ro" &&
		"$@" --root "$0/ro/store" --runroot "$0/run" doctor --json
		' "$TEST_TMP" "$HUSK"
	assert_equal "$(check_field "$output" storage.overlay .status)" warn
	assert_equal "$(check_field "$output" storage.overlay .facts.probed_dir)" "$TEST_TMP/ro"
	assert_equal "$(check_field "$output" storage.overlay .facts.backing_fs)" tmpfs
	assert_contains "$(check_field "$output" storage.overlay '.evidence | join(" ")')" \
		"Read-only file system"
}

@test "nf_tables unavailable (netfilter netlink refused): doctor fails the networking check with the fix" {
	command -v cc >/dev/null || skip "no C compiler for the seccomp helper"
	cc -O2 -o "$TEST_TMP/no-netfilter" "$BATS_TEST_DIRNAME/no-netfilter.c" -lseccomp ||
		fail "cannot build the helper"
	# The helper's filter works as intended: nft itself now fails as on such a kernel.
	run "$TEST_TMP/no-netfilter" unshare --net nft list tables
	assert_failure
	assert_contains "$output" "Protocol not supported"

	run --separate-stderr "$TEST_TMP/no-netfilter" "$HUSK" --root "$STORE" \
		--runroot "$TEST_TMP/run" doctor --json
	assert_status 2
	assert_equal "$(check_field "$output" network.nftables .status)" fail
	assert_equal "$(check_field "$output" network.nftables .facts.available)" false
	assert_contains "$(check_field "$output" network.nftables .summary)" \
		"bridge networking is unavailable"
	assert_contains "$(check_field "$output" network.nftables '.evidence | join(" ")')" \
		"Protocol not supported"
	assert_contains "$(check_field "$output" network.nftables .fix)" \
		"modprobe -a nf_tables nft_chain_nat nft_nat nft_masq nf_conntrack nft_ct"
	# With iptables-nft on the host, iptables itself is now broken, and the doctor says so.
	if [[ "$(iptables --version 2>/dev/null)" == *nf_tables* ]]; then
		assert_equal "$(check_field "$output" network.iptables .status)" warn
		assert_contains "$(check_field "$output" network.iptables .summary)" \
			"Failed to initialize nft"
	fi
	# Only netfilter is gone: veth and bridge still work.
	assert_equal "$(check_field "$output" network.veth_bridge .status)" pass
}
