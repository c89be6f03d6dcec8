#!/usr/bin/env bats
# kill -9 at random moments of a pull, rmi, load or prune: the next command completes and
# the store is consistent (every blob matches its digest, every record's blobs and layers
# exist, no leftovers).

load images

setup_file() {
	registry_start
	local b="$BATS_FILE_TMPDIR/src" layout="$BATS_FILE_TMPDIR/layout"
	dirs=()
	for i in 1 2 3 4; do
		mkdir -p "$b/l$i/data$i"
		for j in 1 2 3 4 5 6; do head -c 1M /dev/urandom >"$b/l$i/data$i/f$j"; done
		for j in $(seq 200); do echo "$i $j" >"$b/l$i/data$i/small$j"; done
		dirs+=("$b/l$i")
	done
	(cd "$b" && find . -type f -exec sha256sum {} + | sed 's| \./l[0-9]/| ./|' | sort -k2 >"$BATS_FILE_TMPDIR/sums")
	BATS_TEST_TMPDIR="$BATS_FILE_TMPDIR" make_manifest "$layout" amd64 "${dirs[@]}"
	write_index "$layout" "$MANIFEST_DESC" v1
	push_layout "$layout" v1 crash/big
}

teardown_file() { registry_stop; }
setup() { images_setup; }
teardown() { images_teardown; }

@test "crash: kill -9 during pulls leaves a store the next pull completes" {
	for round in $(seq 4); do
		"$HUSK" --root "$STORE" --runroot "$STORE/run" pull -q "$REGISTRY/crash/big:v1" >/dev/null 2>&1 &
		pid=$!
		sleep "0.$((RANDOM % 60))"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		run -0 husk pull -q "$REGISTRY/crash/big:v1"
		run -0 husk image check
		assert_equal "$(ls "$STORE/tmp" | wc -l)" 0 "leftovers after round $round"
		rootfs=$(husk image mount "$REGISTRY/crash/big:v1")
		(cd "$rootfs" && find . -type f -exec sha256sum {} + | sort -k2) >"$BATS_TEST_TMPDIR/got"
		diff -u "$BATS_FILE_TMPDIR/sums" "$BATS_TEST_TMPDIR/got" || fail "content differs in round $round"
		husk image unmount "$REGISTRY/crash/big:v1"
		# Start over for the next round, killing a removal on the way every other round.
		if ((round % 2)); then
			run -0 husk rmi "$REGISTRY/crash/big:v1"
		else
			"$HUSK" --root "$STORE" --runroot "$STORE/run" rmi "$REGISTRY/crash/big:v1" >/dev/null 2>&1 &
			pid=$!
			sleep "0.0$((RANDOM % 10))"
			kill -9 "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
			run -0 husk image check
			husk rmi "$REGISTRY/crash/big:v1" >/dev/null 2>&1 || husk image prune -a >/dev/null
		fi
		run -0 husk image check
	done
}

@test "crash: kill -9 during load and image prune leaves a store the next command completes" {
	run -0 husk pull -q "$REGISTRY/crash/big:v1"
	run -0 husk save -o "$BATS_TEST_TMPDIR/big.tar" "$REGISTRY/crash/big:v1"
	run -0 husk rmi "$REGISTRY/crash/big:v1"
	for round in 1 2; do
		"$HUSK" --root "$STORE" --runroot "$STORE/run" load -i "$BATS_TEST_TMPDIR/big.tar" >/dev/null 2>&1 &
		pid=$!
		sleep "0.$((RANDOM % 40))"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		run -0 husk image check
		run -0 husk load -i "$BATS_TEST_TMPDIR/big.tar"
		run -0 husk image check
		assert_equal "$(ls "$STORE/tmp" | wc -l)" 0 "leftovers after round $round"
		rootfs=$(husk image mount "$REGISTRY/crash/big:v1")
		(cd "$rootfs" && find . -type f -exec sha256sum {} + | sort -k2) >"$BATS_TEST_TMPDIR/got"
		diff -u "$BATS_FILE_TMPDIR/sums" "$BATS_TEST_TMPDIR/got" || fail "content differs in round $round"
		husk image unmount "$REGISTRY/crash/big:v1"
		# prune -a collects it (no container uses it), killed on the way.
		"$HUSK" --root "$STORE" --runroot "$STORE/run" image prune -a >/dev/null 2>&1 &
		pid=$!
		sleep "0.0$((RANDOM % 10))"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		run -0 husk image check
		run -0 husk image prune -a
		run -0 husk image check
		assert_equal "$(ls "$STORE/layers" | wc -l)" 0 "layers left after prune, round $round"
		assert_equal "$(ls "$STORE/blobs/sha256" | wc -l)" 0 "blobs left after prune, round $round"
	done
}
