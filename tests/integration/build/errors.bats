#!/usr/bin/env bats
# Bad input: each a clear error with its file:line:column, exit 125, and nothing left behind.

load build

setup_file() { build_setup_file; }
teardown_file() { build_teardown_file; }
setup() { new_context; }

build_fails() { # EXPECTED-MESSAGE (Dockerfile in $CTX)
	run husk build -t bad "$CTX"
	assert_status 125
	assert_contains "$output" "$1"
	assert_clean
	run husk image inspect bad
	assert_failure
}

@test "malformed line and unknown instruction" {
	printf 'FROM busybox\nRUN true\nCOPY onlyone\n' >"$CTX/Dockerfile"
	build_fails "Dockerfile:3:1: COPY requires at least a source and a destination"
	printf 'FROM busybox\nRUN true\nFORM x\n' >"$CTX/Dockerfile"
	build_fails "Dockerfile:3:1: unknown instruction FORM"
	# The column is where the fault is written, on the physical line that holds it.
	printf 'FROM busybox\nCOPY \\\n  --chwon=1 a b\n' >"$CTX/Dockerfile"
	build_fails "Dockerfile:3:3: unknown flag --chwon for COPY"
	printf 'FROM busybox AS one\nFROM busybox as one\n' >"$CTX/Dockerfile"
	build_fails "Dockerfile:2:17: stage name \"one\" is already used on line 1"
	printf 'FROM busybox\n  RUN <<EOF\necho never closed\n' >"$CTX/Dockerfile"
	build_fails "Dockerfile:2:7: heredoc <<EOF is never closed"
}

@test "COPY ../x, an absolute path and a symlink out of the context" {
	mkdir -p "$BATS_TEST_TMPDIR/outside"
	echo secret >"$BATS_TEST_TMPDIR/outside/secret"
	printf 'FROM busybox\nCOPY ../outside/secret /s\n' >"$CTX/Dockerfile"
	build_fails "Dockerfile:2:1: COPY: ../outside/secret: outside the build context"
	# An absolute source is the context's own path, as in Docker: not the host's file.
	printf 'FROM busybox\nRUN true\nCOPY %s /s\n' "$BATS_TEST_TMPDIR/outside/secret" >"$CTX/Dockerfile"
	build_fails "Dockerfile:3:1: COPY: $BATS_TEST_TMPDIR/outside/secret: no such file or directory in the build context"
	ln -s "$BATS_TEST_TMPDIR/outside/secret" "$CTX/link"
	printf 'FROM busybox\nCOPY link /s\n' >"$CTX/Dockerfile"
	build_fails "Dockerfile:2:1: COPY: link: leads outside the build context"
	ln -s ../../outside "$CTX/dirlink"
	printf 'FROM busybox\nCOPY dirlink/secret /s\n' >"$CTX/Dockerfile"
	build_fails "Dockerfile:2:1: COPY: dirlink/secret: leads outside the build context"
}

@test "missing stage in --from and --target" {
	printf 'FROM busybox AS a\nRUN true\nCOPY --from=nosuchstage /x /x\n' >"$CTX/Dockerfile"
	run husk build --pull=never -t bad "$CTX"
	assert_status 125
	assert_contains "$output" "Dockerfile:3:1: COPY: --from=nosuchstage: no stage of that name in Dockerfile, and no such image"
	assert_clean
	printf 'FROM busybox AS a\nRUN true\n' >"$CTX/Dockerfile"
	run husk build --target nope "$CTX"
	assert_status 125
	assert_contains "$output" "Dockerfile: --target nope: no such stage in the Dockerfile"
}

@test "unknown user, bad --chmod, ADD of a URL, a tar that escapes" {
	printf 'FROM busybox\nUSER nobody-here\nRUN true\n' >"$CTX/Dockerfile"
	build_fails "Dockerfile:3:1: RUN: unable to find user nobody-here"
	echo x >"$CTX/f"
	printf 'FROM busybox\nCOPY --chmod=9z f /f\n' >"$CTX/Dockerfile"
	build_fails "Dockerfile:2:1: COPY: --chmod=9z: expected an octal mode"
	printf 'FROM busybox\nADD https://example.com/x /x\n' >"$CTX/Dockerfile"
	build_fails "Dockerfile:2:1: ADD: https://example.com/x: remote sources are not supported"
	python3 - "$CTX/evil.tar" <<-'PY'
	import io, sys, tarfile
	with tarfile.open(sys.argv[1], "w") as t:
	    data = b"pwned\n"
	    info = tarfile.TarInfo("../../escaped")
	    info.size = len(data)
	    t.addfile(info, io.BytesIO(data))
	PY
	printf 'FROM busybox\nADD evil.tar /x/\n' >"$CTX/Dockerfile"
	build_fails "Dockerfile:2:1: ADD: evil.tar: entry \"../../escaped\" leads outside the destination"
}

@test "a missing base image with --pull=never; a FROM of a later stage" {
	printf 'FROM no-such-image:1\n' >"$CTX/Dockerfile"
	run husk build --pull=never "$CTX"
	assert_status 125
	assert_contains "$output" "Dockerfile:1:1: FROM no-such-image:1"
	printf 'FROM later AS first\nFROM busybox AS later\n' >"$CTX/Dockerfile"
	run husk build --pull=never --target first "$CTX"
	assert_status 125
	assert_contains "$output" "Dockerfile:1:1: FROM later: a stage can only use an earlier stage"
}

@test "a store on the vfs driver is refused with the driver's reason" {
	printf 'FROM busybox\nRUN true\n' >"$CTX/Dockerfile"
	local vfs="$BATS_TEST_TMPDIR/vfs-store"
	HUSK_STORAGE_DRIVER=vfs run "$HUSK" --root "$vfs" --runroot "$vfs/run" build "$CTX"
	assert_status 125
	assert_contains "$output" "husk build needs the overlay driver, but the store $vfs uses vfs: "
	assert_contains "$output" "HUSK_STORAGE_DRIVER"
}
