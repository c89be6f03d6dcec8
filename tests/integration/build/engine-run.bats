#!/usr/bin/env bats
# What husk build makes, husk run runs: the engine applies the built image's config
# (Entrypoint, Env from ARG, WorkingDir, a layer from a heredoc RUN and one COPY --from).

load build

setup_file() { build_setup_file; }
teardown_file() { build_teardown_file; }
setup() { new_context; }

@test "husk run of a built image: entrypoint, env from a build arg, workdir, heredoc RUN, COPY --from" {
	cat >"$CTX/Dockerfile" <<-'DOCKERFILE'
	FROM busybox AS gen
	RUN echo "made in the gen stage" >/msg
	FROM busybox
	ARG WHO=world
	ENV GREETING="hello ${WHO}"
	COPY --from=gen /msg /etc/msg
	WORKDIR /app
	RUN <<EOF
	echo '#!/bin/sh' >/app/run
	echo 'echo "$GREETING: $(cat /etc/msg) in $(pwd) $*"' >>/app/run
	chmod +x /app/run
	EOF
	ENTRYPOINT ["/app/run"]
	CMD ["from-cmd"]
	DOCKERFILE
	run husk build -q -t runme:1 --build-arg WHO=husk "$CTX"
	assert_success
	local id=$output
	run husk run --rm runme:1
	assert_success
	assert_equal "$output" "hello husk: made in the gen stage in /app from-cmd"
	# Arguments replace CMD, not the entrypoint; the exit code is the container's.
	run husk run --rm runme:1 other
	assert_equal "$output" "hello husk: made in the gen stage in /app other"
	run husk run --rm --entrypoint sh runme:1 -c 'exit 7'
	assert_status 7
	# An unchanged rebuild gives the same image id.
	run husk build -q -t runme:1 --build-arg WHO=husk "$CTX"
	assert_equal "$output" "$id"
	assert_clean
}
