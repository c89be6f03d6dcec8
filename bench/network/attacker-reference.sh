#!/bin/bash
# The attacker scenario of tests/integration/network (moby #22054 / #45610 / #14041) run
# against podman's bridge networking on this machine, as a reference for docs/networking.md.
# Not a test: it prints what the attacker reached. Root only; everything it makes is named
# hkr* / 10.213.9x and removed on exit.
#   usage: bench/network/attacker-reference.sh BUSYBOX_ROOTFS
set -u
ROOTFS=${1:?busybox rootfs}
W=$(mktemp -d /tmp/hkr.XXXXXX)
NS=hkr-atk
HL=hkratk
cleanup() {
	podman "${P[@]}" rm -f -t 0 hkr-web >/dev/null 2>&1
	podman "${P[@]}" network rm -f hkrnet >/dev/null 2>&1
	ip netns del "$NS" 2>/dev/null
	ip link del "$HL" 2>/dev/null
	umount "$W/root/overlay" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
cat >"$W/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[network]
network_config_dir = "$W/net"
CONF
export CONTAINERS_CONF=$W/containers.conf
P=(--root "$W/root" --runroot "$W/run" --cgroup-manager cgroupfs --runtime runc)
cp -a "$ROOTFS" "$W/rootfs"
mkdir -p "$W/rootfs/www" && echo "reached the container" >"$W/rootfs/www/index.html"
podman "${P[@]}" network create --subnet 10.213.91.0/24 hkrnet >/dev/null || exit 1
podman "${P[@]}" run -d --name hkr-web --network hkrnet -p 127.0.0.1:18180:80 -p 18181:80 \
	--rootfs "$W/rootfs" /bin/busybox httpd -f -p 80 -h /www >/dev/null || exit 1
CIP=$(podman "${P[@]}" inspect hkr-web --format '{{(index .NetworkSettings.Networks "hkrnet").IPAddress}}')
# A second, unpublished port inside the container.
podman "${P[@]}" exec -d hkr-web /bin/busybox httpd -f -p 81 -h /www
ip netns add "$NS"
ip link add "$HL" type veth peer name eth0 netns "$NS"
ip addr add 100.72.3.1/24 dev "$HL" && ip link set "$HL" up
ip -n "$NS" addr add 100.72.3.2/24 dev eth0 && ip -n "$NS" link set eth0 up
ip -n "$NS" link set lo up
ip -n "$NS" route add default via 100.72.3.1
ip -n "$NS" route add 10.213.91.0/24 via 100.72.3.1
ip -n "$NS" route del local 127.0.0.0/8 dev lo table local
ip -n "$NS" route del local 127.0.0.1 dev lo table local
ip -n "$NS" route add 127.0.0.0/8 via 100.72.3.1 dev eth0
ip netns exec "$NS" sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.eth0.route_localnet=1
sleep 0.5
try() {
	if ip netns exec "$NS" timeout 3 busybox wget -q -O - "$2" >/dev/null 2>&1; then
		echo "REACHED   $1 ($2)"
	else
		echo "blocked   $1 ($2)"
	fi
}
echo "podman $(podman --version | awk '{print $3}'), network backend $(podman "${P[@]}" info --format '{{.Host.NetworkBackend}}')"
try "host-local check: 127.0.0.1:18180 from this host" "http://127.0.0.1:18180/" # in ns: shown for form
timeout 3 busybox wget -q -O - http://127.0.0.1:18180/ >/dev/null && echo "REACHED   127.0.0.1:18180 from this host (expected)"
try "port published on 0.0.0.0 via the host address" "http://100.72.3.1:18181/"
try "port published on 127.0.0.1 from the attacker" "http://127.0.0.1:18180/"
try "published container port directly" "http://$CIP:80/"
try "unpublished container port directly" "http://$CIP:81/"
