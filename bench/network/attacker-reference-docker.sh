#!/bin/bash
# The attacker scenario of tests/integration/network (moby #22054 / #45610 / #14041) run
# against Docker (Debian's docker.io, 20.10), as a reference for docs/networking.md.
# Not a test: it prints what the attacker reached.
#
# dockerd installs iptables chains and sets the FORWARD policy to DROP, which would break
# forwarding on this shared machine, so it runs INSIDE a network namespace of its own
# ("the Docker host", hkd-host) with its own --data-root, --exec-root, --pidfile, socket,
# bridge and cgroup parent under a temp dir; the attacker namespace is joined to it by a
# veth. Every rule dockerd makes lives in that namespace and dies with it.
# Root only; names hkd* / 100.72.5.0/24 / 10.213.93.0/24; everything removed on exit.
#   usage: [DOCKERD_ARGS=--userland-proxy=false] bench/network/attacker-reference-docker.sh ROOTFS
set -u
ROOTFS=${1:?busybox rootfs}
DOCKERD=${DOCKERD:-/usr/sbin/dockerd}
DOCKER=${DOCKER_CLI:-/usr/bin/docker}
W=$(mktemp -d /tmp/hkd.XXXXXX)
HOSTNS=hkd-host
ATK=hkd-atk
D=("$DOCKER" -H "unix://$W/docker.sock")
cleanup() {
	"${D[@]}" rm -f hkd-web >/dev/null 2>&1
	if [[ -f $W/docker.pid ]]; then
		local pid
		pid=$(cat "$W/docker.pid")
		kill "$pid" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$pid" 2>/dev/null
	fi
	# Mounts dockerd left under its own roots (overlay layers, netns files), deepest first.
	grep -o " $W[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m"; done
	ip netns del "$ATK" 2>/dev/null
	ip netns del "$HOSTNS" 2>/dev/null
	# The cgroups dockerd made under its --cgroup-parent, in every hierarchy.
	find /sys/fs/cgroup -maxdepth 4 -type d -name hkd-docker 2>/dev/null | while read -r c; do
		find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	rm -rf "$W"
}
trap cleanup EXIT
[[ -x $DOCKERD ]] || { echo "needs docker.io ($DOCKERD)" >&2; exit 1; }

ip netns add "$HOSTNS"
ip netns add "$ATK"
ip -n "$HOSTNS" link set lo up
ip -n "$ATK" link set lo up
ip -n "$HOSTNS" link add hkdh0 type veth peer name eth0 netns "$ATK"
ip -n "$HOSTNS" addr add 100.72.5.1/24 dev hkdh0
ip -n "$HOSTNS" link set hkdh0 up
ip -n "$ATK" addr add 100.72.5.2/24 dev eth0
ip -n "$ATK" link set eth0 up
ip -n "$ATK" route add default via 100.72.5.1
ip -n "$HOSTNS" link add hkdbr0 type bridge
ip -n "$HOSTNS" addr add 10.213.93.1/24 dev hkdbr0
ip -n "$HOSTNS" link set hkdbr0 up

# nsenter, not `ip netns exec`: that remounts /sys, hiding the cgroup mounts dockerd needs.
nsenter --net=/run/netns/"$HOSTNS" "$DOCKERD" --data-root "$W/data" --exec-root "$W/exec" \
	--pidfile "$W/docker.pid" -H "unix://$W/docker.sock" --bridge hkdbr0 \
	--cgroup-parent hkd-docker --storage-driver overlay2 ${DOCKERD_ARGS:-} >"$W/dockerd.log" 2>&1 &
for _ in $(seq 100); do "${D[@]}" info >/dev/null 2>&1 && break; sleep 0.2; done
"${D[@]}" info >/dev/null 2>&1 || { tail -20 "$W/dockerd.log" >&2; exit 1; }
tar -C "$ROOTFS" -c . | "${D[@]}" import - hkd-busybox >/dev/null || exit 1
"${D[@]}" run -d --name hkd-web -p 127.0.0.1:18180:80 -p 18181:80 hkd-busybox \
	/bin/sh -c 'mkdir -p /www && echo reached >/www/index.html && httpd -p 81 -h /www && exec httpd -f -p 80 -h /www' \
	>/dev/null || { tail -20 "$W/dockerd.log" >&2; exit 1; }
CIP=$("${D[@]}" inspect hkd-web --format '{{.NetworkSettings.IPAddress}}')

# The attacker routes the container subnet and 127.0.0.0/8 through the Docker host.
ip -n "$ATK" route add 10.213.93.0/24 via 100.72.5.1
ip -n "$ATK" route del local 127.0.0.0/8 dev lo table local
ip -n "$ATK" route del local 127.0.0.1 dev lo table local
ip -n "$ATK" route add 127.0.0.0/8 via 100.72.5.1 dev eth0
ip netns exec "$ATK" sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.eth0.route_localnet=1
sleep 1
try() {
	if ip netns exec "$ATK" timeout 3 busybox wget -q -O - "$2" >/dev/null 2>&1; then
		echo "REACHED   $1 ($2)"
	else
		echo "blocked   $1 ($2)"
	fi
}
echo "docker $("${D[@]}" version --format '{{.Server.Version}}'), dockerd in namespace $HOSTNS"
ip netns exec "$HOSTNS" timeout 3 busybox wget -q -O - http://127.0.0.1:18180/ >/dev/null &&
	echo "REACHED   127.0.0.1:18180 from the Docker host itself (expected)"
try "port published on 0.0.0.0 via the host address" "http://100.72.5.1:18181/"
try "port published on 127.0.0.1 from the attacker" "http://127.0.0.1:18180/"
try "published container port directly" "http://$CIP:80/"
try "unpublished container port directly" "http://$CIP:81/"
echo "FORWARD policy in $HOSTNS: $(ip netns exec "$HOSTNS" iptables -S FORWARD | head -1)"
echo "route_localnet on hkdbr0: $(ip netns exec "$HOSTNS" sysctl -n net.ipv4.conf.hkdbr0.route_localnet)"
