#!/usr/bin/env bats
# The same Dockerfiles built by husk and by `buildah bud` (private vfs storage, chroot
# isolation): both images run to the same output and their configs agree.

load build

setup_file() {
	command -v buildah >/dev/null || skip "buildah not installed"
	build_setup_file
	buildah_setup
}
teardown_file() { build_teardown_file; }
setup() { new_context; }

compare_configs() { # HUSK-IMAGE BUILDAH-IMAGE
	local h b
	h=$(husk_config "$1")
	b=$(buildah_ inspect --type image "$2" | jq '.OCIv1')
	for field in Entrypoint Cmd Env WorkingDir User ExposedPorts Labels StopSignal Volumes; do
		# Env as a set: buildah moves a redefined variable to the end, Docker keeps its place.
		local filter=".config.$field // null"
		[[ $field == Env ]] && filter="(.config.Env // []) | sort"
		[[ $field == Labels ]] && filter=".config.Labels // {} | del(.[\"io.buildah.version\"])"
		assert_equal "$(jq -cS "$filter" <<<"$h")" "$(jq -cS "$filter" <<<"$b")" "config.$field"
	done
}

@test "multi-stage with ARG/ENV/USER/WORKDIR/ENTRYPOINT+CMD: same output, same config" {
	cat >"$CTX/Dockerfile" <<-'EOF'
	ARG BASE=busybox
	FROM $BASE AS gen
	WORKDIR /work
	COPY words.txt .
	RUN awk '{print NR": "$0}' words.txt >numbered && printf '#!/bin/sh\ncat /opt/numbered\necho "$MODE as $(id -u) in $(pwd): $*"\n' >tool && chmod 755 tool
	FROM busybox
	ARG MODE=fast
	ENV MODE=$MODE PATH=/opt:$PATH
	COPY --from=gen /work/numbered /work/tool /opt/
	RUN echo 'svc:x:2000:2000::/srv:/bin/sh' >>/etc/passwd && mkdir -p /srv/data && chown 2000 /srv/data
	USER svc
	WORKDIR /srv/data
	ENTRYPOINT ["tool"]
	CMD ["a", "b"]
	EXPOSE 8080/tcp 9090
	LABEL maintainer=husk description="a test image"
	STOPSIGNAL SIGINT
	VOLUME /srv/data
	EOF
	printf 'one\ntwo\n' >"$CTX/words.txt"
	husk build -q -t cmp:husk --build-arg MODE=slow "$CTX" >/dev/null
	buildah_build -t cmp:buildah --build-arg MODE=slow "$CTX" >/dev/null
	run_husk_image cmp:husk
	assert_success
	husk_out=$output
	run_buildah_image cmp:buildah
	assert_success
	assert_equal "$husk_out" "$output" "output of the two images"
	assert_equal "$husk_out" $'1: one\n2: two\nslow as 2000 in /srv/data: a b'
	compare_configs cmp:husk cmp:buildah
}

# (Debian 12's buildah 1.28 has no heredocs: those are tested against literal output in
# build.bats.)
@test "shell-form CMD, SHELL and .dockerignore: same output, same config" {
	mkdir -p "$CTX/keep" "$CTX/drop"
	echo k >"$CTX/keep/k.txt"
	echo d >"$CTX/drop/d.txt"
	echo dk >"$CTX/drop/keep-me.txt"
	printf 'drop\n!drop/keep-me.txt\n' >"$CTX/.dockerignore"
	cat >"$CTX/Dockerfile" <<-'DOCKERFILE'
	FROM busybox
	# Before SHELL: buildah 1.28 applies SHELL to RUN only, Docker also to a later CMD.
	CMD cat /files /greeting
	SHELL ["/bin/sh", "-ec"]
	ENV GREETING=hey
	COPY . /ctx/
	RUN cd /ctx && find . -type f | sort >/files
	RUN echo "$GREETING there" >/greeting
	DOCKERFILE
	husk build -q -t sh:husk "$CTX" >/dev/null
	buildah_build -t sh:buildah "$CTX" >/dev/null
	run_husk_image sh:husk
	assert_success
	husk_out=$output
	run_buildah_image sh:buildah
	assert_success
	assert_equal "$husk_out" "$output" "output of the two images"
	assert_contains "$husk_out" "./drop/keep-me.txt"
	[[ "$husk_out" != *"./drop/d.txt"* ]] || fail "ignored file copied"
	compare_configs sh:husk sh:buildah
}
