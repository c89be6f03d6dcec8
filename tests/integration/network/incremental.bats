#!/usr/bin/env bats
# The incremental firewall (docs/networking.md "Firewall model"): attach and detach add and
# delete only the container's own rules in its network's chains, never rewrite the table
# (its handle stays the same); the rebuild path (prune, the next attach after the table was
# lost) puts back exactly what the store says. husk-net leaves the veth deletion to a child
# that holds the store lock until it is done: no veth outlives that.
#
# Own ranges so the file can run beside the others: containers 10.216.0.0/16, the outside
# host 100.72.5.0/24, the attacker 100.72.6.0/24, host ports 18700-18719.

load net_helpers

NET_RANGES="100.72.5.0/24 100.72.6.0/24 10.216.0.0/16"
NET_ADDR_RE=" 10\.216\."

setup() {
	net_setup
	HUSK_NET="$(dirname "$HUSK")/husk-net"
	[ -x "$HUSK_NET" ] || fail "no husk-net next to $HUSK"
}
teardown() { net_teardown; }

# The handle nft gives the store's table: a rebuild (delete + create) changes it.
table_handle() { nft -a list table inet "$TABLE" | sed -n '1s/.*# handle \([0-9]*\)$/\1/p'; }
rules() { nft list table inet "$TABLE"; }
# Waits for husk-net's background child: it holds the store lock until its work is done.
settled() { flock "$NROOT/networks/.lock" true; }

@test "incremental: attach/detach change only the container's rules; the others stay in force" {
	make_host out 100.72.5
	make_host atk 100.72.6
	in_host atk ip route add 10.216.1.0/24 via 100.72.6.1
	in_host atk ip route del local 127.0.0.0/8 dev lo table local
	in_host atk ip route del local 127.0.0.1 dev lo table local
	in_host atk sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.eth0.route_localnet=1
	in_host atk ip route add 127.0.0.0/8 via 100.72.6.1 dev eth0
	husk network create --subnet 10.216.1.0/24 inc >/dev/null
	store_names
	local handle
	handle=$(table_handle)
	[[ $handle =~ ^[0-9]+$ ]] || fail "no handle for table inet $TABLE after create: '$handle'"

	start_container a 'exec httpd -f -p 80 -h /www'
	start_container b 'httpd -p 80 -h /www; exec httpd -f -p 8080 -h /www'
	start_container c 'exec httpd -f -p 80 -h /www'
	start_container local 'exec httpd -f -p 80 -h /www'
	attach a inc -p 18700:80
	attach b inc -p 100.72.5.1:18701:80
	attach local inc -p 127.0.0.1:18702:80
	# A container without ports: no rule at all, and still no table rewrite.
	attach c inc
	assert_equal "$(table_handle)" "$handle" "table handle after four attaches"
	run rules
	assert_contains "$output" "dport 18700 dnat ip to $(cip a):80 comment \"${ID}-a\""
	assert_contains "$output" "ip daddr 100.72.5.1 tcp dport 18701 dnat ip to $(cip b):80"
	assert_contains "$output" "ip daddr 127.0.0.1 tcp dport 18702 dnat ip to $(cip local):80"
	assert_not_contains "$output" "${ID}-c"

	# Every published port works, as asked and no more.
	assert_equal "$(http_get ns:out http://100.72.5.1:18700/)" "hello from a"
	assert_equal "$(http_get ns:out http://100.72.5.1:18701/)" "hello from b"
	assert_equal "$(http_get host http://127.0.0.1:18702/)" "hello from local"
	run http_get ns:atk http://127.0.0.1:18702/
	assert_failure
	run http_get ns:atk "http://100.72.6.1:18701/"  # b published on 100.72.5.1 only
	assert_failure
	run http_get ns:atk "http://$(cip b):8080/"      # never published
	assert_failure
	run http_get ns:atk "http://$(cip c):80/"        # a container without ports
	assert_failure
	run http_get ns:atk "http://$(cip a):80/"        # published, but not by routing
	assert_failure

	# a goes: its rules go, b's and local's stay and still work.
	husk network detach --id "${ID}-a"
	run rules
	assert_not_contains "$output" "18700"
	assert_not_contains "$output" "${ID}-a"
	assert_contains "$output" "dport 18701"
	assert_contains "$output" "dport 18702"
	run http_get ns:out http://100.72.5.1:18700/
	assert_failure
	assert_equal "$(http_get ns:out http://100.72.5.1:18701/)" "hello from b"
	assert_equal "$(http_get host http://127.0.0.1:18702/)" "hello from local"
	run http_get ns:atk http://127.0.0.1:18702/
	assert_failure

	# The same through husk-net (the monitor's path): b goes, c goes without a rule change.
	"$HUSK_NET" --root "$NROOT" detach --id "${ID}-b"
	"$HUSK_NET" --root "$NROOT" detach --id "${ID}-c"
	settled
	run rules
	assert_not_contains "$output" "18701"
	assert_contains "$output" "dport 18702"
	run http_get ns:out http://100.72.5.1:18701/
	assert_failure
	assert_equal "$(table_handle)" "$handle" "table handle after the detaches"
	# The network's own rules never moved: unpublished traffic is still dropped.
	run http_get ns:atk "http://$(cip local):80/"
	assert_failure
}

@test "rebuild path: prune drops the rules of a lost attachment; a lost table comes back whole" {
	make_host out 100.72.5
	husk network create --subnet 10.216.2.0/24 rec >/dev/null
	store_names
	start_container a 'exec httpd -f -p 80 -h /www'
	start_container b 'exec httpd -f -p 80 -h /www'
	start_container c 'exec httpd -f -p 80 -h /www'
	attach a rec -p 18703:80
	attach b rec -p 18704:80
	assert_equal "$(http_get ns:out http://100.72.5.1:18703/)" "hello from a"

	# A lost attachment: a's record is gone (as after a crash between the two steps of a
	# hand-made change) but its rules are in the table. Only the rebuild path can know.
	local f="$NROOT/networks/rec.json"
	jq --arg id "${ID}-a" 'del(.endpoints[$id])' "$f" >"$f.new" && mv "$f.new" "$f"
	rules | grep -q 'dport 18703'
	local handle
	handle=$(table_handle)
	run husk network prune
	assert_success
	[[ "$(table_handle)" != "$handle" ]] || fail "prune did not rebuild the table"
	run rules
	assert_not_contains "$output" "18703"
	assert_contains "$output" "dport 18704 dnat ip to $(cip b):80 comment \"${ID}-b\""
	run http_get ns:out http://100.72.5.1:18703/
	assert_failure
	assert_equal "$(http_get ns:out http://100.72.5.1:18704/)" "hello from b"

	# The table is lost (a reboot, `nft flush ruleset`): the next attach finds the network's
	# chains missing and rebuilds the table from the store, b's rules included, so b's port
	# and the drop rules are back in force.
	nft delete table inet "$TABLE"
	attach c rec -p 18705:80
	run rules
	assert_contains "$output" "dport 18704 dnat ip to $(cip b):80"
	assert_contains "$output" "dport 18705 dnat ip to $(cip c):80"
	assert_contains "$output" "oifname \"$(husk network inspect rec | jq -r '.[0].bridge')\" drop"
	assert_equal "$(http_get ns:out http://100.72.5.1:18704/)" "hello from b"
	assert_equal "$(http_get ns:out http://100.72.5.1:18705/)" "hello from c"

	# A container killed without a detach: the next attach drops its endpoint and rebuilds,
	# so its port goes with it (and its address is free for the newcomer).
	"$HUSK_RUNTIME" --root "$RTROOT" kill "${ID}-b" KILL
	"$HUSK_RUNTIME" --root "$RTROOT" delete --force "${ID}-b"
	start_container d 'exec httpd -f -p 80 -h /www'
	attach d rec
	run rules
	assert_not_contains "$output" "18704"
	assert_contains "$output" "dport 18705"
	husk network detach --id "${ID}-c"
	husk network detach --id "${ID}-d"
	husk network rm rec
	assert_no_husk_leftovers
}

@test "husk-net detach: the veth goes once the store lock is free; no veth or rule leaks" {
	husk network create --subnet 10.216.3.0/24 bg >/dev/null
	store_names
	local i
	for i in 1 2 3 4 5; do
		start_container "c$i" 'exec sleep 1000'
		"$HUSK_NET" --root "$NROOT" attach bg --id "${ID}-c$i" --netns "/proc/$(eval echo \$PID_c$i)/ns/net" \
			-p "1871$i:80" >/dev/null
	done
	local veths
	veths=$(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -c "^${PREFIX}v")
	assert_equal "$veths" 5
	for i in 1 2 3 4 5; do
		"$HUSK_NET" --root "$NROOT" detach --id "${ID}-c$i"
		# A re-attach right away (a restart) waits for the deletion and gets a fresh veth.
		if [[ $i == 3 ]]; then
			"$HUSK_NET" --root "$NROOT" attach bg --id "${ID}-c3" --netns "/proc/$PID_c3/ns/net" \
				-p 18713:80 >/dev/null
			"$HUSK_NET" --root "$NROOT" detach --id "${ID}-c3"
		fi
	done
	settled
	assert_equal "$(husk network inspect bg | jq '.[0].endpoints | length')" 0
	run rules
	assert_not_contains "$output" "dport 1871"
	# A background deletion that never ran (its child killed): the orphaned veth is
	# replaced by the container's next attach, not an error.
	local name
	"$HUSK_NET" --root "$NROOT" attach bg --id "${ID}-c1" --netns "/proc/$PID_c1/ns/net" >/dev/null
	name=$(husk network inspect bg | jq -r '.[0].endpoints[].host_veth')
	"$HUSK_NET" --root "$NROOT" detach --id "${ID}-c1"
	settled
	ip link add "$name" type veth peer name "${T}orph"
	run "$HUSK_NET" --root "$NROOT" attach bg --id "${ID}-c1" --netns "/proc/$PID_c1/ns/net"
	assert_success
	assert_contains "$output" "replacing orphaned link $name"
	"$HUSK_NET" --root "$NROOT" detach --id "${ID}-c1"
	settled
	veths=$(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^${PREFIX}v" || true)
	[[ -z $veths ]] || fail "veths left: $veths"
	# No husk-net child left behind either.
	no_worker() { ! pgrep -f "husk-net --root $NROOT" >/dev/null; }
	eventually no_worker
	husk network rm bg
	assert_no_husk_leftovers
}

@test "husk run --rm on the default network leaves no veth, rule or endpoint" {
	store_names
	local rf="$TEST_TMP/rootfs" i
	cp -a "$SHARED_ROOTFS" "$rf"
	for i in 1 2 3; do
		husk run --rm -p 127.0.0.1:1871$((i + 5)):80 --rootfs "$rf" true
	done
	husk run --rm --rootfs "$rf" true
	settled
	assert_equal "$(husk network inspect bridge | jq '.[0].endpoints | length')" 0
	run rules
	assert_not_contains "$output" "comment"
	local veths
	veths=$(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^${PREFIX}v" || true)
	[[ -z $veths ]] || fail "veths left: $veths"
}
