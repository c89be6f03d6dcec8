#!/usr/bin/env bats
# Isolation: the container sees its own pids, hostname, mounts, network; masked and
# read-only paths hold; the root is read-only when asked.

load ../helpers

setup() { common_setup; }
teardown() { common_teardown; }

# run_ct: runs the container in the foreground; $output is its stdout, $stderr its stderr.
run_ct() {
	run --separate-stderr rt run --bundle "$BUNDLE" "$ID"
}

@test "the process is PID 1 and sees only its own pid namespace" {
	set_cmd 'echo "pid=$$"; echo "cmd=$(tr "\0" " " < /proc/1/cmdline)"; echo "n=$(ls /proc | grep -c "^[0-9][0-9]*$")"; echo "ppid=$(cut -d" " -f4 /proc/1/stat)"'
	run_ct
	assert_success
	assert_contains "$output" "pid=1"
	assert_contains "$output" "cmd=/bin/sh -c "
	assert_contains "$output" "ppid=0"
	local n
	n=$(sed -n 's/^n=//p' <<<"$output")
	# sh, ls, grep and a subshell at most: not the host's processes.
	[[ "$n" -lt 8 ]] || fail "container sees $n processes"
}

@test "the container has its own hostname from config.hostname" {
	local host_before
	host_before=$(hostname)
	update_config '.hostname = "husk-bats-host"'
	set_cmd 'hostname; cat /proc/sys/kernel/hostname'
	run_ct
	assert_success
	assert_equal "$output" $'husk-bats-host\nhusk-bats-host' "hostnames inside"
	assert_equal "$(hostname)" "$host_before" "host hostname"
}

@test "a host mount is not visible in the container's mount table" {
	host_tmpfs "$TEST_TMP/hostmnt"
	echo marker >"$TEST_TMP/hostmnt/file"
	grep -q "$TEST_TMP/hostmnt" /proc/self/mountinfo || fail "host tmpfs not mounted"
	set_cmd 'cat /proc/self/mountinfo'
	run_ct
	assert_success
	assert_not_contains "$output" "$TEST_TMP"
	assert_not_contains "$output" husk-bats-tmpfs
	# The root of the container's table is its rootfs, with /proc on it.
	grep -qE '^[0-9]+ [0-9]+ [^ ]+ [^ ]+ / ' <<<"$output" || fail "no / mount in: $output"
	grep -qE '^[0-9]+ [0-9]+ [^ ]+ [^ ]+ /proc .* - proc ' <<<"$output" || fail "no /proc in: $output"
	# None of the host's own mount points (other than those the config mounts) is there.
	assert_not_contains "$output" " /work "
}

@test "mounts made inside the container do not propagate to the host" {
	writable_rootfs
	set_cmd 'mkdir -p /inner && mount -t tmpfs inner-tmpfs /inner && grep -c inner-tmpfs /proc/self/mountinfo'
	update_config '.process.capabilities.bounding += ["CAP_SYS_ADMIN"] | .process.capabilities.effective += ["CAP_SYS_ADMIN"] | .process.capabilities.permitted += ["CAP_SYS_ADMIN"]'
	# The default seccomp profile is written for the default capabilities: no mount(2).
	update_config 'del(.linux.seccomp)'
	run_ct
	assert_success
	assert_equal "$output" 1 "tmpfs mounted inside"
	run grep inner-tmpfs /proc/self/mountinfo
	assert_failure
}

@test "masked paths are unreadable: files read empty, directories list empty" {
	# Preconditions on the host: these have content here.
	[[ -n "$(head -c1 /proc/keys)" && -n "$(head -c1 /proc/timer_list)" ]] ||
		skip "host has no /proc/keys or /proc/timer_list"
	[[ -n "$(ls -A /sys/firmware)" ]] || skip "host /sys/firmware is empty"
	update_config '.linux.maskedPaths += ["/etc/hostname", "/proc/husk-does-not-exist"]'
	set_cmd 'echo "keys=$(cat /proc/keys | wc -c)"; echo "timer=$(cat /proc/timer_list | wc -c)"; echo "fw=$(ls -A /sys/firmware | wc -l)"; echo "hostname=$(cat /etc/hostname | wc -c)"; echo "kcore=$(cat /proc/kcore 2>/dev/null | wc -c)"'
	run_ct
	assert_success
	assert_contains "$output" "keys=0"
	assert_contains "$output" "timer=0"
	assert_contains "$output" "fw=0"
	assert_contains "$output" "hostname=0"
	assert_contains "$output" "kcore=0"
	# The rootfs file itself is intact.
	assert_equal "$(cat "$SHARED_ROOTFS/etc/hostname")" husk "rootfs /etc/hostname"
}

@test "a masked directory cannot be written" {
	set_cmd 'touch /sys/firmware/x; echo "rc=$?"'
	run_ct
	assert_contains "$output" "rc=1"
}

@test "readonly paths are not writable: /proc/sys and a configured path" {
	bind_out
	update_config '.linux.readonlyPaths += ["/out", "/proc/husk-does-not-exist"]'
	set_cmd 'echo husk-test > /proc/sys/kernel/domainname; echo "rc=$?"; touch /out/x; echo "rc2=$?"; grep -E " /proc/(sys|sysrq-trigger|irq) " /proc/self/mountinfo'
	run_ct
	assert_contains "$output" "rc=1"
	assert_contains "$stderr" "Read-only file system"
	assert_contains "$output" "rc2=1"
	[[ ! -e "$OUT/x" ]] || fail "file created in a read-only path"
	local line
	line=$(grep -E " /proc/sys " <<<"$output") || fail "/proc/sys is not a mount: $output"
	assert_match "$line" ' /proc/sys ro[, ]'
	local p
	for p in /proc/sysrq-trigger /proc/irq; do
		[[ -e $p ]] || continue # not on this kernel: nothing to protect
		line=$(grep -E " $p " <<<"$output") || fail "$p is not a mount"
		assert_match "$line" " $p ro[, ]"
	done
}

@test "root.readonly: writing to / fails with Read-only file system" {
	set_cmd 'touch /husk-write-test; echo "rc=$?"; grep -E "^[0-9]+ [0-9]+ [^ ]+ [^ ]+ / " /proc/self/mountinfo'
	run_ct
	assert_contains "$output" "rc=1"
	assert_contains "$stderr" "Read-only file system"
	assert_match "$(grep ' / ' <<<"$output")" ' / ro[, ]'
	[[ ! -e "$SHARED_ROOTFS/husk-write-test" ]] || fail "file created in the shared rootfs"
}

@test "root.readonly false: the rootfs is writable and changes land in root.path" {
	writable_rootfs
	set_cmd 'echo written > /husk-write-test && cat /husk-write-test'
	run_ct
	assert_success
	assert_equal "$output" written
	assert_equal "$(cat "$ROOTFS/husk-write-test")" written "file in root.path"
}

@test "the container gets a new network namespace with only loopback" {
	set_cmd 'ip -o link show | cut -d: -f2 | tr -d " "; readlink /proc/self/ns/net'
	run_ct
	assert_success
	assert_equal "$(head -n1 <<<"$output")" lo "first link"
	assert_equal "$(grep -vc '^net:' <<<"$output")" 1 "number of links"
	assert_not_contains "$output" "$(readlink /proc/self/ns/net)"
}

@test "joins an existing network namespace by path" {
	make_netns
	ip -n "$HOST_NETNS" link set lo up
	ip -n "$HOST_NETNS" addr add 198.51.100.7/32 dev lo
	local ns_inode
	ns_inode=$(stat -L -c %i "/var/run/netns/$HOST_NETNS")
	update_config '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
		--arg p "/var/run/netns/$HOST_NETNS"
	set_cmd 'ip addr show dev lo; readlink /proc/self/ns/net'
	run_ct
	assert_success
	assert_contains "$output" "198.51.100.7"
	assert_contains "$output" "net:[$ns_inode]"
}

@test "sysctls from config apply inside and not on the host" {
	local host_fwd host_dom
	host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
	host_dom=$(cat /proc/sys/kernel/domainname)
	local want_fwd=1
	[[ "$host_fwd" == 1 ]] && want_fwd=0
	update_config '.linux.sysctl = {"net.ipv4.ip_forward": $f, "kernel.domainname": "husk.example"}' \
		--arg f "$want_fwd"
	set_cmd 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/domainname'
	run_ct
	assert_success
	assert_equal "$output" "$want_fwd"$'\n'husk.example "sysctls inside"
	assert_equal "$(cat /proc/sys/net/ipv4/ip_forward)" "$host_fwd" "host ip_forward"
	assert_equal "$(cat /proc/sys/kernel/domainname)" "$host_dom" "host domainname"
}

@test "the container has its own ipc, uts, mount, pid and network namespaces" {
	set_cmd 'for n in ipc uts mnt pid net; do echo "$n $(readlink /proc/self/ns/$n)"; done'
	run_ct
	assert_success
	local n
	for n in ipc uts mnt pid net; do
		assert_not_contains "$(grep "^$n " <<<"$output")" "$(readlink /proc/self/ns/$n)"
	done
}

@test "capabilities: root gets the bounding set, nothing more" {
	update_config '.process.capabilities = {bounding: ["CAP_KILL", "CAP_CHOWN"], effective: ["CAP_KILL", "CAP_CHOWN"], permitted: ["CAP_KILL", "CAP_CHOWN"], inheritable: [], ambient: []}'
	set_cmd 'grep -E "^Cap(Eff|Prm|Bnd|Amb):" /proc/self/status'
	run_ct
	assert_success
	# CAP_CHOWN = bit 0, CAP_KILL = bit 5.
	assert_contains "$output" $'CapEff:\t0000000000000021'
	assert_contains "$output" $'CapPrm:\t0000000000000021'
	assert_contains "$output" $'CapBnd:\t0000000000000021'
}

@test "capabilities: a non-root user keeps exactly its ambient set across exec" {
	update_config '.process.user = {uid: 1000, gid: 1000} | .process.capabilities = {bounding: ["CAP_KILL", "CAP_CHOWN"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"], inheritable: ["CAP_KILL"], ambient: ["CAP_KILL"]}'
	set_cmd 'grep -E "^Cap(Inh|Eff|Prm|Bnd|Amb):" /proc/self/status'
	run_ct
	assert_success
	assert_contains "$output" $'CapInh:\t0000000000000020'
	assert_contains "$output" $'CapEff:\t0000000000000020'
	assert_contains "$output" $'CapPrm:\t0000000000000020'
	assert_contains "$output" $'CapBnd:\t0000000000000021'
	assert_contains "$output" $'CapAmb:\t0000000000000020'
}

@test "noNewPrivileges is applied" {
	update_config '.process.noNewPrivileges = true'
	set_cmd 'grep NoNewPrivs /proc/self/status'
	run_ct
	assert_success
	assert_contains "$output" $'NoNewPrivs:\t1'
}
