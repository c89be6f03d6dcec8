#!/usr/bin/env bats
# Images as an unprivileged user: pull from a real docker-registry on 127.0.0.1 (the image
# pushed there by skopeo from the bundled busybox archive) and `husk build` of a Dockerfile,
# then run what was built; ownership in the store checked from the host.

load rootless
load ../images/images

setup_file() {
	rootless_user_setup
	registry_start
	skopeo copy --quiet --dest-tls-verify=false "docker-archive:$RL_TAR" \
		"docker://$REGISTRY/rl/busybox:latest"
}
teardown_file() {
	rootless_user_teardown
	registry_stop
}

@test "pull from the local registry and run it" {
	run uh pull "$REGISTRY/rl/busybox:latest"
	assert_success
	run uh run --rm "$REGISTRY/rl/busybox:latest" sh -c 'echo pulled-and-ran; id -u'
	assert_success
	assert_contains "$output" pulled-and-ran
	# The layer's root-owned files are the user's on the host.
	local bin
	bin=$(find "$RL_HOME/.local/share/husk/layers" -maxdepth 2 -name bin | head -1)
	assert_equal "$(stat -c %u "$bin")" "$RL_UID"
}

@test "husk build of a Dockerfile, then run the image" {
	uh pull "$REGISTRY/rl/busybox:latest" >/dev/null
	mkdir -p "$RL_HOME/ctx"
	cat >"$RL_HOME/ctx/Dockerfile" <<-DOCKERFILE
	FROM $REGISTRY/rl/busybox:latest
	RUN mkdir /app && echo built-rootless > /app/msg && chown 1234:1234 /app/msg
	COPY note /app/note
	CMD ["cat", "/app/msg", "/app/note"]
	DOCKERFILE
	echo from-context >"$RL_HOME/ctx/note"
	chown -R "$RL_UID:$RL_GID" "$RL_HOME/ctx"
	run uh build -t rl/built "$RL_HOME/ctx"
	assert_success
	run uh run --rm rl/built
	assert_success
	assert_contains "$output" built-rootless
	assert_contains "$output" from-context
	run uh run --rm rl/built stat -c %u /app/msg
	assert_equal "$output" 1234 "owner inside the container"
}
