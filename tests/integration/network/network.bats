#!/usr/bin/env bats
# husk networking end to end: real bridges, veths, nftables and namespaces as extra hosts.

load net_helpers

setup() { net_setup; }
teardown() { net_teardown; }

@test "network create, ls, inspect, rm; bad input is refused and leaves nothing" {
	run husk network create --subnet 10.213.1.0/24 front
	assert_success
	run husk network ls
	assert_contains "$output" "front"
	assert_contains "$output" "10.213.1.0/24"
	run husk network inspect front
	assert_success
	local bridge
	bridge=$(jq -r '.[0].bridge' <<<"$output")
	assert_equal "$(jq -r '.[0].gateway' <<<"$output")" "10.213.1.1"
	ip -4 addr show dev "$bridge" | grep -q "10.213.1.1/24"
	[[ -f "$NROOT/networks/front.json" ]]

	run husk network create --subnet 10.213.2.0/24 front
	assert_failure
	assert_contains "$output" "network front already exists"
	run husk network create --subnet 192.0.2.0/24 lan
	assert_failure
	assert_contains "$output" "overlaps 192.0.2.0/24"
	run husk network create --subnet 10.213.1.128/25 inner
	assert_failure
	assert_contains "$output" "overlaps 10.213.1.0/24"
	run husk network create 'bad/name'
	assert_failure
	assert_contains "$output" "invalid network name 'bad/name'"
	run husk network create --subnet 10.213.3.1/24 x
	assert_failure
	assert_contains "$output" "did you mean 10.213.3.0/24"
	[[ ! -e "$NROOT/networks/lan.json" && ! -e "$NROOT/networks/x.json" ]]

	# A default subnet never collides with a host route (eth0's 192.0.2.0/24 among them).
	run husk network create auto
	assert_success
	local sub
	sub=$(husk network inspect auto | jq -r '.[0].subnet')
	python3 - "$sub" "$(ip -4 route show | awk '{print $1}' | grep /)" <<'PY'
import ipaddress, sys
mine = ipaddress.ip_network(sys.argv[1])
for r in sys.argv[2].split():
    if r.startswith("10.213.1.") or ipaddress.ip_network(r) == mine: continue
    assert not mine.overlaps(ipaddress.ip_network(r)), (mine, r)
PY

	run husk network rm front auto
	assert_success
	! ip link show "$bridge" 2>/dev/null
	assert_no_husk_leftovers
}

@test "two containers on one network reach each other by name (hosts and DNS, both live)" {
	husk network create --subnet 10.213.10.0/24 app
	start_container web 'exec httpd -f -p 80 -h /www'
	start_container client 'exec sleep 1000'
	attach web app --alias www
	attach client app
	assert_equal "$(cip web)" "10.213.10.2"
	# web attached first: its hosts file learned about client afterwards.
	grep -q "10.213.10.3.*client" "$TEST_TMP/rootfs-web/etc/hosts"
	run cping client web
	assert_success
	run http_get client http://web/
	assert_success
	assert_equal "$output" "hello from web"
	run http_get client http://www/
	assert_equal "$output" "hello from web"
	run cping web client
	assert_success

	# DNS on the gateway: a container that registered no hosts file is found by name at
	# once, and names resolve without /etc/hosts.
	assert_equal "$(cat "$TEST_TMP/rootfs-client/etc/resolv.conf" | grep nameserver)" \
		"nameserver 10.213.10.1"
	start_container late 'exec sleep 1000'
	husk network attach app --id "${ID}-late" --netns "/proc/$PID_late/ns/net" \
		--hostname late --alias latecomer >/dev/null
	run cexec client nslookup latecomer
	assert_success
	assert_contains "$output" "10.213.10.4"
	run cexec client nslookup "${ID}-web"
	assert_contains "$output" "10.213.10.2"
	run cexec client nslookup nosuchname
	assert_failure

	husk network detach --id "${ID}-client"
	! grep -q client "$TEST_TMP/rootfs-web/etc/hosts"
	# The responder ends with its network.
	husk network detach --id "${ID}-web"
	husk network detach --id "${ID}-late"
	husk network rm app
	local i
	for ((i = 0; i < 30; i++)); do
		pgrep -f -- "--root $NROOT" >/dev/null || break
		sleep 0.1
	done
	run pgrep -af -- "--root $NROOT"
	assert_equal "$output" "" "processes of this store"
}

@test "containers on two networks cannot reach each other" {
	husk network create --subnet 10.213.20.0/24 neta
	husk network create --subnet 10.213.21.0/24 netb
	start_container a 'exec httpd -f -p 80 -h /www'
	start_container b 'exec httpd -f -p 80 -h /www'
	attach a neta
	attach b netb
	# Each reaches its own gateway (the host) ...
	run cping a 10.213.20.1
	assert_success
	# ... and not the other network, either way.
	run http_get a "http://$(cip b)/"
	assert_failure
	run http_get b "http://$(cip a)/"
	assert_failure
	run cping a "$(cip b)"
	assert_failure
}

@test "egress is masqueraded; an internal network has none" {
	make_host out 100.72.1
	mkdir -p "$TEST_TMP/www/cgi-bin"
	printf '#!/bin/sh\necho Content-Type: text/plain\necho\necho "$REMOTE_ADDR"\n' \
		>"$TEST_TMP/www/cgi-bin/ip"
	chmod +x "$TEST_TMP/www/cgi-bin/ip"
	# A simple command (not a function) in the background: $! is the server itself.
	ip netns exec "$T-out" busybox httpd -f -p 100.72.1.2:8000 -h "$TEST_TMP/www" &
	BG_PIDS+=($!)

	husk network create --subnet 10.213.30.0/24 egress
	husk network create --internal --subnet 10.213.31.0/24 sealed
	start_container c 'exec sleep 1000'
	start_container s 'exec sleep 1000'
	attach c egress
	attach s sealed
	run http_get c http://100.72.1.2:8000/cgi-bin/ip
	assert_success
	# The outside host sees this host's address on its link, not the container's.
	assert_equal "$output" "100.72.1.1"

	run http_get s http://100.72.1.2:8000/cgi-bin/ip
	assert_failure
	run cping s 100.72.1.2
	assert_failure
	run husk network attach sealed --id "${ID}-x" --netns "/proc/$PID_c/ns/net" -p 8080:80
	assert_failure
	assert_contains "$output" "internal"
}

@test "published ports: reachable on the published address only; 127.0.0.1 from this host only" {
	make_host out 100.72.1
	make_host atk 100.72.2
	husk network create --subnet 10.213.40.0/24 pub
	start_container web 'exec httpd -f -p 80 -h /www'
	start_container hidden 'exec httpd -f -p 80 -h /www'
	attach web pub -p 127.0.0.1:18080:80 -p 100.72.1.1:18081:80 -p 18082:80 -p 127.0.0.1::80 \
		-p 127.0.0.1:18085:5353/udp
	attach hidden pub
	local cweb chidden random
	cweb=$(cip web)
	chidden=$(cip hidden)
	random=$(jq -r '.ports[3].host_port' "$TEST_TMP/att-web.json")
	(( random >= 32768 ))

	# The attacker routes the container subnet and 127.0.0.0/8 through this host.
	in_host atk ip route add 10.213.40.0/24 via 100.72.2.1
	# Its own loopback routes go, so 127.0.0.0/8 really leaves through eth0 (moby #45610).
	in_host atk ip route del local 127.0.0.0/8 dev lo table local
	in_host atk ip route del local 127.0.0.1 dev lo table local
	in_host atk sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.eth0.route_localnet=1
	in_host atk ip route add 127.0.0.0/8 via 100.72.2.1 dev eth0
	# The attacker really sends 127.0.0.1 and the container subnet to this host.
	assert_contains "$(in_host atk ip route get 127.0.0.1)" "via 100.72.2.1"
	assert_contains "$(in_host atk ip route get "$chidden")" "via 100.72.2.1"

	# This host reaches the 127.0.0.1 ports.
	run http_get host http://127.0.0.1:18080/
	assert_equal "$output" "hello from web"
	run http_get host "http://127.0.0.1:$random/"
	assert_equal "$output" "hello from web"
	# The outside host reaches the port published on its address and on all addresses ...
	run http_get ns:out http://100.72.1.1:18081/
	assert_equal "$output" "hello from web"
	run http_get ns:out http://100.72.1.1:18082/
	assert_equal "$output" "hello from web"
	# UDP: an echo server in the container's namespace answers through 127.0.0.1:18085.
	nsenter -t "$PID_web" -n python3 -c '
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 5353))
open("'"$TEST_TMP"'/echo.ready", "w").write("1")
s.settimeout(10)
d, a = s.recvfrom(100); s.sendto(b"echo:" + d, a)' &
	BG_PIDS+=($!)
	wait_for_file "$TEST_TMP/echo.ready"
	run python3 -c '
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.sendto(b"ping", ("127.0.0.1", 18085)); print(s.recv(100).decode())'
	assert_equal "$output" "echo:ping"
	# ... and the attacker only the one published on every address (the route works) ...
	run http_get ns:atk http://100.72.2.1:18082/
	assert_equal "$output" "hello from web"
	run http_get ns:atk http://100.72.2.1:18081/
	assert_failure
	# ... never the 127.0.0.1 ports, nor any container port directly (moby #22054/#45610).
	run http_get ns:atk http://127.0.0.1:18080/
	assert_failure
	run http_get ns:atk "http://$cweb:80/"
	assert_failure
	run http_get ns:atk "http://$chidden:80/"
	assert_failure
	run http_get ns:out "http://$chidden:80/"
	assert_failure
	# Hairpin: a container reaches its own published port through a host address.
	run http_get web http://100.72.1.1:18082/
	assert_equal "$output" "hello from web"
	run http_get hidden http://100.72.1.1:18081/
	assert_equal "$output" "hello from web"

	# A container that routes 127.0.0.0/8 to its gateway (the bridge, where route_localnet
	# is on for the 127.0.0.1 ports) still cannot reach this host's loopback services. UDP,
	# because it needs no answer: the kernel itself would drop a TCP SYN-ACK from 127.0.0.1.
	nsenter -t "$PID_hidden" -n ip route del local 127.0.0.0/8 dev lo table local
	nsenter -t "$PID_hidden" -n ip route del local 127.0.0.1 dev lo table local
	nsenter -t "$PID_hidden" -n ip route add 127.0.0.0/8 via 10.213.40.1 dev eth0
	nsenter -t "$PID_hidden" -n sysctl -qw net.ipv4.conf.all.route_localnet=1 \
		net.ipv4.conf.eth0.route_localnet=1
	assert_contains "$(nsenter -t "$PID_hidden" -n ip route get 127.0.0.1)" "via 10.213.40.1"
	udp_listen 127.0.0.1 18099 "$TEST_TMP/udp.out"
	echo local-check >/dev/udp/127.0.0.1/18099 # the listener works from this host
	nsenter -t "$PID_hidden" -n bash -c 'echo from-container >/dev/udp/127.0.0.1/18099'
	wait_udp_listener
	assert_equal "$(cat "$TEST_TMP/udp.out")" "local-check"

	# A taken host port is refused with its name.
	run husk network attach pub --id "${ID}-dup" --netns "/proc/$PID_hidden/ns/net" -p 18082:80
	assert_failure
	assert_contains "$output" "host port 18082/tcp"
}

@test "detach, crash and prune leave no veth, address, rule or bridge; other tables untouched" {
	store_names
	nft add table inet "${T}sentinel"
	nft add chain inet "${T}sentinel" c '{ type filter hook forward priority 10; }'
	nft add rule inet "${T}sentinel" c ip daddr 10.213.99.9 counter accept
	local before
	before=$(nft list table inet "${T}sentinel")

	husk network create --subnet 10.213.50.0/24 gone
	start_container a 'exec sleep 1000'
	start_container b 'exec sleep 1000'
	attach a gone -p 127.0.0.1:18090:80
	attach b gone
	nft list table inet "$TABLE" | grep -q 'dport 18090'
	husk network detach --id "${ID}-a"
	! nft list table inet "$TABLE" | grep -q 'dport 18090'

	# Crash: the container dies without a detach, and a half-made veth is left behind.
	"$HUSK_RUNTIME" --root "$RTROOT" kill "${ID}-b" KILL
	"$HUSK_RUNTIME" --root "$RTROOT" delete --force "${ID}-b"
	ip link add "${PREFIX}vdeadbeef" type veth peer name "${T}peer"
	run husk network prune
	assert_success
	assert_contains "$output" "endpoint ${ID}-b on network gone"
	assert_contains "$output" "network gone"
	assert_contains "$output" "link ${PREFIX}vdeadbeef"
	assert_no_husk_leftovers
	assert_equal "$(nft list table inet "${T}sentinel")" "$before" "sentinel table"
	nft delete table inet "${T}sentinel"
}

@test "without nf_tables bridge networking fails with the reason and the fix, leaving nothing" {
	HUSK_NET_SIMULATE_NO_NFTABLES=1 run husk network create --subnet 10.213.60.0/24 nonft
	assert_failure
	assert_contains "$output" "nf_tables is not available in this kernel (Protocol not supported)"
	assert_contains "$output" "modprobe nf_tables"
	assert_contains "$output" "--network host"
	[[ ! -e "$NROOT/networks/nonft.json" ]]
	assert_no_husk_leftovers
}

@test "attach with bad input names it and leaves nothing behind" {
	husk network create --subnet 10.213.70.0/24 strict
	start_container a 'exec sleep 1000'
	attach a strict --ip 10.213.70.9
	assert_equal "$(cip a)" "10.213.70.9"
	start_container b 'exec sleep 1000'
	local before
	before=$(cat "$NROOT/networks/strict.json")

	run husk network attach strict --id "${ID}-b" --netns /proc/$PID_b/ns/net --ip 10.213.70.9
	assert_failure
	assert_contains "$output" "address 10.213.70.9 is already in use"
	run husk network attach strict --id "${ID}-b" --netns /proc/$PID_b/ns/net --ip 10.213.71.2
	assert_failure
	assert_contains "$output" "not a usable address of subnet 10.213.70.0/24"
	run husk network attach strict --id "${ID}-b" --netns /proc/$PID_b/ns/net -p 80:99999
	assert_failure
	assert_contains "$output" "invalid port '99999' in '80:99999'"
	run husk network attach strict --id "${ID}-b" --netns /nonexistent/ns
	assert_failure
	assert_contains "$output" "open network namespace /nonexistent/ns"
	run husk network attach strict --id "${ID}-b" --netns /etc/hostname
	assert_failure
	assert_contains "$output" "/etc/hostname"
	run husk network attach nosuch --id "${ID}-b" --netns /proc/$PID_b/ns/net
	assert_failure
	assert_contains "$output" "network nosuch not found"
	run husk network attach strict --id "${ID}-a" --netns /proc/$PID_a/ns/net
	assert_failure
	assert_contains "$output" "already attached to network strict"
	run husk network rm strict
	assert_failure
	assert_contains "$output" "network strict has attached containers: ${ID}-a"

	assert_equal "$(cat "$NROOT/networks/strict.json")" "$before" "store record"
	assert_equal "$(nsenter -t "$PID_b" -n ip -o link show | grep -c eth)" "0" "links in b"
	store_names
	assert_equal "$(ip -o link show | grep -c "${PREFIX}v")" "1" "host veths"
}

@test "default network bridge is made on first use; connect and disconnect" {
	store_names
	start_container a 'exec httpd -f -p 80 -h /www'
	start_container b 'exec sleep 1000'
	run husk network ls -q
	assert_equal "$output" ""
	attach a bridge
	attach b bridge
	run husk network inspect bridge
	assert_success
	assert_equal "$(jq -r '.[0].bridge' <<<"$output")" "${PREFIX}d"
	local sub
	sub=$(jq -r '.[0].subnet' <<<"$output")
	# No name resolution on the default network (as Docker): only the container itself.
	run grep -c "${ID}-" "$TEST_TMP/rootfs-b/etc/hosts"
	assert_equal "$output" "0"
	run http_get b "http://$(cip a)/"
	assert_equal "$output" "hello from a"

	# A second network through connect: the container gets eth1 there.
	husk network create --subnet 10.213.80.0/24 side
	run husk network connect side "${ID}-b" --netns "/proc/$PID_b/ns/net" --alias bee
	assert_success
	assert_equal "$(jq -r .ifname <<<"$output")" "eth1"
	nsenter -t "$PID_b" -n ip -4 -o addr show dev eth1 | grep -q 10.213.80.2/24
	run husk network disconnect side "${ID}-b"
	assert_success
	! nsenter -t "$PID_b" -n ip link show eth1 2>/dev/null
	run husk network disconnect side "${ID}-b"
	assert_failure
	assert_contains "$output" "container ${ID}-b is not attached to network side"
	husk network detach --id "${ID}-a"
	husk network detach --id "${ID}-b"
	husk network rm side bridge
	assert_no_husk_leftovers
	[[ -n "$sub" ]]
}

@test "concurrent attaches get distinct addresses and ports (the store lock)" {
	husk network create --subnet 10.213.85.0/24 busy
	local n pids=()
	for n in c1 c2 c3 c4; do start_container "$n" 'exec sleep 1000'; done
	for n in c1 c2 c3 c4; do
		attach "$n" busy -p 127.0.0.1:18300-18303:80 &
		pids+=($!)
	done
	for n in "${pids[@]}"; do wait "$n"; done
	local ips ports
	ips=$(for n in c1 c2 c3 c4; do cip "$n"; done | sort -u | wc -l)
	ports=$(for n in c1 c2 c3 c4; do jq -r '.ports[0].host_port' "$TEST_TMP/att-$n.json"; done |
		sort -u | wc -l)
	assert_equal "$ips" "4" "distinct addresses"
	assert_equal "$ports" "4" "distinct host ports"
	assert_equal "$(jq '.endpoints | length' "$NROOT/networks/busy.json")" "4"
}
