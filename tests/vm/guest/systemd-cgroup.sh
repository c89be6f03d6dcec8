# Guest scenario: husk-runtime's systemd cgroup driver against a real systemd (PID 1 of the
# guest, booted by guest/init with husk.systemd=1; this scenario runs as its husk-vm.service).
# A dbus-daemon serves the system bus (guest/systemd/dbus.*), which husk-runtime uses first;
# the private_socket check takes it away to prove the fallback to /run/systemd/private.
#
# On cgroup v2 (systemd.unified_cgroup_hierarchy=1) and on systemd's hybrid layout (v1
# controllers, v1 unit properties such as MemoryLimit and CPUShares, and v1 hierarchies systemd
# does not manage, which husk-runtime joins itself).
#
# Which checks run: husk.checks=a,b,c on the kernel command line (default: all of them on v2,
# a subset on hybrid).

. /vm/lib.sh

# rts ARGS...: the runtime with the systemd driver.
rts() { "$RT_BIN" --root "$STATE" --systemd-cgroup "$@"; }

# The check's scope: "system.slice:husk:$ID" -> husk-$ID.scope in /sys/fs/cgroup/system.slice.
use_scope() {
	UNIT=husk-$ID.scope
	SCOPE=$V2/system.slice/$UNIT
	cfg '.linux.cgroupsPath = $p' --arg p "system.slice:husk:$ID"
}

v2() { [ "$HUSK_VM_MODE" = v2 ]; }

# sfile V1_CONTROLLER V1_FILE V2_FILE: the scope's file for this layout.
sfile() {
	if v2; then echo "$SCOPE/$3"; else echo "/sys/fs/cgroup/$1/system.slice/$UNIT/$2"; fi
}

# prop UNIT NAME: one property as systemd has it.
prop() { systemctl show -P "$2" "$1" 2>/dev/null; }

run_detached_sd() {
	rts run -d --bundle "$BUNDLE" "$ID" </dev/null >"$TMP/run.out" 2>"$TMP/run.err" ||
		fail "run -d --systemd-cgroup: $(cat "$TMP/run.err")"
	wait_status running
}

check_booted() {
	expect_eq "$(cat /proc/1/comm)" systemd "PID 1"
	if v2; then
		expect_eq "$(awk '$2 == "/sys/fs/cgroup" { print $3 }' /proc/mounts)" cgroup2 "/sys/fs/cgroup"
	else
		expect_eq "$(awk '$2 == "/sys/fs/cgroup/memory" { print $3 }' /proc/mounts)" cgroup "/sys/fs/cgroup/memory"
		expect_eq "$(awk '$2 == "/sys/fs/cgroup/unified" { print $3 }' /proc/mounts)" cgroup2 "/sys/fs/cgroup/unified"
	fi
	[ -d /run/systemd/system ] || fail "no /run/systemd/system"
	[ -S /run/systemd/private ] || fail "no /run/systemd/private"
	# systemd takes its name on the bus once dbus-daemon is up.
	i=0
	until busctl --system status org.freedesktop.systemd1 >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 300 ] || fail "org.freedesktop.systemd1 never appeared on the system bus: $(busctl --system list 2>&1 | head -n 5)"
		sleep 0.1
	done
	DETAIL="$(systemctl --version | head -n 1); service cgroup $(grep '^0::' /proc/self/cgroup | cut -d: -f3)"
}

check_scope() {
	use_scope
	bind_out
	set_resources '{"memory": {"limit": 33554432, "swap": 33554432}, "pids": {"limit": 20}, "cpu": {"quota": 50000, "period": 100000, "shares": 1024}}'
	set_cmd 'cat /proc/self/cgroup > /out/cgroup; dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo $? > /out/rc; sleep 100'
	run_detached_sd
	pid=$(state_field pid)
	# systemd has the scope, active, with the container's init in it, delegated.
	expect_eq "$(prop "$UNIT" ActiveState)" active "ActiveState"
	expect_eq "$(prop "$UNIT" Delegate)" yes "Delegate"
	expect_eq "$(prop "$UNIT" Slice)" system.slice "Slice"
	expect_eq "$(prop "$UNIT" ControlGroup)" "/system.slice/$UNIT" "ControlGroup"
	if v2; then
		expect_eq "$(prop "$UNIT" MemoryMax)" 33554432 "MemoryMax property"
		expect_eq "$(prop "$UNIT" CPUWeight)" 39 "CPUWeight property"
	else
		expect_eq "$(prop "$UNIT" MemoryLimit)" 33554432 "MemoryLimit property"
		expect_eq "$(prop "$UNIT" CPUShares)" 1024 "CPUShares property"
	fi
	expect_eq "$(prop "$UNIT" TasksMax)" 20 "TasksMax property"
	expect_eq "$(prop "$UNIT" CPUQuotaPerSecUSec)" 500ms "CPUQuotaPerSecUSec property"
	# The same over the system bus with busctl.
	obj=/org/freedesktop/systemd1/unit/husk_2d$(echo "$ID" | sed 's/-/_2d/g')_2escope
	busctl --system get-property org.freedesktop.systemd1 "$obj" org.freedesktop.systemd1.Scope \
		ControlGroup >"$TMP/busctl" 2>&1 || fail "busctl: $(cat "$TMP/busctl")"
	expect_eq "$(cat "$TMP/busctl")" "s \"/system.slice/$UNIT\"" "busctl ControlGroup"
	systemctl status --no-pager "$UNIT" >"$TMP/status" 2>&1
	grep -q "$pid" "$TMP/status" || fail "systemctl status does not list pid $pid: $(cat "$TMP/status")"
	# The limits are in force in the scope's own files...
	[ -d "$SCOPE" ] || fail "no $SCOPE"
	expect_eq "$(cat "$(sfile memory memory.limit_in_bytes memory.max)")" 33554432 "memory limit"
	expect_eq "$(cat "$(sfile pids pids.max pids.max)")" 20 pids.max
	if v2; then
		expect_eq "$(cat "$SCOPE/memory.swap.max")" 0 memory.swap.max
		expect_eq "$(cat "$SCOPE/cpu.max")" "50000 100000" cpu.max
		expect_eq "$(cat "$SCOPE/cpu.weight")" 39 cpu.weight
	else
		expect_eq "$(cat "$(sfile memory memory.memsw.limit_in_bytes -)")" 33554432 "memory+swap limit"
		expect_eq "$(cat "$(sfile cpu,cpuacct cpu.cfs_quota_us -)")" 50000 cpu.cfs_quota_us
		expect_eq "$(cat "$(sfile cpu,cpuacct cpu.shares -)")" 1024 cpu.shares
		# Every hierarchy, also those systemd leaves alone (cpuset, net_cls, ...), which
		# husk-runtime made the scope's path in and joined.
		bad=$(grep -v ":/system.slice/$UNIT\$" "/proc/$pid/cgroup")
		[ -z "$bad" ] || fail "init outside the scope in: $bad"
		[ -d "/sys/fs/cgroup/cpuset/system.slice/$UNIT" ] || fail "no cpuset directory for the scope"
	fi
	grep -qx "$pid" "$SCOPE/cgroup.procs" || fail "pid $pid not in $SCOPE/cgroup.procs: $(cat "$SCOPE/cgroup.procs")"
	# ... and hold: the 64 MiB dd is OOM-killed inside the container.
	wait_file "$OUT/rc"
	expect_eq "$(cat "$OUT/rc")" 137 "dd under the scope's 32 MiB"
	kills=$(awk '$1 == "oom_kill" { print $2 }' "$(sfile memory memory.oom_control memory.events)")
	[ "${kills:-0}" -ge 1 ] || fail "oom_kill count: '$kills'"
	grep -q "\"systemdUnit\":\"$UNIT\"" "$STATE/$ID/state.json" || fail "state.json has no systemdUnit"
	# The container's own view (cgroup namespace): it is at the root of it.
	if v2; then
		expect_eq "$(cat "$OUT/cgroup")" "0::/" "/proc/self/cgroup in the container"
	else
		[ -z "$(grep -v ':/$' "$OUT/cgroup")" ] || fail "the container's cgroups are not its roots: $(cat "$OUT/cgroup")"
	fi
	DETAIL="$UNIT ($HUSK_VM_MODE): memory 32 MiB, TasksMax=20, CPUQuotaPerSecUSec=500ms as properties and files, dd killed (137)"
}

check_update() {
	use_scope
	set_resources '{"memory": {"limit": 33554432}, "pids": {"limit": 5}}'
	set_cmd 'sleep 100'
	run_detached_sd
	pids_max=$(sfile pids pids.max pids.max)
	mem_max=$(sfile memory memory.limit_in_bytes memory.max)
	mem_prop=MemoryMax
	v2 || mem_prop=MemoryLimit
	expect_eq "$(cat "$pids_max")" 5 "pids.max before"
	rt update --pids-limit 30 --memory 64m --cpu-quota 25000 --cpu-period 100000 "$ID" 2>"$TMP/err" ||
		fail "update: $(cat "$TMP/err")"
	expect_eq "$(cat "$pids_max")" 30 "pids.max after update"
	expect_eq "$(cat "$mem_max")" 67108864 "memory limit after update"
	if v2; then
		expect_eq "$(cat "$SCOPE/cpu.max")" "25000 100000" "cpu.max after update"
	else
		expect_eq "$(cat "$(sfile cpu,cpuacct cpu.cfs_quota_us -)")" 25000 "cpu.cfs_quota_us after update"
	fi
	# systemd was told too (SetUnitProperties): a daemon-reload keeps the new values.
	expect_eq "$(prop "$UNIT" TasksMax)" 30 "TasksMax after update"
	expect_eq "$(prop "$UNIT" $mem_prop)" 67108864 "$mem_prop after update"
	expect_eq "$(prop "$UNIT" CPUQuotaPerSecUSec)" 250ms "CPUQuotaPerSecUSec after update"
	systemctl daemon-reload || fail "daemon-reload"
	expect_eq "$(cat "$pids_max")" 30 "pids.max after daemon-reload"
	expect_eq "$(cat "$mem_max")" 67108864 "memory limit after daemon-reload"
	! rt update --pids-limit -7 "$ID" 2>"$TMP/err" || fail "a negative pids limit was accepted"
	grep -q "pids" "$TMP/err" || fail "error does not name the field: $(cat "$TMP/err")"
	expect_eq "$(prop "$UNIT" TasksMax)" 30 "TasksMax after a refused update"
	DETAIL="pids 5 -> 30, memory 32 -> 64 MiB, cpu quota 25000/100000; kept over daemon-reload"
}

check_delete() {
	use_scope
	set_cmd 'sleep 100 & sleep 100'
	run_detached_sd
	expect_eq "$(prop "$UNIT" ActiveState)" active "ActiveState before delete"
	! rt delete "$ID" 2>"$TMP/err" || fail "delete of a running container succeeded"
	rt delete --force "$ID" 2>"$TMP/err" || fail "delete --force: $(cat "$TMP/err")"
	state=$(prop "$UNIT" LoadState)
	expect_eq "$state" not-found "LoadState after delete"
	left=$(find /sys/fs/cgroup -name "$UNIT")
	[ -z "$left" ] || fail "left after delete: $left"
	[ ! -e "$STATE/$ID" ] || fail "state dir left"
	DETAIL="scope stopped and unloaded, cgroup removed"
}

check_run_exit() {
	# A foreground run: the scope goes when the container exits, and its status comes back.
	cfg '.linux.cgroupsPath = $p' --arg p "husk-vm.slice:ctr:$ID"
	set_cmd 'cat /proc/1/cgroup >/dev/null; exit 4'
	rts run --bundle "$BUNDLE" "$ID" </dev/null >"$TMP/run.out" 2>"$TMP/run.err"
	rc=$?
	[ "$rc" = 4 ] || fail "exit status $rc, wanted 4: $(cat "$TMP/run.err")"
	expect_eq "$(prop "ctr-$ID.scope" LoadState)" not-found "scope after run"
	[ ! -e "/sys/fs/cgroup/husk.slice/husk-vm.slice/ctr-$ID.scope" ] || fail "scope cgroup left"
}

check_nested_slice() {
	# "husk-vm.slice" is a child of "husk.slice", as systemd nests slices by dash.
	cfg '.linux.cgroupsPath = $p' --arg p "husk-vm.slice:ctr:$ID"
	set_resources '{"pids": {"limit": 7}}'
	set_cmd 'sleep 100'
	run_detached_sd
	dir=/sys/fs/cgroup/husk.slice/husk-vm.slice/ctr-$ID.scope
	[ -d "$dir" ] || fail "no $dir: $(find /sys/fs/cgroup -name "ctr-$ID.scope")"
	expect_eq "$(cat "$dir/pids.max")" 7 "pids.max in the nested scope"
	expect_eq "$(prop "ctr-$ID.scope" Slice)" husk-vm.slice "Slice"
	expect_eq "$(prop husk-vm.slice Slice)" husk.slice "the slice's parent"
	rt delete --force "$ID" || fail "delete"
	expect_eq "$(prop "ctr-$ID.scope" LoadState)" not-found "scope after delete"
	DETAIL="$dir"
}

check_bad_input() {
	n_units() { systemctl list-units --all --no-legend 'husk-*' 'ctr-*' 2>/dev/null | wc -l; }
	before=$(n_units)
	set_cmd 'true'
	# A slice name systemd would refuse: refused before systemd is asked, naming the rule.
	cfg '.linux.cgroupsPath = "husk--vm.slice:husk:x"'
	! rts run --bundle "$BUNDLE" "$ID" 2>"$TMP/err" || fail "a bad slice was accepted"
	grep -q "husk--vm.slice" "$TMP/err" && grep -q "separates nested slices" "$TMP/err" ||
		fail "error: $(cat "$TMP/err")"
	log "$(cat "$TMP/err")"
	cfg '.linux.cgroupsPath = "system:husk:x"'
	! rts run --bundle "$BUNDLE" "$ID" 2>"$TMP/err" || fail "a slice without .slice was accepted"
	grep -q 'ends in ".slice"' "$TMP/err" || fail "error: $(cat "$TMP/err")"
	cfg '.linux.cgroupsPath = "/husk/x"'
	! rts run --bundle "$BUNDLE" "$ID" 2>"$TMP/err" || fail "a cgroupfs path was accepted"
	grep -q 'slice:prefix:name' "$TMP/err" || fail "error: $(cat "$TMP/err")"
	# A colon path without the flag names the flag.
	cfg '.linux.cgroupsPath = "system.slice:husk:x"'
	! rt run --bundle "$BUNDLE" "$ID" 2>"$TMP/err" || fail "a slice path without --systemd-cgroup was accepted"
	grep -q 'pass --systemd-cgroup' "$TMP/err" || fail "error: $(cat "$TMP/err")"
	# A scope that exists already: systemd refuses it; the error says so, nothing is left.
	use_scope
	set_cmd 'sleep 100'
	run_detached_sd
	! rts run --bundle "$BUNDLE" "$ID-2" 2>"$TMP/err" </dev/null || fail "a second container got $UNIT"
	grep -q "$UNIT" "$TMP/err" && grep -qi "exists" "$TMP/err" || fail "error: $(cat "$TMP/err")"
	log "$(cat "$TMP/err")"
	[ ! -e "$STATE/$ID-2" ] || fail "state of the refused container left"
	expect_eq "$(prop "$UNIT" ActiveState)" active "the first container's scope"
	rt delete --force "$ID" || fail "delete"
	expect_eq "$(n_units)" "$before" "units after the refusals and delete"
	[ -z "$(ls "$STATE" | grep -v '^@cache$')" ] || fail "state left: $(ls "$STATE")"
}

# A character device outside the default set: /dev/kmsg (1:11), which root may open for
# writing without capabilities, so a refusal can only come from the device rules: systemd's
# (DevicePolicy=strict, DeviceAllow) and husk-runtime's own eBPF program both apply.
check_devices() {
	cfg '.linux.cgroupsPath = $p' --arg p "system.slice:husk:$ID"
	cfg '.linux.devices = [{path: "/dev/husk-kmsg", type: "c", major: 1, minor: 11, fileMode: 384}]'
	bind_out
	set_cmd 'echo x > /dev/null && echo null-ok; (exec 3>/dev/husk-kmsg) 2>/dev/null && echo dev-ok || echo dev-denied; echo done > /out/done; sleep 100'
	set_resources '{"devices": [{"allow": false, "access": "rwm"}]}'
	run_detached_sd
	wait_file "$OUT/done"
	expect_eq "$(echo $(cat "$TMP/run.out"))" "null-ok dev-denied" "deny all"
	expect_eq "$(prop "husk-$ID.scope" DevicePolicy)" strict "DevicePolicy"
	prop "husk-$ID.scope" DeviceAllow >"$TMP/allow"
	grep -qx "/dev/char/1:3 rwm" "$TMP/allow" && grep -qx "char-pts rwm" "$TMP/allow" ||
		fail "DeviceAllow: $(echo $(cat "$TMP/allow"))"
	! grep -q "1:11" "$TMP/allow" || fail "DeviceAllow has 1:11: $(echo $(cat "$TMP/allow"))"
	rt delete --force "$ID" || fail "delete"
	rm -f "$OUT/done"
	set_resources '{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}]}'
	run_detached_sd
	wait_file "$OUT/done"
	expect_eq "$(echo $(cat "$TMP/run.out"))" "null-ok dev-ok" "deny all, then allow c 1:11 w"
	prop "husk-$ID.scope" DeviceAllow >"$TMP/allow"
	grep -qx "/dev/char/1:11 w" "$TMP/allow" || fail "DeviceAllow without 1:11: $(echo $(cat "$TMP/allow"))"
	DETAIL="DevicePolicy=strict; DeviceAllow: $(cat "$TMP/allow" | tr '\n' ',')"
}

check_private_socket() {
	cfg '.linux.cgroupsPath = $p' --arg p "system.slice:husk:$ID"
	set_cmd 'exit 0'
	rts --debug run --bundle "$BUNDLE" "$ID" </dev/null >"$TMP/run.out" 2>"$TMP/run.err" ||
		fail "run: $(grep -v debug "$TMP/run.err")"
	grep -q "systemd: connected on the system bus" "$TMP/run.err" ||
		fail "not on the system bus: $(grep systemd: "$TMP/run.err" | head -n 3)"
	# No system bus: systemd's own socket.
	DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/husk-vm-no-bus rts --debug run --bundle "$BUNDLE" "$ID" \
		</dev/null >"$TMP/run.out" 2>"$TMP/run.err" || fail "run: $(grep -v debug "$TMP/run.err")"
	grep -q "systemd: connected on /run/systemd/private" "$TMP/run.err" ||
		fail "not on the private socket: $(grep systemd: "$TMP/run.err" | head -n 3)"
	grep -q "husk-$ID.scope: PIDs=" "$TMP/run.err" || fail "no scope started"
	expect_eq "$(prop "husk-$ID.scope" LoadState)" not-found "scope after run"
	DETAIL="system bus first, /run/systemd/private without it"
}

checks=booted,scope,update,delete,run_exit,nested_slice,devices,private_socket,bad_input
v2 || checks=booted,scope,update,delete
for w in $HUSK_VM_CMDLINE; do
	case "$w" in husk.checks=*) checks=${w#husk.checks=} ;; esac
done
run_checks $(echo "$checks" | tr ',' ' ')
