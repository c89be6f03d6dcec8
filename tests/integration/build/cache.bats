#!/usr/bin/env bats
# The step cache: an unchanged rebuild runs nothing, a changed source reruns exactly the
# steps from its COPY on, a changed build arg the steps that see it.

load build

setup_file() { build_setup_file; }
teardown_file() { build_teardown_file; }
# Whether the RUN of step N printed its marker (the STEP line itself does not count).
ran() { grep -qx "ran-step-$1" <<<"$output"; }
ran_none() { ! grep -qx "ran-step-[0-9]" <<<"$output" || fail "a step ran: $output"; }

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
	for s in 3 5 7; do ran $s || fail "step $s did not run: $output"; done
	first=$(husk_config c:1 | jq -c .rootfs.diff_ids)
	run husk build -t c:2 "$CTX"
	assert_success
	assert_equal "$(grep -c -- '--> Using cache' <<<"$output")" "5"
	ran_none
	assert_equal "$(husk_config c:2 | jq -c .rootfs.diff_ids)" "$first"
	# --no-cache runs everything again.
	run husk build --no-cache -t c:3 "$CTX"
	for s in 3 5 7; do ran $s || fail "step $s did not run: $output"; done
}

@test "a changed source file reruns exactly the steps from its COPY on" {
	husk build -q -t c:1 "$CTX" >/dev/null
	echo changed >"$CTX/two.txt"
	run husk build -t c:2 "$CTX"
	assert_success
	! ran 3 && ! ran 5 || fail "steps before the COPY ran: $output"
	ran 7 || fail "step 7 did not run"
	assert_equal "$(grep -c -- '--> Using cache' <<<"$output")" "3"
	run_husk_image c:2 cat /two.txt
	assert_equal "$output" "changed"
	# A file inside a copied directory, and a mode change, count too.
	echo changed >"$CTX/src/one.txt"
	run husk build -t c:3 "$CTX"
	ran 5 || fail "step 5 did not run: $output"
	! ran 3 || fail "step 3 ran"
	chmod 600 "$CTX/src/one.txt"
	run husk build -t c:4 "$CTX"
	ran 5 || fail "step 5 did not run: $output"
	# A file excluded by .dockerignore does not.
	echo 'src/ignored.txt' >"$CTX/.dockerignore"
	husk build -q -t c:5 "$CTX" >/dev/null
	echo new >"$CTX/src/ignored.txt"
	run husk build -t c:6 "$CTX"
	ran_none
}

@test "a changed build arg invalidates the RUN steps that see it" {
	husk build -q -t c:1 "$CTX" >/dev/null
	run husk build --build-arg FLAVOUR=spicy -t c:2 "$CTX"
	assert_success
	for s in 3 5 7; do ran $s || fail "step $s did not run: $output"; done
	run_husk_image c:2 cat /flavour
	assert_equal "$output" "spicy"
	# And back: the first build's steps are still cached.
	run husk build -t c:3 "$CTX"
	ran_none
	# A build arg that no step declares changes nothing, with a warning.
	run husk build --build-arg UNUSED=1 -t c:4 "$CTX"
	ran_none
	assert_contains "$output" "[Warning] one or more build-args [UNUSED] were not consumed"
}

@test "a cache entry whose layer was removed is not used" {
	echo 'RUN echo ran-step-9 && echo nine >/nine' >>"$CTX/Dockerfile"
	husk build -q -t solo "$CTX" >/dev/null
	# Only `solo` holds step 9's layer: removing the image and collecting garbage drops it.
	husk rmi solo >/dev/null
	husk image prune >/dev/null
	run husk build -t solo2 "$CTX"
	assert_success
	ran 9 || fail "step 9 was taken from a cache entry whose layer is gone: $output"
	! ran 3 || fail "step 3 ran"
	run_husk_image solo2 cat /nine
	assert_equal "$output" "nine"
}
