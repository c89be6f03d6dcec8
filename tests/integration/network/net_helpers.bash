# Helpers for the network tests: containers started with husk-runtime in their own network
# namespace, attached by `husk network attach`, and extra "hosts" made of network
# namespaces joined to this host by veth pairs.
#
# Address plan (checked free against `ip route` in net_setup): the outside host on
# 100.72.1.0/24 and the attacker on 100.72.2.0/24 (host side .1, namespace .2), container
# networks in 10.213.0.0/16. Every name made here starts with hkt (links, namespaces) or is
# derived from the test's own husk --root (bridges, veths, the nft table).

load ../helpers

net_setup() {
	common_setup || return 1
	command -v nft >/dev/null || skip "needs nft"
	NROOT=$TEST_TMP/husk
	RTROOT=$TEST_TMP/rt
	mkdir -p "$NROOT" "$RTROOT"
	T="hkt$$${BATS_TEST_NUMBER}"
	T=${T:0:9}
	NAMESPACES=()
	HOST_LINKS=()
	CONTAINERS=()
	local r
	# A test file may use its own ranges (NET_RANGES), so files can run side by side.
	for r in ${NET_RANGES:-100.72.1.0/24 100.72.2.0/24 10.213.0.0/16}; do
		if ip -4 route show | grep -q "^${r%%.0/*}"; then
			skip "address range $r is routed on this host already (another test?)"
		fi
	done
	TABLE=$(husk network inspect bridge 2>/dev/null | jq -r '.[0].firewall_table' || true)
}

husk() { "$HUSK" --root "$NROOT" --runroot "$TEST_TMP/run" "$@"; }

# The store's name prefix (bridges and veths) and its nft table, from the store itself.
store_names() {
	local root hash
	root=$(cd "$NROOT" && pwd -P)
	# Same hash as src/net/store.cpp: the first 4 hex digits of FNV-1a 64 of the root.
	hash=$(python3 -c 'import sys
h=14695981039346656037
for c in sys.argv[1].encode(): h=((h^c)*1099511628211)&0xffffffffffffffff
print("%016x"%h)' "$root")
	PREFIX="hk${hash:0:4}"
	TABLE="husk-${hash:0:4}"
}

# make_host NAME OCTETS: namespace $T-NAME, host side ${T}NAME (OCTETS.1/24), namespace side
# OCTETS.2/24 with a default route back to this host.
make_host() {
	local name=$1 net=$2 ns="$T-$1" hl="${T}$1"
	ip netns add "$ns"
	NAMESPACES+=("$ns")
	ip link add "$hl" type veth peer name eth0 netns "$ns"
	HOST_LINKS+=("$hl")
	ip addr add "$net.1/24" dev "$hl"
	ip link set "$hl" up
	ip -n "$ns" addr add "$net.2/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" link set lo up
	ip -n "$ns" route add default via "$net.1"
}

# make_host6 NAME OCTETS V6PREFIX: make_host, and IPv6 as well: V6PREFIX::1/64 on this
# host's side, V6PREFIX::2/64 in the namespace with a default route back.
make_host6() {
	make_host "$1" "$2"
	local ns="$T-$1" hl="${T}$1"
	ip addr add "$3::1/64" dev "$hl" nodad
	ip -n "$ns" addr add "$3::2/64" dev eth0 nodad
	ip -n "$ns" -6 route add default via "$3::1"
}

# wait_for_port_ns NAME PORT: until something listens on TCP PORT in the extra host (3 s).
wait_for_port_ns() {
	local i
	for ((i = 0; i < 30; i++)); do
		ip netns exec "$T-$1" ss -Hltn "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	fail "nothing listens on port $2 in $T-$1"
}

# in_host NAME CMD...: runs CMD in the extra host's namespace.
in_host() {
	local ns="$T-$1"
	shift
	ip netns exec "$ns" "$@"
}

# start_container NAME SCRIPT: a busybox container (own rootfs copy, so its /etc/hosts is
# its own) running SCRIPT in a new network namespace. Sets PID_<NAME>.
start_container() {
	local name=$1 script=$2 id="${ID}-$1" rootfs="$TEST_TMP/rootfs-$1" bundle="$TEST_TMP/bundle-$1"
	cp -a "$SHARED_ROOTFS" "$rootfs"
	mkdir -p "$rootfs/www" "$bundle"
	echo "hello from $name" >"$rootfs/www/index.html"
	: >"$rootfs/etc/hosts"
	jq --arg r "$rootfs" --arg s "$script" --arg h "$name" '
		.root = {path: $r, readonly: false} | .hostname = $h
		| .process.args = ["/bin/sh", "-c", $s]' "$BUNDLE/config.json" >"$bundle/config.json"
	HUSK_TEST_TAG="$ID" "$HUSK_RUNTIME" --root "$RTROOT" run -d -b "$bundle" "$id" \
		</dev/null >"$TEST_TMP/run-$name.out" 2>&1 || {
		cat "$TEST_TMP/run-$name.out" >&2
		return 1
	}
	CONTAINERS+=("$id")
	local pid
	pid=$("$HUSK_RUNTIME" --root "$RTROOT" state "$id" | jq -r .pid)
	printf -v "PID_$name" '%s' "$pid"
}

# attach NAME NETWORK [ARGS...]: attaches container NAME; its JSON goes to $TEST_TMP/att-NAME.
attach() {
	local name=$1 net=$2 pidvar="PID_$1"
	shift 2
	husk network attach "$net" --id "${ID}-$name" --netns "/proc/${!pidvar}/ns/net" \
		--hostname "$name" --hosts-file "$TEST_TMP/rootfs-$name/etc/hosts" "$@" \
		>"$TEST_TMP/att-$name.json" || return 1
	# The engine's part: the resolv.conf attach computed goes into the container.
	jq -r .resolv_conf "$TEST_TMP/att-$name.json" >"$TEST_TMP/rootfs-$name/etc/resolv.conf"
}

cip() { jq -r .ip "$TEST_TMP/att-$1.json"; }

# cexec NAME CMD...: runs CMD inside container NAME (its rootfs, its /etc/hosts).
cexec() {
	local name=$1
	shift
	HUSK_TEST_TAG="$ID" "$HUSK_RUNTIME" --root "$RTROOT" exec "${ID}-$name" "$@"
}

# cping NAME TARGET: one ping from inside container NAME (ping needs CAP_NET_RAW, which
# the default process capabilities leave out).
cping() {
	HUSK_TEST_TAG="$ID" "$HUSK_RUNTIME" --root "$RTROOT" exec --cap CAP_NET_RAW "${ID}-$1" \
		ping -c1 -W2 "$2"
}

# http_get NAME|host URL: fetches URL from inside a container (or the host), 3 s at most.
http_get() {
	local where=$1 url=$2
	if [[ $where == host ]]; then
		timeout 3 busybox wget -q -O - "$url"
	elif [[ $where == ns:* ]]; then
		in_host "${where#ns:}" timeout 3 busybox wget -q -O - "$url"
	else
		cexec "$where" timeout 3 wget -q -O - "$url"
	fi
}

# udp_listen ADDR PORT FILE: collects datagrams for 2 s (from when it is bound) into FILE.
udp_listen() {
	python3 - "$1" "$2" "$3" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(0.2)
open(sys.argv[3] + ".ready", "w").write("1")
end = time.time() + 2
with open(sys.argv[3], "w") as out:
    while time.time() < end:
        try:
            out.write(s.recv(512).decode())
        except socket.timeout:
            pass
PY
	UDP_PID=$!
	BG_PIDS+=("$UDP_PID")
	wait_for_file "$3.ready"
}
wait_udp_listener() { wait "$UDP_PID" || true; }

# No link with this store's prefix, no table: what every cleanup must end with.
assert_no_husk_leftovers() {
	store_names
	local links
	links=$(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^$PREFIX" || true)
	[[ -z "$links" ]] || fail "links left: $links" || return 1
	if nft list table inet "$TABLE" >/dev/null 2>&1; then
		fail "nft table inet $TABLE left"
		return 1
	fi
	local addrs
	addrs=$(ip -o addr show | grep -E "${NET_ADDR_RE:- 10\.213\.}" || true)
	[[ -z "$addrs" ]] || fail "addresses left: $addrs"
}

net_teardown() {
	local c ns l
	for c in "${CONTAINERS[@]}"; do
		"$HUSK_RUNTIME" --root "$RTROOT" delete --force "$c" >/dev/null 2>&1 || true
	done
	if [[ -n "${NROOT:-}" && -d "$NROOT/networks" ]]; then
		"$HUSK" --root "$NROOT" --runroot "$TEST_TMP/run" network prune >/dev/null 2>&1 || true
		for n in $("$HUSK" --root "$NROOT" --runroot "$TEST_TMP/run" network ls -q 2>/dev/null); do
			"$HUSK" --root "$NROOT" --runroot "$TEST_TMP/run" network rm "$n" >/dev/null 2>&1 || true
		done
		store_names
		# Belt and braces: nothing of this store may survive a failed test.
		for l in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^$PREFIX"); do
			ip link del "$l" 2>/dev/null || true
		done
		nft delete table inet "$TABLE" 2>/dev/null || true
	fi
	for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
	for l in "${HOST_LINKS[@]}"; do ip link del "$l" 2>/dev/null || true; done
	common_teardown
}
