#!/usr/bin/env bats
# Many husk processes at once on one store, and crashes at chosen points: the store stays
# consistent, `ps` tells the truth, `rm -f` cleans everything.
load engine_helpers

setup_file() { engine_setup_file; }
setup() { engine_setup; }
teardown() { engine_teardown; }

@test "50 parallel run -d, then ps, stop, rm: nothing lost, nothing left" {
	for i in $(seq 1 50); do
		"${H[@]}" run -d --name "c$i" --label batch=1 --rootfs "$RF" sleep 60 >"$T/id.$i" 2>"$T/err.$i" &
	done
	wait
	cat "$T"/err.* >&2
	[ "$(cat "$T"/id.* | sort -u | wc -l)" -eq 50 ]
	[ "$(h ps -q | wc -l)" -eq 50 ]
	[ "$(h ps --filter label=batch=1 --format '{{.Names}}' | sort -u | wc -l)" -eq 50 ]
	ids=$(h ps -q --no-trunc)
	h stop -t 0 $ids >/dev/null
	[ -z "$(h ps -q)" ]
	[ "$(h ps -aq | wc -l)" -eq 50 ]
	h rm $ids >/dev/null
	[ -z "$(h ps -aq)" ]
	[ -z "$(ls "$T/root/containers")" ]
	[ -z "$(ls "$T/root/container-names")" ]
	for id in $ids; do
		! find /sys/fs/cgroup/memory /sys/fs/cgroup/pids -maxdepth 8 -name "$id" | grep -q .
	done
}

@test "parallel runs racing for one name: exactly one wins" {
	for i in $(seq 1 10); do
		"${H[@]}" create --name same --rootfs "$RF" true >/dev/null 2>&1 &
	done
	wait
	[ "$(h ps -aq | wc -l)" -eq 1 ]
}

@test "kill -9 of the monitor: ps tells the truth, rm -f cleans up" {
	h run -d --name mm --rootfs "$RF" sleep 60 >/dev/null
	eventually status_is mm running
	dir="$T/root/containers/$(h inspect -f '{{.Id}}' mm)"
	mon=$(jq -r .monitor_pid "$dir/state.json")
	kill -9 "$mon"
	# The container outlives its monitor (nobody's child now): still running.
	[ "$(h inspect -f '{{.State.Status}}' mm)" = running ]
	h rm -f mm
	[ -z "$(h ps -aq)" ]
	# A monitor killed after the container exited: exited, with an error saying so.
	h run -d --name m2 --rootfs "$RF" sleep 0.5 >/dev/null
	eventually status_is m2 running
	dir="$T/root/containers/$(h inspect -f '{{.Id}}' m2)"
	kill -9 "$(jq -r .monitor_pid "$dir/state.json")"
	eventually status_is m2 exited
	[[ "$(h inspect -f '{{.State.Error}}' m2)" == *"monitor died"* ]]
	h rm m2
}

@test "kill -9 of a foreground run client: the container runs on, its exit is recorded" {
	"${H[@]}" run --name fg --rootfs "$RF" sh -c 'sleep 1; exit 6' >/dev/null 2>&1 &
	client=$!
	eventually status_is fg running
	kill -9 "$client"
	wait "$client" || true
	[ "$(h inspect -f '{{.State.Status}}' fg)" = running ]
	run h wait fg
	[ "$output" = 6 ]
}

@test "kill -9 of run at chosen points: a half-made container is visible and removable" {
	# Between the record and the monitor: a stopped client leaves a created container.
	"${H[@]}" create --name half --rootfs "$RF" true >/dev/null
	[ "$(h ps -a --format '{{.Names}} {{.State}}')" = "half created" ]
	# A record dir without its bundle (create killed half-way) is still listed and removed.
	id=$(h inspect -f '{{.Id}}' half)
	rm -rf "$T/root/containers/$id/bundle"
	run h start half
	[ "$status" -eq 125 ]
	h rm -f half
	[ -z "$(h ps -aq)" ]
	# Many clients killed at random instants while starting.
	for i in $(seq 1 8); do
		"${H[@]}" run -d --rootfs "$RF" sleep 30 >/dev/null 2>&1 &
		pid=$!
		sleep "0.0$i"
		kill -9 "$pid" 2>/dev/null || true
	done
	wait || true
	sleep 0.5
	# Whatever exists is reported consistently and goes with rm -f.
	for id in $(h ps -aq --no-trunc); do
		st=$(h inspect -f '{{.State.Status}}' "$id")
		[[ "$st" == running || "$st" == created || "$st" == exited ]]
	done
	ids=$(h ps -aq --no-trunc)
	[ -z "$ids" ] || h rm -f $ids >/dev/null
	[ -z "$(h ps -aq)" ]
	# A create killed before its record was complete left a directory: prune takes it.
	h container prune -f >/dev/null
	[ -z "$(ls "$T/root/containers")" ]
}
