# Helpers for the guest scenarios (busybox sh), sourced by /vm/scenario.
#
# A scenario defines one shell function per check, named check_<name>, and ends with
# `run_checks name...`. Each check runs in a subshell of its own with a fresh bundle and
# container id, under a time limit, and prints exactly one result line:
#   HUSK-VM-RESULT <name> ok|fail <detail>
# Lines starting with "  | " before it are the check's log (shown by the host on failure).
# A check fails by calling `fail MESSAGE` (or by any command failing under `|| fail ...`).

RT_BIN=/vm/bin/husk-runtime
STATE=/run/husk-vm/state
CHECK_TIMEOUT=${CHECK_TIMEOUT:-120}
mkdir -p "$STATE"

# The cgroup tree: /sys/fs/cgroup on v2, the unified mount on hybrid.
if [ "$HUSK_VM_MODE" = v2 ]; then V2=/sys/fs/cgroup; else V2=/sys/fs/cgroup/unified; fi

log() { echo "  | $*"; }

# fail MESSAGE: ends the check (it runs in a subshell) with a fail result.
fail() {
	printf 'HUSK-VM-RESULT %s fail %s\n' "$CHECK" "$*"
	exit 1
}

# rt ARGS...: the runtime with the guest's state root.
rt() { "$RT_BIN" --root "$STATE" "$@"; }

# cfg JQ_FILTER [JQ_ARGS...]: rewrites the check's config.json.
cfg() {
	filter=$1
	shift
	jq "$@" "$filter" "$BUNDLE/config.json" >"$BUNDLE/config.json.new" || fail "jq: $filter"
	mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
}

set_cmd() { cfg '.process.args = ["/bin/sh", "-c", $c]' --arg c "$1"; }
set_resources() { cfg '.linux.resources = $r' --argjson r "$1"; }
bind_out() { cfg '.mounts += [{destination: "/out", type: "bind", source: $s, options: ["rbind", "rw"]}]' --arg s "$OUT"; }

# The container's own cgroup directory (v2 tree, or a v1 hierarchy: cg_dir memory).
cg_dir() {
	if [ -n "$1" ] && [ "$HUSK_VM_MODE" != v2 ]; then
		echo "/sys/fs/cgroup/$1$CG_PATH"
	else
		echo "$V2$CG_PATH"
	fi
}

# Any directory named after the check's parent left in any hierarchy.
cg_leftovers() { find /sys/fs/cgroup -maxdepth 2 -type d -name "$CG_PARENT" 2>/dev/null; }

# run_detached: run -d with stdio on files; fails the check when the runtime fails.
run_detached() {
	rt run -d --bundle "$BUNDLE" "$ID" </dev/null >"$TMP/run.out" 2>"$TMP/run.err" ||
		fail "run -d: $(cat "$TMP/run.err")"
	wait_status running
}

state_field() { rt state "$ID" 2>/dev/null | jq -r ".$1"; }
stats_field() { rt events --stats "$ID" 2>/dev/null | jq -r ".data.$1"; }

# wait_status STATUS [TRIES]: polls state 0.1 s apart.
wait_status() {
	i=0
	while [ $i -lt "${2:-200}" ]; do
		[ "$(state_field status)" = "$1" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	fail "status $(state_field status), wanted $1"
}

# wait_file PATH [TRIES]: waits for a non-empty file.
wait_file() {
	i=0
	while [ $i -lt "${2:-300}" ]; do
		[ -s "$1" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	fail "timed out waiting for $1"
}

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() { [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"; }

# Monotonic clock in microseconds (uptime has 10 ms resolution; good enough for seconds).
now_us() { awk '{ printf "%d\n", $1 * 1000000 }' /proc/uptime; }

setup_check() {
	TMP=/tmp/check-$CHECK
	rm -rf "$TMP"
	mkdir -p "$TMP/bundle" "$TMP/out"
	chmod 0777 "$TMP/out"
	BUNDLE=$TMP/bundle
	OUT=$TMP/out
	ID=vm-$CHECK
	CG_PARENT=husk-vm-$CHECK
	CG_PATH=/$CG_PARENT/$ID
	jq --arg cg "$CG_PATH" '
		.root = {path: "/vm/bundle/rootfs", readonly: true}
		| .process.terminal = false
		| .process.cwd = "/"
		| .hostname = "husk-vm"
		| .linux.cgroupsPath = $cg
	' /vm/bundle/config.json >"$BUNDLE/config.json"
}

# The check's leftovers, removed whether it passed or not (and reported when it passed).
teardown_check() {
	rt delete --force "$ID" >/dev/null 2>&1
	left=$(cg_leftovers)
	for d in $left; do
		find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	[ -z "$left" ] || echo "  | leftover cgroups: $left"
}

# run_checks NAME...: each check_NAME in a subshell with its own deadline.
run_checks() {
	for CHECK in "$@"; do
		export CHECK
		start=$(now_us)
		(
			setup_check
			if "check_$CHECK"; then
				printf 'HUSK-VM-RESULT %s ok %s\n' "$CHECK" "${DETAIL:-}"
			else
				printf 'HUSK-VM-RESULT %s fail check_%s returned %s\n' "$CHECK" "$CHECK" "$?"
			fi
		) 2>&1 &
		pid=$!
		(sleep "$CHECK_TIMEOUT" && kill -9 "$pid" 2>/dev/null &&
			printf 'HUSK-VM-RESULT %s fail timed out after %ss\n' "$CHECK" "$CHECK_TIMEOUT") &
		dog=$!
		wait "$pid"
		kill "$dog" 2>/dev/null
		wait "$dog" 2>/dev/null
		(setup_check && teardown_check)
		echo "  | $CHECK took $((($(now_us) - start) / 1000)) ms"
	done
}
