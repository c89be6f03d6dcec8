#!/usr/bin/env bats
# The fuse-overlayfs storage driver, as an unprivileged user created for this file: chosen
# automatically when the native overlay probe fails (forced here with HUSK_NATIVE_OVERLAY=0,
# this kernel mounts overlay in a user namespace), containers run, write and are removed on
# it, and no fuse-overlayfs process or mount outlives its container.

load rootless

setup_file() {
	command -v fuse-overlayfs >/dev/null || skip "fuse-overlayfs is not installed (scripts/install-deps)"
	[[ -c /dev/fuse ]] || skip "no /dev/fuse"
	rootless_user_setup
	export RL_ENV="HUSK_NATIVE_OVERLAY=0"
	uh load -i "$RL_TAR" >/dev/null
}
teardown_file() { rootless_user_teardown; }

teardown() {
	local ids
	ids=$(uh ps -aq --no-trunc 2>/dev/null || true)
	[[ -z "$ids" ]] || uh rm -f $ids >/dev/null 2>&1 || true
}

store() { echo "$RL_HOME/.local/share/husk"; }

# Live fuse-overlayfs processes of the test user (the only ones it can have are husk's); an
# ended one waits as a zombie until the host's init reaps it (it was detached from husk).
fuse_pids() { ps -u "$RL_USER" -o pid=,stat=,comm= 2>/dev/null | awk '$3 == "fuse-overlayfs" && $2 !~ /^Z/ {print $1}'; }
# FUSE mounts in the user's namespace (the holder's mount table) and on the host.
fuse_mounts() {
	local pid
	pid=$(holder_pid)
	{
		[[ -n "$pid" ]] && cat "/proc/$pid/mountinfo"
		cat /proc/self/mountinfo
	} | grep fuse.fuse-overlayfs | grep -F "$RL_HOME" || true
}

assert_no_fuse_left() {
	local left
	for _ in $(seq 50); do
		[[ -z "$(fuse_pids)" && -z "$(fuse_mounts)" ]] && return 0
		sleep 0.1
	done
	fail "left behind: processes [$(fuse_pids)] mounts [$(fuse_mounts)]"
}

@test "the driver: fuse-overlayfs when the native probe fails, with the reason in husk info" {
	run uh info --format json
	assert_success
	assert_equal "$(jq -r .StorageDriver <<<"$output")" fuse-overlayfs "driver"
	local reason
	reason=$(jq -r .StorageDriverReason <<<"$output")
	assert_contains "$reason" "HUSK_NATIVE_OVERLAY=0"
	assert_contains "$reason" "fuse-overlayfs"
	# The probe took its mount and process down again.
	assert_no_fuse_left
}

@test "without a usable /dev/fuse the choice falls to vfs, and husk info gives both reasons" {
	[[ -n "$RL_FUSE" ]] || skip "/dev/fuse is open to everyone on this host"
	# A second store, probed while the user's namespace sees a 0600 /dev/fuse as the host
	# has it: bound over the 0666 one there for this command (that one is locked in the
	# user's namespace), then taken away.
	local holder
	holder=$(holder_pid)
	mknod -m 0600 "$RL_DIR/fuse-closed" c 10 229
	nsenter -t "$holder" -m mount --bind "$RL_DIR/fuse-closed" /dev/fuse
	run uh --root "$RL_HOME/store-nofuse" info --format json
	nsenter -t "$holder" -m umount /dev/fuse
	assert_success
	assert_equal "$(jq -r .StorageDriver <<<"$output")" vfs "driver"
	local reason
	reason=$(jq -r .StorageDriverReason <<<"$output")
	assert_contains "$reason" "HUSK_NATIVE_OVERLAY=0"
	assert_contains "$reason" "/dev/fuse"
	assert_no_fuse_left
}

@test "run, write, stop, start, remove: the container's changes live in its upper dir" {
	run uh run -d --name f1 busybox sh -c 'echo from-root >/etc/made; rm /bin/ls; exec sleep 60'
	assert_success
	local id
	id=$(uh inspect -f '{{.Id}}' f1)
	# The rootfs is a fuse-overlayfs mount in the user's namespace, served by one process.
	assert_contains "$(fuse_mounts)" "$id"
	assert_equal "$(fuse_pids | wc -l)" 1 "fuse-overlayfs processes [$(ps -u "$RL_USER" -o pid=,args= | grep fuse-overlayfs)]"
	for _ in $(seq 50); do uh exec f1 test -f /etc/made && break; sleep 0.1; done
	run uh exec f1 sh -c 'cat /etc/made; ls /bin/ls 2>&1; true'
	assert_success
	assert_contains "$output" from-root
	assert_contains "$output" "No such file"
	run uh exec --user 1000:1000 f1 sh -c 'echo by-1000 >/tmp/mine && id -u'
	assert_success
	# From the host: the upper dir holds the changes with the owners the container used.
	local upper="$(store)/containers/$id/upper"
	[[ -d "$upper" ]] || fail "no upper dir $upper"
	assert_equal "$(cat "$upper/etc/made")" from-root
	assert_equal "$(stat -c %u "$upper/etc/made")" "$RL_UID" "owner of a file root wrote"
	assert_equal "$(stat -c %u "$upper/tmp/mine")" "$((RL_SUBUID + 999))" "owner of a file 1000 wrote"
	# The removed image file is a whiteout (0/0 character device) in the upper dir.
	assert_equal "$(stat -c %F:%t:%T "$upper/bin/ls")" "character special file:0:0"
	# Stopped and started again: the same mount and its changes.
	run uh stop -t 1 f1
	assert_success
	run uh start f1
	assert_success
	run uh exec f1 cat /etc/made
	assert_success
	assert_contains "$output" from-root
	run uh rm -f f1
	assert_success
	assert_no_fuse_left
	[[ ! -e "$upper" ]] || fail "upper dir $upper left after rm"
}

@test "run --rm: the mount and its process go with the container" {
	run uh run --rm busybox sh -c 'echo x >/x && cat /x && grep -c fuse /proc/mounts'
	assert_success
	assert_contains "$output" x
	assert_no_fuse_left
	run uh ps -aq
	assert_equal "$output" ""
}

@test "a fuse-overlayfs that fails: its message, and nothing left behind" {
	# A fuse-overlayfs first on PATH that is the real one given a lower dir that does not
	# exist (the last -o wins): the real program's own failure.
	mkdir -p "$RL_DIR/badbin"
	cat >"$RL_DIR/badbin/fuse-overlayfs" <<-EOF
		#!/bin/sh
		exec $(command -v fuse-overlayfs) "\$@" -o lowerdir=/nonexistent-hrl-lower
	EOF
	chmod 0755 "$RL_DIR/badbin" "$RL_DIR/badbin/fuse-overlayfs"
	local before
	before=$(ls "$(store)/containers" 2>/dev/null | wc -l)
	run as_user env PATH="$RL_DIR/badbin:$RL_BIN:/usr/bin:/bin" husk run --rm --name bad busybox true
	assert_failure
	assert_contains "$output" "fuse-overlayfs could not mount"
	assert_contains "$output" "nonexistent-hrl-lower"
	run uh ps -aq
	assert_equal "$output" ""
	assert_equal "$(ls "$(store)/containers" 2>/dev/null | wc -l)" "$before" "container dirs"
	assert_no_fuse_left
}

@test "the process is stopped by rm even when its mount is gone from the namespace" {
	assert_no_fuse_left
	run uh run -d --name f2 busybox sleep 60
	assert_success
	local pid
	pid=$(fuse_pids)
	[[ "$pid" =~ ^[0-9]+$ ]] || fail "one fuse-overlayfs expected: [$pid]"
	# The user's namespace holder dies (its mount table with it for new commands); the next
	# command makes a new namespace where the rootfs is not mounted.
	kill -9 "$(holder_pid)"
	run uh rm -f f2
	assert_success
	for _ in $(seq 50); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
	[[ ! -d /proc/$pid ]] || fail "fuse-overlayfs $pid still runs after rm"
}
