#!/usr/bin/env bats
# process.terminal with --console-socket: the container's stdio is a pty of its own devpts
# whose master reaches the socket's listener (SCM_RIGHTS), as with runc.

load ../helpers

setup() { common_setup; }
teardown() { common_teardown; }

RECEIVER="$BATS_TEST_DIRNAME/console-receiver.py"

# start_receiver [INPUT]: listens on $TEST_TMP/console.sock, output in $TEST_TMP/console.out.
start_receiver() {
	python3 "$RECEIVER" "$TEST_TMP/console.sock" "$TEST_TMP/console.out" "$@" &
	RECEIVER_PID=$!
	BG_PIDS+=("$RECEIVER_PID")
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -S "$TEST_TMP/console.sock" ]] && return 0
		sleep 0.05
	done
	fail "the console receiver did not start"
}

@test "terminal: the process gets a pty (controlling tty, consoleSize) and the listener its master" {
	update_config '.process.terminal = true | .process.consoleSize = {height: 33, width: 101}'
	set_cmd 'stty size; tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-ttys; echo hi'
	start_receiver
	run --separate-stderr rt run --console-socket "$TEST_TMP/console.sock" --bundle "$BUNDLE" "$ID"
	assert_success
	wait "$RECEIVER_PID"
	local out
	out=$(tr -d '\r' <"$TEST_TMP/console.out")
	assert_contains "$out" "33 101"
	assert_contains "$out" "/dev/pts/0"
	assert_contains "$out" "all-ttys"
	assert_contains "$out" "hi"
}

@test "terminal: what the listener types reaches the process" {
	update_config '.process.terminal = true'
	set_cmd 'read line; echo "got-$line"'
	start_receiver $'typed-input\n'
	rtd create --console-socket "$TEST_TMP/console.sock" --bundle "$BUNDLE" "$ID"
	assert_success
	run rt start "$ID"
	assert_success
	wait "$RECEIVER_PID"
	assert_contains "$(cat "$TEST_TMP/console.out")" "got-typed-input"
	wait_for_status stopped
}

@test "terminal: true without --console-socket is refused before anything is made" {
	update_config '.process.terminal = true'
	rtd create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_contains "$stderr" "--console-socket"
	rtd create --console-socket "$TEST_TMP/no-such.sock" --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_contains "$stderr" "no-such.sock"
	assert_nothing_left
}

@test "exec -t: the exec'd process gets its own pty, sent to --console-socket" {
	set_cmd 'sleep 60'
	rtd run --detach --bundle "$BUNDLE" "$ID"
	assert_success
	start_receiver
	run --separate-stderr rt exec -t --console-socket "$TEST_TMP/console.sock" "$ID" \
		sh -c 'tty; [ -t 0 ] && [ -t 1 ] && echo exec-tty'
	assert_success
	wait "$RECEIVER_PID"
	local out
	out=$(tr -d '\r' <"$TEST_TMP/console.out")
	assert_match "$out" '/dev/pts/[0-9]+'
	assert_contains "$out" exec-tty

	run --separate-stderr rt exec -t "$ID" true
	assert_failure
	assert_contains "$stderr" "--console-socket"
}
