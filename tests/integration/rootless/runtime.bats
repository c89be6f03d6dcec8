#!/usr/bin/env bats
# husk-runtime run by an unprivileged user: `spec --rootless`, the user's own id mapped,
# ranges from /etc/subuid written by newuidmap, the errors for what is missing, and no
# cgroups on this host (explicit limits refused with the reason).

load rootless

setup_file() { rootless_user_setup; }
teardown_file() { rootless_user_teardown; }

setup() {
	B="$RL_HOME/bundle-$BATS_TEST_NUMBER"
	mkdir -p "$B"
	cp -a "$HUSK_BUSYBOX_BUNDLE/rootfs" "$B/rootfs"
	chown -R "$RL_UID:$RL_GID" "$B"
	as_user husk-runtime spec --rootless --bundle "$B"
	ID="rl$BATS_TEST_NUMBER"
}

teardown() {
	as_user husk-runtime delete --force "$ID" >/dev/null 2>&1 || true
	rm -rf "$B"
}

cfg() { # JQ [ARGS...]: edits the bundle's config.json (as root, then gives it back)
	local f="$B/config.json"
	jq "$@" "$f" >"$f.new" && mv "$f.new" "$f" && chown "$RL_UID:$RL_GID" "$f"
}

@test "spec --rootless: a user namespace mapping the caller, no network namespace, /sys bound" {
	run jq -c '[.linux.uidMappings, .linux.gidMappings, [.linux.namespaces[].type]]' "$B/config.json"
	assert_success
	assert_equal "$output" "[[{\"containerID\":0,\"hostID\":$RL_UID,\"size\":1}],[{\"containerID\":0,\"hostID\":$RL_GID,\"size\":1}],[\"pid\",\"ipc\",\"uts\",\"mount\",\"cgroup\",\"user\"]]"
	run jq -r '.mounts[] | select(.destination == "/sys") | .type + " " + (.options | join(","))' "$B/config.json"
	assert_contains "$output" "rbind"
}

@test "run as the user: root inside, the user outside, state under XDG_RUNTIME_DIR" {
	cfg '.process.args = ["sh", "-c", "id -u; cat /proc/self/uid_map; exec sleep 60"]'
	as_user husk-runtime run --detach --bundle "$B" "$ID" >"$RL_DIR/out.$ID" 2>&1
	# The default --root of an unprivileged caller.
	[[ -d "$RL_RUN/husk-runtime/$ID" ]] || fail "no state in $RL_RUN/husk-runtime"
	local pid
	pid=$(as_user husk-runtime state "$ID" | jq -r .pid)
	[[ "$pid" =~ ^[0-9]+$ ]] || fail "no pid"
	# From the host: the container's root is the user, not root.
	assert_equal "$(host_ids "$pid" Uid)" "$RL_UID" "host uid of the container's root"
	assert_equal "$(host_ids "$pid" Gid)" "$RL_GID" "host gid of the container's root"
	# No cgroup was made for it anywhere.
	run grep -c "$ID" "/proc/$pid/cgroup"
	assert_equal "$output" 0 "cgroup lines naming the container"
	as_user husk-runtime kill "$ID" KILL
	for _ in $(seq 50); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
	run cat "$RL_DIR/out.$ID"
	assert_contains "$output" "0"
	assert_match "$output" "0 +$RL_UID +1"
}

@test "a range from /etc/subuid is written by newuidmap: uid 1000 inside is SUBUID+999 outside" {
	cfg --argjson u "$RL_UID" --argjson g "$RL_GID" --argjson s "$RL_SUBUID" '
		.linux.uidMappings = [{containerID: 0, hostID: $u, size: 1}, {containerID: 1, hostID: $s, size: 65536}]
		| .linux.gidMappings = [{containerID: 0, hostID: $g, size: 1}, {containerID: 1, hostID: $s, size: 65536}]
		| .process.user = {uid: 1000, gid: 1000} | .process.args = ["sleep", "60"]'
	# Not through `run`: the detached container would hold its output pipe open.
	as_user husk-runtime run --detach --bundle "$B" "$ID" >"$RL_DIR/out.$ID" 2>&1
	local pid
	pid=$(as_user husk-runtime state "$ID" | jq -r .pid)
	assert_equal "$(host_ids "$pid" Uid)" "$((RL_SUBUID + 999))" "host uid of container uid 1000"
	assert_equal "$(host_ids "$pid" Gid)" "$((RL_SUBUID + 999))" "host gid of container gid 1000"
	run cat "/proc/$pid/uid_map"
	assert_match "$output" "1 +$RL_SUBUID +65536"
}

@test "a range the user does not own is refused by newuidmap, the error names /etc/subuid" {
	cfg --argjson u "$RL_UID" '.linux.uidMappings = [{containerID: 0, hostID: $u, size: 1}, {containerID: 1, hostID: 10000, size: 100}]
		| .process.args = ["true"]'
	run as_user husk-runtime run --bundle "$B" "$ID"
	assert_failure
	assert_contains "$output" "linux.uidMappings"
	assert_contains "$output" "newuidmap"
	assert_contains "$output" "/etc/subuid"
	# Nothing left: no state dir for the id.
	[[ ! -e "$RL_RUN/husk-runtime/$ID" ]] || fail "state left behind"
}

@test "a user without a range: the error says which file lacks it and how to add one" {
	cp /etc/subuid "$RL_DIR/subuid.saved"
	sed -i "/^$RL_USER:/d" /etc/subuid
	cfg --argjson u "$RL_UID" --argjson s "$RL_SUBUID" '.linux.uidMappings += [{containerID: 1, hostID: $s, size: 10}]
		| .process.args = ["true"]'
	run as_user husk-runtime run --bundle "$B" "$ID"
	cp "$RL_DIR/subuid.saved" /etc/subuid
	assert_failure
	assert_contains "$output" "linux.uidMappings"
	assert_contains "$output" "range for user $RL_USER in /etc/subuid"
	assert_contains "$output" "usermod --add-subuids"
}

@test "limits are refused on this host's cgroup layout, with the reason, and nothing is left" {
	cfg '.linux.resources = {memory: {limit: 67108864}} | .process.args = ["true"]'
	run as_user husk-runtime run --bundle "$B" "$ID"
	assert_failure
	assert_contains "$output" "linux.resources: rootless"
	assert_contains "$output" "delegated cgroup v2"
	[[ ! -e "$RL_RUN/husk-runtime/$ID" ]] || fail "state left behind"
}

@test "--rootless takes auto, true, false and nothing else" {
	run as_user husk-runtime --rootless maybe list
	assert_failure
	assert_contains "$output" '--rootless: "maybe" is not one of auto, true, false'
	run as_user husk-runtime --rootless true list
	assert_success
}

@test "the /tmp fallback for the state dir is refused when another user owns it" {
	local fake="/tmp/husk-runtime-$RL_UID"
	[[ ! -e "$fake" ]] || skip "$fake exists"
	mkdir -m 0700 "$fake" # root's: planted by someone else
	RL_ENV="XDG_RUNTIME_DIR=" run as_user env -u XDG_RUNTIME_DIR husk-runtime list
	rmdir "$fake"
	assert_failure
	assert_contains "$output" "$fake belongs to uid 0, not to you"
}
