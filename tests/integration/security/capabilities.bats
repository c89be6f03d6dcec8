#!/usr/bin/env bats
# process.capabilities and noNewPrivileges as the container's process sees them in
# /proc/self/status, for root and non-root users (the kernel's execve rules decide what a
# non-root process keeps: only its ambient set survives the exec).

load ../helpers
load security-helpers

setup() { common_setup; }
teardown() { common_teardown; }

read_status() {
	set_cmd 'grep -E "^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp|Uid):" /proc/self/status'
	run_ct
	assert_success
}

assert_caps() { # INH PRM EFF BND AMB (hex, 16 digits)
	assert_equal "$(status_field CapInh)" "$1" CapInh
	assert_equal "$(status_field CapPrm)" "$2" CapPrm
	assert_equal "$(status_field CapEff)" "$3" CapEff
	assert_equal "$(status_field CapBnd)" "$4" CapBnd
	assert_equal "$(status_field CapAmb)" "$5" CapAmb
}

# AUDIT_WRITE (29), KILL (5), NET_BIND_SERVICE (10): what `spec` writes.
DEFAULT=0000000020000420
NONE=0000000000000000

@test "default config as root: the three default capabilities, no_new_privs, seccomp" {
	read_status
	assert_caps $NONE $DEFAULT $DEFAULT $DEFAULT $NONE
	assert_equal "$(status_field NoNewPrivs)" 1 NoNewPrivs
	assert_equal "$(status_field Seccomp)" 2 Seccomp
}

@test "non-root user: permitted and effective do not survive the exec, the bounding set does" {
	update_config '.process.user = {uid: 1000, gid: 1000}'
	read_status
	assert_equal "$(status_field Uid)" 1000 Uid
	assert_caps $NONE $NONE $NONE $DEFAULT $NONE
}

@test "non-root user with an ambient capability keeps exactly that one" {
	update_config '.process.user = {uid: 1000, gid: 1000}
		| .process.capabilities.inheritable = ["CAP_NET_BIND_SERVICE"]
		| .process.capabilities.ambient = ["CAP_NET_BIND_SERVICE"]'
	read_status
	assert_caps 0000000000000400 0000000000000400 0000000000000400 $DEFAULT 0000000000000400
}

@test "ambient capability really works: a non-root process binds port 80" {
	update_config '.process.user = {uid: 1000, gid: 1000}
		| .process.capabilities.inheritable = ["CAP_NET_BIND_SERVICE"]
		| .process.capabilities.ambient = ["CAP_NET_BIND_SERVICE"]'
	set_cmd 'ip link set lo up 2>/dev/null; timeout 1 nc -l -p 80 2>&1; echo "rc=$?"'
	run_ct
	assert_not_contains "$output" "Permission denied"
	update_config '.process.capabilities.ambient = [] | .process.capabilities.inheritable = []'
	run_ct
	assert_contains "$output$stderr" "Permission denied"
}

@test "empty capability sets as root: nothing at all" {
	update_config '.process.capabilities = {}'
	read_status
	assert_caps $NONE $NONE $NONE $NONE $NONE
}

@test "no process.capabilities as root: the process keeps what the runtime has" {
	update_config 'del(.process.capabilities)'
	read_status
	local host_bnd
	host_bnd=$(awk '$1 == "CapBnd:" { print $2 }' /proc/self/status)
	assert_caps $NONE "$host_bnd" "$host_bnd" "$host_bnd" $NONE
}

@test "noNewPrivileges false is visible as NoNewPrivs 0" {
	update_config '.process.noNewPrivileges = false'
	read_status
	assert_equal "$(status_field NoNewPrivs)" 0 NoNewPrivs
	assert_equal "$(status_field Seccomp)" 2 Seccomp
}

@test "a capability the host lacks is dropped with a warning naming it" {
	husk_only "the warning is husk's"
	grep -q '^CapBnd:.*' /proc/self/status
	local bnd
	bnd=$(awk '$1 == "CapBnd:" { print $2 }' /proc/self/status)
	(((0x$bnd >> 24) & 1)) && skip "this host has CAP_SYS_RESOURCE"
	update_config '.process.capabilities.bounding += ["CAP_SYS_RESOURCE"]
		| .process.capabilities.permitted += ["CAP_SYS_RESOURCE"]'
	read_status
	assert_contains "$stderr" "CAP_SYS_RESOURCE"
	assert_caps $NONE $DEFAULT $DEFAULT $DEFAULT $NONE
}

@test "effective outside permitted is refused with an error" {
	update_config '.process.capabilities.effective += ["CAP_CHOWN"]'
	set_args true
	run_ct
	assert_failure
	assert_names_field "$stderr" "capabilities"
}
