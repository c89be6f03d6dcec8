#!/usr/bin/env bats
# husk run/create/start: the process as asked, exit codes as Docker's, the record left behind.
load engine_helpers

setup_file() { engine_setup_file; }
setup() { engine_setup; }
teardown() { engine_teardown; }

@test "run: output on stdout and stderr, the container's exit code" {
	run --separate-stderr h run --rootfs "$RF" sh -c 'echo out; echo err >&2; exit 3'
	[ "$status" -eq 3 ]
	[ "$output" = "out" ]
	[ "$stderr" = "err" ]
	run h ps -a --format '{{.Status}}'
	[[ "$output" == "Exited (3)"* ]]
}

@test "run: exit codes 125 (husk), 126 (cannot invoke), 127 (not found)" {
	run h run --rootfs "$T/missing" true
	[ "$status" -eq 125 ]
	[[ "$output" == *"$T/missing"* ]]
	run -127 h run --rootfs "$RF" /no/such/binary
	[ "$status" -eq 127 ]
	run -127 h run --rootfs "$RF" nosuchcommand
	[ "$status" -eq 127 ]
	[[ "$output" == *"executable file not found"* ]]
	run h run --rootfs "$RF" /etc/passwd
	[ "$status" -eq 126 ]
	run h run --rootfs "$RF" --restart bogus true
	[ "$status" -eq 125 ]
	[[ "$output" == *"--restart"* ]]
	# Nothing half-made stays behind a failed create.
	run h run --rootfs "$RF" --name bad --security-opt seccomp=/no/profile.json true
	[ "$status" -eq 125 ]
	[ -z "$(ls "$T/root/container-names" 2>/dev/null | grep bad || true)" ]
}

@test "run: -e --env-file -w -u -h --entrypoint inside the container" {
	printf 'FROM_FILE=yes\n# comment\nOVER=file\n' >"$T/env"
	export PASSED=through
	run h run --rm --rootfs "$RF" --env-file "$T/env" -e OVER=flag -e PASSED -e A=1 \
		-w /tmp -u 1000:1001 -h myhost sh -c 'echo "$FROM_FILE $OVER $PASSED $A $(pwd) $(id -u):$(id -g) $(hostname) $HOSTNAME"'
	[ "$status" -eq 0 ]
	[ "$output" = "yes flag through 1 /tmp 1000:1001 myhost myhost" ]
	run h run --rm --rootfs "$RF" --entrypoint /bin/echo hello world
	[ "$output" = "hello world" ]
}

@test "run -d: detached, logs, ps, stop, rm; the record and runtime state go with rm" {
	id=$(h run -d --name web --rootfs "$RF" sh -c 'echo started; trap "echo bye; exit 0" TERM; while true; do sleep 0.1; done')
	[ ${#id} -eq 64 ]
	eventually status_is web running
	run h ps --format '{{.ID}} {{.Names}} {{.State}}'
	[ "$output" = "${id:0:12} web running" ]
	eventually sh -c "${H[*]} logs web | grep -q started"
	run h stop web
	[ "$status" -eq 0 ]
	[ "$(h inspect -f '{{.State.ExitCode}}' web)" = 0 ]
	run h logs web
	[ "$output" = $'started\nbye' ]
	run h ps -q
	[ -z "$output" ]
	run h rm web
	[ "$status" -eq 0 ]
	[ ! -e "$T/root/containers/$id" ]
	[ ! -e "$T/run/runtime/$id" ]
	run h inspect web
	[ "$status" -eq 125 ]
}

@test "names, prefixes and random names" {
	id=$(h create --name one --rootfs "$RF" true)
	run h create --name one --rootfs "$RF" true
	[ "$status" -eq 125 ]
	[[ "$output" == *'"/one" is already in use'* ]]
	run h inspect -f '{{.Id}}' "${id:0:5}"
	[ "$output" = "$id" ]
	id2=$(h create --rootfs "$RF" true)
	name=$(h inspect -f '{{.Name}}' "$id2")
	[[ "$name" =~ ^/[a-z]+_[a-z]+ ]]
	run h create --name 'bad name' --rootfs "$RF" true
	[ "$status" -eq 125 ]
	h rename one two
	[ "$(h inspect -f '{{.Name}}' "$id")" = "/two" ]
	# The old name is free again.
	h create --name one --rootfs "$RF" true
}

@test "create + start + wait + start again" {
	h create --name cc --rootfs "$RF" sh -c 'echo run; exit 4'
	[ "$(h ps -a --format '{{.State}}')" = created ]
	h start cc
	run h wait cc
	[ "$output" = 4 ]
	h start cc
	h wait cc
	[ "$(h logs cc)" = $'run\nrun' ]
	run h start -a cc
	[ "$status" -eq 4 ]
	[ "$output" = run ]
}

@test "run --rm removes the container, also detached" {
	run h run --rm --name gone --rootfs "$RF" true
	[ "$status" -eq 0 ]
	[ -z "$(h ps -aq)" ]
	# Its name is free at once (the files may still be going).
	h run --rm --name gone --rootfs "$RF" true
	eventually sh -c "[ -z \"\$(ls $T/root/containers)\" ]"
	h run --rm -d --name gone2 --rootfs "$RF" sleep 0.2
	eventually sh -c "[ -z \"\$(${H[*]} ps -aq)\" ]"
	# wait gets the exit code of a --rm container, whose record goes with its exit, as
	# docker wait does; several waiters at once all get it.
	h run --rm -d --name gone3 --rootfs "$RF" sh -c 'echo out; sleep 0.5; exit 3' >/dev/null
	h wait gone3 >"$T/w1" &
	h wait gone3 >"$T/w2" &
	wait
	[ "$(cat "$T/w1")" = 3 ]
	[ "$(cat "$T/w2")" = 3 ]
}

@test "run -i passes stdin; -t gives a terminal" {
	run h run --rm -i --rootfs "$RF" sh -c 'read line; echo "got $line"' <<<"hello"
	[ "$output" = "got hello" ]
	run h run --rm -t --rootfs "$RF" sh -c 'tty; echo $TERM'
	echo "tty output: $output" | od -c | head -3 >&2
	[[ "$output" == *"/dev/pts/0"* ]]
	[[ "$output" == *"xterm"* ]]
}

@test "--label and ps --filter/--format" {
	h run -d --name aa --label tier=web --rootfs "$RF" sleep 30 >/dev/null
	h run -d --name bb --label tier=db --rootfs "$RF" sleep 30 >/dev/null
	h run --name cc --rootfs "$RF" sh -c "exit 2" || true
	run h ps --filter label=tier=web --format '{{.Names}}'
	[ "$output" = aa ]
	run h ps -a --filter exited=2 --format '{{.Names}}'
	[ "$output" = cc ]
	run h ps -a --filter status=running --format '{{.Names}}'
	[ "$(echo "$output" | sort | tr '\n' ' ')" = "aa bb " ]
	run h ps --filter name=bb --format json
	[ "$(echo "$output" | jq -r '.Names + " " + .Labels + " " + .State')" = "bb tier=db running" ]
	run h ps --filter name=aa --format 'table {{.Names}}\t{{.Label "tier"}}'
	[ "$output" = $'aa\tweb' ]
	run h inspect -f '{{index .Config.Labels "tier"}} {{json .Config.Labels}}' aa
	[ "$output" = 'web {"tier":"web"}' ]
	[ "$(h ps -q | wc -l)" -eq 2 ]
}

@test "--read-only, --network none|host, --stop-signal in the record" {
	run h run --rm --read-only --rootfs "$RF" touch /x
	[ "$status" -ne 0 ]
	run h run --rm --read-only --tmpfs /scratch --rootfs "$RF" sh -c 'touch /scratch/x && echo ok'
	[ "$output" = ok ]
	run h run --rm --network none --rootfs "$RF" sh -c 'ls /sys/class/net'
	[ "$output" = lo ]
	run h run --rm --network host --rootfs "$RF" sh -c 'ls /sys/class/net | wc -l'
	[ "$output" -gt 1 ]
	# The default is Docker's: the bridge network (tests/integration/network/run.bats).
	run h run --rm --rootfs "$RF" sh -c 'ls /sys/class/net | tr "\n" " "'
	[ "$output" = "eth0 lo " ]
	h create --name ss --stop-signal SIGUSR1 --stop-timeout 3 --rootfs "$RF" true
	[ "$(h inspect -f '{{.Config.StopSignal}} {{.Config.StopTimeout}}' ss)" = "SIGUSR1 3" ]
}
