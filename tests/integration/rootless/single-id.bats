#!/usr/bin/env bats
# A user without /etc/subuid and /etc/subgid ranges: husk falls back to a user namespace that
# maps only the user's own id (root inside), says so, and still loads and runs images.

load rootless

setup_file() { rootless_user_setup --no-subids; }
teardown_file() { rootless_user_teardown; }

@test "no subordinate ranges: a warning naming the files, then load and run work" {
	run uh load -i "$RL_TAR"
	assert_success
	assert_contains "$output" "has no range in /etc/subuid and /etc/subgid"
	assert_contains "$output" "usermod --add-subuids"
	run uh run --rm --network none busybox sh -c 'id -u; cat /proc/self/uid_map'
	assert_success
	assert_equal "$(sed -n 1p <<<"$output")" 0 "uid inside"
	assert_match "$output" "0 +$RL_UID +1"
	assert_equal "$(grep -c . <<<"$(sed 1d <<<"$output")")" 1 "uid_map lines"
}

@test "no subordinate ranges: another uid in the container is refused with the field named" {
	run uh run --rm --network none --user 1000 busybox true
	assert_failure
	assert_contains "$output" "process.user"
}
