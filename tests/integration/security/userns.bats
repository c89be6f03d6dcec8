#!/usr/bin/env bats
# User namespaces: the container's root is an unprivileged uid on the host, which the host
# sees in /proc/<pid>/status and in the owner of the files the container makes.

load ../helpers
load security-helpers

setup() {
	common_setup
	HOST_BASE=100000
}
teardown() { common_teardown; }

# userns_rootfs: a private rootfs copy owned by the mapped root, and the id maps.
userns_rootfs() {
	# The mapped root must be able to reach its rootfs: every directory on the way.
	chmod 0755 "$TEST_TMP"
	writable_rootfs
	chown -R "$HOST_BASE:$HOST_BASE" "$ROOTFS"
	update_config '.linux.namespaces += [{type: "user"}]
		| .linux.uidMappings = [{containerID: 0, hostID: $b, size: 65536}]
		| .linux.gidMappings = [{containerID: 0, hostID: $b, size: 65536}]' \
		--argjson b "$HOST_BASE"
}

@test "user namespace: container root is uid 100000 on the host" {
	userns_rootfs
	bind_out
	mkdir "$TEST_TMP/rootonly" # 0755 root:root on the host
	add_mount /rootonly bind "$TEST_TMP/rootonly" '["rbind","rw"]'
	set_cmd 'id -u > /out/id; cat /proc/self/uid_map > /out/uid_map; touch /made-inside /out/made-out
		touch /rootonly/x 2>/out/rootonly.err || echo refused > /out/rootonly
		exec sleep 1000'
	rtd run --detach --bundle "$BUNDLE" "$ID"
	assert_success
	wait_for_file "$OUT/rootonly"
	local pid
	pid=$(state_field pid)
	[[ -n "$pid" && "$pid" != null ]] || fail "no pid"
	# From the host: the process runs as the mapped uid/gid, not as root.
	run grep -E '^(Uid|Gid):' "/proc/$pid/status"
	assert_contains "$output" $'Uid:\t100000\t100000\t100000\t100000'
	assert_contains "$output" $'Gid:\t100000\t100000\t100000\t100000'
	# Inside: root, with the map the config asked for.
	assert_equal "$(cat "$OUT/id")" 0 "uid inside"
	assert_match "$(cat "$OUT/uid_map")" '^ *0 +100000 +65536$'
	# Files it makes belong to the mapped uid on the host.
	assert_equal "$(stat -c %u:%g "$ROOTFS/made-inside")" 100000:100000 "owner in the rootfs"
	assert_equal "$(stat -c %u:%g "$OUT/made-out")" 100000:100000 "owner in a bind mount"
	# A host directory of the real root stays out of its reach.
	assert_equal "$(cat "$OUT/rootonly")" refused
	[[ ! -e "$TEST_TMP/rootonly/x" ]] || fail "container root wrote into a host root directory"
	rt delete --force "$ID"
}

@test "user namespace: devices are bind-mounted from the host and work" {
	userns_rootfs
	set_cmd 'stat -c "%n %F %t:%T" /dev/null /dev/zero; echo x > /dev/null && echo null-ok
		grep -c " /dev/null " /proc/self/mountinfo'
	run_ct
	assert_success
	assert_contains "$output" "/dev/null character special file 1:3"
	assert_contains "$output" "/dev/zero character special file 1:5"
	assert_contains "$output" null-ok
}

@test "user namespace: a non-root user with supplementary groups (setgroups allowed for a root runtime)" {
	userns_rootfs
	update_config '.process.user = {uid: 1000, gid: 1000, additionalGids: [1001, 1002]}'
	set_cmd 'grep -E "^(Uid|Gid|Groups):" /proc/self/status; exec sleep 1000'
	bind_out
	set_cmd 'grep -E "^(Uid|Gid|Groups):" /proc/self/status > /out/status; exec sleep 1000'
	rtd run --detach --bundle "$BUNDLE" "$ID"
	assert_success
	wait_for_file "$OUT/status"
	run cat "$OUT/status"
	assert_contains "$output" $'Uid:\t1000\t1000\t1000\t1000'
	local groups pid
	groups=$(grep '^Groups:' "$OUT/status" | cut -f2 | xargs)
	assert_equal "$groups" "1001 1002" "groups inside"
	pid=$(state_field pid)
	run grep -E '^(Uid|Groups):' "/proc/$pid/status"
	assert_contains "$output" $'Uid:\t101000\t101000\t101000\t101000'
	assert_equal "$(grep '^Groups:' <<<"$output" | cut -f2 | xargs)" "101001 101002" "groups on the host"
	rt delete --force "$ID"
}

@test "user namespace: a uid the map lacks is refused with an error naming the field" {
	userns_rootfs
	update_config '.linux.uidMappings = [{containerID: 1, hostID: 100001, size: 100}]'
	set_args true
	run_ct
	assert_failure
	assert_names_field "$stderr" "linux.uidMappings"
}

@test "idmap with the container's own maps: host-root files are the container root's, both ways" {
	userns_rootfs
	mkdir -p "$TEST_TMP/shared"
	echo hello >"$TEST_TMP/shared/file" # owned by the host's root
	add_mount /idmapped bind "$TEST_TMP/shared" '["rbind","idmap"]'
	add_mount /plain bind "$TEST_TMP/shared" '["rbind"]'
	set_cmd 'stat -c "idmapped %u:%g" /idmapped/file; stat -c "plain %u:%g" /plain/file
		echo new > /idmapped/new && echo wrote; echo x >> /plain/file 2>/dev/null || echo plain-refused'
	run_ct
	assert_success
	assert_contains "$output" "idmapped 0:0"
	assert_contains "$output" "plain 65534:65534"
	assert_contains "$output" wrote
	assert_contains "$output" plain-refused
	assert_equal "$(stat -c %u:%g "$TEST_TMP/shared/new")" 0:0 "owner on the host of a file written through the idmapped mount"
	assert_equal "$(cat "$TEST_TMP/shared/file")" hello
}

@test "idmap with mounts[].uidMappings/gidMappings: a host uid becomes the container's root" {
	userns_rootfs
	mkdir -p "$TEST_TMP/owned"
	echo data >"$TEST_TMP/owned/file"
	chown -R 1000:1000 "$TEST_TMP/owned"
	# On-disk 1000 is shown as host 100000, which is root in the container.
	update_config '.mounts += [{destination: "/owned", type: "bind", source: $s, options: ["rbind", "ridmap"],
		uidMappings: [{containerID: 1000, hostID: 100000, size: 1}],
		gidMappings: [{containerID: 1000, hostID: 100000, size: 1}]}]' --arg s "$TEST_TMP/owned"
	set_cmd 'stat -c "%u:%g" /owned/file; touch /owned/made && echo wrote'
	run_ct
	assert_success
	assert_contains "$output" "0:0"
	assert_contains "$output" wrote
	assert_equal "$(stat -c %u:%g "$TEST_TMP/owned/made")" 1000:1000 "owner on the host"
}

@test "idmap is refused on a non-bind mount and without maps to take" {
	userns_rootfs
	add_mount /t tmpfs tmpfs '["idmap"]'
	set_args true
	run_ct
	assert_failure
	assert_names_field "$stderr" "mounts["
	assert_names_field "$stderr" "idmapped mounts must be binds"
}

@test "a new user namespace can be combined with joining a host-owned network namespace by path" {
	userns_rootfs
	make_netns
	update_config '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
		--arg p "/run/netns/$HOST_NETNS"
	set_cmd 'readlink /proc/self/ns/net; cat /proc/self/uid_map'
	run_ct
	assert_success
	local want
	want=$(ip netns exec "$HOST_NETNS" readlink /proc/self/ns/net)
	assert_contains "$output" "$want"
	assert_match "$(sed -n 2p <<<"$output")" '^ *0 +100000 +65536$'
}
