#!/usr/bin/env bats
# `spec`: writes a config.json that is valid and runs.

load ../helpers

setup() { common_setup; }
teardown() { common_teardown; }

@test "spec --bundle writes a config.json that runs" {
	local dir=$TEST_TMP/spec
	mkdir -p "$dir"
	run --separate-stderr rt spec --bundle "$dir"
	assert_success
	[[ -f "$dir/config.json" ]] || fail "no config.json written"
	run jq -e . "$dir/config.json"
	assert_success
	assert_match "$(jq -r .ociVersion "$dir/config.json")" '^1\.[0-9]+\.[0-9]+'
	assert_equal "$(jq -r .root.path "$dir/config.json")" rootfs "root.path"
	[[ "$(jq -r '.process.args | length' "$dir/config.json")" -ge 1 ]] || fail "no process.args"
	local ns
	for ns in pid mount ipc uts network; do
		jq -e --arg t "$ns" '.linux.namespaces | map(.type) | index($t)' "$dir/config.json" >/dev/null ||
			fail "namespace $ns missing from the spec"
	done

	# Run it as written (root.path stays the relative "rootfs"), with a command, no terminal.
	cp -a "$SHARED_ROOTFS" "$dir/rootfs"
	jq --arg tag "HUSK_TEST_TAG=$ID" '.process.terminal = false
		| .process.args = ["/bin/sh", "-c", "echo spec-ok; echo pid=$$"]
		| .process.env += [$tag]' "$dir/config.json" >"$dir/c.json"
	mv "$dir/c.json" "$dir/config.json"
	run --separate-stderr rt run --bundle "$dir" "$ID"
	assert_success
	assert_equal "$output" $'spec-ok\npid=1' "output of the spec container"
}

@test "spec without --bundle writes config.json in the current directory" {
	local dir=$TEST_TMP/spec-cwd
	mkdir -p "$dir"
	run --separate-stderr bash -c "cd '$dir' && '$HUSK_RUNTIME' spec"
	assert_success
	run jq -e .process "$dir/config.json"
	assert_success
}

@test "spec --rootless writes a user namespace with id mappings" {
	local dir=$TEST_TMP/spec-rootless
	mkdir -p "$dir"
	run --separate-stderr rt spec --rootless --bundle "$dir"
	assert_success
	jq -e '.linux.namespaces | map(.type) | index("user")' "$dir/config.json" >/dev/null ||
		fail "no user namespace in the rootless spec"
	assert_equal "$(jq -r '.linux.uidMappings[0].containerID' "$dir/config.json")" 0 "uid map container id"
	assert_equal "$(jq -r '.linux.uidMappings[0].hostID' "$dir/config.json")" "$(id -u)" "uid map host id"
	assert_equal "$(jq -r '.linux.gidMappings[0].hostID' "$dir/config.json")" "$(id -g)" "gid map host id"
}

@test "spec refuses to overwrite an existing config.json" {
	local dir=$TEST_TMP/spec-exists
	mkdir -p "$dir"
	echo '{"keep": true}' >"$dir/config.json"
	run --separate-stderr rt spec --bundle "$dir"
	assert_failure
	[[ -n "$stderr" ]] || fail "no error on stderr"
	assert_equal "$(jq -r .keep "$dir/config.json")" true "existing config.json kept"
}
