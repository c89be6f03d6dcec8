# Helpers shared by the security tests (on top of ../helpers.bash).

# build_probe: compiles syscalls.c statically into $TEST_TMP/probe and gives the test a
# writable rootfs copy holding it at /probe.
build_probe() {
	command -v cc >/dev/null || skip "no C compiler"
	cc -static -O2 -o "$TEST_TMP/probe" "$BATS_TEST_DIRNAME/syscalls.c" ||
		fail "cannot build the static probe" || return 1
	writable_rootfs
	cp "$TEST_TMP/probe" "$ROOTFS/probe"
}

# set_seccomp JSON: replaces linux.seccomp with JSON.
set_seccomp() {
	update_config '.linux.seccomp = $p' --argjson p "$1"
}

# status_field NAME: the value of NAME in $output holding /proc/self/status lines.
status_field() {
	awk -v k="$1:" '$1 == k { print $2 }' <<<"$output"
}

run_ct() {
	run --separate-stderr rt run --bundle "$BUNDLE" "$ID"
}
