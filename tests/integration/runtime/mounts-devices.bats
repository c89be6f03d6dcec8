#!/usr/bin/env bats
# Mounts from config.json (tmpfs, bind, rbind, ro) and devices (defaults, linux.devices).

load ../helpers

setup() { common_setup; }
teardown() { common_teardown; }

run_ct() {
	run --separate-stderr rt run --bundle "$BUNDLE" "$ID"
}

@test "tmpfs mount with size and mode options" {
	add_mount /tmp tmpfs tmpfs '["nosuid","nodev","size=1m","mode=1777"]'
	set_cmd 'grep " /tmp " /proc/self/mountinfo; stat -c %a /tmp; echo x > /tmp/f && cat /tmp/f; dd if=/dev/zero of=/tmp/big bs=1024 count=2048 2>&1; echo "dd=$?"'
	run_ct
	local line
	line=$(grep ' /tmp ' <<<"$output") || fail "no /tmp mount in: $output"
	assert_contains "$line" " - tmpfs "
	assert_contains "$line" "size=1024k"
	assert_match "$line" ' /tmp rw,nosuid,nodev'
	assert_contains "$output" $'\n1777\n'
	assert_contains "$output" $'\nx\n'
	# Larger than the tmpfs: must fail with ENOSPC, even though the root is read-only.
	assert_contains "$output" "No space left on device"
	assert_contains "$output" "dd=1"
}

@test "bind mount with ro: readable, not writable, host dir untouched" {
	mkdir -p "$TEST_TMP/data"
	echo hello >"$TEST_TMP/data/file"
	add_mount /home bind "$TEST_TMP/data" '["bind","ro"]'
	set_cmd 'cat /home/file; touch /home/new; echo "rc=$?"; grep " /home " /proc/self/mountinfo'
	run_ct
	assert_contains "$output" hello
	assert_contains "$output" "rc=1"
	assert_contains "$stderr" "Read-only file system"
	assert_match "$(grep ' /home ' <<<"$output")" ' /home ro[, ]'
	[[ ! -e "$TEST_TMP/data/new" ]] || fail "file created through a ro bind"
	# The host's view of the source stays writable.
	touch "$TEST_TMP/data/host-write" || fail "host source became read-only"
}

@test "bind mount rw: writes reach the host dir" {
	bind_out
	set_cmd 'echo from-container > /out/file'
	run_ct
	assert_success
	assert_equal "$(cat "$OUT/file")" from-container
}

@test "bind mount with a source relative to the bundle" {
	mkdir -p "$BUNDLE/reldata"
	echo relative >"$BUNDLE/reldata/file"
	add_mount /home bind reldata '["bind","ro"]'
	set_cmd 'cat /home/file'
	run_ct
	assert_success
	assert_equal "$output" relative
}

@test "bind mount of a single file" {
	echo "file-content" >"$TEST_TMP/single"
	add_mount /etc/hostname bind "$TEST_TMP/single" '["bind","ro"]'
	set_cmd 'cat /etc/hostname'
	run_ct
	assert_success
	assert_equal "$output" file-content
}

@test "rbind carries submounts, plain bind does not" {
	writable_rootfs
	mkdir -p "$TEST_TMP/src/sub"
	echo under >"$TEST_TMP/src/sub/under-mount"
	host_tmpfs "$TEST_TMP/src/sub"
	echo inner >"$TEST_TMP/src/sub/inner"
	add_mount /mnt/r bind "$TEST_TMP/src" '["rbind","ro"]'
	add_mount /mnt/b bind "$TEST_TMP/src" '["bind","ro"]'
	set_cmd 'echo "r=$(ls /mnt/r/sub | tr "\n" " ")"; echo "b=$(ls /mnt/b/sub | tr "\n" " ")"'
	run_ct
	assert_success
	assert_contains "$output" "r=inner "
	assert_contains "$output" "b=under-mount "
}

@test "mount destinations missing from the rootfs are created, nested ones too" {
	writable_rootfs
	add_mount /a/b/c tmpfs tmpfs '["size=64k"]'
	set_cmd 'grep -c " /a/b/c " /proc/self/mountinfo'
	run_ct
	assert_success
	assert_equal "$output" 1
	[[ -d "$ROOTFS/a/b/c" ]] || fail "mount point not made inside the rootfs"
}

@test "mounts are applied in order: a later mount covers an earlier one" {
	add_mount /home tmpfs first '["size=64k"]'
	add_mount /home tmpfs second '["size=128k"]'
	set_cmd 'grep " /home " /proc/self/mountinfo | tail -n1'
	run_ct
	assert_success
	assert_contains "$output" "second"
	assert_contains "$output" "size=128k"
}

@test "default devices exist with the right numbers, /dev/fd links, /dev/ptmx" {
	set_cmd 'for d in null zero full random urandom tty; do stat -L -c "%n %F %t:%T" /dev/$d; done
		for l in fd stdin stdout stderr; do echo "$l -> $(readlink /dev/$l)"; done
		[ -e /dev/ptmx ] && echo ptmx-ok
		[ -c /dev/pts/ptmx ] && echo pts-ok
		head -c 4 /dev/zero | wc -c
		echo x > /dev/null && echo null-write-ok
		echo x > /dev/full || echo full-write-failed
		head -c 8 /dev/urandom | wc -c
		ls /dev/vda 2>&1'
	run_ct
	local dev
	for dev in "null 1:3" "zero 1:5" "full 1:7" "random 1:8" "urandom 1:9" "tty 5:0"; do
		assert_contains "$output" "/dev/${dev% *} character special file ${dev#* }"
	done
	assert_contains "$output" "fd -> /proc/self/fd"
	assert_contains "$output" "stdin -> /proc/self/fd/0"
	assert_contains "$output" "stdout -> /proc/self/fd/1"
	assert_contains "$output" "stderr -> /proc/self/fd/2"
	assert_contains "$output" ptmx-ok
	assert_contains "$output" pts-ok
	assert_contains "$output" $'\n4\n'
	assert_contains "$output" null-write-ok
	assert_contains "$output" full-write-failed
	assert_contains "$output" $'\n8\n'
	# The host's disk is not there: /dev is the container's own.
	assert_contains "$output" "No such file or directory"
}

@test "/dev/shm and /dev/mqueue and /dev/pts are mounted" {
	set_cmd 'grep -E " /dev/(shm|mqueue|pts) " /proc/self/mountinfo | cut -d" " -f5 | sort | tr "\n" " "; echo; echo x > /dev/shm/f && cat /dev/shm/f'
	run_ct
	assert_success
	assert_contains "$output" "/dev/mqueue /dev/pts /dev/shm "
	assert_contains "$output" $'\nx'
}

@test "linux.devices: char device and fifo are created with mode and numbers" {
	# 1:7 (full) is in every runtime's default device allow-list: no linux.resources needed.
	update_config '.linux.devices = [
		{path: "/dev/husk-full", type: "c", major: 1, minor: 7, fileMode: 416, uid: 0, gid: 0},
		{path: "/dev/husk-fifo", type: "p", fileMode: 384}
	]'
	set_cmd 'stat -c "%n %F %t:%T %a %u:%g" /dev/husk-full /dev/husk-fifo; echo x > /dev/husk-full || echo write-enospc'
	run_ct
	assert_contains "$output" "/dev/husk-full character special file 1:7 640 0:0"
	assert_contains "$output" "/dev/husk-fifo fifo"
	assert_match "$(grep husk-fifo <<<"$output")" ' 600 '
	assert_contains "$output" write-enospc
	assert_contains "$stderr" "No space left on device"
}

@test "linux.devices: a device node owned by a uid/gid" {
	update_config '.linux.devices = [{path: "/dev/husk-null", type: "c", major: 1, minor: 3, fileMode: 438, uid: 1000, gid: 1001}]'
	set_cmd 'stat -c "%t:%T %a %u:%g" /dev/husk-null'
	run_ct
	assert_success
	assert_equal "$output" "1:3 666 1000:1001"
}
