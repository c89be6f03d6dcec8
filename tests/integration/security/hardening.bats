#!/usr/bin/env bats
# Escape attempts from inside a container with the default config. Each test attacks and fails
# if the attack works. Writes that would succeed only write back the value already there (or
# print kernel help), so a regression cannot damage the host.

load ../helpers
load security-helpers

setup() { common_setup; }
teardown() { common_teardown; }

@test "writes to /proc/sys, /proc/sysrq-trigger and /sys are refused; /proc/kcore reads nothing" {
	set_cmd '
		v=$(cat /proc/sys/kernel/printk_ratelimit)
		echo "$v" > /proc/sys/kernel/printk_ratelimit 2>/dev/null && echo "ESCAPED /proc/sys"
		echo h > /proc/sysrq-trigger 2>/dev/null && echo "ESCAPED /proc/sysrq-trigger"
		if [ -e /sys/kernel/uevent_helper ]; then
			u=$(cat /sys/kernel/uevent_helper)
			printf "%s" "$u" > /sys/kernel/uevent_helper 2>/dev/null && echo "ESCAPED /sys/kernel/uevent_helper"
		fi
		touch /sys/husk-escape 2>/dev/null && echo "ESCAPED /sys"
		mkdir /sys/fs/cgroup/husk-escape 2>/dev/null && echo "ESCAPED /sys/fs/cgroup"
		echo "kcore bytes: $(head -c 64 /proc/kcore 2>/dev/null | wc -c)"
		echo "keys bytes: $(cat /proc/keys 2>/dev/null | wc -c)"
		echo "timer_list bytes: $(cat /proc/timer_list 2>/dev/null | wc -c)"
		echo "done"'
	run_ct
	assert_success
	assert_not_contains "$output" ESCAPED
	assert_contains "$output" "kcore bytes: 0"
	assert_contains "$output" "keys bytes: 0"
	assert_contains "$output" "timer_list bytes: 0"
	assert_contains "$output" done
	[[ ! -e /sys/husk-escape ]] || fail "/sys/husk-escape appeared on the host"
}

@test "/proc/sys and /sys stay read-only even for a root process with every capability" {
	# Not a default config: the masks and read-only mounts alone, without seccomp and with
	# all capabilities but CAP_SYS_ADMIN (which could remount them, as in any runtime).
	update_config 'del(.process.capabilities) | del(.linux.seccomp)'
	update_config '.process.capabilities = {bounding: $c, effective: $c, permitted: $c}' \
		--argjson c "$(jq -cn '["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FOWNER","CAP_SYS_PTRACE","CAP_SYS_RAWIO","CAP_NET_ADMIN","CAP_SYS_MODULE"]')"
	set_cmd '
		v=$(cat /proc/sys/kernel/printk_ratelimit)
		echo "$v" > /proc/sys/kernel/printk_ratelimit 2>/dev/null && echo "ESCAPED /proc/sys"
		echo h > /proc/sysrq-trigger 2>/dev/null && echo "ESCAPED /proc/sysrq-trigger"
		touch /sys/husk-escape 2>/dev/null && echo "ESCAPED /sys"
		echo "kcore bytes: $(head -c 64 /proc/kcore 2>/dev/null | wc -c)"'
	run_ct
	assert_success
	assert_not_contains "$output" ESCAPED
	assert_contains "$output" "kcore bytes: 0"
}

@test "no runtime fd and no host cwd reach the container (CVE-2024-21626 class)" {
	bind_out
	# create + start: the path with the exec fifo and the state lock around.
	# The shell first replaces the stdio it was given (the caller's, legitimately host files):
	# whatever fd is left above 2 came from the runtime.
	set_cmd '
		exec </dev/null >/out/fds 2>/out/err
		for f in /proc/1/fd/*; do echo "$f $(readlink "$f")"; done
		echo "cwd $(readlink /proc/self/cwd)"
		echo "cwd1 $(readlink /proc/1/cwd)"
		cd ../../../..; echo "up $(pwd -P)"
		ls /proc/self/cwd/../../.. > /out/ls 2>&1; ls / > /out/ls-root
		echo finished'
	rtd create --bundle "$BUNDLE" "$ID"
	assert_success
	rtd start "$ID"
	assert_success
	wait_for_file "$OUT/fds"
	for ((i = 0; i < 50; i++)); do grep -q finished "$OUT/fds" && break; sleep 0.1; done
	local line target bad=
	while read -r line; do
		case $line in
		cwd* | up* | finished) continue ;;
		esac
		target=${line#* }
		case $target in
		# pipe: the shell's own $(...); "": the listing's own, gone already
		/dev/null | /out/fds | /out/err | pipe:* | "") ;;
		*) bad+="$line"$'\n' ;;
		esac
	done <"$OUT/fds"
	[[ -z "$bad" ]] || fail "fds reaching outside the container's view: $bad" || {
		cat "$OUT/fds" >&2
		return 1
	}
	assert_not_contains "$(cat "$OUT/fds")" "$TEST_TMP"
	assert_contains "$(cat "$OUT/fds")" "cwd /"$'\n'
	assert_contains "$(cat "$OUT/fds")" "cwd1 /"$'\n'
	assert_contains "$(cat "$OUT/fds")" "up /"$'\n'
	# ../../.. from the cwd is the container's root, not the host's.
	assert_equal "$(cat "$OUT/ls")" "$(cat "$OUT/ls-root")" "listing of ../../.. from the cwd vs /"
}

@test "the runtime binary cannot be opened through /proc/<pid>/exe of a waiting init (CVE-2019-5736 class)" {
	local before after pid_a id_b=${ID}b
	before=$(sha256sum "$(readlink -f "$HUSK_RUNTIME")" | cut -d' ' -f1)
	# Container A: created, its init (the runtime's own image) waits for start.
	set_args sleep 1000
	rtd create --bundle "$BUNDLE" "$ID"
	assert_success
	pid_a=$(state_field pid)
	[[ "$(readlink "/proc/$pid_a/exe")" == "$(readlink -f "$HUSK_RUNTIME")" ]] ||
		skip "the waiting init is not the runtime binary here"
	# Container B shares A's pid namespace: A's init is its pid 1.
	mkdir -p "$TEST_TMP/b"
	jq --arg ns "/proc/$pid_a/ns/pid" '.linux.namespaces |= map(if .type == "pid" then .path = $ns else . end)' \
		"$BUNDLE/config.json" >"$TEST_TMP/b/config.json"
	jq '.process.args = ["/bin/sh", "-c", "
		ls -l /proc/*/exe 2>&1 | head -5
		cat /proc/1/cmdline > /dev/null 2>&1 && echo readable-cmdline
		cat /proc/1/exe > /dev/null 2>&1 && echo ESCAPED-read-exe
		echo x >> /proc/1/exe 2>/dev/null && echo ESCAPED-write-exe
		(exec 3</proc/1/exe) 2>/dev/null && echo ESCAPED-open-exe
		for f in /proc/1/fd/*; do (exec 4<\"$f\") 2>/dev/null && echo ESCAPED-open-fd-$f; done
		readlink /proc/1/fd/* 2>/dev/null | grep -q . && echo ESCAPED-fd-link
		readlink /proc/1/cwd 2>/dev/null | grep -q . && echo ESCAPED-cwd-link
		readlink /proc/1/root 2>/dev/null | grep -q . && echo ESCAPED-root-link
		echo done"]' "$TEST_TMP/b/config.json" >"$TEST_TMP/b/c" && mv "$TEST_TMP/b/c" "$TEST_TMP/b/config.json"
	run --separate-stderr rt run --bundle "$TEST_TMP/b" "$id_b"
	assert_success
	assert_contains "$output" done
	assert_not_contains "$output" ESCAPED
	after=$(sha256sum "$(readlink -f "$HUSK_RUNTIME")" | cut -d' ' -f1)
	assert_equal "$after" "$before" "runtime binary digest"
	rt delete --force "$ID"
}

@test "a rootfs whose /dev/null is a symlink to a procfs file keeps the masks (CVE-2025-31133 class)" {
	writable_rootfs
	# The image's own /dev is used (no tmpfs on /dev): its null is a link to core_pattern.
	update_config '.mounts |= map(select(.destination != "/dev"))'
	mkdir -p "$ROOTFS/dev"
	rm -f "$ROOTFS/dev/null"
	ln -s /proc/sys/kernel/core_pattern "$ROOTFS/dev/null"
	set_cmd '
		stat -c "null %F %t:%T" /dev/null
		echo "timer_list bytes: $(cat /proc/timer_list 2>/dev/null | wc -c)"
		grep -q " /proc/timer_list " /proc/self/mountinfo && echo timer-list-masked
		v=$(cat /proc/sys/kernel/core_pattern)
		echo "$v" > /proc/sys/kernel/core_pattern 2>/dev/null && echo ESCAPED-core-pattern
		echo "$v" > /proc/timer_list 2>/dev/null && grep -q . /proc/timer_list && echo ESCAPED-mask
		echo done'
	run_ct
	assert_success
	assert_contains "$output" "null character special file 1:3"
	assert_contains "$output" "timer_list bytes: 0"
	assert_contains "$output" timer-list-masked
	assert_not_contains "$output" ESCAPED
	assert_contains "$output" done
}

@test "a masked path that is a symlink out of the rootfs masks nothing on the host" {
	writable_rootfs
	echo SECRET >"$TEST_TMP/host-secret"
	ln -s "/../../../../../..$TEST_TMP/host-secret" "$ROOTFS/masked-link"
	ln -s /etc/hostname "$ROOTFS/masked-inside"
	update_config '.linux.maskedPaths += ["/masked-link", "/masked-inside"]'
	set_cmd 'cat /masked-link 2>&1; echo "inside: $(cat /masked-inside | wc -c)"; echo done'
	run_ct
	assert_success
	assert_not_contains "$output" SECRET
	assert_contains "$output" "inside: 0"
	assert_equal "$(cat "$TEST_TMP/host-secret")" SECRET "host file"
	run grep -F "$TEST_TMP/host-secret" /proc/self/mountinfo
	assert_failure
}

@test "an LSM the kernel lacks is refused by name, never ignored" {
	local lsms
	lsms=$(cat /sys/kernel/security/lsm 2>/dev/null || true)
	set_args true
	if [[ "$lsms" != *apparmor* ]] && ! grep -qs Y /sys/module/apparmor/parameters/enabled; then
		update_config '.process.apparmorProfile = "husk-test"'
		run_ct
		assert_failure
		assert_names_field "$stderr" "AppArmor is not enabled"
		assert_names_field "$stderr" "process.apparmorProfile"
		update_config '.process.apparmorProfile = ""'
	fi
	if [[ "$lsms" != *selinux* && ! -e /sys/fs/selinux/enforce ]]; then
		update_config '.process.selinuxLabel = "system_u:system_r:container_t:s0"'
		run_ct
		assert_failure
		assert_names_field "$stderr" "process.selinuxLabel"
		assert_names_field "$stderr" "SELinux is not enabled"
		update_config '.process.selinuxLabel = "" | .linux.mountLabel = "system_u:object_r:container_file_t:s0"'
		run_ct
		assert_failure
		assert_names_field "$stderr" "linux.mountLabel"
	fi
}
