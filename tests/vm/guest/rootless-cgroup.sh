# Rootless husk-runtime (and the engine, when husk is in the guest) with a delegated cgroup v2
# subtree, on a pure v2 guest without systemd: the delegation a user session manager makes
# (systemd's Delegate=yes) is done by hand, as root, before dropping to the user:
#
#   /sys/fs/cgroup/hrl                 owned by uid 1000 (the dir, cgroup.procs,
#                                      cgroup.subtree_control, cgroup.threads);
#                                      memory and pids enabled for its children
#   /sys/fs/cgroup/hrl/session         the user's processes (a leaf: "no internal processes")
#   /sys/fs/cgroup/hrl/<container>     made by the rootless runtime, limits in force
. /vm/lib.sh

RL_UID=1000
DELEGATED=$V2/hrl
HUSK_BIN=/vm/bin/husk
grep -q '^hrl:' /etc/passwd 2>/dev/null || {
	echo "hrl:x:$RL_UID:$RL_UID:husk rootless:/home/hrl:/bin/sh" >>/etc/passwd
	echo "hrl:x:$RL_UID:" >>/etc/group
}
mkdir -p /home/hrl /run/user/$RL_UID
chown $RL_UID:$RL_UID /home/hrl /run/user/$RL_UID
chmod 0700 /run/user/$RL_UID
# The user's copy of the busybox rootfs (root inside is the user: mount points like /out and
# /etc/hosts are made in it).
cp -a /vm/bundle/rootfs /home/hrl/rootfs && mkdir -p /home/hrl/rootfs/out &&
	chown -R $RL_UID:$RL_UID /home/hrl/rootfs

# as_user [CGROUP] -- CMD...: CMD as uid 1000, its process first moved into CGROUP (root
# writes it into cgroup.procs: a user may move a process only below a common ancestor it
# owns).
as_user() {
	as_user_cg=$1
	shift 2
	sh -c '[ -z "$0" ] || echo $$ >"$0/cgroup.procs" || exit 125
		exec nsenter -S '$RL_UID' -G '$RL_UID' -- env -i HOME=/home/hrl USER=hrl \
			XDG_RUNTIME_DIR=/run/user/'$RL_UID' PATH=/vm/bin:/bin:/sbin:/usr/bin "$@"' "$as_user_cg" "$@"
}

# The rootless bundle: husk-runtime's own `spec --rootless`, on the guest's busybox rootfs.
rootless_bundle() { # RESOURCES_JSON CMD
	rm -f "$BUNDLE/config.json"
	(cd "$BUNDLE" && "$RT_BIN" spec --rootless) || fail "spec --rootless"
	# (spec ran as root here: the maps are the user's own ids.)
	cfg '.root = {path: "/home/hrl/rootfs", readonly: true}
		| .linux.uidMappings = [{containerID: 0, hostID: '$RL_UID', size: 1}]
		| .linux.gidMappings = [{containerID: 0, hostID: '$RL_UID', size: 1}]
		| .process.terminal = false
		| .process.args = ["/bin/sh", "-c", $c]
		| .linux.resources = $r
		| .mounts += [{destination: "/out", type: "bind", source: $o, options: ["rbind", "rw"]}]' \
		--arg c "$2" --argjson r "$1" --arg o "$OUT"
	chmod -R a+rX "$TMP"
	chmod 0777 "$OUT"
}

urt() { as_user "$DELEGATED/session" -- husk-runtime --rootless true "$@"; }

check_refused_undelegated() {
	# The user in the root cgroup (root's): nothing delegated, limits refused with the reason.
	rootless_bundle '{"memory": {"limit": 33554432}}' 'true'
	out=$(as_user "" -- husk-runtime --rootless true run --bundle "$BUNDLE" "$ID" 2>&1) &&
		fail "ran with a memory limit and no delegation: $out"
	case "$out" in
	*"not delegated to you"*) ;;
	*) fail "error without the reason: $out" ;;
	esac
	[ -z "$(as_user "" -- husk-runtime --rootless true list -q 2>/dev/null)" ] ||
		fail "state left after the refusal"
	DETAIL=$(echo "$out" | head -c 160)
}

check_delegate() {
	# What a session manager does for the user, by hand.
	mkdir -p "$DELEGATED" || fail "mkdir $DELEGATED"
	echo "+memory +pids" >"$V2/cgroup.subtree_control" 2>/dev/null
	echo "+memory +pids" >"$DELEGATED/cgroup.subtree_control" || fail "enable memory, pids in $DELEGATED"
	chown $RL_UID:$RL_UID "$DELEGATED" "$DELEGATED/cgroup.procs" \
		"$DELEGATED/cgroup.subtree_control" "$DELEGATED/cgroup.threads" || fail "chown the delegated cgroup"
	# The user makes its own leaf for its processes.
	as_user "" -- mkdir "$DELEGATED/session" || fail "the user cannot make a cgroup in its subtree"
	seen=$(as_user "$DELEGATED/session" -- cat /proc/self/cgroup)
	expect_eq "$seen" "0::/hrl/session" "the user's process's cgroup"
	DETAIL="controllers for children: $(cat "$DELEGATED/cgroup.subtree_control")"
}

check_runtime_limits() {
	rootless_bundle '{"memory": {"limit": 33554432}, "pids": {"limit": 20}}' \
		'cat /proc/self/cgroup > /out/cgroup; cat /sys/fs/cgroup/memory.max > /out/memory.max; ls /sys/fs/cgroup > /out/ls; dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo $? > /out/rc; sleep 100'
	urt run -d --bundle "$BUNDLE" "$ID" </dev/null >"$TMP/run.out" 2>"$TMP/run.err" ||
		fail "rootless run -d: $(cat "$TMP/run.err")"
	wait_file "$OUT/rc"
	cg=$DELEGATED/$ID
	[ -d "$cg" ] || fail "no cgroup $cg (made: $(ls "$DELEGATED"))"
	expect_eq "$(stat -c %u "$cg")" $RL_UID "owner of the container's cgroup"
	expect_eq "$(cat "$cg/memory.max")" 33554432 memory.max
	expect_eq "$(cat "$cg/pids.max")" 20 pids.max
	pid=$(urt state "$ID" | jq -r .pid)
	grep -qx "$pid" "$cg/cgroup.procs" || fail "init $pid not in $cg/cgroup.procs: $(cat "$cg/cgroup.procs")"
	expect_eq "$(stat -c %u "/proc/$pid")" $RL_UID "the init's owner on the host"
	expect_eq "$(cat "$OUT/rc")" 137 "a 64 MiB dd under memory.max 32 MiB (OOM-killed)"
	# Inside: its own cgroup is the root of its cgroup namespace and of /sys/fs/cgroup.
	expect_eq "$(cat "$OUT/cgroup")" "0::/" "the container's /proc/self/cgroup"
	expect_eq "$(cat "$OUT/memory.max")" 33554432 "memory.max read inside the container"
	! grep -qxE 'hrl|session' "$OUT/ls" || fail "the container's /sys/fs/cgroup shows the user's tree: $(cat "$OUT/ls" | tr '\n' ' ')"
	kills=$(awk '$1 == "oom_kill" { print $2 }' "$cg/memory.events")
	[ "${kills:-0}" -ge 1 ] || fail "oom_kill in memory.events: '$kills'"
	urt delete --force "$ID" || fail "delete --force"
	[ ! -d "$cg" ] || fail "cgroup $cg left after delete"
	DETAIL="memory.max 33554432 pids.max 20 oom_kill=$kills"
}

check_runtime_pids() {
	rootless_bundle '{"pids": {"limit": 20}}' \
		'i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); echo $i > /out/count; done; echo all-forked'
	out=$(urt run --bundle "$BUNDLE" "$ID" 2>"$TMP/err")
	rc=$?
	[ "$rc" != 0 ] || fail "the fork bomb exited 0: $out"
	case "$out" in *all-forked*) fail "all 40 forked under pids.max 20" ;; esac
	n=$(cat "$OUT/count")
	[ "$n" -ge 10 ] && [ "$n" -le 19 ] || fail "forked $n sleepers with pids.max 20"
	[ -z "$(ls -d "$DELEGATED"/vm-* 2>/dev/null)" ] || fail "cgroup left: $(ls -d "$DELEGATED"/vm-*)"
	DETAIL="forked $n of 40"
}

check_engine_limits() {
	[ -x "$HUSK_BIN" ] || { DETAIL="skipped: no husk binary in the guest"; return 0; }
	uh() { as_user "$DELEGATED/session" -- husk "$@"; }
	# The user's busybox rootfs as --rootfs: no image store needed (no registry, no tar).
	uh run -d --name lim --network none --memory 32m --pids-limit 20 --rootfs /home/hrl/rootfs \
		sh -c 'dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo $? > /dev/shm/rc; exec sleep 100' \
		</dev/null >"$TMP/run.out" 2>"$TMP/run.err" || fail "husk run: $(tr '\n' ' ' <"$TMP/run.err")"
	id=$(uh inspect -f '{{.Id}}' lim)
	cg=$DELEGATED/$id
	[ -d "$cg" ] || fail "no cgroup $cg (in $DELEGATED: $(ls "$DELEGATED"))"
	expect_eq "$(cat "$cg/memory.max")" 33554432 "engine: memory.max"
	expect_eq "$(cat "$cg/pids.max")" 20 "engine: pids.max"
	i=0
	while [ $i -lt 100 ] && ! uh exec lim test -f /dev/shm/rc 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
	rc=$(uh exec lim cat /dev/shm/rc)
	expect_eq "$rc" 137 "engine: a 64 MiB dd under --memory 32m"
	uh rm -f lim >/dev/null || fail "husk rm -f"
	i=0
	while [ $i -lt 50 ] && [ -d "$cg" ]; do sleep 0.1; i=$((i + 1)); done
	[ ! -d "$cg" ] || fail "cgroup $cg left after rm"
	DETAIL="memory.max 33554432 pids.max 20 dd=$rc"
}

run_checks refused_undelegated delegate runtime_limits runtime_pids engine_limits
