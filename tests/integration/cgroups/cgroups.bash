# Helpers for the cgroup tests (loaded after ../helpers).
#
# Every test puts its container at an absolute cgroupsPath under a parent of its own,
# /husk-test-<pid>-<test>-<random>, so it never touches a cgroup it did not create (the shell
# running the tests sits in a memory cgroup made by someone else). The runtime creates and
# removes both levels; cgroup_teardown checks that and removes leftovers (only ours: the
# parent's name carries our pid).

cgroup_setup() {
	common_setup
	CG_PARENT="husk-test-$$-${BATS_TEST_NUMBER}-$RANDOM"
	CG_PATH="/$CG_PARENT/$ID"
	update_config '.linux.cgroupsPath = $p' --arg p "$CG_PATH"
}

# cg_dir CONTROLLER: the container's directory in a v1 hierarchy ("unified" for v2).
cg_dir() {
	echo "/sys/fs/cgroup/$1$CG_PATH"
}

# Every directory of our parent in any hierarchy.
cg_leftovers() {
	find /sys/fs/cgroup -maxdepth 2 -type d -name "$CG_PARENT" 2>/dev/null
}

cgroup_teardown() {
	local rc=0 d leftover
	common_teardown || rc=$?
	leftover=$(cg_leftovers)
	if [[ -n "$leftover" ]]; then
		echo "cgroup dirs left behind: $leftover" >&2
		rc=1
		# Deepest first; only directories named after this test's parent.
		for d in $(find $leftover -depth -type d 2>/dev/null); do rmdir "$d" 2>/dev/null || true; done
	fi
	return $rc
}

# set_resources JSON: linux.resources = JSON
set_resources() {
	update_config '.linux.resources = $r' --argjson r "$1"
}

# run_detached: run -d, asserting success.
run_detached() {
	rtd run -d --bundle "$BUNDLE" "$ID"
	assert_success || return 1
	wait_for_status running
}

# stats_field JQ: a field of `events --stats`' data.
stats_field() {
	rt events --stats "$ID" | jq -r ".data.$1"
}

# assert_no_cgroup: nothing of ours in any hierarchy.
assert_no_cgroup() {
	local leftover
	leftover=$(cg_leftovers)
	[[ -z "$leftover" ]] || fail "cgroup dirs exist: $leftover"
}
