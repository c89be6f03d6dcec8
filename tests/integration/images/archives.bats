#!/usr/bin/env bats
# husk import/load/save: rootfs tarballs, the bundled busybox archive, and round trips with
# podman (private storage) and skopeo in docker-archive, OCI archive and OCI layout form.

load images

setup() {
	images_setup
	P="$BATS_TEST_TMPDIR/podman"
	PODMAN=(podman --root "$P/root" --runroot "$P/run" --storage-driver vfs)
}

teardown() {
	"${PODMAN[@]}" rmi -a -f >/dev/null 2>&1 || true
	rm -rf "$P" 2>/dev/null || true
	images_teardown
}

ARCHIVE=$(dirname "${HUSK_BUSYBOX_BUNDLE:?}")/busybox.tar

check_busybox() { # IMAGE
	local rootfs
	rootfs=$(husk image mount "$1")
	cmp "$rootfs/bin/busybox" "$BUSYBOX/bin/busybox" || fail "busybox differs in $1"
	assert_equal "$(cat "$rootfs/etc/hostname")" husk
	husk image unmount "$1"
}

@test "import: a rootfs tarball becomes a one-layer image" {
	tar -C "$BUSYBOX" -czf "$BATS_TEST_TMPDIR/rootfs.tgz" .
	run -0 husk import "$BATS_TEST_TMPDIR/rootfs.tgz" mine:1
	run -0 husk image inspect mine:1
	assert_contains "$output" '"Architecture": "amd64"'
	assert_contains "$output" '"RepoTags": [
            "mine:1"'
	check_busybox mine:1
	run -125 husk import "$BATS_TEST_TMPDIR/nothere.tar"
	assert_contains "$output" "nothere.tar"
}

@test "load: the bundled busybox archive is busybox:latest, the same id every time" {
	[[ -f "$ARCHIVE" ]] || skip "build the busybox-archive target first"
	run -0 husk load -i "$ARCHIVE"
	assert_contains "$output" "Loaded image: busybox:latest"
	id1=$(husk images -q)
	run -0 husk load -i "$ARCHIVE"
	assert_equal "$(husk images -q)" "$id1"
	check_busybox busybox
	run -0 husk images
	assert_contains "$output" "busybox"
	assert_contains "$output" "latest"
}

@test "save/load round trip with podman: docker-archive" {
	tar -C "$BUSYBOX" -cf "$BATS_TEST_TMPDIR/rootfs.tar" .
	husk import "$BATS_TEST_TMPDIR/rootfs.tar" localhost/rt:1 >/dev/null
	run -0 husk save -o "$BATS_TEST_TMPDIR/husk.tar" localhost/rt:1
	run -0 "${PODMAN[@]}" load -i "$BATS_TEST_TMPDIR/husk.tar"
	assert_contains "$output" "localhost/rt:1"
	run -0 "${PODMAN[@]}" save -o "$BATS_TEST_TMPDIR/podman.tar" localhost/rt:1
	run -0 husk rmi localhost/rt:1
	run -0 husk load -i "$BATS_TEST_TMPDIR/podman.tar"
	assert_contains "$output" "Loaded image: localhost/rt:1"
	check_busybox localhost/rt:1
	run -0 husk image check
}

@test "save/load round trip with podman and skopeo: OCI archive and layout" {
	tar -C "$BUSYBOX" -czf "$BATS_TEST_TMPDIR/rootfs.tgz" .
	husk import "$BATS_TEST_TMPDIR/rootfs.tgz" localhost/oci:2 >/dev/null
	want=$(husk images -q)
	run -0 husk save --format oci-archive -o "$BATS_TEST_TMPDIR/husk-oci.tar" localhost/oci:2
	run -0 "${PODMAN[@]}" load -i "$BATS_TEST_TMPDIR/husk-oci.tar"
	run -0 "${PODMAN[@]}" image inspect --format '{{.Id}}' localhost/oci:2
	assert_equal "${output:0:12}" "$want" "image id after podman load"
	run -0 "${PODMAN[@]}" save --format oci-archive -o "$BATS_TEST_TMPDIR/podman-oci.tar" localhost/oci:2
	run -0 husk rmi localhost/oci:2
	run -0 husk load -i "$BATS_TEST_TMPDIR/podman-oci.tar"
	check_busybox "$want"
	run -0 husk rmi -f "$want"
	# skopeo: our OCI archive to an OCI layout directory, loaded from the directory.
	run -0 skopeo copy -q "oci-archive:$BATS_TEST_TMPDIR/husk-oci.tar" "oci:$BATS_TEST_TMPDIR/layout:localhost/oci:2"
	run -0 husk load -i "$BATS_TEST_TMPDIR/layout"
	check_busybox "$want"
	run -0 husk image check
}

@test "load/save: bad archives and names are clear errors, nothing half-written" {
	head -c 10000 /dev/urandom >"$BATS_TEST_TMPDIR/garbage.tar"
	run -125 husk load -i "$BATS_TEST_TMPDIR/garbage.tar"
	assert_contains "$output" "garbage.tar"
	tar -C "$BATS_TEST_TMPDIR" -cf "$BATS_TEST_TMPDIR/empty.tar" --files-from /dev/null
	run -125 husk load -i "$BATS_TEST_TMPDIR/empty.tar"
	assert_contains "$output" "neither a docker-archive"
	run -125 husk save -o "$BATS_TEST_TMPDIR/out.tar" nothere:1
	assert_contains "$output" "nothere:1 not found"
	[[ ! -e "$BATS_TEST_TMPDIR/out.tar" ]] || fail "partial archive left"
	run -125 husk save -o /nonexistent-dir/x.tar --format oci-archive nothere
	run -0 husk image check
	assert_equal "$(ls "$STORE/tmp" | wc -l)" 0
}
