#!/usr/bin/env bats
# Lifecycle: create / start / state / kill / delete / run / list, as runc's CLI does them.

load ../helpers

setup() { common_setup; }
teardown() { common_teardown; }

# A process that announces itself in /out/started, then waits (bounded) for /out/go.
wait_for_go_cmd() {
	bind_out
	set_cmd 'echo $$ > /out/started; i=0; while [ ! -e /out/go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; exit 0'
}

@test "create, start, state and delete: created -> running -> stopped, state fields" {
	wait_for_go_cmd
	rtd create --bundle "$BUNDLE" --pid-file "$TEST_TMP/pidfile" "$ID"
	assert_success

	run --separate-stderr rt state "$ID"
	assert_success
	local json=$output
	assert_equal "$(jq -r .status <<<"$json")" created "status after create"
	assert_equal "$(jq -r .id <<<"$json")" "$ID" "id"
	assert_equal "$(jq -r .bundle <<<"$json")" "$BUNDLE" "bundle"
	assert_match "$(jq -r .ociVersion <<<"$json")" '^1\.[0-9]+\.[0-9]+'
	assert_match "$(jq -r .created <<<"$json")" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T'
	local pid
	pid=$(jq -r .pid <<<"$json")
	assert_match "$pid" '^[0-9]+$'
	[[ "$pid" -gt 0 ]] || fail "pid $pid not > 0"
	assert_equal "$(tr -d '\n' <"$TEST_TMP/pidfile")" "$pid" "pid-file vs state pid"
	pid_alive "$pid" || fail "container init $pid is not alive after create"

	# The user process must not have run before start.
	[[ ! -e "$OUT/started" ]] || fail "process ran before start"

	run rt start "$ID"
	assert_success
	wait_for_file "$OUT/started"
	# Inside its pid namespace the process is PID 1.
	assert_equal "$(cat "$OUT/started")" 1 "pid inside the container"

	run --separate-stderr rt state "$ID"
	assert_success
	assert_equal "$(jq -r .status <<<"$output")" running "status after start"
	assert_equal "$(jq -r .pid <<<"$output")" "$pid" "pid after start"

	touch "$OUT/go"
	wait_for_status stopped
	wait_pid_gone "$pid"

	run rt delete "$ID"
	assert_success
	run rt state "$ID"
	assert_failure
	[[ ! -e "$ROOT/$ID" ]] || fail "state dir $ROOT/$ID left after delete"
}

@test "state reports an absolute bundle path for a relative --bundle and for the cwd" {
	set_args sleep 100
	run bash -c "cd '$TEST_TMP' && HUSK_TEST_TAG='$ID' '$HUSK_RUNTIME' --root '$ROOT' create --bundle bundle '$ID' </dev/null >/dev/null 2>&1"
	assert_success
	assert_equal "$(state_field bundle)" "$BUNDLE" "bundle (relative --bundle)"
	assert_equal "$(state_field rootfs)" "$SHARED_ROOTFS" "rootfs"
	run rt delete --force "$ID"
	assert_success

	run bash -c "cd '$BUNDLE' && HUSK_TEST_TAG='$ID' '$HUSK_RUNTIME' --root '$ROOT' create '$ID' </dev/null >/dev/null 2>&1"
	assert_success
	assert_equal "$(state_field bundle)" "$BUNDLE" "bundle (cwd)"
}

@test "state carries annotations from config.json" {
	set_args sleep 100
	update_config '.annotations = {"org.example.test": "husk-bats", "other": "x y"}'
	rtd create --bundle "$BUNDLE" "$ID"
	assert_success
	run --separate-stderr rt state "$ID"
	assert_success
	assert_equal "$(jq -r '.annotations["org.example.test"]' <<<"$output")" husk-bats "annotation"
	assert_equal "$(jq -r '.annotations.other' <<<"$output")" "x y" "annotation"
}

@test "a --root directory that does not exist yet is created" {
	set_args true
	ROOT=$TEST_TMP/new/nested/root
	run --separate-stderr rt run --bundle "$BUNDLE" "$ID"
	assert_success
	[[ -d "$ROOT" ]] || fail "--root $ROOT not created"
}

@test "state of an unknown container fails with a message on stderr" {
	run --separate-stderr rt state "nonexistent-$ID"
	assert_failure
	[[ -n "$stderr" ]] || fail "no error on stderr"
}

@test "delete of a running container fails without --force, works with --force" {
	set_args sleep 1000
	rtd create --bundle "$BUNDLE" "$ID"
	assert_success
	run rt start "$ID"
	assert_success
	wait_for_status running
	local pid
	pid=$(state_field pid)

	run --separate-stderr rt delete "$ID"
	assert_failure
	[[ -n "$stderr" ]] || fail "no error on stderr"
	assert_equal "$(state_field status)" running "status after refused delete"
	pid_alive "$pid" || fail "refused delete killed the process"

	run rt delete --force "$ID"
	assert_success
	wait_pid_gone "$pid"
	run rt state "$ID"
	assert_failure
}

@test "delete --force of a created (never started) container" {
	set_args sleep 1000
	rtd create --bundle "$BUNDLE" "$ID"
	assert_success
	local pid
	pid=$(state_field pid)
	run rt delete --force "$ID"
	assert_success
	wait_pid_gone "$pid"
	run rt state "$ID"
	assert_failure
}

@test "delete of a created container without --force works" {
	# runc and crun allow deleting a created container: it never ran.
	set_args sleep 1000
	rtd create --bundle "$BUNDLE" "$ID"
	assert_success
	local pid
	pid=$(state_field pid)
	run rt delete "$ID"
	assert_success
	wait_pid_gone "$pid"
}

@test "duplicate container id is rejected and the first container is untouched" {
	set_args sleep 1000
	rtd create --bundle "$BUNDLE" --pid-file "$TEST_TMP/pid1" "$ID"
	assert_success
	local pid
	pid=$(state_field pid)

	rtd create --bundle "$BUNDLE" --pid-file "$TEST_TMP/pid2" "$ID"
	assert_failure
	[[ -n "$stderr" ]] || fail "no error on stderr"
	assert_equal "$(state_field status)" created "first container's status"
	assert_equal "$(state_field pid)" "$pid" "first container's pid"
	pid_alive "$pid" || fail "first container died"

	run --separate-stderr rt run --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_equal "$(state_field status)" created "first container's status after run"

	run rt start "$ID"
	assert_success
	wait_for_status running
}

@test "two concurrent creates of one id: exactly one wins" {
	set_args sleep 1000
	local a b rc_a=0 rc_b=0
	rt create --bundle "$BUNDLE" "$ID" </dev/null >"$TEST_TMP/a.out" 2>&1 &
	a=$!
	rt create --bundle "$BUNDLE" "$ID" </dev/null >"$TEST_TMP/b.out" 2>&1 &
	b=$!
	BG_PIDS+=("$a" "$b")
	wait "$a" || rc_a=$?
	wait "$b" || rc_b=$?
	BG_PIDS=()
	if [[ "$rc_a" == 0 && "$rc_b" == 0 ]]; then
		fail "both creates succeeded: $(cat "$TEST_TMP/a.out" "$TEST_TMP/b.out")"
	fi
	if [[ "$rc_a" != 0 && "$rc_b" != 0 ]]; then
		fail "both creates failed: $(cat "$TEST_TMP/a.out" "$TEST_TMP/b.out")"
	fi
	assert_equal "$(state_field status)" created "status of the winner"
	# Exactly one container process for this id.
	local procs
	procs=$(tagged_processes | wc -l)
	assert_equal "$procs" 1 "container processes"
	run rt delete --force "$ID"
	assert_success
}

@test "list shows containers as a table, as json and quiet" {
	set_args sleep 1000
	rtd create --bundle "$BUNDLE" "$ID"
	assert_success
	rtd create --bundle "$BUNDLE" "${ID}b"
	assert_success
	run rt start "${ID}b"
	assert_success
	wait_for_status running "${ID}b"
	local pid
	pid=$(state_field pid)

	run --separate-stderr rt list
	assert_success
	local header
	header=$(head -n1 <<<"$output")
	assert_contains "$header" ID
	assert_contains "$header" PID
	assert_contains "$header" STATUS
	assert_contains "$header" BUNDLE
	local line
	line=$(grep -E "^$ID[[:space:]]" <<<"$output") || fail "no line for $ID in: $output"
	assert_contains "$line" created
	assert_contains "$line" "$BUNDLE"
	line=$(grep -E "^${ID}b[[:space:]]" <<<"$output") || fail "no line for ${ID}b in: $output"
	assert_contains "$line" running

	run --separate-stderr rt list --format json
	assert_success
	assert_equal "$(jq -r 'length' <<<"$output")" 2 "containers in json list"
	assert_equal "$(jq -r --arg id "$ID" '.[] | select(.id == $id) | .status' <<<"$output")" created
	assert_equal "$(jq -r --arg id "${ID}b" '.[] | select(.id == $id) | .status' <<<"$output")" running
	assert_equal "$(jq -r --arg id "$ID" '.[] | select(.id == $id) | .pid' <<<"$output")" "$pid"
	assert_equal "$(jq -r --arg id "$ID" '.[] | select(.id == $id) | .bundle' <<<"$output")" "$BUNDLE"

	run --separate-stderr rt list -q
	assert_success
	assert_equal "$(sort <<<"$output" | tr '\n' ' ')" "$ID ${ID}b " "list -q"
}

@test "list with no containers prints no container" {
	run --separate-stderr rt list -q
	assert_success
	assert_equal "$output" "" "list -q output"
	run --separate-stderr rt list --format json
	assert_success
	# runc prints null for an empty list; [] is as good.
	assert_equal "$(jq -r 'length' <<<"$output")" 0 "json list length"
}

@test "kill: TERM by default, USR1 on request, reach a trapping process" {
	bind_out
	set_cmd 'trap "echo usr1 >> /out/log" USR1; trap "echo term >> /out/log; exit 7" TERM; echo ready > /out/ready; i=0; while [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done'
	rtd create --bundle "$BUNDLE" "$ID"
	assert_success
	run rt start "$ID"
	assert_success
	wait_for_file "$OUT/ready"

	run rt kill "$ID" USR1
	assert_success
	wait_for_file "$OUT/log"
	assert_equal "$(cat "$OUT/log")" usr1 "log after USR1"
	assert_equal "$(state_field status)" running "status after USR1"

	run rt kill "$ID"
	assert_success
	wait_for_status stopped
	assert_equal "$(cat "$OUT/log" | tr '\n' ' ')" "usr1 term " "log after TERM"
}

@test "kill accepts KILL, SIGKILL and 9 and stops a process that ignores TERM" {
	local sig id pid
	set_cmd 'trap "" TERM INT HUP; i=0; while [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done'
	for sig in KILL SIGKILL 9; do
		id="${ID}-$sig"
		rtd create --bundle "$BUNDLE" "$id"
		assert_success
		run rt start "$id"
		assert_success
		wait_for_status running "$id"
		pid=$(state_field pid "$id")
		run rt kill "$id" "$sig"
		assert_success
		wait_pid_gone "$pid"
		wait_for_status stopped "$id"
		run rt delete "$id"
		assert_success
	done
}

@test "a container whose process is killed from the host becomes stopped and deletes cleanly" {
	set_args sleep 1000
	rtd create --bundle "$BUNDLE" "$ID"
	assert_success
	run rt start "$ID"
	assert_success
	wait_for_status running
	local pid
	pid=$(state_field pid)
	kill -KILL "$pid" # our own container's process
	wait_pid_gone "$pid"
	wait_for_status stopped
	run rt delete "$ID"
	assert_success
	assert_nothing_left
}

@test "kill with an unknown signal fails and the container keeps running" {
	set_args sleep 1000
	rtd create --bundle "$BUNDLE" "$ID"
	assert_success
	run rt start "$ID"
	assert_success
	wait_for_status running
	run --separate-stderr rt kill "$ID" SIGBOGUS
	assert_failure
	[[ -n "$stderr" ]] || fail "no error on stderr"
	run --separate-stderr rt kill "$ID" 99999
	assert_failure
	assert_equal "$(state_field status)" running
}

@test "kill of a created container, then start fails" {
	set_args sleep 1000
	rtd create --bundle "$BUNDLE" "$ID"
	assert_success
	run rt kill "$ID" KILL
	assert_success
	wait_for_status stopped
	run --separate-stderr rt start "$ID"
	assert_failure
}

@test "kill of a stopped container and of an unknown id fail" {
	set_args true
	rtd create --bundle "$BUNDLE" "$ID"
	assert_success
	run rt start "$ID"
	assert_success
	wait_for_status stopped
	run --separate-stderr rt kill "$ID" KILL
	assert_failure
	run --separate-stderr rt kill "nonexistent-$ID" KILL
	assert_failure
	[[ -n "$stderr" ]] || fail "no error on stderr"
}

@test "start of a running container fails" {
	set_args sleep 1000
	rtd create --bundle "$BUNDLE" "$ID"
	assert_success
	run rt start "$ID"
	assert_success
	wait_for_status running
	run --separate-stderr rt start "$ID"
	assert_failure
	assert_equal "$(state_field status)" running
}

@test "run exits with the process status: 0, 3, 42, and removes the container" {
	local code
	for code in 0 3 42; do
		set_cmd "exit $code"
		run rt run --bundle "$BUNDLE" "$ID"
		assert_status "$code"
		run rt state "$ID"
		assert_failure
	done
}

@test "run prints the process output and passes stdin" {
	set_cmd 'read line; echo "got:$line"; echo to-stderr >&2'
	run --separate-stderr bash -c "echo hello | HUSK_TEST_TAG='$ID' '$HUSK_RUNTIME' --root '$ROOT' run --bundle '$BUNDLE' '$ID'"
	assert_success
	assert_equal "$output" "got:hello" "stdout"
	assert_contains "$stderr" to-stderr
}

@test "run passes large output through unchanged" {
	set_cmd 'seq 1 200000'
	run --separate-stderr rt run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_equal "$(wc -l <<<"$output")" 200000 "lines"
	assert_equal "$(tail -n1 <<<"$output")" 200000 "last line"
}

@test "run exits 128+N when the process is killed by signal N (KILL -> 137)" {
	set_args sleep 1000
	rt run --bundle "$BUNDLE" "$ID" >"$TEST_TMP/run.out" 2>&1 &
	local bg=$!
	BG_PIDS+=("$bg")
	wait_for_status running
	run rt kill "$ID" KILL
	assert_success
	local rc=0
	wait "$bg" || rc=$?
	BG_PIDS=()
	assert_equal "$rc" 137 "exit status of run"
}

@test "run --detach returns at once, writes the pid file and leaves the container running" {
	set_args sleep 1000
	rtd run --detach --bundle "$BUNDLE" --pid-file "$TEST_TMP/pid" "$ID"
	assert_success
	assert_equal "$(state_field status)" running
	local pid
	pid=$(state_field pid)
	assert_equal "$(tr -d '\n' <"$TEST_TMP/pid")" "$pid" "pid file"
	pid_alive "$pid" || fail "process not alive"
	run rt kill "$ID" KILL
	assert_success
	wait_for_status stopped
	run rt delete "$ID"
	assert_success
}

@test "run of a command that does not exist fails and leaves nothing" {
	set_args /no/such/binary
	run --separate-stderr rt run --bundle "$BUNDLE" "$ID"
	assert_failure
	[[ -n "$stderr" ]] || fail "no error on stderr"
	run rt delete --force "$ID"
	assert_nothing_left
}

@test "--log and --log-format json write a log file on error" {
	set_args sleep 1000
	run --separate-stderr "$HUSK_RUNTIME" --root "$ROOT" --log "$TEST_TMP/log.json" --log-format json state "nonexistent-$ID"
	assert_failure
	[[ -s "$TEST_TMP/log.json" ]] || fail "no log written"
	# Every line is a JSON object with a message.
	run jq -r '.msg // .message' "$TEST_TMP/log.json"
	assert_success
	[[ -n "$output" ]] || fail "log lines without msg"
}
