# Guest scenario (busybox sh) for husk doctor / system bootstrap on a bare guest: the rig's
# init mounted only /proc and /dev (husk.bare=1). The doctor must report the gaps, the
# bootstrap fix them, the doctor be clean afterwards, and a container get its memory limit.
. /vm/lib.sh

HUSK_BIN=/vm/bin/husk
husk() { "$HUSK_BIN" --root /var/lib/husk --runroot /run/husk "$@"; }
status_of() { jq -r --arg id "$2" '.checks[] | select(.id == $id) | .status' "$1"; }
fact_of() { jq -r --arg id "$2" ".checks[] | select(.id == \$id) | .facts.$3" "$1"; }
step_of() { jq -r --arg s "$2" '.[] | select(.step == $s) | .state' "$1"; }

check_doctor_before() {
	[ -x "$HUSK_BIN" ] || fail "no husk binary in the guest"
	husk doctor --json >/tmp/before.json
	rc=$?
	log "$(jq -r '.checks[] | select(.status != "pass") | "\(.status) \(.id): \(.summary)"' /tmp/before.json)"
	expect_eq "$rc" 2 "doctor exit status"
	expect_eq "$(status_of /tmp/before.json mounts.sys)" fail "mounts.sys"
	expect_eq "$(status_of /tmp/before.json mounts.devpts)" warn "mounts.devpts"
	expect_eq "$(fact_of /tmp/before.json cgroups.layout layout)" none "cgroup layout"
	DETAIL="$(jq -r '[.checks[] | select(.status != "pass") | .id] | join(",")' /tmp/before.json)"
}

check_bootstrap() {
	husk system bootstrap --json >/tmp/boot.json
	rc=$?
	log "$(jq -r '.[] | "\(.state): \(.step): \(.detail)"' /tmp/boot.json)"
	expect_eq "$rc" 0 "bootstrap exit status"
	expect_eq "$(step_of /tmp/boot.json 'mount sysfs on /sys')" done "sysfs"
	expect_eq "$(step_of /tmp/boot.json 'mount devpts on /dev/pts')" done "devpts"
	expect_eq "$(step_of /tmp/boot.json 'bring up lo')" done "lo (the rig's init leaves it down)"
	expect_eq "$(step_of /tmp/boot.json 'mount tmpfs on /dev/shm')" done "shm"
	# Nothing is bound to v1 in a fresh boot, whatever the cgroup_no_v1 setting: cgroup2.
	expect_eq "$(step_of /tmp/boot.json 'mount cgroup2 on /sys/fs/cgroup')" done "cgroup2"
	expect_eq "$(step_of /tmp/boot.json 'enable cgroup v2 controllers for containers')" done \
		"delegation"
	grep -q memory /sys/fs/cgroup/cgroup.subtree_control ||
		fail "memory not enabled: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
	DETAIL="subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
}

check_bootstrap_again() {
	husk system bootstrap --json >/tmp/again.json || fail "second bootstrap failed"
	n=$(jq '[.[] | select(.state != "already ok")] | length' /tmp/again.json)
	expect_eq "$n" 0 "steps that acted on the second run"
}

# After the bootstrap, what is left is what it cannot fix: kernel modules not loaded. The
# doctor names them in its fix; loading them makes it clean.
check_doctor_after() {
	husk doctor --json >/tmp/after.json
	rc=$?
	log "$(jq -r '.checks[] | select(.status != "pass") | "\(.status) \(.id): \(.summary)"' /tmp/after.json)"
	fails=$(jq -r '[.checks[] | select(.status == "fail") | .id] | join(",")' /tmp/after.json)
	if [ -n "$fails" ]; then
		expect_eq "$fails" "network.nftables,network.veth_bridge" "failures left"
		case "$(jq -r '.checks[] | select(.id == "network.nftables") | .fix' /tmp/after.json)" in
		*"modprobe -a nf_tables"*) ;;
		*) fail "no modprobe in the nftables fix" ;;
		esac
	fi
	for id in mounts.proc mounts.sys mounts.dev mounts.devpts mounts.shm cgroups.layout \
		cgroups.writable cgroups.controllers cgroups.delegation; do
		expect_eq "$(status_of /tmp/after.json $id)" pass "$id"
	done
	expect_eq "$(fact_of /tmp/after.json cgroups.layout layout)" v2 "cgroup layout"
	DETAIL="warnings: $(jq -r '[.checks[] | select(.status == "warn") | .id] | join(",")' /tmp/after.json)"
}

check_modules() {
	modprobe -a overlay veth bridge nf_tables nft_chain_nat nft_nat nft_masq nf_conntrack nft_ct ||
		fail "modprobe failed"
	husk doctor --json >/tmp/final.json
	rc=$?
	log "$(jq -r '.checks[] | select(.status != "pass") | "\(.status) \(.id): \(.summary)"' /tmp/final.json)"
	[ "$rc" -le 1 ] || fail "doctor fails: $(jq -r '[.checks[] | select(.status == "fail") | .id] | join(",")' /tmp/final.json)"
	for id in network.nftables network.veth_bridge storage.overlay; do
		expect_eq "$(status_of /tmp/final.json $id)" pass "$id"
	done
	DETAIL="exit $rc; warnings: $(jq -r '[.checks[] | select(.status == "warn") | .id] | join(",")' /tmp/final.json)"
}

check_memory_limit() {
	set_resources '{"memory": {"limit": 33554432}}'
	cfg '.process.args = ["sleep", "30"]'
	run_detached
	got=$(cat "/sys/fs/cgroup$CG_PATH/memory.max" 2>&1)
	expect_eq "$got" 33554432 "memory.max of the container's cgroup"
	rt delete --force "$ID" >/dev/null 2>&1
	DETAIL="memory.max $got"
}

# `husk run` on the default bridge network in the bootstrapped guest: egress to the guest's
# own address through NAT and a port published on 127.0.0.1, reached from the guest.
check_bridge_port() {
	[ -x /vm/bin/husk-net ] || fail "no husk-net in the guest"
	mkdir -p /tmp/www
	echo "served from a bridged container" >/tmp/www/index.html
	husk run -d --name web -p 127.0.0.1:8080:80 -v /tmp/www:/www:ro --rootfs /vm/bundle/rootfs \
		httpd -f -p 80 -h /www >/tmp/run.out 2>&1 || fail "husk run: $(cat /tmp/run.out)"
	ip=$(husk inspect -f '{{.NetworkSettings.IPAddress}}' web)
	[ -n "$ip" ] || fail "no address: $(husk inspect web)"
	got=""
	for i in 1 2 3 4 5 6 7 8 9 10; do
		got=$(wget -q -O - http://127.0.0.1:8080/ 2>/dev/null) && break
		sleep 1
	done
	expect_eq "$got" "served from a bridged container" "GET 127.0.0.1:8080"
	expect_eq "$(husk port web)" "80/tcp -> 127.0.0.1:8080" "husk port"
	expect_eq "$(cat /proc/sys/net/ipv4/ip_forward)" 1 "ip_forward"
	husk rm -f web >/dev/null || fail "rm -f web"
	expect_eq "$(husk network inspect bridge | jq '.[0].endpoints | length')" 0 "endpoints after rm"
	DETAIL="container $ip, 127.0.0.1:8080 answered"
}

run_checks doctor_before bootstrap bootstrap_again doctor_after modules memory_limit bridge_port
