# Shared setup for the engine's bats files: every test gets its own --root/--runroot under a
# temp dir and a private copy of the busybox rootfs (containers may write to it); teardown
# force-removes whatever the test left and fails on leftover mounts, runtime state or
# cgroups.
bats_require_minimum_version 1.5.0
load ../helpers

engine_setup_file() {
	export ENGINE_ROOTFS_SRC="$HUSK_BUSYBOX_BUNDLE/rootfs"
}

engine_setup() {
	T=$(mktemp -d /tmp/husk-engine.XXXXXX)
	RF="$T/rootfs"
	cp -a "$ENGINE_ROOTFS_SRC" "$RF"
	H=("$HUSK" --root "$T/root" --runroot "$T/run")
}

h() { timeout 60 "${H[@]}" "$@"; }

engine_teardown() {
	local ids
	ids=$("${H[@]}" ps -aq --no-trunc 2>/dev/null || true)
	[ -n "$ids" ] && timeout 60 "${H[@]}" rm -f $ids >/dev/null 2>&1 || true
	local leftover="" i
	# A `run --rm` finishes its removal (rootfs, runtime state, files) just after its
	# exit code was sent: give those cleanups a moment before calling anything a leftover.
	for ((i = 0; i < 100; i++)); do
		[ -z "$(ls -A "$T/root/containers" 2>/dev/null)" ] && break
		sleep 0.05
	done
	if compgen -G "$T/root/containers/*/removed.json" >/dev/null; then
		leftover="unfinished removals: $(ls "$T"/root/containers/*/removed.json)"
	fi
	# What is left is a create killed half-way (tests do that): prune finishes it.
	[ -n "$(ls -A "$T/root/containers" 2>/dev/null)" ] && timeout 60 "${H[@]}" container prune -f >/dev/null 2>&1
	# Nothing may stay mounted under the test dir, nor runtime state, nor a cgroup.
	if grep -qF " $T/" /proc/self/mountinfo; then
		leftover="mounts: $(grep -F " $T/" /proc/self/mountinfo | awk '{print $5}')"
		grep -F " $T/" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l
	fi
	if [ -d "$T/run/runtime" ] && [ -n "$(ls -A "$T/run/runtime" | grep -v '^@cache$' || true)" ]; then
		leftover="$leftover runtime state: $(ls "$T/run/runtime")"
	fi
	for id in $ids; do
		if compgen -G "/sys/fs/cgroup/*/*$id*" >/dev/null || find /sys/fs/cgroup/memory /sys/fs/cgroup/pids -maxdepth 6 -name "$id" 2>/dev/null | grep -q .; then
			leftover="$leftover cgroup of $id"
		fi
	done
	# The default network is made on first use: the test's store takes its bridge and nft
	# table away with it, and nothing of the store may remain on the host.
	local table bridge
	table=$("${H[@]}" network inspect bridge 2>/dev/null | jq -r '.[0].firewall_table // empty' || true)
	bridge=$("${H[@]}" network inspect bridge 2>/dev/null | jq -r '.[0].bridge // empty' || true)
	remove_store_networks "$T/root" "$T/run"
	if [ -n "$bridge" ] && ip link show "$bridge" >/dev/null 2>&1; then
		leftover="$leftover bridge $bridge"
		ip link del "$bridge" 2>/dev/null || true
	fi
	if [ -n "$table" ] && nft list table $table >/dev/null 2>&1; then
		leftover="$leftover nft table $table"
		nft delete table $table 2>/dev/null || true
	fi
	rm -rf "$T"
	if [ -n "$leftover" ]; then
		echo "leftovers: $leftover" >&2
		return 1
	fi
}


status_is() { # NAME STATUS
	[ "$(h inspect -f '{{.State.Status}}' "$1")" = "$2" ]
}
