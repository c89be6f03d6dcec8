#!/usr/bin/env bats
# `husk run` on networks: the engine attaches every container to `bridge` (the default) or a
# user network before its process starts, publishes its ports, writes /etc/hosts,
# /etc/resolv.conf and /etc/hostname, and detaches when it stops. Extra hosts are network
# namespaces (net_helpers.bash); containers run the busybox rootfs directly (--rootfs).

load net_helpers

setup() {
	net_setup
	RF="$TEST_TMP/rootfs"
	cp -a "$SHARED_ROOTFS" "$RF"
	mkdir -p "$RF/www"
	echo "hello from husk run" >"$RF/www/index.html"
}

teardown() {
	local ids
	ids=$(husk ps -aq --no-trunc 2>/dev/null || true)
	[ -n "$ids" ] && husk rm -f $ids >/dev/null 2>&1
	net_teardown
}

# run_web NAME [ARGS...]: a detached busybox httpd serving $RF/www on port 80.
run_web() {
	local name=$1
	shift
	husk run -d --name "$name" "$@" --rootfs "$RF" httpd -f -p 80 -h /www >/dev/null
}

container_ip() { husk inspect -f '{{.NetworkSettings.IPAddress}}' "$1"; }

@test "default bridge: eth0 with the network's address, hosts/resolv.conf/hostname, inspect" {
	run husk run --rm --name probe -h probe-host --rootfs "$RF" sh -c \
		'ip -4 -o addr show eth0; ip route; cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; cat /etc/hostname'
	assert_success
	local ip subnet
	subnet=$(husk network inspect bridge | jq -r '.[0].subnet')
	ip=$(sed -n 's/.*inet \([0-9.]*\)\/.*/\1/p' <<<"$output" | head -1)
	[[ -n $ip ]] || fail "no address on eth0: $output"
	python3 -c 'import ipaddress,sys; sys.exit(0 if ipaddress.ip_address(sys.argv[1]) in ipaddress.ip_network(sys.argv[2]) else 1)' \
		"$ip" "$subnet" || fail "$ip is not in $subnet"
	assert_contains "$output" "default via $(husk network inspect bridge | jq -r '.[0].gateway')"
	assert_match "$output" "$ip"$'\t'"probe-host"
	assert_match "$output" "127.0.0.1"$'\t'"localhost"
	assert_not_contains "$output" "nameserver 127."
	assert_contains "$output" "nameserver"
	assert_equal "${output##*---$'\n'}" "probe-host"
	# --rm: the endpoint went with the container.
	assert_equal "$(husk network inspect bridge | jq '.[0].endpoints | length')" 0

	run_web web
	local cip
	cip=$(container_ip web)
	[[ -n $cip ]]
	run husk exec web ip -4 -o addr show eth0
	assert_contains "$output" "inet $cip/"
	assert_equal "$(husk inspect -f '{{.HostConfig.NetworkMode}}' web)" "bridge"
	assert_equal "$(husk inspect -f '{{json .NetworkSettings.Networks.bridge.IPAddress}}' web)" "\"$cip\""
	# This host reaches the container on the bridge.
	run http_get host "http://$cip/"
	assert_equal "$output" "hello from husk run"
}

@test "--network none has only lo; host shares this host's interfaces; container: joins one" {
	run husk run --rm --network none --rootfs "$RF" ip -o link
	assert_success
	assert_equal "$(grep -c . <<<"$output")" 1
	assert_contains "$output" "lo:"
	run husk run --rm --network host --rootfs "$RF" ip -o link
	assert_success
	assert_contains "$output" "$(ip -o link show | awk -F': ' 'NR==2{print $2}' | cut -d@ -f1)"

	run_web web
	local cip
	cip=$(container_ip web)
	run husk run --rm --network container:web --rootfs "$RF" sh -c \
		'ip -4 -o addr show eth0; wget -q -O - http://127.0.0.1/'
	assert_success
	assert_contains "$output" "inet $cip/"
	assert_contains "$output" "hello from husk run"
	# Only one endpoint: the joining container got no veth of its own.
	assert_equal "$(husk network inspect bridge | jq '.[0].endpoints | length')" 1
	run husk run --rm --network container:nosuch --rootfs "$RF" true
	assert_status 125
	assert_contains "$output" "nosuch"
}

@test "published ports: -p, -P with EXPOSE, husk port, ps; 127.0.0.1 ports unreachable from outside" {
	make_host out 100.72.1
	make_host atk 100.72.2
	run_web web -p 127.0.0.1:18180:80 -p 18181:80 -p 127.0.0.1::80 --expose 8443 --expose 9000-9001/udp -P
	run husk port web
	assert_success
	assert_contains "$output" "80/tcp -> 127.0.0.1:18180"
	assert_contains "$output" "80/tcp -> 0.0.0.0:18181"
	assert_contains "$output" "8443/tcp -> 0.0.0.0:"
	assert_contains "$output" "9001/udp -> 0.0.0.0:"
	run husk port web 8443
	assert_success
	assert_match "$output" "^0\.0\.0\.0:[0-9]+$"
	run husk port web 81
	assert_failure
	assert_contains "$output" "no public port '81/tcp'"
	assert_contains "$(husk ps)" "127.0.0.1:18180->80/tcp"
	assert_equal "$(husk inspect -f '{{json .NetworkSettings.Ports}}' web | jq -r '."80/tcp"[0].HostPort')" 18180
	local random
	random=$(husk port web 80 | grep '^127.0.0.1:' | grep -v ':18180$' | cut -d: -f2)
	(( random >= 32768 ))

	run http_get host http://127.0.0.1:18180/
	assert_equal "$output" "hello from husk run"
	run http_get host "http://127.0.0.1:$random/"
	assert_equal "$output" "hello from husk run"
	run http_get ns:out http://100.72.1.1:18181/
	assert_equal "$output" "hello from husk run"
	# The attacker routes 127.0.0.0/8 and the container's subnet through this host.
	local cip subnet
	cip=$(container_ip web)
	subnet=$(husk network inspect bridge | jq -r '.[0].subnet')
	in_host atk ip route add "$subnet" via 100.72.2.1
	in_host atk ip route del local 127.0.0.0/8 dev lo table local
	in_host atk ip route del local 127.0.0.1 dev lo table local
	in_host atk sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.eth0.route_localnet=1
	in_host atk ip route add 127.0.0.0/8 via 100.72.2.1 dev eth0
	assert_contains "$(in_host atk ip route get 127.0.0.1)" "via 100.72.2.1"
	run http_get ns:atk http://100.72.2.1:18181/
	assert_equal "$output" "hello from husk run"
	run http_get ns:atk http://127.0.0.1:18180/
	assert_failure
	run http_get ns:atk "http://$cip:80/"
	assert_failure

	# The ports go with the container; a stopped container publishes nothing.
	husk stop -t 1 web >/dev/null
	run husk port web
	assert_equal "$output" ""
	run http_get host http://127.0.0.1:18180/
	assert_failure
	# ... and come back on start.
	husk start web >/dev/null
	eventually http_get host http://127.0.0.1:18180/
}

@test "a user network: containers reach each other by name and alias; two networks are isolated" {
	husk network create --subnet 10.213.60.0/24 front >/dev/null
	husk network create --subnet 10.213.61.0/24 back >/dev/null
	run_web web --network front --network-alias www
	run_web other --network back
	run husk run --rm --network front --cap-add NET_RAW --rootfs "$RF" sh -c \
		'wget -q -O - http://web/ && wget -q -O - http://www/ && ping -c1 -W2 web >/dev/null && echo pinged'
	assert_success
	assert_equal "$output" "hello from husk run"$'\n'"hello from husk run"$'\n'"pinged"
	# The name also resolves through the network's DNS responder (nslookup asks it).
	run husk run --rm --network front --rootfs "$RF" nslookup web
	assert_success
	assert_contains "$output" "$(container_ip web)"
	# A fixed address.
	run husk run --rm --network front --ip 10.213.60.77 --rootfs "$RF" ip -4 -o addr show eth0
	assert_contains "$output" "inet 10.213.60.77/24"
	# The other network cannot reach web, by name or by address.
	run husk exec other timeout 3 wget -q -O - "http://$(container_ip web)/"
	assert_failure
	run husk exec other nslookup web
	assert_failure
}

@test "egress is masqueraded: the outside host sees this host's address" {
	make_host out 100.72.1
	mkdir -p "$TEST_TMP/www/cgi-bin"
	printf '#!/bin/sh\necho Content-Type: text/plain\necho\necho "$REMOTE_ADDR"\n' \
		>"$TEST_TMP/www/cgi-bin/ip"
	chmod +x "$TEST_TMP/www/cgi-bin/ip"
	ip netns exec "$T-out" busybox httpd -f -p 100.72.1.2:8000 -h "$TEST_TMP/www" &
	BG_PIDS+=($!)
	sleep 0.2
	run husk run --rm --rootfs "$RF" timeout 3 wget -q -O - http://100.72.1.2:8000/cgi-bin/ip
	assert_success
	assert_equal "$output" "100.72.1.1"
}

@test "--dns, --dns-search, --add-host, -h reach the container's files" {
	run husk run --rm -h named --dns 192.0.2.53 --dns-search example.test --dns-option ndots:2 \
		--add-host db.example:10.1.2.3 --rootfs "$RF" sh -c 'cat /etc/resolv.conf /etc/hosts; hostname'
	assert_success
	assert_contains "$output" "nameserver 192.0.2.53"
	assert_contains "$output" "search example.test"
	assert_contains "$output" "options ndots:2"
	assert_contains "$output" $'10.1.2.3\tdb.example'
	assert_equal "${output##*$'\n'}" "named"
	# On a user network too, where peers come and go and the hosts file is rewritten.
	husk network create --subnet 10.213.62.0/24 hostsnet >/dev/null
	run_web web --network hostsnet --add-host db.example:10.1.2.3
	husk run --rm --network hostsnet --rootfs "$RF" true
	run husk exec web cat /etc/hosts
	assert_contains "$output" $'10.1.2.3\tdb.example'
}

@test "bad network input is refused with 125 and leaves no container, veth or rule" {
	store_names
	run husk run --network nosuch --rootfs "$RF" true
	assert_status 125
	assert_contains "$output" "network nosuch not found"
	run husk run -p 99999:80 --rootfs "$RF" true
	assert_status 125
	assert_contains "$output" "99999"
	run husk run --network none -p 8080:80 --rootfs "$RF" true
	assert_status 125
	assert_contains "$output" "--network none"
	run husk run --ip 10.213.63.5 --rootfs "$RF" true
	assert_status 125
	assert_contains "$output" "user network"
	run husk run --add-host nocolon --rootfs "$RF" true
	assert_status 125
	assert_equal "$(husk ps -aq | wc -l)" 0
	# A host port already taken: the container does not start, and its attach left nothing.
	run_web first -p 18190:80
	run husk run --name second -p 18190:80 --rootfs "$RF" true
	assert_status 125
	assert_contains "$output" "host port 18190/tcp"
	assert_equal "$(husk inspect -f '{{.State.Status}}' second)" "exited"
	assert_equal "$(husk network inspect bridge | jq '.[0].endpoints | length')" 1
	husk rm -f first second >/dev/null
	assert_equal "$(husk network inspect bridge | jq '.[0].endpoints | length')" 0
	local links
	links=$(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^${PREFIX}v" || true)
	[[ -z $links ]] || fail "veths left: $links"
	run nft list table inet "$TABLE"
	assert_not_contains "$output" "18190"
}

@test "kill -9 of the monitor, then rm -f: the endpoint and its rules go; restarts re-attach" {
	store_names
	run_web web -p 127.0.0.1:18195:80
	eventually http_get host http://127.0.0.1:18195/
	local monitor
	monitor=$(jq -r .monitor_pid "$NROOT/containers/$(husk inspect -f '{{.Id}}' web)/state.json")
	kill -9 "$monitor"
	husk rm -f web >/dev/null
	assert_equal "$(husk network inspect bridge | jq '.[0].endpoints | length')" 0
	run nft list table inet "$TABLE"
	assert_not_contains "$output" "18195"
	local links
	links=$(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^${PREFIX}v" || true)
	[[ -z $links ]] || fail "veths left: $links"

	# --restart: each start attaches again, so the published port keeps working.
	husk run -d --name flaky --restart on-failure:2 -p 127.0.0.1:18196:80 --rootfs "$RF" \
		sh -c 'httpd -p 80 -h /www; sleep 1; exit 3' >/dev/null
	restarted_twice() { [ "$(husk inspect -f '{{.RestartCount}} {{.State.Status}}' flaky)" = "2 exited" ]; }
	eventually restarted_twice
	assert_equal "$(husk network inspect bridge | jq '.[0].endpoints | length')" 0
}

@test "network connect/disconnect of a running container by name; its endpoints go when it stops" {
	husk network create --subnet 10.213.64.0/24 extra >/dev/null
	run_web web
	husk network connect extra web >/dev/null
	run husk exec web ip -4 -o addr show
	assert_contains "$output" "10.213.64."
	run husk run --rm --network extra --rootfs "$RF" wget -q -O - http://web/
	assert_equal "$output" "hello from husk run"
	husk network disconnect extra web
	assert_equal "$(husk network inspect extra | jq '.[0].endpoints | length')" 0
	run husk run --rm --network extra --rootfs "$RF" timeout 3 wget -q -O - http://web/
	assert_failure
	# Connected again, then stopped: every network it was on lets go of it.
	husk network connect extra web >/dev/null
	husk stop -t 1 web >/dev/null
	assert_equal "$(husk network inspect extra | jq '.[0].endpoints | length')" 0
	assert_equal "$(husk network inspect bridge | jq '.[0].endpoints | length')" 0
	run husk network connect extra web
	assert_failure
	assert_contains "$output" "the container is exited"
}
