#!/usr/bin/env bats
# The process: user and groups, umask, rlimits, environment, working directory.

load ../helpers

setup() { common_setup; }
teardown() { common_teardown; }

run_ct() {
	run --separate-stderr rt run --bundle "$BUNDLE" "$ID"
}

@test "process.user: uid, gid and additionalGids are applied" {
	update_config '.process.user = {uid: 1000, gid: 1000, additionalGids: [1001, 1002]}'
	set_cmd 'id -u; id -g; grep -E "^(Uid|Gid|Groups):" /proc/self/status'
	run_ct
	assert_success
	assert_equal "$(sed -n 1p <<<"$output")" 1000 "id -u"
	assert_equal "$(sed -n 2p <<<"$output")" 1000 "id -g"
	assert_contains "$output" $'Uid:\t1000\t1000\t1000\t1000'
	assert_contains "$output" $'Gid:\t1000\t1000\t1000\t1000'
	local groups
	groups=$(grep '^Groups:' <<<"$output" | cut -f2 | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')
	assert_equal "$groups" "1001 1002 " "supplementary groups"
}

@test "process.user: a user from /etc/passwd resolves by name inside" {
	update_config '.process.user = {uid: 65534, gid: 65534}'
	set_cmd 'id -un; id -gn'
	run_ct
	assert_success
	assert_equal "$output" $'nobody\nnogroup' "user and group names"
}

@test "process.user: without additionalGids the supplementary groups are cleared" {
	update_config '.process.user = {uid: 1, gid: 1}'
	set_cmd 'grep -E "^(Uid|Gid|Groups):" /proc/self/status'
	run_ct
	assert_success
	assert_contains "$output" $'Uid:\t1\t1\t1\t1'
	assert_contains "$output" $'Gid:\t1\t1\t1\t1'
	local groups
	groups=$(grep '^Groups:' <<<"$output" | cut -f2 | tr -d ' ')
	# No host group (root's 0 etc.) may leak in; at most the primary gid.
	[[ -z "$groups" || "$groups" == 1 ]] || fail "unexpected groups: $groups"
}

@test "a non-root user cannot write to root-owned files" {
	writable_rootfs
	update_config '.process.user = {uid: 1000, gid: 1000}'
	set_cmd 'echo x >> /etc/passwd; echo "rc=$?"'
	run_ct
	assert_contains "$output" "rc=1"
	assert_contains "$stderr" "Permission denied"
}

@test "process.user.umask is applied" {
	bind_out
	update_config '.process.user.umask = 63' # 0077
	set_cmd 'umask; touch /out/f; mkdir /out/d'
	run_ct
	assert_success
	assert_equal "$output" 0077 "umask inside"
	assert_equal "$(stat -c %a "$OUT/f")" 600 "mode of a new file"
	assert_equal "$(stat -c %a "$OUT/d")" 700 "mode of a new dir"
}

@test "process.user.umask 0 lets files be created 0666" {
	bind_out
	update_config '.process.user.umask = 0'
	set_cmd 'umask; touch /out/f'
	run_ct
	assert_success
	assert_equal "$output" 0000 "umask inside"
	assert_equal "$(stat -c %a "$OUT/f")" 666 "mode of a new file"
}

@test "rlimits: RLIMIT_NOFILE and RLIMIT_CORE soft/hard are applied" {
	update_config '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 512, hard: 1024}, {type: "RLIMIT_CORE", soft: 4096, hard: 8192}]'
	set_cmd 'ulimit -n; ulimit -Hn; grep -E "^Max (open files|core file size)" /proc/self/limits'
	run_ct
	assert_success
	assert_equal "$(sed -n 1p <<<"$output")" 512 "ulimit -n"
	assert_equal "$(sed -n 2p <<<"$output")" 1024 "ulimit -Hn"
	assert_match "$(grep 'Max open files' <<<"$output")" 'Max open files +512 +1024 +files'
	assert_match "$(grep 'Max core file size' <<<"$output")" 'Max core file size +4096 +8192 +bytes'
}

@test "rlimits: an fd above the soft limit cannot be opened" {
	update_config '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 16, hard: 16}]'
	# fd 20 is above the limit: the redirection must fail.
	set_cmd '(exec 20</dev/null) && echo opened || echo refused'
	run_ct
	assert_contains "$output" refused
}

@test "process.oomScoreAdj is applied" {
	update_config '.process.oomScoreAdj = 500'
	set_cmd 'cat /proc/self/oom_score_adj'
	run_ct
	assert_success
	assert_equal "$output" 500
}

@test "env: process.env is the whole environment" {
	update_config '.process.env = ["PATH=/bin:/usr/bin", "FOO=bar", "SPACED=a b  c", "EMPTY=", "EQ=x=y", $tag]' \
		--arg tag "HUSK_TEST_TAG=$ID"
	set_cmd 'echo "FOO=[$FOO]"; echo "SPACED=[$SPACED]"; echo "EMPTY=[${EMPTY-unset}]"; echo "EQ=[$EQ]"; env'
	run_ct
	assert_success
	assert_contains "$output" "FOO=[bar]"
	assert_contains "$output" "SPACED=[a b  c]"
	assert_contains "$output" "EMPTY=[]"
	assert_contains "$output" "EQ=[x=y]"
	# Nothing from the runtime's or the test runner's environment leaks in.
	assert_not_contains "$output" "HUSK_RUNTIME="
	assert_not_contains "$output" "HUSK_BUSYBOX_BUNDLE="
	assert_not_contains "$output" "BATS_"
}

@test "cwd: the process starts in process.cwd" {
	update_config '.process.cwd = "/etc"'
	set_cmd 'pwd; ls passwd'
	run_ct
	assert_success
	assert_equal "$output" $'/etc\npasswd' "pwd and relative ls"
}

@test "cwd: a cwd missing from a writable rootfs is created" {
	writable_rootfs
	update_config '.process.cwd = "/work/dir"'
	set_args pwd
	run_ct
	assert_success
	assert_equal "$output" /work/dir
}

@test "args: arguments reach the process unchanged (spaces, empty, quotes)" {
	set_args /bin/sh -c 'for a in "$@"; do echo "[$a]"; done' zero "a b" "" "it's" '$HOME' '*'
	run_ct
	assert_success
	assert_equal "$output" $'[a b]\n[]\n[it\'s]\n[$HOME]\n[*]' "arguments"
}

@test "args: the command is found through PATH from process.env" {
	update_config '.process.env = ["PATH=/usr/sbin:/bin", $tag]' --arg tag "HUSK_TEST_TAG=$ID"
	set_args echo found-in-path
	run_ct
	assert_success
	assert_equal "$output" found-in-path
}

@test "stdio: the process has stdin, stdout and stderr and no other inherited fd" {
	set_cmd 'ls /proc/self/fd | sort -n | tr "\n" " "'
	# Give the runtime an extra fd (9) that must not reach the container.
	run --separate-stderr bash -c "exec 9</dev/null; HUSK_TEST_TAG='$ID' '$HUSK_RUNTIME' --root '$ROOT' run --bundle '$BUNDLE' '$ID'"
	assert_success
	# 0 1 2 and the fd ls itself opened for /proc/self/fd.
	assert_match "$output" '^0 1 2 3 ?$'
}

@test "capabilities: ambient caps that are not inheritable are dropped with a warning, as runc drops them" {
	# The shape `runc spec` writes: ambient listed, inheritable not.
	update_config '.process.capabilities = {
		bounding: ["CAP_KILL", "CAP_NET_BIND_SERVICE"], effective: ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
		permitted: ["CAP_KILL", "CAP_NET_BIND_SERVICE"], inheritable: ["CAP_KILL"],
		ambient: ["CAP_KILL", "CAP_NET_BIND_SERVICE"]}'
	set_cmd 'grep -E "^Cap(Amb|Inh)" /proc/self/status'
	run_ct
	assert_success
	# CAP_KILL (bit 5) stays ambient; CAP_NET_BIND_SERVICE (bit 10) could not be raised.
	assert_contains "$output" $'CapInh:\t0000000000000020'
	assert_contains "$output" $'CapAmb:\t0000000000000020'
	if is_husk; then
		assert_contains "$stderr" "CAP_NET_BIND_SERVICE is not both permitted and inheritable"
	fi
}

@test "rlimits: a hard limit above the host's names the limit, both values and the capability" {
	husk_only "runc says only: error setting rlimit type 6: operation not permitted"
	local bnd
	bnd=$(awk '/^CapBnd/ {print $2}' /proc/self/status)
	(((0x$bnd >> 24) & 1)) && skip "this host has CAP_SYS_RESOURCE: the raise would succeed"
	local host_hard=$(($(ulimit -Hu) + 0)) want
	want=$((host_hard + 1))
	update_config '.process.rlimits = [{type: "RLIMIT_NPROC", soft: $w, hard: $w}]' --argjson w "$want"
	set_args true
	run --separate-stderr rt run --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_contains "$stderr" "RLIMIT_NPROC hard limit $want is above this host's $host_hard"
	assert_contains "$stderr" "CAP_SYS_RESOURCE"
	assert_nothing_left
}

@test "signals: the process starts with an empty mask and nothing ignored, whatever the caller ignored" {
	set_args grep -E '^Sig(Blk|Ign):' /proc/self/status
	# A caller that ignores SIGHUP and SIGINT (nohup, a shell's trap '') must not pass that on.
	run bash -c 'trap "" HUP INT; exec "$@"' _ "$HUSK_RUNTIME" --root "$ROOT" run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_contains "$output" $'SigBlk:\t0000000000000000'
	assert_contains "$output" $'SigIgn:\t0000000000000000'
}
