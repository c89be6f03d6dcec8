#!/usr/bin/env bats
# The step cache: an unchanged rebuild runs nothing, a changed source reruns exactly the
# steps from its COPY on, a changed build arg the steps that see it.

load build

setup_file() { build_setup_file; }
teardown_file() { build_teardown_file; }
setup() {
	new_context
	mkdir -p "$CTX/src"
	echo one >"$CTX/src/one.txt"
	echo two >"$CTX/two.txt"
	cat >"$CTX/Dockerfile" <<-'EOF'
	FROM busybox
	ARG FLAVOUR=plain
	RUN echo ran-step-3 && echo base >/base
	COPY src /src
	RUN echo ran-step-5 && cat /src/one.txt >/copy1
	COPY two.txt /two.txt
	RUN echo ran-step-7 && echo "$FLAVOUR" >/flavour
	ENV DONE=1
	EOF
}

@test "an unchanged rebuild reruns nothing and gives the same layers" {
	run husk build -t c:1 "$CTX"
	assert_success
	for s in 3 5 7; do assert_contains "$output" "ran-step-$s"; done
	first=$(husk_config c:1 | jq -c .rootfs.diff_ids)
	run husk build -t c:2 "$CTX"
	assert_success
	assert_equal "$(grep -c -- '--> Using cache' <<<"$output")" "5"
	[[ "$output" != *ran-step-* ]] || fail "a step ran: $output"
	assert_equal "$(husk_config c:2 | jq -c .rootfs.diff_ids)" "$first"
	# --no-cache runs everything again.
	run husk build --no-cache -t c:3 "$CTX"
	for s in 3 5 7; do assert_contains "$output" "ran-step-$s"; done
}

@test "a changed source file reruns exactly the steps from its COPY on" {
	husk build -q -t c:1 "$CTX" >/dev/null
	echo changed >"$CTX/two.txt"
	run husk build -t c:2 "$CTX"
	assert_success
	[[ "$output" != *ran-step-3* && "$output" != *ran-step-5* ]] || fail "steps before the COPY ran: $output"
	assert_contains "$output" "ran-step-7"
	assert_equal "$(grep -c -- '--> Using cache' <<<"$output")" "3"
	run_husk_image c:2 cat /two.txt
	assert_equal "$output" "changed"
	# A file inside a copied directory, and a mode change, count too.
	echo changed >"$CTX/src/one.txt"
	run husk build -t c:3 "$CTX"
	assert_contains "$output" "ran-step-5"
	[[ "$output" != *ran-step-3* ]] || fail "step 3 ran"
	chmod 600 "$CTX/src/one.txt"
	run husk build -t c:4 "$CTX"
	assert_contains "$output" "ran-step-5"
	# A file excluded by .dockerignore does not.
	echo 'src/ignored.txt' >"$CTX/.dockerignore"
	husk build -q -t c:5 "$CTX" >/dev/null
	echo new >"$CTX/src/ignored.txt"
	run husk build -t c:6 "$CTX"
	[[ "$output" != *ran-step-* ]] || fail "an ignored file invalidated the cache: $output"
}

@test "a changed build arg invalidates the RUN steps that see it" {
	husk build -q -t c:1 "$CTX" >/dev/null
	run husk build --build-arg FLAVOUR=spicy -t c:2 "$CTX"
	assert_success
	for s in 3 5 7; do assert_contains "$output" "ran-step-$s"; done
	run_husk_image c:2 cat /flavour
	assert_equal "$output" "spicy"
	# And back: the first build's steps are still cached.
	run husk build -t c:3 "$CTX"
	[[ "$output" != *ran-step-* ]] || fail "a step ran: $output"
	# A build arg that no step declares changes nothing, with a warning.
	run husk build --build-arg UNUSED=1 -t c:4 "$CTX"
	[[ "$output" != *ran-step-* ]] || fail "a step ran: $output"
	assert_contains "$output" "[Warning] one or more build-args [UNUSED] were not consumed"
}

@test "a cache entry whose layer was removed is not used" {
	husk build -q -t c:1 "$CTX" >/dev/null
	husk rmi c:1 >/dev/null
	husk image prune >/dev/null || true
	run husk build -t c:2 "$CTX"
	assert_success
	run_husk_image c:2 cat /copy1
	assert_equal "$output" "one"
}
