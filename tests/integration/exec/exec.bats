#!/usr/bin/env bats
# exec: a new process in a running container, in its namespaces and cgroup, confined as its
# init (capabilities, no_new_privs, seccomp), with runc's flags and --process.

load ../helpers

setup() { common_setup; }
teardown() { common_teardown; }

# A running container whose init waits (bounded) for /out/go.
start_waiting() {
	bind_out
	set_cmd 'i=0; while [ ! -e /out/go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done'
	rtd run --detach --bundle "$BUNDLE" "$ID"
	assert_success
	INIT_PID=$(state_field pid)
}

@test "exec runs in every namespace, the root and the cgroup of the container" {
	start_waiting
	run --separate-stderr rt exec "$ID" sh -c 'hostname; echo $$; for n in mnt net ipc uts pid cgroup; do readlink /proc/self/ns/$n; done; ls /'
	assert_success
	local lines
	mapfile -t lines <<<"$output"
	assert_equal "${lines[0]}" husk-bats "hostname"
	[[ "${lines[1]}" -gt 1 && "${lines[1]}" -lt 100 ]] || fail "pid in the container's pid ns: ${lines[1]}"
	local i=2 n
	for n in mnt net ipc uts pid cgroup; do
		assert_equal "${lines[$i]}" "$(readlink /proc/$INIT_PID/ns/$n)" "$n namespace"
		i=$((i + 1))
	done
	assert_not_contains "$output" "husk-bats."
	[[ "$output" == *$'\nout\n'* ]] || fail "the container's /out is not at its root: $output"

	# The cgroup: the container's, in every hierarchy, while the process runs.
	rtd exec --detach --pid-file "$TEST_TMP/exec.pid" "$ID" sleep 30
	assert_success
	local pid
	pid=$(cat "$TEST_TMP/exec.pid")
	pid_alive "$pid" || fail "detached exec process $pid is not running"
	assert_equal "$(cat /proc/$pid/cgroup)" "$(cat /proc/$INIT_PID/cgroup)" "cgroups of exec vs init"
	run rt ps --format json "$ID"
	assert_contains "$output" "$pid"
	kill -KILL "$pid"
}

@test "exec returns the exit status, 128+N for signal N" {
	start_waiting
	run rt exec "$ID" sh -c 'exit 7'
	assert_status 7
	run rt exec "$ID" sh -c 'kill -9 $$'
	assert_status 137
	run rt exec "$ID" true
	assert_success
}

@test "exec --env, --cwd, --user apply on top of the container's process" {
	start_waiting
	run --separate-stderr rt exec -e FOO=bar --env HUSK_X=1 --cwd /tmp -u 1000:1001 "$ID" \
		sh -c 'id -u; id -g; pwd; echo "$FOO $HUSK_X"; echo "$HUSK_TEST_TAG"'
	assert_success
	assert_equal "$output" $'1000\n1001\n/tmp\nbar 1\n'"$ID" "id, pwd, env"
	run --separate-stderr rt exec -u 5 "$ID" sh -c 'id -u; id -g'
	assert_success
	assert_equal "$output" $'5\n0' "uid with the config's gid"
}

@test "exec --process reads a runtime-spec process (args, env, cwd, user, rlimits)" {
	start_waiting
	cat >"$TEST_TMP/process.json" <<-'JSON'
		{"args": ["sh", "-c", "id -u; pwd; echo $WHO; ulimit -n"], "env": ["PATH=/bin:/usr/bin", "WHO=proc"],
		 "cwd": "/etc", "user": {"uid": 65534, "gid": 65534},
		 "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 321}]}
	JSON
	run --separate-stderr rt exec --process "$TEST_TMP/process.json" "$ID"
	assert_success
	assert_equal "$output" $'65534\n/etc\nproc\n321' "process from --process"

	echo '{"args": [], "cwd": "/", "user": {"uid": 0, "gid": 0}}' >"$TEST_TMP/bad.json"
	run --separate-stderr rt exec --process "$TEST_TMP/bad.json" "$ID"
	assert_failure
	assert_names_field "$stderr" "process.args: must not be empty"
}

@test "exec is confined as the init: capabilities, no_new_privs, seccomp; --cap adds one" {
	start_waiting
	local init_caps
	init_caps=$(grep -E '^Cap(Bnd|Eff)' /proc/$INIT_PID/status)
	run --separate-stderr rt exec "$ID" grep -E '^(Cap(Bnd|Eff)|NoNewPrivs|Seccomp):' /proc/self/status
	assert_success
	assert_contains "$output" "$init_caps"
	assert_contains "$output" $'NoNewPrivs:\t1'
	assert_contains "$output" $'Seccomp:\t2'

	run --separate-stderr rt exec --cap CAP_SYS_ADMIN "$ID" grep -E '^CapEff:' /proc/self/status
	assert_success
	# CAP_SYS_ADMIN is bit 21.
	(((0x${output##*:$'\t'} >> 21) & 1)) || fail "CAP_SYS_ADMIN not effective: $output"
	run --separate-stderr rt exec --cap CAP_NOPE "$ID" true
	assert_failure
	assert_contains "$stderr" 'CAP_NOPE'
}

@test "exec passes on no host fd but what --preserve-fds names; the process is not the runtime" {
	start_waiting
	echo secret >"$TEST_TMP/host-file"
	run --separate-stderr rt exec "$ID" sh -c 'ls /proc/self/fd | tr "\n" " "; echo; readlink /proc/self/exe' 7<"$TEST_TMP/host-file"
	assert_success
	assert_equal "$(head -1 <<<"$output")" "0 1 2 3 " "fds in the process (3: ls's own)"
	assert_not_contains "$output" husk-runtime

	run --separate-stderr rt exec --preserve-fds 1 "$ID" sh -c 'cat <&3' 3<"$TEST_TMP/host-file"
	assert_success
	assert_equal "$output" secret "fd 3 passed on"
}

@test "exec errors from inside the container come back with context" {
	start_waiting
	run --separate-stderr rt exec "$ID" no-such-command
	assert_status 1
	assert_contains "$stderr" 'no-such-command'
	assert_contains "$stderr" 'not found'
	run --separate-stderr rt exec --cwd /no/such/dir "$ID" true
	assert_failure
	assert_contains "$stderr" '/no/such/dir'
	run --separate-stderr rt exec "$ID"
	assert_failure
	run --separate-stderr rt exec no-such-container true
	assert_failure
}

@test "exec into a paused container is refused, into a stopped one fails clearly" {
	start_waiting
	run rt pause "$ID"
	assert_success
	run --separate-stderr rt exec "$ID" true
	assert_failure
	assert_contains "$stderr" "cannot exec in a paused container"
	run rt resume "$ID"
	assert_success

	touch "$OUT/go"
	wait_for_status stopped
	run --separate-stderr rt exec "$ID" true
	assert_failure
	assert_contains "$stderr" "stopped"
}

@test "exec into a created (not started) container runs the process" {
	bind_out
	set_cmd 'true'
	rtd create --bundle "$BUNDLE" "$ID"
	assert_success
	run --separate-stderr rt exec "$ID" hostname
	assert_success
	assert_equal "$output" husk-bats
}

@test "a foreground exec forwards signals to its process" {
	start_waiting
	# The runtime itself in the background (not the rt function's subshell): $! is its pid.
	HUSK_TEST_TAG="$ID" "$HUSK_RUNTIME" --root "$ROOT" exec "$ID" sh -c 'trap "echo got-term > /out/term; exit 3" TERM; echo ready > /out/ready; while :; do sleep 0.1; done' \
		</dev/null >"$TEST_TMP/fg.out" 2>&1 &
	local bg=$!
	BG_PIDS+=("$bg")
	wait_for_file "$OUT/ready"
	kill -TERM "$bg"
	local rc=0
	wait "$bg" || rc=$?
	assert_equal "$rc" 3 "exec's exit status after SIGTERM"
	assert_equal "$(cat "$OUT/term")" got-term
}

@test "exec joins the container's user namespace first (root is the mapped uid)" {
	chmod 0755 "$TEST_TMP"
	writable_rootfs
	chown -R 100000:100000 "$ROOTFS"
	update_config '.linux.namespaces += [{type: "user"}]
		| .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
		| .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
	set_cmd 'sleep 60'
	rtd run --detach --bundle "$BUNDLE" "$ID"
	assert_success
	rtd exec --detach --pid-file "$TEST_TMP/exec.pid" "$ID" sh -c 'id -u > /tmp/exec-id; sleep 30'
	assert_success
	local pid
	pid=$(cat "$TEST_TMP/exec.pid")
	assert_equal "$(readlink /proc/$pid/ns/user)" "$(readlink /proc/$(state_field pid)/ns/user)" "user ns"
	assert_equal "$(awk '/^Uid:/ { print $2 }' /proc/$pid/status)" 100000 "host uid of exec'd root"
	run --separate-stderr rt exec "$ID" cat /tmp/exec-id
	assert_success
	assert_equal "$output" 0 "uid inside"
	kill -KILL "$pid"
}
