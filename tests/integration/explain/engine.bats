#!/usr/bin/env bats
# `husk explain CONTAINER`: an engine container as the kernel has it, with the host side of
# its network (veth, bridge, nft rules, published ports) read live from the host.

load ../helpers

setup() {
	common_setup
	S="$TEST_TMP/store"
	RF="$TEST_TMP/rootfs"
	cp -a "$SHARED_ROOTFS" "$RF"
	mkdir -p "$RF/www" "$TEST_TMP/data"
	echo explained >"$RF/www/index.html"
	echo from-host >"$TEST_TMP/data/f"
}

teardown() {
	local ids
	ids=$(hk ps -aq --no-trunc 2>/dev/null || true)
	[ -n "$ids" ] && hk rm -f $ids >/dev/null 2>&1
	remove_store_networks "$S" "$S/run"
	common_teardown
}

hk() { "$HUSK" --root "$S" --runroot "$S/run" "$@"; }

explain_json() { REPORT=$(hk explain --json "$1") || fail "husk explain --json $1 failed"; }
jr() { jq -r "$@" <<<"$REPORT"; }
findings() { jr --arg a "$1" '.findings[] | select(.area == $a) | .message'; }

@test "limits, capabilities, a bind mount, a published port and a joined netns, as the kernel has them" {
	hk run -d --name web --memory 64m --pids-limit 30 --cap-drop NET_RAW \
		-v "$TEST_TMP/data:/data:ro" -p 127.0.0.1:18400:80 --rootfs "$RF" \
		httpd -f -p 80 -h /www >/dev/null
	hk run -d --name side --network container:web --rootfs "$RF" sleep 600 >/dev/null
	explain_json web
	assert_equal "$(jr .cgroup.summary.memory.limit)" 67108864 "memory limit"
	assert_equal "$(jr .cgroup.summary.pids.limit)" 30 "pids limit"
	assert_equal "$(cat "$(jr .cgroup.summary.memory.limit_file)")" 67108864
	assert_not_contains "$(jr '.security.capabilities.bounding | join(",")')" "CAP_NET_RAW"
	assert_contains "$(jr '.security.capabilities.bounding | join(",")')" "CAP_NET_BIND_SERVICE"
	# The bind mount, read-only, from where it comes.
	assert_equal "$(jr '[.mounts[] | select(.mount_point == "/data")][0].read_only')" true
	assert_equal "$(jr '[.mounts[] | select(.mount_point == "/data")][0].host_path')" "$TEST_TMP/data"
	# /etc/hosts is the container's own file, from its directory in the store.
	assert_equal "$(jr '[.mounts[] | select(.mount_point == "/etc/hosts")][0].host_path')" \
		"$S/containers/$(hk inspect -f '{{.Id}}' web)/hosts"
	# The host side: the veth is up and a port of the network's bridge; the DNAT rule of the
	# published port is in husk's table, tagged with the container's id.
	local id ip
	id=$(hk inspect -f '{{.Id}}' web)
	ip=$(hk inspect -f '{{.NetworkSettings.IPAddress}}' web)
	assert_equal "$(jr '.host.networks[0].network')" bridge
	assert_equal "$(jr '.host.networks[0].ip')" "$ip"
	assert_equal "$(jr '.host.networks[0].veth.state')" up
	assert_equal "$(jr '.host.networks[0].veth.bridge')" "$(hk network inspect bridge | jq -r '.[0].bridge')"
	assert_equal "$(jr '.host.networks[0].published_ports[0]')" "127.0.0.1:18400->80/tcp"
	assert_contains "$(jr '.host.networks[0].nft_rules | join("\n")')" "dnat ip to $ip:80 comment \"$id\""
	# Inside: eth0 with that address.
	assert_contains "$(jr '.network | tostring')" "$ip"
	# The joined namespace is shared on purpose: named, and not a finding.
	assert_equal "$(jr '.namespaces[] | select(.type == "net") | .shared_with | join(",")')" side
	assert_equal "$(jr '.findings | length')" 0 "findings: $(jr '.findings')"
	explain_json side
	assert_contains "$(jr '.namespaces[] | select(.type == "net") | .config')" "join /proc/"
	# The terminal form names the same things.
	run hk explain web
	assert_success
	assert_contains "$output" "published 127.0.0.1:18400->80/tcp"
	assert_contains "$output" "dnat ip to $ip:80"
}

@test "a limit changed and a firewall table removed behind husk's back are flagged; prune repairs the rules" {
	hk run -d --name web --memory 64m -p 127.0.0.1:18401:80 --rootfs "$RF" httpd -f -p 80 -h /www >/dev/null
	explain_json web
	local mem table
	mem=$(jr .cgroup.summary.memory.limit_file)
	echo 33554432 >"$mem"
	table=$(jr .host.nft_table)
	nft delete table $table
	explain_json web
	assert_equal "$(jr .cgroup.summary.memory.limit)" 33554432
	assert_contains "$(findings cgroup)" "the config asks 67108864, $mem holds 33554432"
	assert_contains "$(findings network)" "published port 127.0.0.1:18401->80/tcp has no DNAT rule in $table"
	run timeout 3 busybox wget -q -O - http://127.0.0.1:18401/
	assert_failure
	# The table is a function of the store: prune writes it again.
	hk network prune >/dev/null
	explain_json web
	assert_equal "$(findings network)" ""
	run timeout 3 busybox wget -q -O - http://127.0.0.1:18401/
	assert_equal "$output" explained
}

@test "explain of a stopped or unknown container says why" {
	hk create --name idle --rootfs "$RF" true >/dev/null
	run hk explain idle
	assert_status 125
	assert_contains "$output" "explain idle: the container is created (no process to read from)"
	run hk explain nosuch
	assert_status 125
	assert_contains "$output" "nosuch"
}

@test "husk run --debug: the build trace with the network attach, and the container's output apart" {
	run --separate-stderr hk run --rm --debug -p 127.0.0.1::80 --rootfs "$RF" echo hello
	assert_success
	assert_equal "$output" "hello"
	local step
	for step in "parse config.json" clone3 pivot_root "load seccomp" "network attach" start; do
		assert_contains "$stderr" "$step"
	done
	# One timeline from husk's main: the engine's own steps come first, then the runtime's
	# and the init's.
	local who
	for who in "husk +rootfs" "husk +OCI config" "husk +record, name" "runtime +clone3" "init +pivot_root"; do
		assert_match "$stderr" "$who"
	done
	assert_match "$stderr" "trace: total [0-9.]+ ms wall .* steps cover [0-9.]+ ms"
	# Without --debug there is no trace.
	run --separate-stderr hk run --rm --rootfs "$RF" echo quiet
	assert_equal "$stderr" ""
}
