#!/usr/bin/env bats
# husk-runtime under a real engine: podman 4.3 (Debian 12) with `--runtime` set to the built
# binary, a private containers.conf/storage.conf (never the machine's), cgroupfs, and an image
# imported from the bundled busybox rootfs. podman's stock default_ulimits (1048576) cannot be
# granted on a host without CAP_SYS_RESOURCE by any runtime: the config uses the host's limits.
#
# The config sets no static_dir and no events_logfile_path: podman 4.3 does not hand
# CONTAINERS_CONF to conmon's exit command (`podman container cleanup`), so that process finds
# its database and event log from --root/--tmpdir alone. A static_dir elsewhere made it record
# the exit in a second, empty database, and every `podman run` waited 20 s ("Exceeded conmon
# timeout") for an exit code that never came. The runtime is named by its absolute path for
# the same reason: the cleanup process gets `--runtime <what podman was given>`.

setup_file() {
	# podman's cgroupfs manager leaves /libpod_parent/conmon behind; remove it at the end
	# unless it was there before.
	export PM_LIBPOD_PREEXISTING=0
	compgen -G "/sys/fs/cgroup/*/libpod_parent" >/dev/null && PM_LIBPOD_PREEXISTING=1
	export PM_DIR
	PM_DIR=$(mktemp -d /tmp/husk-podman.XXXXXX)
	cat >"$PM_DIR/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=32768:32768"]
netns = "none"
log_driver = "k8s-file"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "$HUSK_RUNTIME"
runtime_supports_json = ["$(basename "$HUSK_RUNTIME")"]
tmp_dir = "$PM_DIR/tmp"
volume_path = "$PM_DIR/volumes"
CONF
	cat >"$PM_DIR/storage.conf" <<CONF
[storage]
driver = "vfs"
runroot = "$PM_DIR/run"
graphroot = "$PM_DIR/root"
CONF
	export CONTAINERS_CONF="$PM_DIR/containers.conf" CONTAINERS_STORAGE_CONF="$PM_DIR/storage.conf"
	tar -C "$HUSK_BUSYBOX_BUNDLE/rootfs" -cf "$PM_DIR/rootfs.tar" .
	timeout 120 podman import "$PM_DIR/rootfs.tar" localhost/husk-busybox:test >/dev/null
}

teardown_file() {
	timeout 60 podman rm -a -f -t 0 >/dev/null 2>&1 || true
	timeout 60 podman rmi -a -f >/dev/null 2>&1 || true
	# Whatever podman left mounted under our directory goes before the directory does.
	grep -F " $PM_DIR/" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l
	rm -rf "$PM_DIR"
	if [ "$PM_LIBPOD_PREEXISTING" = 0 ]; then
		local d
		for d in /sys/fs/cgroup/*/libpod_parent/conmon /sys/fs/cgroup/*/libpod_parent; do
			[ -d "$d" ] && rmdir "$d" 2>/dev/null || true
		done
	fi
}

pm() { timeout 60 podman "$@"; }

@test "podman run --rm: output and exit codes through husk-runtime" {
	run pm run --rm localhost/husk-busybox:test sh -c 'echo "hi from $(hostname)"; exit 3'
	[ "$status" -eq 3 ]
	[[ "$output" == *"hi from "* ]]
	run pm run --rm localhost/husk-busybox:test true
	[ "$status" -eq 0 ]
	# podman really used husk-runtime.
	run pm info --format '{{.Host.OCIRuntime.Path}}'
	[[ "$output" == "$HUSK_RUNTIME" ]]
}

@test "podman run -d, logs, exec, top, pause/unpause, stop, rm" {
	run pm run -d --name hk-life localhost/husk-busybox:test \
		sh -c 'trap "exit 0" TERM; i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.2; done'
	[ "$status" -eq 0 ]
	local n=0
	until pm logs hk-life 2>/dev/null | grep -q "tick 2"; do
		n=$((n + 1)); [ "$n" -lt 50 ] || { echo "no ticks"; return 1; }; sleep 0.1
	done
	run pm exec hk-life sh -c 'echo "exec in $(hostname), pid $$"; cat /proc/1/cmdline | tr "\0" " "'
	[ "$status" -eq 0 ]
	[[ "$output" == *"exec in "* && "$output" == *"trap"* ]]
	run pm top hk-life
	[ "$status" -eq 0 ]
	[[ "$output" == *"sleep"* || "$output" == *"sh -c"* ]]
	run pm pause hk-life
	[ "$status" -eq 0 ]
	run pm inspect --format '{{.State.Status}}' hk-life
	[ "$output" = paused ]
	# Frozen: no new ticks while paused.
	local before after
	before=$(pm logs hk-life | wc -l)
	sleep 0.8
	after=$(pm logs hk-life | wc -l)
	[ "$before" -eq "$after" ]
	run pm unpause hk-life
	[ "$status" -eq 0 ]
	run pm stop -t 5 hk-life
	[ "$status" -eq 0 ]
	run pm inspect --format '{{.State.Status}} {{.State.ExitCode}}' hk-life
	[ "$output" = "exited 0" ]
	run pm rm hk-life
	[ "$status" -eq 0 ]
}

@test "podman run -it under a pty: echo, output, window size, exit code" {
	# A person at a 33x101 terminal types into the container's shell.
	run "$BATS_TEST_DIRNAME/pty-session.py" 33 101 "$PM_DIR/pty.transcript" -- \
		timeout 60 podman run -it --rm localhost/husk-busybox:test sh <<'STEPS'
expect # 
send stty size; echo "tty=$(tty) sum=$((6*7))"
expect sum=42
send exit 5
STEPS
	cat -v "$PM_DIR/pty.transcript"
	[ "$status" -eq 5 ]
	local transcript
	transcript=$(tr -d '\r' <"$PM_DIR/pty.transcript")
	# The typed command was echoed by the container's terminal, the window size arrived, and
	# the shell's stdin is a pty of the container's own devpts.
	[[ "$transcript" == *'echo "tty=$(tty) sum=$((6*7))"'* ]]
	[[ "$transcript" == *$'\n33 101\n'* ]]
	[[ "$transcript" == *"tty=/dev/pts/0 sum=42"* ]]
}

@test "podman --memory and --pids-limit are in force in the container's cgroup" {
	run pm run --rm --memory 64m --pids-limit 40 localhost/husk-busybox:test \
		sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max'
	[ "$status" -eq 0 ]
	[[ "$output" == *67108864* && "$output" == *40* ]]
	# The pids limit holds: a burst of background sleeps cannot reach 60 (the shell fails to
	# fork, or stops early).
	run pm run --rm --pids-limit 20 localhost/husk-busybox:test \
		sh -c 'n=0; while [ $n -lt 60 ]; do sleep 5 & n=$((n+1)); done 2>/dev/null; echo started $n'
	[[ "$output" != *"started 60"* ]] || [ "$status" -ne 0 ]
}

@test "podman with a limit husk-runtime cannot grant: the error names it" {
	local host_nofile
	host_nofile=$(ulimit -Hn)
	run pm run --rm --ulimit "nofile=$((host_nofile + 1)):$((host_nofile + 1))" \
		--ulimit nproc=32768:32768 localhost/husk-busybox:test true
	[ "$status" -ne 0 ]
	[[ "$output" == *"RLIMIT_NOFILE hard limit $((host_nofile + 1)) is above this host's $host_nofile"* ]]
	[[ "$output" == *"CAP_SYS_RESOURCE"* ]]
}
