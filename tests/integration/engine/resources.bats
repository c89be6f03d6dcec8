#!/usr/bin/env bats
# Volumes, mounts, resource limits and security flags, checked inside and outside.
load engine_helpers

setup_file() { engine_setup_file; }
setup() { engine_setup; }
teardown() { engine_teardown; }

@test "-v named volume: data survives rm; in use cannot be removed; volume ls/inspect/prune" {
	h run --rm -v data:/data --rootfs "$RF" sh -c 'echo kept > /data/f'
	run h run --rm -v data:/data --rootfs "$RF" cat /data/f
	[ "$output" = kept ]
	[ "$(h volume inspect -f '{{.Name}} {{.Driver}}' data)" = "data local" ]
	[ "$(cat "$(h volume inspect -f '{{.Mountpoint}}' data)/f")" = kept ]
	h create --name user -v data:/data --rootfs "$RF" true >/dev/null
	run h volume rm data
	[ "$status" -eq 125 ]
	[[ "$output" == *"in use"* ]]
	h rm user
	h volume create --label k=v other
	run h volume ls -q
	[ "$output" = $'data\nother' ]
	run h volume ls --filter label=k=v --format '{{.Name}}'
	[ "$output" = other ]
	h volume rm data
	h volume prune -a -f >/dev/null
	[ -z "$(h volume ls -q)" ]
	run h volume inspect nope
	[ "$status" -eq 125 ]
}

@test "-v bind, :ro, :z ignored with a note, --mount bind/volume/tmpfs" {
	mkdir "$T/host"
	echo hostfile >"$T/host/in"
	run h run --rm -v "$T/host:/h" --rootfs "$RF" sh -c 'cat /h/in; echo out > /h/out'
	[ "$output" = hostfile ]
	[ "$(cat "$T/host/out")" = out ]
	run h run --rm -v "$T/host:/h:ro" --rootfs "$RF" touch /h/x
	[ "$status" -ne 0 ]
	run --separate-stderr h run --rm -v "$T/host:/h:z" --rootfs "$RF" cat /h/in
	[ "$output" = hostfile ]
	[[ "$stderr" == *":z ignored"* ]]
	run h run --rm --mount "type=bind,source=$T/host,target=/m,readonly" --mount type=volume,source=mv,target=/v --mount type=tmpfs,target=/t,tmpfs-size=1m --rootfs "$RF" sh -c 'cat /m/in; touch /v/ok && echo vol; grep " /t " /proc/mounts | grep -c size=1024k'
	[ "$output" = $'hostfile\nvol\n1' ]
	run h run --rm --mount "type=bind,source=$T/nope,target=/m" --rootfs "$RF" true
	[ "$status" -eq 125 ]
	[[ "$output" == *"$T/nope"* ]]
	# -v PATH alone: an anonymous volume, removed by rm -v.
	h run --name anon -v /anon --rootfs "$RF" true
	[ "$(h volume ls -q | wc -l)" -eq 2 ]
	h rm -v anon
	[ "$(h volume ls -q)" = mv ]
}

@test "--memory, --memory-swap, --cpus, --cpu-shares, --cpuset-cpus, --pids-limit in the cgroup" {
	id=$(h run -d --memory 64m --memory-swap 128m --cpus 0.5 --cpu-shares 512 --cpuset-cpus 0 --pids-limit 50 --rootfs "$RF" sleep 60)
	eventually status_is "$id" running
	# Inside (the container's cgroup namespace shows its own cgroup at the root).
	run h exec "$id" cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpuset/cpuset.cpus
	[ "$output" = $'67108864\n50\n50000\n512\n0' ]
	# Outside: the host's view of the same cgroup.
	mem=$(find /sys/fs/cgroup/memory -maxdepth 8 -type d -name "$id" | head -1)
	[ -n "$mem" ]
	[ "$(cat "$mem/memory.limit_in_bytes")" = 67108864 ]
	[ "$(cat "$mem/memory.memsw.limit_in_bytes" 2>/dev/null || echo 134217728)" = 134217728 ]
	# The limit is in force: a fork bomb stops at 50.
	run h exec "$id" sh -c 'for i in $(seq 1 80); do sleep 5 & done 2>/dev/null; echo spawned'
	[ "$(h exec "$id" sh -c 'ls /proc | grep -c "^[0-9]"' 2>/dev/null || echo 50)" -le 52 ]
	run h run --rm --memory-swap 10m --rootfs "$RF" true
	[ "$status" -eq 125 ]
}

@test "--ulimit; the default RLIMIT_NOFILE needs no CAP_SYS_RESOURCE" {
	run h run --rm --rootfs "$RF" sh -c 'ulimit -n'
	[ "$output" = "$(ulimit -Hn)" ]
	run h run --rm --ulimit nofile=100:200 --ulimit nproc=500 --rootfs "$RF" sh -c 'ulimit -n; ulimit -Hn; ulimit -u'
	[ "$output" = $'100\n200\n500' ]
	run h run --rm --ulimit bogus=1 --rootfs "$RF" true
	[ "$status" -eq 125 ]
}

@test "capabilities: Docker's default set, --cap-add/--cap-drop, --privileged" {
	capeff() { h run --rm "$@" --rootfs "$RF" sh -c 'grep CapEff /proc/self/status | cut -f2'; }
	# Docker's default set is 0x a80425fb.
	[ "$(capeff)" = 00000000a80425fb ]
	[ "$(capeff --cap-drop CHOWN)" = 00000000a80425fa ]
	[ "$(capeff --cap-add NET_ADMIN)" = 00000000a80435fb ]
	[ "$(capeff --cap-drop ALL)" = 0000000000000000 ]
	run capeff --privileged
	[ "$output" != 00000000a80425fb ]
	run h run --rm --cap-add BOGUS --rootfs "$RF" true
	[ "$status" -eq 125 ]
}

@test "security: seccomp default and unconfined, no-new-privileges, masked paths, --device" {
	field() { h run --rm "${@:2}" --rootfs "$RF" sh -c "grep '^$1:' /proc/self/status | cut -f2"; }
	[ "$(field Seccomp)" = 2 ]
	[ "$(field Seccomp --security-opt seccomp=unconfined)" = 0 ]
	[ "$(field NoNewPrivs)" = 0 ]
	[ "$(field NoNewPrivs --security-opt no-new-privileges)" = 1 ]
	run h run --rm --rootfs "$RF" sh -c 'cat /proc/timer_list | wc -c; echo x > /proc/sys/kernel/domainname'
	[ "$status" -ne 0 ]
	[[ "${lines[0]}" == 0 ]]
	run h run --rm --device /dev/null:/dev/mynull --rootfs "$RF" sh -c 'echo hi > /dev/mynull && echo ok'
	[ "$output" = ok ]
	run h run --rm --security-opt bogus --rootfs "$RF" true
	[ "$status" -eq 125 ]
	echo '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}' >"$T/profile.json"
	run h run --rm --security-opt "seccomp=$T/profile.json" --rootfs "$RF" mkdir /tmp/d
	[ "$status" -ne 0 ]
}
