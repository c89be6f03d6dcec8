#!/usr/bin/env bats
# `features` and `--version`: what engines read to learn what the runtime can do. Every name
# the features document lists must be accepted in a real config.

load ../helpers

setup() { common_setup; }
teardown() { common_teardown; }

@test "--version: runc's shape (version line, spec line)" {
	run rt --version
	assert_success
	assert_match "${lines[0]}" '^(husk-runtime|runc) version [0-9]+\.[0-9]+'
	assert_match "$output" $'\nspec: 1\\.[0-9]+\\.[0-9]+'
}

@test "features: a runtime-spec features document" {
	husk_only "runc 1.1 has no features command"
	run rt features
	assert_success
	echo "$output" | jq -e '.ociVersionMin == "1.0.0" and (.ociVersionMax | startswith("1."))'
	for ns in cgroup ipc mount network pid time user uts; do
		echo "$output" | jq -e --arg ns "$ns" '.linux.namespaces | index($ns) != null'
	done
	echo "$output" | jq -e '.mountOptions | index("rbind") != null and index("rro") != null'
	echo "$output" | jq -e '.linux.capabilities | index("CAP_SYS_ADMIN") != null'
	echo "$output" | jq -e '.linux.cgroup.v1 == true and .linux.cgroup.systemd == true'
	echo "$output" | jq -e '.linux.seccomp.enabled == true'
	# This machine has no LSM: the document must not claim one.
	if [[ ! -e /sys/kernel/security/lsm ]] || ! grep -qE 'apparmor|selinux' /sys/kernel/security/lsm; then
		echo "$output" | jq -e '.linux.apparmor.enabled == false and .linux.selinux.enabled == false'
	fi
}

@test "features: every seccomp action and operator it lists runs in a container" {
	husk_only "runc 1.1 has no features command"
	run rt features
	assert_success
	local features=$output action op
	for action in $(jq -r '.linux.seccomp.actions[]' <<<"$features"); do
		[[ "$action" == SCMP_ACT_NOTIFY ]] && continue # needs a listener: see security tests
		update_config '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
			syscalls: [{names: ["kexec_load"], action: $a}]}' --arg a "$action"
		set_args true
		run --separate-stderr rt run --bundle "$BUNDLE" "$ID"
		[[ "$status" == 0 ]] || fail "action $action: $stderr"
	done
	for op in $(jq -r '.linux.seccomp.operators[]' <<<"$features"); do
		update_config '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
			syscalls: [{names: ["kexec_load"], action: "SCMP_ACT_ERRNO",
				args: [{index: 0, value: 1, valueTwo: 1, op: $o}]}]}' --arg o "$op"
		set_args true
		run --separate-stderr rt run --bundle "$BUNDLE" "$ID"
		[[ "$status" == 0 ]] || fail "operator $op: $stderr"
	done
}

@test "features: every capability it lists is accepted" {
	husk_only "runc 1.1 has no features command"
	run rt features
	assert_success
	update_config '.process.capabilities.bounding = $caps' --argjson caps "$(jq -c '.linux.capabilities' <<<"$output")"
	set_args true
	run --separate-stderr rt run --bundle "$BUNDLE" "$ID"
	assert_success
}
