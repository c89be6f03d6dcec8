#!/usr/bin/env bats
# The husk engine as an unprivileged user created for this file (with /etc/subuid and
# /etc/subgid ranges): load, run, exec, logs, volumes, checked from the host; and what such a
# user must not reach through husk.

load rootless

setup_file() {
	rootless_user_setup
	uh load -i "$RL_TAR" >/dev/null
}
teardown_file() { rootless_user_teardown; }

teardown() {
	local ids
	ids=$(uh ps -aq --no-trunc 2>/dev/null || true)
	[[ -z "$ids" ]] || uh rm -f $ids >/dev/null 2>&1 || true
}

@test "defaults: storage under XDG_DATA_HOME (~/.local/share/husk), state under XDG_RUNTIME_DIR" {
	[[ -d "$RL_HOME/.local/share/husk/layers" ]] || fail "no store in ~/.local/share/husk"
	[[ -f "$RL_RUN/husk/userns.pid" ]] || fail "no user namespace holder recorded"
	# The store belongs to the user on the host, and is nobody else's business.
	assert_equal "$(stat -c %U "$RL_HOME/.local/share/husk")" "$RL_USER"
	run uh images --format json
	assert_success
	assert_contains "$output" busybox
}

@test "run: root inside is the user outside (read from /proc/PID/status on the host)" {
	run uh run -d --name top busybox sleep 60
	assert_success
	local pid
	pid=$(uh inspect -f '{{.State.Pid}}' top)
	[[ "$pid" =~ ^[1-9][0-9]*$ ]] || fail "no pid: $pid"
	assert_equal "$(host_ids "$pid" Uid)" "$RL_UID" "host uid of the container's root"
	run uh run --rm busybox sh -c 'id -u; cat /proc/self/uid_map'
	assert_success
	assert_equal "$(sed -n 1p <<<"$output")" 0 "uid inside"
	assert_match "$output" "0 +$RL_UID +1"
	assert_match "$output" "1 +$RL_SUBUID +65536"
}

@test "run --user 1000: a subordinate id on the host, never root" {
	run uh run -d --name sub --user 1000:1000 busybox sleep 60
	assert_success
	local pid
	pid=$(uh inspect -f '{{.State.Pid}}' sub)
	assert_equal "$(host_ids "$pid" Uid)" "$((RL_SUBUID + 999))"
	assert_equal "$(host_ids "$pid" Gid)" "$((RL_SUBUID + 999))"
}

@test "exec and logs" {
	run uh run -d --name svc busybox sh -c 'echo hello-from-rootless; exec sleep 60'
	assert_success
	run uh exec svc sh -c 'echo exec-ok; id -u'
	assert_success
	assert_contains "$output" exec-ok
	for _ in $(seq 50); do uh logs svc 2>/dev/null | grep -q hello && break; sleep 0.1; done
	run uh logs svc
	assert_contains "$output" hello-from-rootless
}

@test "volumes: files the container's root makes are the user's on the host" {
	mkdir -p "$RL_HOME/vol"
	chown "$RL_UID:$RL_GID" "$RL_HOME/vol"
	run uh run --rm -v "$RL_HOME/vol:/data" busybox sh -c 'echo x > /data/made; mkdir /data/d'
	assert_success
	assert_equal "$(stat -c %u:%g "$RL_HOME/vol/made")" "$RL_UID:$RL_GID" "owner of a file in a bind volume"
	run uh volume create named
	assert_success
	run uh run --rm -v named:/data busybox sh -c 'echo y > /data/f'
	assert_success
	local f
	f=$(find "$RL_HOME/.local/share/husk/volumes" -name f -path '*named*')
	[[ -n "$f" ]] || fail "no file in the named volume"
	assert_equal "$(stat -c %u "$f")" "$RL_UID" "owner of a file in a named volume"
}

@test "image files owned by root in the image are the user's on the host, others subordinate ids" {
	local layers="$RL_HOME/.local/share/husk/layers"
	run find "$layers" -maxdepth 2 -name bin
	assert_success
	local bin
	bin=$(head -1 <<<"$output")
	assert_equal "$(stat -c %u "$bin")" "$RL_UID" "host owner of the image's root-owned /bin"
}

@test "security: /etc/shadow bound into a container can be neither read nor written" {
	local before
	before=$(sha256sum /etc/shadow)
	run uh run --rm -v /etc/shadow:/s busybox sh -c 'test -f /s && echo PRESENT; cat /s && echo READ; echo x >> /s && echo WROTE'
	# The bind itself is made (a mount is no privilege); the file stays root's.
	assert_contains "$output" PRESENT
	assert_contains "$output" "Permission denied"
	assert_not_contains "$output" READ
	assert_not_contains "$output" WROTE
	assert_equal "$(sha256sum /etc/shadow)" "$before" "/etc/shadow unchanged"
}

@test "security: a root-only directory bound into a container stays out of reach" {
	local secret="$RL_DIR/rootonly"
	mkdir -m 0700 "$secret"
	echo secret >"$secret/file"
	run uh run --rm -v "$secret:/d" busybox sh -c 'test -d /d && echo PRESENT; ls /d && echo LISTED; cat /d/file && echo READ; touch /d/new && echo WROTE'
	assert_contains "$output" PRESENT
	assert_not_contains "$output" LISTED
	assert_not_contains "$output" READ
	assert_not_contains "$output" WROTE
	[[ ! -e "$secret/new" ]] || fail "the container wrote into a root-only directory"
}

@test "security: root's storage dir cannot be used with --root" {
	local store="$RL_DIR/root-store"
	mkdir -m 0700 "$store"
	before=$(ls -la "$store")
	run uh --root "$store" images
	assert_failure
	assert_contains "$output" "Permission denied"
	run uh --root "$store" run --rm busybox true
	assert_failure
	assert_equal "$(ls -la "$store")" "$before" "root's store unchanged"
}

@test "limits: refused on this host with the reason, nothing left" {
	run uh run --rm --memory 64m busybox true
	assert_failure
	assert_contains "$output" "rootless"
	assert_contains "$output" "cgroup"
	run uh ps -aq
	assert_equal "$output" "" "containers left"
}

@test "--userns=keep-id: the user's uid inside is the user on the host, and so are its files" {
	mkdir -p "$RL_HOME/keep"
	chown "$RL_UID:$RL_GID" "$RL_HOME/keep"
	run uh run -d --name keep --userns=keep-id -v "$RL_HOME/keep:/data" busybox sh -c 'id -u > /data/id; touch /data/made; exec sleep 60'
	assert_success
	local i
	for i in $(seq 50); do [[ -s "$RL_HOME/keep/id" ]] && break; sleep 0.1; done
	assert_equal "$(cat "$RL_HOME/keep/id")" "$RL_UID" "uid inside"
	assert_equal "$(stat -c %u "$RL_HOME/keep/made")" "$RL_UID" "host owner of a file it made"
	local pid
	pid=$(uh inspect -f '{{.State.Pid}}' keep)
	assert_equal "$(host_ids "$pid" Uid)" "$RL_UID" "host uid of the process"
}

@test "--userns=keep-id is refused for root and unknown modes are named" {
	run uh run --rm --userns=private busybox true
	assert_failure
	assert_contains "$output" '--userns "private"'
	run "$HUSK" --root "$RL_DIR/rootful" --runroot "$RL_DIR/rootful-run" run --rm --userns=keep-id --rootfs "$HUSK_BUSYBOX_BUNDLE/rootfs" true
	assert_failure
	assert_contains "$output" "--userns keep-id: for rootless husk only"
}
