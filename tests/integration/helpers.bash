# Shared helpers for the bats integration tests.
#
# Environment (set by CTest, or by hand to run against another runtime such as runc):
#   HUSK_RUNTIME         absolute path of the runtime binary (husk-runtime, or /usr/sbin/runc)
#   HUSK_BUSYBOX_BUNDLE  bundle dir: rootfs/ (busybox-static) + config.json from `spec`
#   HUSK_SOURCE_DIR      repository root (optional here)
#
# Every test gets its own temporary dir ($TEST_TMP) holding the state root ($ROOT, always
# passed as --root), a bundle ($BUNDLE) whose config.json is derived from the shared
# bundle's, and an output dir ($OUT, bind-mounted read-write at /out by `bind_out`). The
# container id ($ID) is unique per test. Processes started by the runtime carry the
# environment variable HUSK_TEST_TAG=$ID so leaks can be found without guessing.
#
# Usage in a .bats file:
#   load ../helpers
#   setup() { common_setup; }
#   teardown() { common_teardown; }

bats_require_minimum_version 1.5.0

# ---------------------------------------------------------------------------------------
# Assertions: small, print what they compared on failure.

fail() {
	echo "FAIL: $*" >&2
	return 1
}

assert_status() { # EXPECTED: compares with $status from `run`
	if [[ "$status" != "$1" ]]; then
		echo "expected exit status $1, got $status" >&2
		echo "output: $output" >&2
		[[ -n "${stderr:-}" ]] && echo "stderr: $stderr" >&2
		return 1
	fi
}

assert_success() { assert_status 0; }

assert_failure() {
	if [[ "$status" == 0 ]]; then
		echo "expected a non-zero exit status, got 0" >&2
		echo "output: $output" >&2
		[[ -n "${stderr:-}" ]] && echo "stderr: $stderr" >&2
		return 1
	fi
}

assert_equal() { # ACTUAL EXPECTED [WHAT]
	if [[ "$1" != "$2" ]]; then
		echo "${3:-value} mismatch" >&2
		echo "  expected: '$2'" >&2
		echo "  actual:   '$1'" >&2
		return 1
	fi
}

assert_contains() { # HAYSTACK NEEDLE
	if [[ "$1" != *"$2"* ]]; then
		echo "expected to find '$2' in:" >&2
		echo "$1" >&2
		return 1
	fi
}

assert_not_contains() { # HAYSTACK NEEDLE
	if [[ "$1" == *"$2"* ]]; then
		echo "did not expect '$2' in:" >&2
		echo "$1" >&2
		return 1
	fi
}

assert_match() { # STRING ERE
	if ! [[ "$1" =~ $2 ]]; then
		echo "expected '$1' to match /$2/" >&2
		return 1
	fi
}

# ---------------------------------------------------------------------------------------
# Runtime flavour.

is_runc() { [[ "$(basename "$HUSK_RUNTIME")" == runc* ]]; }
is_husk() { ! is_runc; }

# Skip a test (or the rest of one) that checks husk-specific behaviour when running runc.
husk_only() {
	if is_runc; then skip "${1:-husk-specific behaviour}"; fi
}

# Checks that an error message names the offending config field. runc's messages are
# worded differently, so this is checked only against husk.
assert_names_field() { # TEXT FIELD
	is_runc && return 0
	assert_contains "$1" "$2"
}

# ---------------------------------------------------------------------------------------
# Running the runtime.

# rt ARGS...: the runtime with our private state root. Tags its environment for leak checks.
rt() {
	HUSK_TEST_TAG="$ID" "$HUSK_RUNTIME" --root "$ROOT" "$@"
}

# rtd ARGS...: like `run rt ARGS...` for commands that leave a container behind (create,
# run --detach). The container inherits the runtime's stdio and keeps it open, so a pipe
# (as `run` uses) would never reach EOF: stdio goes to files instead. Sets $status,
# $output (runtime stdout) and $stderr (runtime stderr); never fails by itself.
rtd() {
	RTD_N=$((${RTD_N:-0} + 1))
	local out="$TEST_TMP/rtd.$RTD_N.out" err="$TEST_TMP/rtd.$RTD_N.err"
	status=0
	rt "$@" </dev/null >"$out" 2>"$err" || status=$?
	output=$(cat "$out")
	stderr=$(cat "$err")
	return 0
}

# ---------------------------------------------------------------------------------------
# Bundle and config editing.

# update_config JQ_FILTER [JQ_ARGS...]: rewrites $BUNDLE/config.json through jq.
update_config() {
	local filter=$1
	shift
	jq "$@" "$filter" <"$BUNDLE/config.json" >"$BUNDLE/config.json.new" ||
		fail "jq failed on filter: $filter" || return 1
	mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
}

# set_args ARG...: process.args
set_args() {
	local args
	args=$(jq -cn '$ARGS.positional' --args -- "$@")
	update_config '.process.args = $a' --argjson a "$args"
}

# set_cmd 'shell script': process.args = ["/bin/sh", "-c", SCRIPT]
set_cmd() {
	set_args /bin/sh -c "$1"
}

# add_mount DEST TYPE SOURCE [OPTIONS_JSON_ARRAY]
add_mount() {
	local opts=${4:-[]}
	update_config '.mounts += [{destination: $d, type: $t, source: $s, options: $o}]' \
		--arg d "$1" --arg t "$2" --arg s "$3" --argjson o "$opts"
}

# bind_out: bind-mounts $OUT read-write at /out so the container can leave results.
bind_out() {
	add_mount /out bind "$OUT" '["rbind","rw"]'
}

# writable_rootfs: the test needs to write into the rootfs: give it a private copy.
writable_rootfs() {
	cp -a "$SHARED_ROOTFS" "$TEST_TMP/rootfs"
	ROOTFS="$TEST_TMP/rootfs"
	update_config '.root.path = $r | .root.readonly = false' --arg r "$ROOTFS"
}

# remove_namespace TYPE
remove_namespace() {
	update_config '.linux.namespaces |= map(select(.type != $t))' --arg t "$1"
}

# ---------------------------------------------------------------------------------------
# Container state helpers.

# state_field FIELD [ID]: prints .FIELD of `state ID` (empty when state fails).
state_field() {
	rt state "${2:-$ID}" 2>/dev/null | jq -r ".$1"
}

# wait_for_status STATUS [ID] [TRIES]: polls `state` (0.1 s apart) until status matches.
wait_for_status() {
	local want=$1 id=${2:-$ID} tries=${3:-100} got= i
	for ((i = 0; i < tries; i++)); do
		got=$(state_field status "$id")
		[[ "$got" == "$want" ]] && return 0
		sleep 0.1
	done
	echo "container $id: status '$got', wanted '$want'" >&2
	return 1
}

# wait_for_file PATH [TRIES]
wait_for_file() {
	local path=$1 tries=${2:-100} i
	for ((i = 0; i < tries; i++)); do
		[[ -s "$path" ]] && return 0
		sleep 0.1
	done
	echo "timed out waiting for $path" >&2
	return 1
}

# pid_alive PID: true when PID exists and is not a zombie.
pid_alive() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n "$st" && "$st" != Z && "$st" != X ]]
}

# wait_pid_gone PID [TRIES]
wait_pid_gone() {
	local tries=${2:-100} i
	for ((i = 0; i < tries; i++)); do
		pid_alive "$1" || return 0
		sleep 0.1
	done
	echo "process $1 still alive" >&2
	return 1
}

# ---------------------------------------------------------------------------------------
# Leak detection.

# Mount points (with fs type and source) of the host mount namespace, sorted.
mount_list() {
	awk '{ sep = 0; for (i = 7; i <= NF; i++) if ($i == "-") { sep = i; break }
	       print $5, $(sep + 1), $(sep + 2) }' /proc/self/mountinfo | sort
}

# Cgroup directories whose name contains the container id.
cgroup_list() {
	find /sys/fs/cgroup -maxdepth 7 -type d -name "*$1*" 2>/dev/null | sort
}

# Processes (not zombies) that belong to this test: their environment carries our tag or
# names our temp dir (runc's init has _LIBCONTAINER_STATEDIR=$ROOT/ID), or their root, cwd
# or an open fd (a detached container's stdio goes to files under $TEST_TMP) is there.
tagged_processes() {
	local pids pid
	# Without both, the patterns below would match every process on the host.
	[[ -n "${TEST_TMP:-}" && -n "${ID:-}" ]] || return 0
	pids=$(
		{
			grep -lzF -e "HUSK_TEST_TAG=$ID" -e "$TEST_TMP" /proc/[0-9]*/environ 2>/dev/null
			find /proc/[0-9]*/root /proc/[0-9]*/cwd /proc/[0-9]*/fd -maxdepth 1 \
				-lname "$TEST_TMP*" 2>/dev/null
		} | cut -d/ -f3 | sort -un
	)
	for pid in $pids; do
		[[ "$pid" == "$$" || "$pid" == "$BASHPID" ]] && continue
		pid_alive "$pid" || continue
		echo "$pid $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") (root=$(readlink "/proc/$pid/root" 2>/dev/null) cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null))"
	done
}

# New host mounts since setup that belong to this test: they name our temp dir, the
# shared rootfs, the container id, an escape target, or are a container-only fs type.
# (Unrelated mounts made meanwhile by other people on this host are ignored.)
new_mounts() {
	local own=
	[[ ${#HOST_MOUNTS[@]} -gt 0 ]] && own=$(printf '%s\n' "${HOST_MOUNTS[@]}")
	comm -13 "$TEST_TMP/.mounts.before" <(mount_list) |
		awk -v own="$own" 'BEGIN { n = split(own, a, "\n"); for (i = 1; i <= n; i++) skip[a[i]] = 1 }
		                   !($1 in skip)' |
		grep -E -e "$TEST_TMP|$SHARED_ROOTFS|$ID|husk-escape|escape-" \
			-e ' (proc|sysfs|devpts|mqueue|cgroup|cgroup2) ' || true
}

# assert_nothing_left [ID]: no state dir, no new mount, no cgroup, no process.
# (With LEAKED_PROCESSES set, that list is used instead of scanning /proc again.)
assert_nothing_left() {
	local id=${1:-$ID} problems=0 leftover
	if [[ -d "$ROOT" ]]; then
		leftover=$(find "$ROOT" -mindepth 1 -maxdepth 1 -name "*$id*")
		if [[ -n "$leftover" ]]; then
			echo "state left under --root: $leftover" >&2
			problems=1
		fi
	fi
	leftover=$(new_mounts)
	if [[ -n "$leftover" ]]; then
		echo "mounts left on the host:" >&2
		echo "$leftover" >&2
		problems=1
	fi
	leftover=$(comm -13 "$TEST_TMP/.cgroups.before" <(cgroup_list "$id"))
	if [[ -n "$leftover" ]]; then
		echo "cgroups left:" >&2
		echo "$leftover" >&2
		problems=1
	fi
	leftover=${LEAKED_PROCESSES-$(tagged_processes)}
	if [[ -n "$leftover" ]]; then
		echo "processes left:" >&2
		echo "$leftover" >&2
		problems=1
	fi
	return $problems
}

# ---------------------------------------------------------------------------------------
# setup / teardown

common_setup() {
	[[ -n "${HUSK_RUNTIME:-}" && -x "$HUSK_RUNTIME" ]] ||
		fail "HUSK_RUNTIME must name the runtime binary (got '${HUSK_RUNTIME:-}')" || return 1
	[[ -n "${HUSK_BUSYBOX_BUNDLE:-}" && -f "$HUSK_BUSYBOX_BUNDLE/config.json" ]] ||
		fail "HUSK_BUSYBOX_BUNDLE must hold config.json and rootfs/" || return 1
	[[ "$(id -u)" == 0 ]] || skip "needs root"

	SHARED_ROOTFS=$(cd "$HUSK_BUSYBOX_BUNDLE/rootfs" && pwd -P)
	ROOTFS=$SHARED_ROOTFS
	TEST_TMP=$(mktemp -d /tmp/husk-bats.XXXXXX)
	TEST_TMP=$(cd "$TEST_TMP" && pwd -P)
	ROOT=$TEST_TMP/state
	BUNDLE=$TEST_TMP/bundle
	OUT=$TEST_TMP/out
	mkdir -p "$ROOT" "$BUNDLE" "$OUT"
	chmod 0777 "$OUT"
	ID="hb${$}t${BATS_TEST_NUMBER}r${RANDOM}"
	HOST_NETNS=
	HOST_MOUNTS=()
	BG_PIDS=()

	# Derived config: shared rootfs read-only by absolute path, no terminal, a known
	# hostname, and the leak tag in the container's environment.
	jq --arg r "$SHARED_ROOTFS" --arg tag "HUSK_TEST_TAG=$ID" '
		.root = {path: $r, readonly: true}
		| .process.terminal = false
		| .process.cwd = "/"
		| .process.env = ((.process.env // []) + [$tag])
		| .hostname = "husk-bats"
	' "$HUSK_BUSYBOX_BUNDLE/config.json" >"$BUNDLE/config.json"

	mount_list >"$TEST_TMP/.mounts.before"
	cgroup_list "$ID" >"$TEST_TMP/.cgroups.before"
}

# host_tmpfs DIR: mounts a tmpfs on the host at DIR (under $TEST_TMP), undone in teardown.
host_tmpfs() {
	mkdir -p "$1"
	mount -t tmpfs -o size=1m husk-bats-tmpfs "$1"
	HOST_MOUNTS=("$1" "${HOST_MOUNTS[@]}")
}

# make_netns: a network namespace of our own, deleted in teardown. Sets $HOST_NETNS.
make_netns() {
	HOST_NETNS="husk-test-$$-$BATS_TEST_NUMBER"
	ip netns add "$HOST_NETNS"
}

common_teardown() {
	local rc=0 c pid i
	# setup failed before making anything: nothing of ours to clean.
	[[ -n "${TEST_TMP:-}" && -n "${ID:-}" ]] || return 0

	# Stop background runtime invocations we started.
	for pid in "${BG_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done

	# Force-delete every container this test made.
	if [[ -d "$ROOT" ]]; then
		for c in $("$HUSK_RUNTIME" --root "$ROOT" list -q 2>/dev/null); do
			"$HUSK_RUNTIME" --root "$ROOT" delete --force "$c" >/dev/null 2>&1 || true
		done
		# list may not know half-created containers; try the test's own id as well.
		"$HUSK_RUNTIME" --root "$ROOT" delete --force "$ID" >/dev/null 2>&1 || true
	fi

	# Give the kernel a moment to reap the container processes, then check for leaks.
	local LEAKED_PROCESSES
	for ((i = 0; i < 50; i++)); do
		LEAKED_PROCESSES=$(tagged_processes)
		[[ -z "$LEAKED_PROCESSES" ]] && break
		sleep 0.1
	done
	if [[ -n "${TEST_TMP:-}" ]]; then
		assert_nothing_left "$ID" || rc=1
		# A runtime may keep a lock file in --root (husk: a cache under @cache, a name no
		# container id can take); a container directory must be gone.
		local dirs
		dirs=$(find "$ROOT" -mindepth 1 -maxdepth 1 -type d ! -name '@cache' 2>/dev/null)
		if [[ -n "$dirs" ]]; then
			echo "state root still holds container dirs after delete: $dirs" >&2
			rc=1
		fi
	fi

	# Last resort: kill processes that still carry our tag (only ours: tagged with $ID).
	for pid in $(awk '{ print $1 }' <<<"$LEAKED_PROCESSES"); do
		kill -KILL "$pid" 2>/dev/null || true
	done

	for c in "${HOST_MOUNTS[@]}"; do
		umount -l "$c" 2>/dev/null || true
	done
	if [[ -n "$HOST_NETNS" ]]; then
		ip netns del "$HOST_NETNS" 2>/dev/null || true
	fi
	if [[ -n "${TEST_TMP:-}" && -d "$TEST_TMP" ]]; then
		# Never recurse into something still mounted (it would not be ours to delete).
		if grep -q " $TEST_TMP" /proc/self/mountinfo; then
			echo "mounts still under $TEST_TMP; leaving it in place" >&2
			rc=1
		else
			rm -rf "$TEST_TMP"
		fi
	fi
	return $rc
}

# A husk store the test made: its networks (the default one comes with the first `husk run`
# or build RUN step) go with it, so no bridge or nft table of it outlives the test.
remove_store_networks() { # ROOT RUNROOT
	[[ -d "$1/networks" ]] || return 0
	local n
	"$HUSK" --root "$1" --runroot "$2" network prune >/dev/null 2>&1 || true
	for n in $("$HUSK" --root "$1" --runroot "$2" network ls -q 2>/dev/null); do
		"$HUSK" --root "$1" --runroot "$2" network rm "$n" >/dev/null 2>&1 || true
	done
}

# Polls until CMD succeeds (up to ~10 s): for states reached asynchronously.
eventually() {
	local i
	for i in $(seq 1 100); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	"$@"
}
