#!/usr/bin/env bats
# Dual-stack networks (`husk network create --ipv6`): IPv6 addresses and routes in the
# container, masquerade, published ports on IPv6 addresses, [::1] from this host only,
# the forward filter and isolation, all over IPv6 with namespaces as extra hosts.
#
# Own ranges, so this file can run beside network.bats: containers 10.214.0.0/16 and
# fdaa:214:N::/64, the outside host 100.72.3.0/24 + fdaa:72:3::/64, the attacker
# 100.72.4.0/24 + fdaa:72:4::/64 (this machine's own IPv6 is fd00::/64 on eth0).

load net_helpers

setup() {
	[[ -e /proc/net/if_inet6 ]] || skip "this kernel has no IPv6 (/proc/net/if_inet6 missing)"
	NET_RANGES="100.72.3.0/24 100.72.4.0/24 10.214.0.0/16"
	NET_ADDR_RE=' 10\.214\.| fdaa:214:'
	net_setup
	if ip -6 route show | grep -q '^fdaa:'; then
		skip "fdaa::/16 is routed on this host already (another test?)"
	fi
}
teardown() {
	local ids
	ids=$(husk ps -aq --no-trunc 2>/dev/null || true)
	[ -n "$ids" ] && husk rm -f $ids >/dev/null 2>&1
	net_teardown
}

# v6 NAME: the container's IPv6 address from its attachment.
cip6() { jq -r .ip6 "$TEST_TMP/att-$1.json"; }

@test "dual-stack network: addresses, routes, names over IPv6; bad input refused; bridge stays IPv4" {
	run husk network create --ipv6 --subnet 10.214.1.0/24 --subnet fdaa:214:1::/64 dual
	assert_success
	run husk network inspect dual
	assert_equal "$(jq -r '.[0].subnet6' <<<"$output")" "fdaa:214:1::/64"
	assert_equal "$(jq -r '.[0].gateway6' <<<"$output")" "fdaa:214:1::1"
	local bridge
	bridge=$(jq -r '.[0].bridge' <<<"$output")
	ip -6 addr show dev "$bridge" | grep -q "fdaa:214:1::1/64"
	run husk network ls
	assert_contains "$output" "fdaa:214:1::/64"

	# A container whose namespace had IPv6 switched off: attach turns it on for eth0.
	start_container web 'exec httpd -f -p 80 -h /www'
	nsenter -t "$PID_web" -n sysctl -qw net.ipv6.conf.default.disable_ipv6=1 \
		net.ipv6.conf.all.disable_ipv6=1
	start_container client 'exec sleep 1000'
	attach web dual --alias www
	attach client dual --ip6 fdaa:214:1::99
	assert_equal "$(cip6 web)" "fdaa:214:1::2"
	assert_equal "$(cip6 client)" "fdaa:214:1::99"
	assert_equal "$(jq -r .gateway6 "$TEST_TMP/att-web.json")" "fdaa:214:1::1"
	assert_contains "$(jq -r '.sysctls_changed[]' "$TEST_TMP/att-web.json")" \
		"net.ipv6.conf.eth0.disable_ipv6=0 (was 1, container)"
	assert_equal "$(sysctl -n net.ipv6.conf.all.forwarding)" "1"
	nsenter -t "$PID_web" -n ip -6 -o addr show dev eth0 | grep -q "fdaa:214:1::2/64"
	assert_contains "$(nsenter -t "$PID_client" -n ip -6 route show default)" "via fdaa:214:1::1 dev eth0"
	# Both families on the wire: the gateway, the peer by address and by name (hosts file).
	run cping client fdaa:214:1::1
	assert_success
	grep -q "fdaa:214:1::2.*web" "$TEST_TMP/rootfs-client/etc/hosts"
	run http_get client "http://[fdaa:214:1::2]/"
	assert_equal "$output" "hello from web"
	run http_get client "http://[$(cip web)]/"
	assert_equal "$output" "hello from web"

	# Bad input: named, nothing made.
	run husk network create --subnet fdaa:214:2::/64 nov6
	assert_failure
	assert_contains "$output" "needs --ipv6"
	run husk network create --ipv6 --subnet fd00::/64 lan6
	assert_failure
	assert_contains "$output" "overlaps fd00::/64"
	run husk network create --ipv6 --subnet fdaa:214:1:0:8000::/65 inner6
	assert_failure
	assert_contains "$output" "overlaps fdaa:214:1::/64"
	run husk network create --ipv6 --subnet fdaa:214:3::1/64 hostbits
	assert_failure
	assert_contains "$output" "did you mean fdaa:214:3::/64"
	run husk network attach dual --id "${ID}-x" --netns "/proc/$PID_client/ns/net" \
		--ip6 fdaa:214:1::99
	assert_failure
	assert_contains "$output" "address fdaa:214:1::99 is already in use"
	[[ ! -e "$NROOT/networks/nov6.json" && ! -e "$NROOT/networks/lan6.json" ]]

	# Without --subnet: a ULA /64 that no host route or address covers.
	run husk network create --ipv6 auto6
	assert_success
	local sub6
	sub6=$(husk network inspect auto6 | jq -r '.[0].subnet6')
	python3 - "$sub6" "$(ip -6 route show | awk '{print $1}' | grep /)" <<'PY'
import ipaddress, sys
mine = ipaddress.ip_network(sys.argv[1])
assert mine.prefixlen == 64 and mine.subnet_of(ipaddress.ip_network("fd00::/8")), mine
for r in sys.argv[2].split():
    if r.startswith("fdaa:214:1:") or ipaddress.ip_network(r) == mine: continue
    assert not mine.overlaps(ipaddress.ip_network(r)), (mine, r)
PY

	# The default network stays IPv4 only (as Docker's), and refuses --ip6 and IPv6 ports.
	start_container plain 'exec httpd -f -p 80 -h /www'
	attach plain bridge -p '[::1]:18497:80'
	assert_equal "$(jq -r .ip6 "$TEST_TMP/att-plain.json")" "null"
	# [::1] works there too: the proxy connects to the container's IPv4 address.
	run http_get host "http://[::1]:18497/"
	assert_equal "$output" "hello from plain"
	assert_equal "$(husk network inspect bridge | jq -r '.[0].ipv6')" "false"
	run husk network attach bridge --id "${ID}-y" --netns "/proc/$PID_plain/ns/net" --ip6 fd01::5
	assert_failure
	assert_contains "$output" "network bridge has no IPv6 subnet"
	run husk network attach bridge --id "${ID}-y" --netns "/proc/$PID_plain/ns/net" -p '[::]:18499:80'
	assert_failure
	assert_contains "$output" "network bridge has no IPv6 (create it with --ipv6)"
}

@test "IPv6: egress masqueraded, published ports per address, [::1] from this host only, the rest dropped" {
	make_host6 out 100.72.3 fdaa:72:3
	make_host6 atk 100.72.4 fdaa:72:4
	mkdir -p "$TEST_TMP/www/cgi-bin"
	printf '#!/bin/sh\necho Content-Type: text/plain\necho\necho "$REMOTE_ADDR"\n' \
		>"$TEST_TMP/www/cgi-bin/ip"
	chmod +x "$TEST_TMP/www/cgi-bin/ip"
	ip netns exec "$T-out" busybox httpd -f -p '[fdaa:72:3::2]:8000' -h "$TEST_TMP/www" &
	BG_PIDS+=($!)

	husk network create --ipv6 --subnet 10.214.10.0/24 --subnet fdaa:214:10::/64 pub6
	start_container web 'exec httpd -f -p 80 -h /www'
	start_container hidden 'exec httpd -f -p 80 -h /www'
	attach web pub6 -p 18480:80 -p '[::1]:18481:80' -p '[fdaa:72:3::1]:18482:80' \
		-p '[::1]:18483:5353/udp' -p '[::]:18484:80' -p '[fdaa:72:3::1]:18485:5353/udp' \
		-p '[fdaa:72:3::1]:18486-18487:80-81'
	attach hidden pub6
	local cweb chidden
	cweb=$(cip6 web)
	chidden=$(cip6 hidden)

	# Egress: the outside server sees this host's address on its link, not the container's.
	wait_for_port_ns out 8000
	run http_get web "http://[fdaa:72:3::2]:8000/cgi-bin/ip"
	assert_success
	assert_contains "$output" "fdaa:72:3::1"
	assert_not_contains "$output" "fdaa:214:10:"

	# The attacker routes the container subnet, and ::1 if its kernel lets it, via this host.
	in_host atk ip -6 route add fdaa:214:10::/64 via fdaa:72:4::1
	in_host atk ip -6 route del local ::1 dev lo table local 2>/dev/null || true
	in_host atk ip -6 route add ::1/128 via fdaa:72:4::1 dev eth0 2>/dev/null || true
	assert_contains "$(in_host atk ip -6 route get "$chidden")" "via fdaa:72:4::1"

	# Published on every address: IPv4 and IPv6 from outside, from the attacker too.
	run http_get ns:out "http://[fdaa:72:3::1]:18480/"
	assert_equal "$output" "hello from web"
	run http_get ns:out "http://100.72.3.1:18480/"
	assert_equal "$output" "hello from web"
	run http_get ns:atk "http://[fdaa:72:4::1]:18480/"
	assert_equal "$output" "hello from web"
	run http_get ns:atk "http://[fdaa:72:4::1]:18484/"
	assert_equal "$output" "hello from web"
	# [::]: IPv6 only.
	run http_get ns:out "http://100.72.3.1:18484/"
	assert_failure
	# Every IPv6 address includes ::1 for this host's own clients (through the proxy).
	run http_get host "http://[::1]:18480/"
	assert_equal "$output" "hello from web"
	run http_get host "http://[::1]:18484/"
	assert_equal "$output" "hello from web"
	# One address: there, and not on the attacker's side of this host.
	run http_get ns:out "http://[fdaa:72:3::1]:18482/"
	assert_equal "$output" "hello from web"
	run http_get ns:atk "http://[fdaa:72:4::1]:18482/"
	assert_failure
	# [::1]: this host reaches it (through the proxy), over TCP and UDP ...
	run http_get host "http://[::1]:18481/"
	assert_equal "$output" "hello from web"
	nsenter -t "$PID_web" -n python3 -c '
import socket; s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::", 5353))
open("'"$TEST_TMP"'/echo.ready", "w").write("1")
s.settimeout(10)
for _ in range(2):
    d, a = s.recvfrom(100); s.sendto(b"echo:" + d, a)' &
	BG_PIDS+=($!)
	wait_for_file "$TEST_TMP/echo.ready"
	run python3 -c '
import socket; s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.settimeout(3)
s.sendto(b"ping", ("::1", 18483)); print(s.recv(100).decode())'
	assert_equal "$output" "echo:ping"
	# UDP on one IPv6 address, from the outside host (DNAT, not the proxy).
	run in_host out python3 -c '
import socket; s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.settimeout(3)
s.sendto(b"out", ("fdaa:72:3::1", 18485)); print(s.recv(100).decode())'
	assert_equal "$output" "echo:out"
	# A pairwise range: 18486 -> 80 and 18487 -> 81 (nothing listens there: refused, not
	# dropped, which shows the DNAT and the forward rule of the second port too).
	run http_get ns:out "http://[fdaa:72:3::1]:18486/"
	assert_equal "$output" "hello from web"
	run in_host out python3 -c '
import socket
try:
    socket.create_connection(("fdaa:72:3::1", 18487), 2); print("open")
except ConnectionRefusedError: print("refused")
except OSError as e: print("dropped", e)'
	assert_equal "$output" "refused"
	# ... and it is not on 127.0.0.1, nor reachable by the attacker.
	run http_get host "http://127.0.0.1:18481/"
	assert_failure
	run http_get ns:atk "http://[::1]:18481/"
	assert_failure
	# No container port straight to the container address, published or not (moby #22054).
	run http_get ns:atk "http://[$cweb]:80/"
	assert_failure
	run http_get ns:atk "http://[$chidden]:80/"
	assert_failure
	run http_get ns:out "http://[$chidden]:80/"
	assert_failure
	# Hairpin over IPv6: a container reaches a published port through a host address.
	run http_get hidden "http://[fdaa:72:3::1]:18480/"
	assert_equal "$output" "hello from web"

	# A taken [::1] port is refused with its name; so is [::1] on a port a process holds.
	run husk network attach pub6 --id "${ID}-dup" --netns "/proc/$PID_hidden/ns/net" \
		-p '[::1]:18481:80'
	assert_failure
	assert_contains "$output" "host port 18481/tcp on [::1] is already published"
	python3 -c 'import socket,sys,time
s=socket.socket(socket.AF_INET6); s.bind(("::1",18488)); s.listen()
open(sys.argv[1], "w").write("1"); time.sleep(5)' "$TEST_TMP/holder.ready" &
	BG_PIDS+=($!)
	wait_for_file "$TEST_TMP/holder.ready"
	run husk network attach pub6 --id "${ID}-dup" --netns "/proc/$PID_hidden/ns/net" \
		-p '[::1]:18488:80'
	assert_failure
	assert_contains "$output" "host port 18488/tcp on [::1] is already in use on this host"

	# Detach: rules, the proxy and its port are gone.
	husk network detach --id "${ID}-web"
	! nft list table inet "$TABLE" | grep -q 'dport 18480'
	local i
	for ((i = 0; i < 30; i++)); do
		python3 -c 'import socket; socket.create_connection(("::1", 18481), 0.5)' 2>/dev/null || break
		sleep 0.1
	done
	run python3 -c 'import socket; socket.create_connection(("::1", 18481), 0.5)'
	assert_failure
	run python3 -c 'import socket; socket.create_connection(("::1", 18480), 0.5)'
	assert_failure
}

@test "two dual-stack networks are isolated over IPv6; an internal one has no IPv6 egress" {
	make_host6 out 100.72.3 fdaa:72:3
	ip netns exec "$T-out" busybox httpd -f -p '[fdaa:72:3::2]:8000' -h "$TEST_TMP" &
	BG_PIDS+=($!)
	echo outside >"$TEST_TMP/index.html"
	husk network create --ipv6 --subnet 10.214.20.0/24 --subnet fdaa:214:20::/64 neta
	husk network create --ipv6 --subnet 10.214.21.0/24 --subnet fdaa:214:21::/64 netb
	husk network create --ipv6 --internal --subnet 10.214.22.0/24 --subnet fdaa:214:22::/64 sealed
	start_container a 'exec httpd -f -p 80 -h /www'
	start_container b 'exec httpd -f -p 80 -h /www'
	start_container s 'exec sleep 1000'
	attach a neta
	attach b netb
	attach s sealed
	run cping a fdaa:214:20::1
	assert_success
	run http_get a "http://[$(cip6 b)]/"
	assert_failure
	run http_get b "http://[$(cip6 a)]/"
	assert_failure
	run cping a "$(cip6 b)"
	assert_failure
	# Egress works from a, not from the internal network.
	wait_for_port_ns out 8000
	run http_get a "http://[fdaa:72:3::2]:8000/"
	assert_equal "$output" "outside"
	run http_get s "http://[fdaa:72:3::2]:8000/"
	assert_failure
	run cping s fdaa:72:3::2
	assert_failure

	# kill -9 + prune: no link, address, rule or table of this store remains.
	for c in a b s; do
		"$HUSK_RUNTIME" --root "$RTROOT" kill "${ID}-$c" KILL
		"$HUSK_RUNTIME" --root "$RTROOT" delete --force "${ID}-$c"
	done
	run husk network prune
	assert_success
	assert_contains "$output" "network neta"
	assert_no_husk_leftovers
}

@test "DNS responder: AAAA on dual-stack networks, TCP, forwarding with a TCP retry on truncation" {
	make_host6 out 100.72.3 fdaa:72:3
	# The "host's nameserver": UDP answers big.test truncated, TCP answers it in full.
	cat >"$TEST_TMP/upstream.py" <<'PY'
import socket, struct, sys, threading
log = open(sys.argv[1], "a", buffering=1)
def answer(q, tcp):
    name = q[12:q.index(b"\0", 12) + 1]
    qend = 12 + len(name) + 4
    big = b"\x03big" in name
    n = 40 if big else 1
    if big and not tcp:
        return q[:2] + b"\x86\x80" + b"\0\x01\0\0\0\0\0\0" + q[12:qend]  # TC set, no answers
    rr = b"".join(b"\xc0\x0c\0\x01\0\x01\0\0\0\x05\0\x04" + bytes([203, 0, 113, i + 1])
                  for i in range(n))
    return q[:2] + b"\x84\x80" + struct.pack(">HHHH", 1, n, 0, 0) + q[12:qend] + rr
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("100.72.3.2", 53))
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("100.72.3.2", 53)); t.listen()
def tcp_loop():
    while True:
        c, _ = t.accept()
        ln = struct.unpack(">H", c.recv(2))[0]; q = c.recv(ln)
        log.write("tcp\n"); r = answer(q, True); c.sendall(struct.pack(">H", len(r)) + r); c.close()
threading.Thread(target=tcp_loop, daemon=True).start()
open(sys.argv[1] + ".ready", "w").write("1")
while True:
    q, a = u.recvfrom(512); log.write("udp\n"); u.sendto(answer(q, False), a)
PY
	ip netns exec "$T-out" python3 "$TEST_TMP/upstream.py" "$TEST_TMP/upstream.log" &
	BG_PIDS+=($!)
	wait_for_file "$TEST_TMP/upstream.log.ready"
	# A DNS client: prints "tc=<0|1> <answers...>".
	cat >"$TEST_TMP/q.py" <<'PY'
import socket, struct, sys, ipaddress
server, proto, name, qtype = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
q = b"\x12\x34\x01\x00\0\x01\0\0\0\0\0\0" + b"".join(
    bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", qtype, 1)
if proto == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)
    s.sendto(q, (server, 53)); r = s.recv(65535)
else:
    s = socket.create_connection((server, 53), 5); s.sendall(struct.pack(">H", len(q)) + q)
    buf = b""
    while len(buf) < 2 or len(buf) < 2 + struct.unpack(">H", buf[:2])[0]:
        chunk = s.recv(65535)
        if not chunk: break
        buf += chunk
    r = buf[2:]
tc = (r[2] >> 1) & 1; rcode = r[3] & 15; an = struct.unpack(">H", r[6:8])[0]
i = 12
while r[i]: i += 1 + r[i]
i += 5
out = []
for _ in range(an):
    i += 2; t, _, _, ln = struct.unpack(">HHIH", r[i:i + 10]); i += 10
    out.append(str(ipaddress.ip_address(r[i:i + ln]))); i += ln
print("tc=%d rcode=%d %s" % (tc, rcode, " ".join(out)))
PY
	echo "nameserver 100.72.3.2" >"$TEST_TMP/resolv.conf"
	export HUSK_RESOLV_CONF=$TEST_TMP/resolv.conf
	husk network create --ipv6 --subnet 10.214.30.0/24 --subnet fdaa:214:30::/64 names
	start_container web 'exec sleep 1000'
	start_container client 'exec sleep 1000'
	attach web names --alias www
	attach client names
	local gw=10.214.30.1 i
	for ((i = 0; i < 30; i++)); do
		ss -Hltn "sport = :53" | grep -q "$gw" && break
		sleep 0.1
	done

	# Containers of the network: A and AAAA, over UDP and over TCP.
	assert_equal "$(python3 "$TEST_TMP/q.py" $gw udp www 28)" "tc=0 rcode=0 fdaa:214:30::2"
	assert_equal "$(python3 "$TEST_TMP/q.py" $gw tcp web 1)" "tc=0 rcode=0 10.214.30.2"
	assert_equal "$(python3 "$TEST_TMP/q.py" $gw tcp client 28)" "tc=0 rcode=0 fdaa:214:30::3"
	assert_equal "$(python3 "$TEST_TMP/q.py" $gw udp nosuch 1)" "tc=0 rcode=3 "
	# From inside a container, with its resolv.conf: busybox nslookup asks the responder.
	run cexec client nslookup -type=aaaa web
	assert_success
	assert_contains "$output" "fdaa:214:30::2"

	# Other names go to the host's nameserver.
	assert_equal "$(python3 "$TEST_TMP/q.py" $gw udp small.test 1)" "tc=0 rcode=0 203.0.113.1"
	# Truncated upstream over UDP: the responder asks again over TCP; a UDP client without
	# EDNS gets TC (40 records do not fit 512 bytes), a TCP client the whole answer.
	: >"$TEST_TMP/upstream.log"
	run python3 "$TEST_TMP/q.py" $gw udp big.test 1
	assert_equal "$output" "tc=1 rcode=0 "
	assert_equal "$(sort "$TEST_TMP/upstream.log" | uniq -c | awk '{print $2 $1}' | tr '\n' ' ')" \
		"tcp1 udp1 "
	run python3 "$TEST_TMP/q.py" $gw tcp big.test 1
	assert_equal "$(wc -w <<<"$output")" "42"
	assert_contains "$output" "203.0.113.40"
}

@test "husk run on a dual-stack network: IPv6 address and route, [::1] publishing, names" {
	local rf="$TEST_TMP/rootfs"
	cp -a "$SHARED_ROOTFS" "$rf"
	mkdir -p "$rf/www"
	echo "hello from husk run" >"$rf/www/index.html"
	husk network create --ipv6 --subnet 10.214.40.0/24 --subnet fdaa:214:40::/64 run6 >/dev/null
	husk run -d --name w6 --network run6 -p '[::1]:18495:80' -p '[::]:18496:80' --rootfs "$rf" \
		httpd -f -p 80 -h /www >/dev/null
	local i
	for ((i = 0; i < 50; i++)); do
		busybox wget -q -O /dev/null "http://[::1]:18495/" 2>/dev/null && break
		sleep 0.1
	done
	run http_get host "http://[::1]:18495/"
	assert_equal "$output" "hello from husk run"
	run husk run --rm --network run6 --rootfs "$rf" sh -c \
		'ip -6 -o addr show eth0 scope global; ip -6 route show default; grep w6 /etc/hosts;
		 wget -q -O - "http://[fdaa:214:40::2]/"'
	assert_success
	assert_contains "$output" "fdaa:214:40::3/64"
	assert_contains "$output" "default via fdaa:214:40::1"
	assert_contains "$output" "fdaa:214:40::2"
	assert_contains "$output" "hello from husk run"
	# husk explain finds the IPv6 DNAT rule and knows [::1] needs none (it is the proxy's).
	run husk explain --json w6
	assert_success
	assert_contains "$output" "[::]:18496->80/tcp"
	assert_contains "$output" "dnat ip6 to [fdaa:214:40::2]:80"
	assert_not_contains "$output" "has no DNAT rule"
	husk rm -f w6 >/dev/null
	for ((i = 0; i < 30; i++)); do
		python3 -c 'import socket; socket.create_connection(("::1", 18495), 0.5)' 2>/dev/null || break
		sleep 0.1
	done
	run python3 -c 'import socket; socket.create_connection(("::1", 18495), 0.5)'
	assert_failure
}
