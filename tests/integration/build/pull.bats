#!/usr/bin/env bats
# Base images that are not in the store are pulled (from a docker-registry on 127.0.0.1),
# unless --pull=never; ONBUILD triggers of a base run in the child build.

load build
load ../images/images

setup_file() {
	build_setup_file
	registry_start
	husk push busybox "$REGISTRY/base/busybox:1" >/dev/null
}
teardown_file() {
	registry_stop
	build_teardown_file
}
setup() { new_context; }
# A test's own store (`fresh`) made a default network for its RUN steps: its bridge and nft
# table go with it.
teardown() {
	[[ -d "$BATS_TEST_TMPDIR/fresh" ]] && remove_store_networks "$BATS_TEST_TMPDIR/fresh" "$BATS_TEST_TMPDIR/fresh/run"
	return 0
}

@test "FROM an image only in the registry: pulled with --pull=missing, refused with --pull=never" {
	local fresh="$BATS_TEST_TMPDIR/fresh"
	printf 'FROM %s/base/busybox:1\nRUN echo pulled-and-ran >/mark\nCMD ["cat", "/mark"]\n' "$REGISTRY" >"$CTX/Dockerfile"
	run "$HUSK" --root "$fresh" --runroot "$fresh/run" build --pull=never "$CTX"
	assert_status 125
	assert_contains "$output" "Dockerfile:1:1: FROM $REGISTRY/base/busybox:1"
	run "$HUSK" --root "$fresh" --runroot "$fresh/run" build -t from-registry "$CTX"
	assert_success
	run "$HUSK" --root "$fresh" --runroot "$fresh/run" images
	assert_contains "$output" "$REGISTRY/base/busybox"
	STORE=$fresh run_husk_image from-registry
	assert_equal "$output" "pulled-and-ran"
	# The built image can be pushed and pulled back.
	run "$HUSK" --root "$fresh" --runroot "$fresh/run" push from-registry "$REGISTRY/built/x:1"
	assert_success
	husk pull "$REGISTRY/built/x:1" >/dev/null
	run_husk_image "$REGISTRY/built/x:1"
	assert_equal "$output" "pulled-and-ran"
}

@test "ONBUILD triggers run in the child's build and are not inherited further" {
	mkdir "$CTX/parent" "$CTX/child"
	cat >"$CTX/parent/Dockerfile" <<-'EOF'
	FROM busybox
	ONBUILD COPY msg.txt /msg.txt
	ONBUILD RUN echo "trigger saw $(cat /msg.txt)" >/trigger.txt
	EOF
	husk build -q -t onbuild-parent "$CTX/parent" >/dev/null
	assert_equal "$(husk_config onbuild-parent | jq -c .config.OnBuild)" \
		'["COPY msg.txt /msg.txt","RUN echo \"trigger saw $(cat /msg.txt)\" >/trigger.txt"]'
	echo from-child >"$CTX/child/msg.txt"
	printf 'FROM onbuild-parent\nCMD ["cat", "/trigger.txt"]\n' >"$CTX/child/Dockerfile"
	run husk build -t onbuild-child "$CTX/child"
	assert_success
	run_husk_image onbuild-child
	assert_equal "$output" "trigger saw from-child"
	assert_equal "$(husk_config onbuild-child | jq -c '.config.OnBuild // []')" '[]'
}
