#!/usr/bin/env bats
# config.json hooks: all six kinds, in the spec's order and namespaces, with the state on
# stdin; failing and slow hooks.

load ../helpers

setup() { common_setup; }
teardown() { common_teardown; }

# hook_sh KIND SCRIPT [TIMEOUT]: appends a /bin/sh -c SCRIPT hook of KIND.
hook_sh() {
	local timeout=${3:-null}
	update_config '.hooks[$k] += [{path: "/bin/sh", args: ["sh", "-c", $s],
		env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOOK_KIND=\($k)"], timeout: $t}]
		| .hooks[$k][-1] |= with_entries(select(.value != null))' \
		--arg k "$1" --arg s "$2" --argjson t "$timeout"
}

# A hook that logs its kind, the status on its stdin and its hostname.
logging_hook() {
	hook_sh "$1" "echo \"\$HOOK_KIND \$(grep -o '\"status\": \"[a-z]*\"' | cut -d'\"' -f4) \$(hostname)\" >> $2"
}

@test "all six kinds run in the spec's order, with the state on stdin, where the spec says" {
	bind_out
	local log=$OUT/hooks.log
	logging_hook prestart "$log"
	logging_hook createRuntime "$log"
	logging_hook createContainer "$log"
	# After pivot_root: the path resolves in the container, /out is the bind mount.
	logging_hook startContainer /out/hooks.log
	logging_hook poststart "$log"
	logging_hook poststop "$log"
	set_cmd 'grep -q startContainer /out/hooks.log && echo saw-start > /out/process; sleep 30'
	rtd create --bundle "$BUNDLE" "$ID"
	assert_success
	local host
	host=$(hostname)
	assert_equal "$(cat "$log")" "prestart creating $host
createRuntime creating $host
createContainer creating husk-bats" "hooks after create"

	run --separate-stderr rt start "$ID"
	assert_success
	assert_equal "$(sed -n '4,$p' "$log")" "startContainer created husk-bats
poststart running $host" "hooks after start"
	wait_for_file "$OUT/process"
	assert_equal "$(cat "$OUT/process")" saw-start "startContainer ran before the process"

	run --separate-stderr rt delete --force "$ID"
	assert_success
	assert_equal "$(sed -n '6,$p' "$log")" "poststop stopped $host" "hook after delete"
	assert_equal "$(wc -l <"$log")" 6 "each hook ran once"
}

@test "hooks get the state JSON (id, pid, bundle) and only their own env and args" {
	hook_sh createRuntime "cat > $TEST_TMP/state.json; env | sort > $TEST_TMP/env; echo \"\$0\" > $TEST_TMP/argv0"
	set_cmd 'sleep 30'
	rtd create --bundle "$BUNDLE" "$ID"
	assert_success
	assert_equal "$(jq -r .id "$TEST_TMP/state.json")" "$ID" "state id"
	assert_equal "$(jq -r .pid "$TEST_TMP/state.json")" "$(state_field pid)" "state pid"
	assert_equal "$(jq -r .bundle "$TEST_TMP/state.json")" "$BUNDLE" "state bundle"
	assert_equal "$(jq -r .ociVersion "$TEST_TMP/state.json")" 1.2.0 "ociVersion"
	assert_not_contains "$(cat "$TEST_TMP/env")" HUSK_TEST_TAG
	assert_contains "$(cat "$TEST_TMP/env")" HOOK_KIND=createRuntime
	assert_equal "$(cat "$TEST_TMP/argv0")" sh "argv[0]"
	# The poststart/poststop hooks do not depend on the bundle after create.
	hook_sh poststop "echo x > $TEST_TMP/never"
	run rt delete --force "$ID"
	assert_success
	[[ ! -e "$TEST_TMP/never" ]] || fail "a poststop hook added to config.json after create ran"
}

@test "a failing createRuntime hook fails create with its output, and leaves nothing" {
	bind_out
	hook_sh createRuntime 'echo hook-broke >&2; exit 3'
	hook_sh createContainer "touch $OUT/create-container-ran"
	# The lifecycle continues at delete: poststop runs, once the container is gone.
	hook_sh poststop "cat > $OUT/poststop-state; ls $ROOT > $OUT/poststop-root"
	set_cmd 'true'
	rtd create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_contains "$stderr" 'hooks.createRuntime[0] /bin/sh: exit status 3: hook-broke'
	[[ ! -e "$OUT/create-container-ran" ]] || fail "createContainer ran after createRuntime failed"
	assert_equal "$(jq -r .status "$OUT/poststop-state")" stopped "poststop state"
	assert_not_contains "$(cat "$OUT/poststop-root")" "$ID"
	assert_nothing_left
}

@test "a failing prestart or createContainer hook fails create" {
	hook_sh prestart 'exit 1'
	rtd create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_contains "$stderr" 'hooks.prestart[0]'
	assert_nothing_left

	update_config 'del(.hooks)'
	hook_sh createContainer 'echo in-container-broke; exit 4'
	rtd create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_contains "$stderr" 'hooks.createContainer[0] /bin/sh: exit status 4: in-container-broke'
	assert_nothing_left
}

@test "a hook past its timeout is killed and fails create" {
	hook_sh createRuntime 'sleep 20' 1
	local start=$SECONDS
	rtd create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_contains "$stderr" 'hooks.createRuntime[0] /bin/sh: timed out after 1 s'
	((SECONDS - start < 10)) || fail "create took $((SECONDS - start)) s"
	assert_nothing_left
}

@test "a failing startContainer hook stops the container before its process runs" {
	bind_out
	hook_sh startContainer 'echo start-hook-broke >&2; exit 5'
	set_cmd 'touch /out/ran'
	run --separate-stderr rt run --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_contains "$stderr$output" 'hooks.startContainer[0] /bin/sh: exit status 5: start-hook-broke'
	[[ ! -e "$OUT/ran" ]] || fail "the process ran after startContainer failed"
}

@test "failing poststart and poststop hooks only warn (and the next hooks still run)" {
	hook_sh poststart 'echo post-broke; exit 1'
	hook_sh poststart "touch $TEST_TMP/poststart-2"
	hook_sh poststop 'exit 2'
	hook_sh poststop "touch $TEST_TMP/poststop-2"
	set_cmd 'sleep 30'
	rtd run --detach --bundle "$BUNDLE" "$ID"
	assert_success
	assert_contains "$stderr" 'hooks.poststart[0] /bin/sh: exit status 1: post-broke'
	[[ -e "$TEST_TMP/poststart-2" ]] || fail "the second poststart hook did not run"
	run --separate-stderr rt delete --force "$ID"
	assert_success
	assert_contains "$stderr" 'hooks.poststop[0] /bin/sh: exit status 2'
	[[ -e "$TEST_TMP/poststop-2" ]] || fail "the second poststop hook did not run"
}

@test "hooks with a relative path are refused before anything is made" {
	update_config '.hooks.prestart = [{path: "bin/true"}]'
	rtd create --bundle "$BUNDLE" "$ID"
	assert_failure
	assert_contains "$stderr" 'hooks.prestart[0].path: must be an absolute path'
	assert_nothing_left
}
