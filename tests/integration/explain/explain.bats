#!/usr/bin/env bats
# husk-runtime explain: each setting of a container, as the kernel has it.

load ../helpers
load explain

setup() {
	common_setup
	husk_only "explain is a husk-runtime verb"
	set_args sleep 600
}
teardown() { common_teardown; }

@test "limits in force: memory, pids and cpu quota read back from the cgroup files" {
	update_config '.linux.resources = {memory: {limit: 67108864}, pids: {limit: 20},
		cpu: {quota: 50000, period: 100000}}'
	start_detached
	explain_json
	assert_equal "$(jr .cgroup.summary.memory.limit)" 67108864 "memory limit"
	assert_equal "$(jr .cgroup.summary.pids.limit)" 20 "pids limit"
	assert_equal "$(jr .cgroup.summary.cpu.quota)" 50000 "cpu quota"
	assert_equal "$(jr .cgroup.summary.cpu.period)" 100000 "cpu period"
	assert_equal "$(jr .cgroup.summary.pids.current)" 1 "pids.current"
	# The numbers are the files' contents, and the files are where the kernel accounts the init.
	local file
	file=$(jr .cgroup.summary.memory.limit_file)
	assert_equal "$(cat "$file")" 67108864 "$file"
	grep -qx "$(init_pid)" "$(dirname "$file")/cgroup.procs" || fail "init not in $file's cgroup"
	assert_equal "$(jr .cgroup.layout)" "$(jr '.cgroup.layout')"
	assert_equal "$(findings cgroup)" "" "cgroup findings"
}

@test "a limit written behind the runtime's back is reported and flagged" {
	update_config '.linux.resources = {memory: {limit: 67108864}, pids: {limit: 20}}'
	start_detached
	explain_json
	local mem pids
	mem=$(jr .cgroup.summary.memory.limit_file)
	pids=$(jr .cgroup.summary.pids.limit_file)
	echo 33554432 >"$mem"
	echo 7 >"$pids"
	explain_json
	assert_equal "$(jr .cgroup.summary.memory.limit)" 33554432 "memory limit after the write"
	assert_equal "$(jr .cgroup.summary.pids.limit)" 7 "pids limit after the write"
	assert_contains "$(findings cgroup)" "linux.resources.memory.limit: the config asks 67108864, $mem holds 33554432"
	assert_contains "$(findings cgroup)" "linux.resources.pids.limit: the config asks 20, $pids holds 7"
	run rt explain "$ID"
	assert_success
	assert_contains "$output" "FINDINGS"
	assert_contains "$output" "holds 33554432"
}

@test "capabilities, seccomp and no_new_privs as the kernel has them" {
	update_config '.process.capabilities = {bounding: ["CAP_KILL", "CAP_NET_RAW"],
		effective: ["CAP_KILL"], permitted: ["CAP_KILL", "CAP_NET_RAW"], inheritable: [],
		ambient: []}
		| .process.noNewPrivileges = true
		| .linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
			syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1}]}'
	start_detached
	explain_json
	assert_equal "$(jr '.security.capabilities.bounding | join(",")')" "CAP_KILL,CAP_NET_RAW"
	# execve gives root its permitted set as effective: the kernel's view, not the config's.
	assert_equal "$(jr '.security.capabilities.effective | join(",")')" "CAP_KILL,CAP_NET_RAW"
	assert_contains "$(findings security)" "execve gives uid 0 all its permitted capabilities"
	assert_equal "$(jr '.security.capabilities.permitted | join(",")')" "CAP_KILL,CAP_NET_RAW"
	assert_equal "$(jr '.security.capabilities.inheritable | length')" 0
	assert_equal "$(jr .security.seccomp.mode)" filter
	assert_equal "$(jr .security.seccomp.filters)" 1
	assert_equal "$(jr .security.no_new_privs)" true
	assert_equal "$(jr '.security.seccomp.config.not_default["errno(1)"] | join(",")')" "mkdir,mkdirat"
	# The kernel's own words agree: status of the init.
	local pid
	pid=$(init_pid)
	assert_equal "$(awk '/^CapBnd/ { print $2 }' "/proc/$pid/status")" "$(jr .security.capabilities.bounding_mask)"
	assert_equal "$(jr '[.findings[] | select(.severity == "warning")] | length')" 0 "warnings"
	# And the filter does what explain says it is for.
	run rt exec "$ID" mkdir /tmp/x
	assert_failure
}

@test "capabilities dropped behind the runtime's back are flagged" {
	update_config '.process.capabilities = {bounding: ["CAP_KILL"], effective: ["CAP_KILL"],
		permitted: ["CAP_KILL"], inheritable: [], ambient: []}'
	start_detached
	# The config on disk now asks for more than the container got.
	update_config '.process.capabilities.bounding += ["CAP_CHOWN"]'
	explain_json
	assert_contains "$(findings security)" "bounding capabilities asked for but not held: CAP_CHOWN"
}

@test "mounts: masked paths, read-only paths and root, a bind from the host with its source" {
	bind_out
	update_config '.linux.maskedPaths = ["/proc/timer_list", "/proc/acpi"]
		| .linux.readonlyPaths = ["/proc/sys"] | .root.readonly = true'
	start_detached
	explain_json
	m() { jr --arg p "$1" ".mounts | map(select(.mount_point == \$p)) | last | $2"; }
	assert_equal "$(m /proc/timer_list .masked)" true "/proc/timer_list masked (a file)"
	assert_equal "$(m /proc/acpi .masked)" true "/proc/acpi masked"
	assert_equal "$(m /proc/acpi .read_only)" true "/proc/acpi read-only"
	assert_equal "$(m /proc/sys .read_only)" true "/proc/sys read-only"
	assert_equal "$(m /proc .masked)" false "/proc not masked"
	assert_equal "$(m /out .host_bind)" true "/out from the host"
	assert_equal "$(m /out .host_path)" "$OUT" "/out's source"
	assert_equal "$(m /out .asked_for)" true
	assert_equal "$(m /out .read_only)" false
	assert_equal "$(jr .root.read_only)" true "read-only root"
	assert_equal "$(jr .root.is_rootfs)" true
	assert_equal "$(jr .root.rootfs)" "$SHARED_ROOTFS"
	# The tree: /proc/acpi sits under /proc.
	assert_equal "$(m /proc/acpi .depth)" 2
	assert_equal "$(findings mounts)" "" "mount findings"
}

@test "a host bind the config does not ask for is flagged as outside the rootfs" {
	bind_out
	start_detached
	# The config on disk no longer binds it: /out is now a mount nobody asked for.
	update_config '.mounts |= map(select(.destination != "/out"))'
	explain_json
	assert_contains "$(findings mounts)" "/out is $OUT from the host, which the config does not mount"
}

@test "network: a namespace joined by path, shared with another container, read by netlink" {
	make_netns
	ip -n "$HOST_NETNS" link add huskx0 type veth peer name huskx1
	ip -n "$HOST_NETNS" addr add 198.51.100.7/24 dev huskx0
	ip -n "$HOST_NETNS" link set huskx1 up
	ip -n "$HOST_NETNS" link set huskx0 up
	update_config '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
		--arg p "/var/run/netns/$HOST_NETNS"
	start_detached
	start_detached "${ID}b"
	explain_json
	local inode
	inode=$(stat -L -c %i "/var/run/netns/$HOST_NETNS")
	n() { jr '.namespaces[] | select(.type == "net") | '"$1"; }
	assert_equal "$(n .inode)" "$inode" "net namespace inode"
	assert_equal "$(n '.shared_with | join(",")')" "${ID}b" "shared with"
	assert_equal "$(n .shared_with_caller)" false
	assert_equal "$(n .config)" "join /var/run/netns/$HOST_NETNS"
	assert_equal "$(jr '.network.interfaces[] | select(.name == "huskx0") | .addresses[0].address')" 198.51.100.7
	assert_equal "$(jr '.network.interfaces[] | select(.name == "huskx0") | .kind')" veth
	assert_equal "$(jr '.network.routes[] | select(.device == "huskx0" and .family == "inet") | .destination')" 198.51.100.0/24
	# Other namespaces are each container's own.
	assert_equal "$(jr '.namespaces[] | select(.type == "mnt") | .shared_with | length')" 0
	assert_equal "$(findings namespaces)" "" "namespace findings"
	rt delete -f "${ID}b"
}

@test "a namespace the config asks to be new but shared with the host is flagged" {
	remove_namespace network
	start_detached
	update_config '.linux.namespaces += [{type: "network"}]'
	explain_json
	# The runtime's caller stands for the host (whose /proc/1/ns may be out of reach).
	assert_equal "$(jr '.namespaces[] | select(.type == "net") | .shared_with_caller')" true
	assert_match "$(findings namespaces)" "net namespace: the config asks for a new one, but it is the (host|runtime caller)'s"
}

@test "processes: the init and an exec'd process, host and container pids side by side" {
	start_detached
	rtd exec -d "$ID" sleep 500
	assert_success
	explain_json
	assert_equal "$(jr '.processes | length')" 2 "processes"
	assert_equal "$(jr '.processes[] | select(.init) | .container_pid')" 1
	assert_equal "$(jr '.processes[] | select(.init) | .pid')" "$(init_pid)"
	local exec_pid
	exec_pid=$(jr '.processes[] | select(.init | not) | .pid')
	assert_equal "$(jr '.processes[] | select(.init | not) | .args | join(" ")')" "sleep 500"
	assert_equal "$(awk '/^NSpid/ { print $3 }' "/proc/$exec_pid/status")" \
		"$(jr '.processes[] | select(.init | not) | .container_pid')"
	assert_equal "$(jr '.processes[] | select(.init | not) | .namespaces_differ_from_init | length')" 0
	# rlimits as /proc/<pid>/limits has them
	assert_equal "$(jr '.rlimits[] | select(.name == "Max open files") | .soft')" \
		"$(awk '/^Max open files/ { print $4 }' "/proc/$(init_pid)/limits")"
}

@test "an OOM kill is counted and flagged" {
	update_config '.linux.resources = {memory: {limit: 16777216}}'
	start_detached
	# tail keeps its one newline-free "line" in memory: far more than 16 MiB.
	run rt exec "$ID" sh -c 'head -c 200m /dev/zero | tail -n 1 >/dev/null'
	assert_failure
	explain_json
	[[ "$(jr .cgroup.summary.memory.oom_kills)" -ge 1 ]] || fail "oom kills: $(jr .cgroup.summary.memory)"
	assert_contains "$(findings cgroup)" "the OOM killer killed"
}

@test "explain names what it cannot explain" {
	run rt explain nosuch
	assert_failure
	assert_contains "$output" 'explain container nosuch'
	run rt explain '../x'
	assert_failure
	set_args true
	run rt run -b "$BUNDLE" "$ID"
	assert_success
	run rt explain "$ID"
	assert_failure
	assert_contains "$output" "$ID"
}
