#!/usr/bin/env bats
# linux.seccomp: the default profile blocks what it promises (checked with raw syscalls from a
# static probe), every action behaves as the kernel defines it, flags and the notify listener
# work, and the compiled BPF is cached by profile hash.

load ../helpers
load security-helpers

setup() { common_setup; }
teardown() { common_teardown; }

@test "default profile: the process runs in seccomp filter mode with no_new_privs" {
	set_cmd 'grep -E "^(Seccomp|Seccomp_filters|NoNewPrivs):" /proc/self/status'
	run_ct
	assert_success
	assert_equal "$(status_field Seccomp)" 2 "Seccomp"
	assert_equal "$(status_field Seccomp_filters)" 1 "Seccomp_filters"
	assert_equal "$(status_field NoNewPrivs)" 1 "NoNewPrivs"
}

@test "default profile: dangerous syscalls fail with EPERM, ordinary ones work" {
	build_probe
	set_args /probe keyctl add_key unshare-user kexec_load mount clone-newuser bpf \
		open_by_handle_at personality-bad clone3 clone-plain getpid personality-query
	run_ct
	assert_success
	local expected
	expected=$(printf '%s\n' "keyctl 1" "add_key 1" "unshare-user 1" "kexec_load 1" "mount 1" \
		"clone-newuser 1" "bpf 1" "open_by_handle_at 1" "personality-bad 1" \
		"clone3 38" "clone-plain 0" "getpid 0" "personality-query 0")
	assert_equal "$output" "$expected" "probe results (name errno)"
}

@test "without linux.seccomp the same probe is not blocked (the filter is what refuses)" {
	build_probe
	update_config 'del(.linux.seccomp)'
	set_args /probe unshare-user clone3
	run_ct
	assert_success
	assert_contains "$output" "unshare-user 0"
	assert_not_contains "$output" "clone3 38"
}

@test "SCMP_ACT_ERRNO with errnoRet and defaultErrnoRet" {
	build_probe
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
		{"names": ["keyctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
		{"names": ["add_key"], "action": "SCMP_ACT_ERRNO"}]}'
	set_args /probe keyctl add_key getpid
	run_ct
	assert_success
	assert_equal "$output" $'keyctl 13\nadd_key 1\ngetpid 0'

	update_config '.linux.seccomp = {defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 95,
		syscalls: [{names: ["execve", "brk", "arch_prctl", "set_tid_address", "set_robust_list",
			"rseq", "prlimit64", "mprotect", "readlinkat", "uname", "getrandom", "write",
			"exit_group", "getpid", "newfstatat", "fstat", "mmap", "munmap", "sendmsg", "read",
			"recvfrom", "recvmsg", "close_range", "futex", "fcntl", "openat", "ioctl", "lseek"], action: "SCMP_ACT_ALLOW"}]}'
	set_args /probe keyctl getpid
	run_ct
	assert_success
	assert_equal "$output" $'keyctl 95\ngetpid 0' "defaultErrnoRet 95 (EOPNOTSUPP)"
}

@test "SCMP_ACT_KILL_PROCESS, KILL_THREAD, KILL and TRAP end the process with SIGSYS" {
	build_probe
	local action
	for action in SCMP_ACT_KILL_PROCESS SCMP_ACT_KILL_THREAD SCMP_ACT_KILL SCMP_ACT_TRAP; do
		set_seccomp "{\"defaultAction\": \"SCMP_ACT_ALLOW\",
			\"syscalls\": [{\"names\": [\"keyctl\"], \"action\": \"$action\"}]}"
		set_args /probe getpid keyctl
		run_ct
		assert_status 159 # 128 + SIGSYS
		assert_equal "$output" "getpid 0" "$action: output before the blocked call"
	done
}

@test "SCMP_ACT_LOG allows, SCMP_ACT_TRACE without a tracer fails with ENOSYS" {
	build_probe
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
		{"names": ["getpid"], "action": "SCMP_ACT_LOG"},
		{"names": ["keyctl"], "action": "SCMP_ACT_TRACE", "errnoRet": 3}]}'
	set_args /probe getpid keyctl
	run_ct
	assert_success
	assert_equal "$output" $'getpid 0\nkeyctl 38'
}

@test "argument conditions: two conditions on one argument match as OR, as in runc" {
	build_probe
	set_seccomp '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
		{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22, "args": [
			{"index": 0, "value": 262144, "op": "SCMP_CMP_EQ"},
			{"index": 0, "value": 4294967294, "op": "SCMP_CMP_EQ"}]},
		{"names": ["clone"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "args": [
			{"index": 0, "value": 268435456, "valueTwo": 268435456, "op": "SCMP_CMP_MASKED_EQ"}]}]}'
	set_args /probe personality-bad personality-query clone-newuser clone-plain
	run_ct
	assert_success
	assert_equal "$output" $'personality-bad 22\npersonality-query 0\nclone-newuser 13\nclone-plain 0'
}

@test "flags TSYNC, LOG and SPEC_ALLOW are accepted by the kernel" {
	update_config '.linux.seccomp.flags = ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
		"SECCOMP_FILTER_FLAG_SPEC_ALLOW"]'
	set_cmd 'grep -E "^Seccomp:" /proc/self/status'
	run_ct
	assert_success
	assert_equal "$(status_field Seccomp)" 2
}

@test "without noNewPrivileges the filter is loaded before the switch to a non-root user" {
	update_config '.process.noNewPrivileges = false | .process.user = {uid: 1000, gid: 1000}'
	set_cmd 'grep -E "^(Seccomp|NoNewPrivs|Uid):" /proc/self/status'
	run_ct
	assert_success
	assert_equal "$(status_field Seccomp)" 2 "Seccomp"
	assert_equal "$(status_field NoNewPrivs)" 0 "NoNewPrivs"
	assert_equal "$(status_field Uid)" 1000 "Uid"
}

@test "the compiled BPF is cached under the root by profile hash and reused" {
	set_args true
	run --separate-stderr rt --debug run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_contains "$stderr" "seccomp: compiled"
	local entries
	entries=$(find "$ROOT/@cache/seccomp" -name '*.bpf' | wc -l)
	assert_equal "$entries" 1 "cache entries"
	run --separate-stderr rt --debug run --bundle "$BUNDLE" "$ID"
	assert_success
	assert_contains "$stderr" "instructions from $ROOT/@cache/seccomp/"
	# A different profile gets its own entry.
	update_config '.linux.seccomp.defaultErrnoRet = 38'
	run --separate-stderr rt run --bundle "$BUNDLE" "$ID"
	assert_success
	entries=$(find "$ROOT/@cache/seccomp" -name '*.bpf' | wc -l)
	assert_equal "$entries" 2 "cache entries after a second profile"
}

@test "syscall names unknown to libseccomp are skipped; wrong names are refused by path" {
	update_config '.linux.seccomp.syscalls += [{names: ["husk_no_such_syscall"], action: "SCMP_ACT_ALLOW"}]'
	set_args true
	run_ct
	assert_success

	update_config '.linux.seccomp.architectures = ["SCMP_ARCH_PDP11"]'
	run_ct
	assert_failure
	assert_contains "$stderr" 'linux.seccomp.architectures[0]: unknown seccomp architecture "SCMP_ARCH_PDP11"'

	update_config '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: ["read"], action: "SCMP_ACT_MAYBE"}]}'
	run_ct
	assert_failure
	assert_contains "$stderr" 'linux.seccomp.syscalls[0].action: unknown seccomp action "SCMP_ACT_MAYBE"'
}

@test "SCMP_ACT_NOTIFY: the listener gets the fd and the state at listenerPath and answers" {
	command -v cc >/dev/null || skip "no C compiler"
	cc -O2 -o "$TEST_TMP/listener" "$BATS_TEST_DIRNAME/seccomp-listener.c"
	"$TEST_TMP/listener" "$TEST_TMP/agent.sock" "$TEST_TMP/agent" &
	BG_PIDS+=($!)
	wait_for_file "$TEST_TMP/agent.ready" 50 || [[ -e "$TEST_TMP/agent.ready" ]]
	set_seccomp "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"$TEST_TMP/agent.sock\",
		\"listenerMetadata\": \"husk-test-metadata\", \"flags\": [\"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"],
		\"syscalls\": [{\"names\": [\"mkdir\", \"mkdirat\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}"
	set_cmd 'mkdir /tmp/notified; echo "rc=$?"; ls /proc/self/fd | wc -l'
	run_ct
	assert_contains "$output" "rc=1"
	assert_contains "$stderr" "Invalid cross-device link" # the agent's answer: EXDEV
	local state=$TEST_TMP/agent.state
	[[ -s "$state" ]] || fail "the agent got no state"
	assert_equal "$(jq -c .fds "$state")" '["seccompFd"]' fds
	assert_equal "$(jq -r .metadata "$state")" husk-test-metadata metadata
	assert_equal "$(jq -r .state.id "$state")" "$ID" "state.id"
	assert_equal "$(jq -r .state.status "$state")" creating "state.status"
	assert_match "$(jq -r .pid "$state")" '^[1-9][0-9]*$'
	assert_match "$(cat "$TEST_TMP/agent.log")" '^(83|258)$' # mkdir or mkdirat on x86_64
}
