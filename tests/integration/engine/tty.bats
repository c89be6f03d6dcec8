#!/usr/bin/env bats
# exec -t/-it and attach, with husk's own stdin a real terminal (util-linux `script` gives the
# client a pty, as an interactive shell would): the container's terminal, its size, input
# and exit codes through it.
load engine_helpers

setup_file() { engine_setup_file; }
setup() {
	engine_setup
	command -v script >/dev/null || skip "no script(1)"
}
teardown() { engine_teardown; }

# Runs "$@" (a shell command line) with stdin/stdout on a new pty; input from this stdin.
on_pty() { timeout 60 script -qefc "$*" /dev/null; }

@test "exec -t: a terminal in the container; -it relays input, window size and exit code" {
	h run -d --name ctr --rootfs "$RF" sleep 60 >/dev/null
	run h exec -t ctr sh -c 'tty; test -t 0 && test -t 1 && echo both-tty'
	[[ "$output" == *"/dev/pts/"* ]]
	[[ "$output" == *"both-tty"* ]]
	# Without -t: pipes, not a terminal.
	run h exec ctr sh -c 'test -t 1 || echo no-tty'
	[ "$output" = no-tty ]
	run h exec -t ctr sh -c 'exit 5'
	[ "$status" -eq 5 ]
	# -it under a terminal of 33x91: the container's terminal takes that size, input goes in.
	run on_pty "stty rows 33 cols 91; ${H[*]} exec -it ctr sh -c 'stty size; read l; echo got:\$l; exit 7'" <<<"typed-line"
	[ "$status" -eq 7 ]
	[[ "$output" == *"33 91"* ]]
	[[ "$output" == *"got:typed-line"* ]]
	# -i without -t: stdin as a pipe.
	run h exec -i ctr sh -c 'read l; echo "piped:$l"' <<<"hello"
	[ "$output" = "piped:hello" ]
}

@test "attach: stdin to an -i container, its output and exit code back" {
	h run -d -i --name att --rootfs "$RF" sh -c 'read l; echo "got $l"; exit 3' >/dev/null
	run h attach att <<<"over-attach"
	[ "$status" -eq 3 ]
	[ "$output" = "got over-attach" ]
	eventually status_is att exited
	run h attach att
	[ "$status" -ne 0 ]
	[[ "$output" == *"not running"* ]]
	# --no-stdin: the container's stdin stays untouched (it exits on its own, via exec).
	h run -d -i --name att2 --rootfs "$RF" sh -c 'while [ ! -e /go ]; do sleep 0.05; done; echo done' >/dev/null
	( sleep 1; h exec att2 touch /go ) &
	run h attach --no-stdin att2 </dev/null
	wait
	[ "$status" -eq 0 ]
}

@test "attach to a -t container: a terminal, input typed into its shell, its exit code" {
	h run -d -it --name tt --rootfs "$RF" sh >/dev/null
	run on_pty "${H[*]} attach tt" <<<'echo marker-$((40+2)); exit 4'
	[ "$status" -eq 4 ]
	[[ "$output" == *"marker-42"* ]]
	eventually status_is tt exited
	[ "$(h inspect -f '{{.State.ExitCode}}' tt)" = 4 ]
}
