#!/usr/bin/env bats
# `husk system init -- CMD`: CMD's exit status, signals forwarded, orphans reaped.

load system

setup() { system_setup; }
teardown() {
	# A test that failed half-way must not leave its init (and CMD) running.
	[[ -n "${INIT_PID:-}" ]] && kill -KILL "$INIT_PID" 2>/dev/null
	system_teardown
}

@test "init exits with CMD's status, and 128+N when CMD is killed by signal N" {
	run --separate-stderr husk system init --no-bootstrap -- sh -c 'exit 3'
	assert_status 3
	run --separate-stderr husk system init --no-bootstrap -- sh -c 'kill -KILL $$'
	assert_status 137
	run -127 --separate-stderr husk system init --no-bootstrap -- /nonexistent/cmd
	assert_status 127
	assert_contains "$stderr" "exec /nonexistent/cmd: No such file or directory"
}

@test "init forwards SIGTERM to CMD" {
	# The binary itself in the background (not the `husk` function: $! would be a subshell).
	"$HUSK" --root "$STORE" --runroot "$TEST_TMP/run" system init --no-bootstrap -- sh -c \
		'trap "echo got-term > $0/term; exit 7" TERM; echo up > $0/up; while :; do sleep 0.05; done' \
		"$TEST_TMP" </dev/null >/dev/null 2>&1 &
	local pid=$!
	INIT_PID=$pid
	wait_for_file "$TEST_TMP/up"
	kill -TERM "$pid"
	local status=0
	wait "$pid" || status=$?
	assert_equal "$status" 7 "init's exit status"
	assert_equal "$(cat "$TEST_TMP/term")" got-term
}

@test "init as PID 1 of a PID namespace reaps orphans and returns CMD's status" {
	# The orphan (a backgrounded sleep whose parent exits) is re-parented to init; with
	# nobody reaping it would stay a zombie while CMD runs.
	run --separate-stderr unshare --pid --fork --mount --propagation private --mount-proc \
		"$HUSK" --root "$STORE" --runroot "$TEST_TMP/run" system init -- sh -c '
			sh -c "sleep 0.1 & exit 0"
			sleep 0.6
			ps -eo stat= | grep -c "^Z" || true
			exit 5'
	assert_status 5
	assert_equal "$output" 0 "zombies while CMD ran"
}

@test "init bootstraps first, quietly when nothing needs doing" {
	run --separate-stderr husk system init -- true
	assert_success
	assert_equal "$stderr" "" "bootstrap output on a ready host"
	run --separate-stderr husk system init --verbose -- true
	assert_success
	assert_contains "$stderr" "mount proc on /proc: already ok"
}
