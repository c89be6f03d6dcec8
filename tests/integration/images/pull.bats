#!/usr/bin/env bats
# husk pull/push against a real docker-registry on 127.0.0.1, with images made here from
# busybox-static: layers with a whiteout, an opaque dir, hardlinks, symlinks; a multi-arch
# index. Results are checked file by file in the rootfs the snapshotter gives the engine.

load images

setup_file() {
	registry_start
	local b="$BATS_FILE_TMPDIR/src"
	BATS_TEST_TMPDIR="$BATS_FILE_TMPDIR" make_layer_dirs "$b"
	local layout="$BATS_FILE_TMPDIR/layout"
	BATS_TEST_TMPDIR="$BATS_FILE_TMPDIR" make_manifest "$layout" amd64 "$b/l1" "$b/l2" "$b/l3"
	write_index "$layout" "$MANIFEST_DESC" v1
	push_layout "$layout" v1 test/layered

	# Multi-arch: an index of an amd64 and an arm64 image, each marked by a file.
	local multi="$BATS_FILE_TMPDIR/multi"
	for arch in amd64 arm64; do
		mkdir -p "$b/$arch/etc"
		echo "$arch" >"$b/$arch/etc/arch"
		BATS_TEST_TMPDIR="$BATS_FILE_TMPDIR" make_manifest "$multi" "$arch" "$b/l1" "$b/$arch"
		descs+="${descs:+,}$MANIFEST_DESC,\"platform\":{\"architecture\":\"$arch\",\"os\":\"linux\"}}"
	done
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s]}' "$descs" >"$BATS_FILE_TMPDIR/index.json"
	local d s
	read -r d s < <(add_blob "$multi" "$BATS_FILE_TMPDIR/index.json")
	write_index "$multi" '{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"'$d'","size":'$s "multi"
	push_layout "$multi" multi test/multi --all
}

teardown_file() { registry_stop; }
setup() { images_setup; }
teardown() { images_teardown; }

@test "pull: a layered image unpacks to the expected rootfs (overlay)" {
	run -0 husk pull "$REGISTRY/test/layered:v1"
	assert_contains "$output" "Copying blob"
	id=${lines[-1]}
	run -0 husk image check
	rootfs=$(husk image mount "$REGISTRY/test/layered:v1")
	assert_equal "$(husk info --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["StorageDriver"])')" overlay
	grep -q " $rootfs .* overlay " /proc/self/mountinfo || fail "$rootfs is not an overlay mount"
	check_layered_rootfs "$rootfs"
	husk image unmount "$REGISTRY/test/layered:v1"
	! grep -q " $rootfs " /proc/self/mountinfo || fail "still mounted"
	run -0 husk images --format json
	assert_contains "$output" "$id"
	assert_contains "$output" "$REGISTRY/test/layered:v1"
}

@test "pull: the vfs driver (forced) gives the same rootfs" {
	run -0 husk pull -q "$REGISTRY/test/layered:v1"
	export HUSK_STORAGE_DRIVER=vfs
	run -0 husk info
	assert_contains "$output" "Storage Driver: vfs"
	assert_contains "$output" "HUSK_STORAGE_DRIVER"
	rootfs=$(husk image mount "$REGISTRY/test/layered:v1")
	! grep -q " $rootfs " /proc/self/mountinfo || fail "vfs rootfs must not be a mount"
	check_layered_rootfs "$rootfs"
	husk image unmount "$REGISTRY/test/layered:v1"
	[[ ! -e "$rootfs" ]] || fail "vfs rootfs left behind"
}

@test "pull by digest, -q, inspect with docker's field names" {
	digest=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REGISTRY/test/layered:v1")
	run -0 husk pull -q "$REGISTRY/test/layered@$digest"
	assert_equal "${#lines[@]}" 1
	id=${lines[0]}
	run -0 husk image inspect "$id"
	for field in '"Id"' '"RepoTags"' '"RepoDigests"' '"Config"' '"Architecture"' '"Os"' '"RootFS"' '"Size"'; do
		assert_contains "$output" "$field"
	done
	assert_contains "$output" "$REGISTRY/test/layered@$digest"
	assert_contains "$output" '"Cmd"'
	# A second pull of what is there downloads nothing.
	run -0 husk pull "$REGISTRY/test/layered:v1"
	assert_not_contains "$output" "Copying blob"
}

@test "pull: a multi-arch index gives this host's image, --platform another" {
	run -0 husk pull -q "$REGISTRY/test/multi:multi"
	rootfs=$(husk image mount "$REGISTRY/test/multi:multi")
	assert_equal "$(cat "$rootfs/etc/arch")" amd64
	husk image unmount "$REGISTRY/test/multi:multi"
	run -0 husk pull -q --platform linux/arm64 "$REGISTRY/test/multi:multi"
	rootfs=$(husk image mount "$REGISTRY/test/multi:multi")
	assert_equal "$(cat "$rootfs/etc/arch")" arm64
	husk image unmount "$REGISTRY/test/multi:multi"
	run -125 husk pull --platform linux/s390x "$REGISTRY/test/multi:multi"
	assert_contains "$output" "no manifest for linux/s390x"
}

@test "push: skopeo inspects and podman pulls what husk pushed" {
	run -0 husk pull -q "$REGISTRY/test/layered:v1"
	run -0 husk push "$REGISTRY/test/layered:v1" "$REGISTRY/pushed/copy:v2"
	assert_contains "$output" "mounted from another repository"
	run -0 husk tag "$REGISTRY/test/layered:v1" "$REGISTRY/pushed/again:v3"
	run -0 husk push "$REGISTRY/pushed/again:v3"
	want=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REGISTRY/test/layered:v1")
	got=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REGISTRY/pushed/again:v3")
	assert_equal "$got" "$want" "pushed manifest digest"
	p="$BATS_TEST_TMPDIR/podman"
	run -0 podman --root "$p/root" --runroot "$p/run" --storage-driver vfs pull -q --tls-verify=false "$REGISTRY/pushed/copy:v2"
	run -0 podman --root "$p/root" --runroot "$p/run" --storage-driver vfs image inspect --format '{{.Digest}}' "$REGISTRY/pushed/copy:v2"
	assert_equal "$output" "$want"
	podman --root "$p/root" --runroot "$p/run" --storage-driver vfs rmi -a -f >/dev/null 2>&1 || true
	rm -rf "$p" 2>/dev/null || true
}

@test "rmi refuses an image a container uses; -f untags; prune collects" {
	run -0 husk pull -q "$REGISTRY/test/layered:v1"
	husk image mount "$REGISTRY/test/layered:v1" >/dev/null
	run -125 husk rmi "$REGISTRY/test/layered:v1"
	assert_contains "$output" "in use by container"
	run -0 husk rmi -f "$REGISTRY/test/layered:v1"
	assert_contains "$output" "Untagged"
	run -0 husk image check
	[[ -n "$(ls "$STORE/layers")" ]] || fail "layers of an image in use were collected"
	id=$(husk images -q)
	husk image unmount "$id"
	run -0 husk image prune
	assert_contains "$output" "deleted: sha256:"
	assert_equal "$(ls "$STORE/layers" | wc -l)" 0
	assert_equal "$(ls "$STORE/blobs/sha256" | wc -l)" 0
	run -0 husk images -q
	assert_equal "$output" ""
}

@test "login and logout keep docker-style auth.json" {
	run -0 husk login -u alice -p secret "$REGISTRY"
	run -0 python3 -c "import json,base64,sys; a=json.load(open('$HUSK_AUTH_FILE'))['auths']['$REGISTRY']['auth']; assert base64.b64decode(a)==b'alice:secret'"
	run -0 husk logout "$REGISTRY"
	run -125 husk logout "$REGISTRY"
	assert_contains "$output" "not logged in"
}

@test "pull: bad references and unknown images are clear errors" {
	run -125 husk pull "UPPER/case"
	assert_contains "$output" "invalid image reference"
	run -125 husk pull "$REGISTRY/test/nothere:v1"
	assert_contains "$output" "manifest not found"
	run -125 husk pull --tls-verify=true "127.0.0.1:1/x:1"
	assert_contains "$output" "127.0.0.1:1"
	assert_equal "$(ls "$STORE/blobs/sha256" | wc -l)" 0
}

@test "gc: a layer two images share outlives the first rmi; prune without -a keeps tagged images" {
	# test/layered and test/multi (amd64) both start with the busybox layer l1.
	run -0 husk pull -q "$REGISTRY/test/layered:v1"
	layered=$output
	run -0 husk pull -q "$REGISTRY/test/multi:multi"
	nlayers=$(ls "$STORE/layers" | wc -l)
	assert_equal "$nlayers" 4 "3 layers of test/layered + 1 of test/multi not shared"
	run -0 husk rmi "$REGISTRY/test/layered:v1"
	assert_equal "$(ls "$STORE/layers" | wc -l)" 2 "the shared layer and test/multi's own"
	run -0 husk image check
	rootfs=$(husk image mount "$REGISTRY/test/multi:multi")
	cmp "$rootfs/bin/busybox" "$BUSYBOX/bin/busybox"
	assert_equal "$(cat "$rootfs/etc/arch")" amd64
	husk image unmount "$REGISTRY/test/multi:multi"
	# prune: only untagged images; the tagged one stays, then an untagged one goes.
	run -0 husk image prune
	assert_equal "$(husk images -q | wc -l)" 1
	run -0 husk pull -q "$REGISTRY/test/layered:v1"
	# The tag moves to the other image: test/layered's image is left without a name.
	run -0 husk tag "$REGISTRY/test/multi:multi" "$REGISTRY/test/layered:v1"
	assert_equal "$(husk images -q | wc -l)" 2 "the untagged image is still there"
	run -0 husk image prune
	assert_contains "$output" "deleted: sha256:"
	assert_equal "$(husk images -q | wc -l)" 1
	assert_not_contains "$(husk images -q)" "${layered:0:12}"
	run -0 husk image prune -a
	assert_equal "$(ls "$STORE/layers" | wc -l)" 0
	assert_equal "$(ls "$STORE/blobs/sha256" | wc -l)" 0
	run -0 husk image check
}
