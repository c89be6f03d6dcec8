#!/usr/bin/env bats
# stop/kill/restart/wait/pause/top/stats/logs, restart policies, healthchecks, --init.
load engine_helpers

setup_file() { engine_setup_file; }
setup() { engine_setup; }
teardown() { engine_teardown; }

@test "stop escalates to SIGKILL after the timeout (PID 1 ignores SIGTERM)" {
	# sleep as PID 1 has no TERM handler: the kernel drops the signal, only KILL works.
	h run -d --name ss --rootfs "$RF" sleep 60 >/dev/null
	eventually status_is ss running
	run h stop -t 1 ss
	[ "$status" -eq 0 ]
	[ "$(h inspect -f '{{.State.Status}} {{.State.ExitCode}}' ss)" = "exited 137" ]
}

@test "stop honours --stop-signal; kill -s sends the signal" {
	h run -d --name uu --stop-signal USR1 --rootfs "$RF" sh -c 'trap "echo usr1; exit 7" USR1; while true; do sleep 0.1; done' >/dev/null
	eventually status_is uu running
	h stop -t 10 uu
	[ "$(h inspect -f '{{.State.ExitCode}}' uu)" = 7 ]
	[ "$(h logs uu)" = usr1 ]
	h run -d --name kk --rootfs "$RF" sh -c 'trap "exit 9" HUP; while true; do sleep 0.1; done' >/dev/null
	eventually status_is kk running
	h kill -s HUP kk
	run h wait kk
	[ "$output" = 9 ]
	run h kill kk
	[ "$status" -eq 125 ]
	[[ "$output" == *"not running"* ]]
}

@test "rm refuses a running container without -f; rm -f kills it" {
	h run -d --name rr --rootfs "$RF" sleep 60 >/dev/null
	run h rm rr
	[ "$status" -eq 125 ]
	[[ "$output" == *"stop it first or use -f"* ]]
	h rm -f rr
	[ -z "$(h ps -aq)" ]
}

@test "restart=on-failure:3 restarts exactly 3 times" {
	h run -d --name ff --restart on-failure:3 --rootfs "$RF" sh -c 'echo run; exit 1' >/dev/null
	run h wait ff
	[ "$output" = 1 ]
	[ "$(h inspect -f '{{.RestartCount}} {{.State.Status}}' ff)" = "3 exited" ]
	[ "$(h logs ff | grep -c run)" -eq 4 ]
	# A success is not restarted by on-failure.
	h run -d --name ok --restart on-failure --rootfs "$RF" true >/dev/null
	h wait ok
	[ "$(h inspect -f '{{.RestartCount}}' ok)" = 0 ]
}

@test "restart=always comes back until stopped; restart restarts" {
	h run -d --name aa --restart always --rootfs "$RF" sh -c 'sleep 0.2; exit 0' >/dev/null
	eventually sh -c "[ \$(${H[*]} inspect -f '{{.RestartCount}}' aa) -ge 2 ]"
	h stop -t 1 aa
	[ "$(h inspect -f '{{.State.Status}}' aa)" = exited ]
	n=$(h inspect -f '{{.RestartCount}}' aa)
	sleep 0.5
	[ "$(h inspect -f '{{.RestartCount}} {{.State.Status}}' aa)" = "$n exited" ]
	h run -d --name bb --rootfs "$RF" sleep 60 >/dev/null
	pid1=$(h inspect -f '{{.State.Pid}}' bb)
	h restart -t 0 bb
	eventually status_is bb running
	[ "$(h inspect -f '{{.State.Pid}}' bb)" != "$pid1" ]
}

@test "a failing healthcheck turns the container unhealthy, a passing one healthy" {
	h run -d --name sick --health-cmd 'exit 1' --health-interval 200ms --health-retries 2 --rootfs "$RF" sleep 60 >/dev/null
	h run -d --name fine --health-cmd 'test -e /etc/passwd' --health-interval 200ms --rootfs "$RF" sleep 60 >/dev/null
	eventually sh -c "[ \"\$(${H[*]} inspect -f '{{.State.Health.Status}}' sick)\" = unhealthy ]"
	eventually sh -c "[ \"\$(${H[*]} inspect -f '{{.State.Health.Status}}' fine)\" = healthy ]"
	[ "$(h inspect -f '{{.State.Health.FailingStreak}}' sick)" -ge 2 ]
	run h ps --filter health=unhealthy --format '{{.Names}} {{.Status}}'
	[[ "$output" == "sick Up "*"(unhealthy)" ]]
}

@test "--init reaps zombies and forwards signals; without it they pile up" {
	# The orphaned sleep is reparented to PID 1; `sleep 30` as PID 1 never reaps it.
	cmd='(sleep 0.1 &); sleep 30'
	h run -d --name noinit --rootfs "$RF" sh -c "$cmd" >/dev/null
	h run -d --name withinit --init --rootfs "$RF" sh -c "$cmd" >/dev/null
	sleep 1
	zombies() { h exec "$1" sh -c 'cat /proc/[0-9]*/stat 2>/dev/null | grep -c ") Z "' || true; }
	[ "$(zombies noinit)" -ge 1 ]
	[ "$(zombies withinit)" -eq 0 ]
	[ "$(h exec withinit cat /proc/1/cmdline | tr '\0' ' ')" = "/dev/init sh -c $cmd " ]
	# SIGTERM reaches sh through the reaper: it stops at once, exit 143.
	h stop -t 30 withinit
	[ "$(h inspect -f '{{.State.ExitCode}}' withinit)" = 143 ]
}

@test "logs: survive the exit, --tail, -t, --since, -f until exit, rotation" {
	h run --name ll --rootfs "$RF" sh -c 'for i in 1 2 3 4 5; do echo line$i; done; echo oops >&2'
	run --separate-stderr h logs ll
	[ "$output" = $'line1\nline2\nline3\nline4\nline5' ]
	[ "$stderr" = oops ]
	run h logs --tail 2 ll
	[ "$output" = $'line5\noops' ]
	run h logs -t --tail 1 ll
	[[ "$output" =~ ^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z\ oops$ ]]
	run h logs --since 1h ll
	[ "$(echo "$output" | wc -l)" -eq 6 ]
	run h logs --since "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)" ll
	[ -z "$output" ]
	# json-file format, as Docker writes it.
	head -1 "$T/root/containers/$(h inspect -f '{{.Id}}' ll)/container.log" | jq -e '.log == "line1\n" and .stream == "stdout" and (.time | test("Z$"))'
	h run -d --name follow --rootfs "$RF" sh -c 'echo a; sleep 0.5; echo b' >/dev/null
	run h logs -f follow
	[ "$output" = $'a\nb' ]
	h run --name rot --log-opt max-size=1k --log-opt max-file=2 --rootfs "$RF" sh -c 'i=0; while [ $i -lt 200 ]; do echo "line $i"; i=$((i+1)); done'
	dir="$T/root/containers/$(h inspect -f '{{.Id}}' rot)"
	[ -f "$dir/container.log.1" ]
	[ ! -f "$dir/container.log.2" ]
	[ "$(stat -c %s "$dir/container.log")" -le 1024 ]
	[ "$(h logs --tail 1 rot)" = "line 199" ]
}

@test "exec: output, exit code, -e -u -w, -d, not found" {
	h run -d --name ee --rootfs "$RF" sleep 60 >/dev/null
	eventually status_is ee running
	run h exec -e X=1 -u 1000 -w /tmp ee sh -c 'echo "$X $(id -u) $(pwd)"; exit 5'
	[ "$status" -eq 5 ]
	[ "$output" = "1 1000 /tmp" ]
	run -127 h exec ee nosuch
	[ "$status" -eq 127 ]
	h exec -d ee sh -c 'echo hi > /tmp/detached'
	eventually h exec ee test -f /tmp/detached
	run h exec -i ee cat <<<"piped"
	[ "$output" = piped ]
	h stop -t 0 ee
	run h exec ee true
	[ "$status" -eq 125 ]
}

@test "pause/unpause, top, stats --no-stream, port" {
	h run -d --name pp --rootfs "$RF" sh -c 'while true; do sleep 0.1; done' >/dev/null
	eventually status_is pp running
	h pause pp
	[ "$(h inspect -f '{{.State.Status}} {{.State.Paused}}' pp)" = "paused true" ]
	[[ "$(h ps --format '{{.Status}}')" == *"(Paused)" ]]
	h unpause pp
	[ "$(h inspect -f '{{.State.Status}}' pp)" = running ]
	run h top pp
	[[ "$output" == *"PID"* ]]
	[[ "$output" == *"sh -c while true"* ]]
	run h stats --no-stream --format json pp
	[ "$(echo "$output" | jq -r .Name)" = pp ]
	[ "$(echo "$output" | jq -r .PIDs)" -ge 1 ]
	run h port pp
	[ "$status" -eq 0 ]
}

@test "container prune removes stopped containers only" {
	h run --name done1 --rootfs "$RF" true
	h create --name made --rootfs "$RF" true >/dev/null
	h run -d --name live --rootfs "$RF" sleep 60 >/dev/null
	h container prune -f
	[ "$(h ps -a --format '{{.Names}}')" = live ]
}

@test "container prune deletes runtime state whose container is gone (a run --rm monitor killed after the exit code)" {
	# What such a monitor leaves: the runtime's state and cgroups of an id with no record.
	local rt="$T/run/runtime" id=orphan$$
	jq --arg r "$RF" '.root.path = $r | .process.args = ["true"]' "$HUSK_BUSYBOX_BUNDLE/config.json" \
		>"$BATS_TEST_TMPDIR/config.json"
	"$HUSK_RUNTIME" --root "$rt" create --bundle "$BATS_TEST_TMPDIR" "$id"
	"$HUSK_RUNTIME" --root "$rt" list -q | grep -qx "$id"
	h run -d --name live2 --rootfs "$RF" sleep 60 >/dev/null
	h container prune -f
	run "$HUSK_RUNTIME" --root "$rt" list -q
	[[ "$output" != *"$id"* ]] || fail "runtime state of $id left: $output"
	[ -z "$(find /sys/fs/cgroup -maxdepth 3 -type d -name "$id" 2>/dev/null)" ] || fail "cgroup of $id left"
	# The live container's runtime state is untouched.
	[ "$(h inspect -f '{{.State.Status}}' live2)" = running ]
}
