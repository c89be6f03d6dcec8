#!/usr/bin/env bats
# Rootless networking: pasta (the default for an unprivileged user) and slirp4netns give a
# container egress through the host's sockets and forward published ports from the host.
# Egress is checked against a test host in a network namespace of this file's own, reached
# through a veth whose address range is checked free first.

load rootless

setup_file() {
	rootless_user_setup
	uh load -i "$RL_TAR" >/dev/null
	# The outside host: a netns with a web server on 10.213.N.2.
	export EXT_NS="hrl-ext-$$"
	local n
	for n in $(shuf -i 1-250 -n 20); do
		ip route | grep -q "^10\.213\.$n\." || break
	done
	export EXT_NET="10.213.$n"
	ip netns add "$EXT_NS"
	ip link add "hrl$$h" type veth peer name "hrl$$n"
	ip link set "hrl$$n" netns "$EXT_NS"
	ip addr add "$EXT_NET.1/30" dev "hrl$$h"
	ip link set "hrl$$h" up
	ip netns exec "$EXT_NS" ip addr add "$EXT_NET.2/30" dev "hrl$$n"
	ip netns exec "$EXT_NS" ip link set "hrl$$n" up
	ip netns exec "$EXT_NS" ip link set lo up
	mkdir -p "$RL_DIR/www"
	echo outside-world >"$RL_DIR/www/index.html"
	ip netns exec "$EXT_NS" busybox httpd -p 8080 -h "$RL_DIR/www"
}

teardown_file() {
	rootless_user_teardown
	local pid
	for pid in $(ip netns pids "$EXT_NS" 2>/dev/null); do kill "$pid"; done
	ip link del "hrl$$h" 2>/dev/null || true
	ip netns del "$EXT_NS" 2>/dev/null || true
}

teardown() {
	local ids
	ids=$(uh ps -aq --no-trunc 2>/dev/null || true)
	[[ -z "$ids" ]] || uh rm -f $ids >/dev/null 2>&1 || true
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

@test "pasta is the default: egress to a host outside through a tap, not a veth" {
	run uh run --rm busybox sh -c "timeout 5 wget -qO- http://$EXT_NET.2:8080/index.html
		for d in /sys/class/net/*; do [ -e \$d/tun_flags ] && echo tap:\${d##*/}; done; true"
	assert_success
	assert_contains "$output" outside-world
	# pasta's interface in the container is a tap device it holds, no veth to the host.
	assert_contains "$output" "tap:"
}

@test "pasta: a published port is reachable from the host, husk port shows it" {
	local port
	port=$(free_port)
	run uh run -d --name web -p "127.0.0.1:$port:80" busybox sh -c 'mkdir /w; echo served-rootless > /w/i; exec httpd -f -p 80 -h /w'
	assert_success
	local i
	for i in $(seq 50); do curl -s "http://127.0.0.1:$port/i" | grep -q served && break; sleep 0.1; done
	run curl -s "http://127.0.0.1:$port/i"
	assert_contains "$output" served-rootless
	run uh port web
	assert_contains "$output" "80/tcp -> 127.0.0.1:$port"
	# The helper is the user's process, stopped with the container.
	uh rm -f web
	for i in $(seq 50); do curl -s -m 1 "http://127.0.0.1:$port/i" >/dev/null || break; sleep 0.1; done
	run curl -s -m 1 "http://127.0.0.1:$port/i"
	assert_failure
}

@test "pasta -P: exposed ports (image EXPOSE and --expose) on random host ports, -p kept" {
	local port
	port=$(free_port)
	# An image that EXPOSEs 80, built by the user.
	mkdir -p "$RL_HOME/pctx"
	printf 'FROM busybox\nEXPOSE 80\n' >"$RL_HOME/pctx/Dockerfile"
	chown -R "$RL_UID:$RL_GID" "$RL_HOME/pctx"
	run uh build -q -t exposer "$RL_HOME/pctx"
	assert_success
	run uh run -d --name pall -P --expose 8081 -p "127.0.0.1:$port:8082" exposer sh -c \
		'mkdir /w; echo served-P > /w/i; httpd -p 80 -h /w; httpd -p 8081 -h /w; exec httpd -f -p 8082 -h /w'
	assert_success
	run uh port pall
	assert_success
	# The EXPOSEd 80, the --expose 8081 on free host ports, the -p 8082 where it was asked.
	assert_match "$output" "80/tcp -> 0\.0\.0\.0:[0-9]+"
	assert_match "$output" "8081/tcp -> 0\.0\.0\.0:[0-9]+"
	assert_contains "$output" "8082/tcp -> 127.0.0.1:$port"
	local p80 p8081
	p80=$(uh port pall 80/tcp | head -1 | sed 's/.*://')
	p8081=$(uh port pall 8081/tcp | head -1 | sed 's/.*://')
	[[ "$p80" =~ ^[0-9]+$ && "$p8081" =~ ^[0-9]+$ && "$p80" != 80 && "$p80" != "$p8081" ]] ||
		fail "random host ports expected: 80 -> $p80, 8081 -> $p8081"
	run uh ps --filter name=pall --format '{{.Ports}}'
	assert_contains "$output" "0.0.0.0:$p80->80/tcp"
	assert_contains "$output" "0.0.0.0:$p8081->8081/tcp"
	assert_contains "$output" "127.0.0.1:$port->8082/tcp"
	local i
	for i in $(seq 50); do curl -s "http://127.0.0.1:$p80/i" | grep -q served && break; sleep 0.1; done
	for p in "$p80" "$p8081" "$port"; do
		run curl -s -m 5 "http://127.0.0.1:$p/i"
		assert_contains "$output" served-P
	done
	uh rm -f pall
	run curl -s -m 1 "http://127.0.0.1:$p80/i"
	assert_failure
}

@test "slirp4netns on request: egress and a published port" {
	local port
	port=$(free_port)
	run uh run -d --name sl --network slirp4netns -p "$port:80" busybox sh -c 'mkdir /w; echo via-slirp > /w/i; exec httpd -f -p 80 -h /w'
	assert_success
	local i
	for i in $(seq 50); do curl -s "http://127.0.0.1:$port/i" | grep -q via && break; sleep 0.1; done
	run curl -s "http://127.0.0.1:$port/i"
	assert_contains "$output" via-slirp
	run uh exec sl sh -c "timeout 5 wget -qO- http://$EXT_NET.2:8080/index.html"
	assert_contains "$output" outside-world
}

@test "user networks need root: the error says what rootless containers use" {
	run uh run --rm --network mynet busybox true
	assert_failure
	assert_contains "$output" "user networks need root"
	assert_contains "$output" pasta
}

@test "the container cannot reach the host's loopback services through the gateway" {
	local port
	port=$(free_port)
	python3 -m http.server --bind 127.0.0.1 "$port" --directory "$RL_DIR/www" >/dev/null 2>&1 &
	local srv=$!
	sleep 0.5
	run uh run --rm busybox sh -c "gw=\$(ip route | awk '/default/ {print \$3}'); timeout 3 wget -qO- http://\$gw:$port/index.html || echo unreachable"
	kill "$srv"
	assert_contains "$output" unreachable
	assert_not_contains "$output" outside-world
}
