#!/usr/bin/env bats
# Hostile images from a real registry: each is refused with a clear error, nothing is
# written outside the store, and the store stays consistent (no half-visible entries).

load images

setup_file() { registry_start; }
teardown_file() { registry_stop; }

setup() {
	images_setup
	OUTSIDE="$BATS_TEST_TMPDIR/outside"
	mkdir -p "$OUTSIDE"
	echo secret >"$OUTSIDE/secret"
}

teardown() { images_teardown; }

# Pushes an image whose only layer is the tar made by the python snippet ($1) as REPO:v1.
push_hostile() { # REPO PYTHON
	local tarfile="$BATS_TEST_TMPDIR/hostile.tar"
	python3 - "$tarfile" "$OUTSIDE" <<<"import sys, tarfile, io
out, outside = sys.argv[1], sys.argv[2]
t = tarfile.open(out, 'w', format=tarfile.PAX_FORMAT)
def add(name, data=b'x', **kw):
    i = tarfile.TarInfo(name); i.size = len(data)
    for k, v in kw.items(): setattr(i, k, v)
    t.addfile(i, io.BytesIO(data) if i.type == tarfile.REGTYPE else None)
$2
t.close()"
	local layout="$BATS_TEST_TMPDIR/layout-$1"
	make_manifest "$layout" amd64 "$tarfile"
	write_index "$layout" "$MANIFEST_DESC" v1
	push_layout "$layout" v1 "hostile/$1"
}

# The store after a refused pull: nothing half-visible, nothing outside touched.
assert_clean_refusal() {
	assert_equal "$(ls "$OUTSIDE")" secret "files outside the store"
	assert_equal "$(cat "$OUTSIDE/secret")" secret
	assert_equal "$(stat -c %h "$OUTSIDE/secret")" 1 "link count of the outside file"
	assert_equal "$(ls "$STORE/layers" | wc -l)" 0 "unpacked layers"
	assert_equal "$(ls "$STORE/tmp" | wc -l)" 0 "temp files"
	run -0 husk images -q
	assert_equal "$output" ""
	run -0 husk image check
}

@test "hostile: a ../ path is refused" {
	push_hostile dotdot "add('../escape.txt'); add('ok/../../outside-too')"
	run -125 husk pull -q "$REGISTRY/hostile/dotdot:v1"
	assert_contains "$output" "../escape.txt"
	assert_contains "$output" "outside the layer"
	[[ ! -e "$STORE/escape.txt" && ! -e "$STORE/tmp/escape.txt" ]] || fail "escape.txt written"
	assert_clean_refusal
}

@test "hostile: an absolute path is refused" {
	push_hostile absolute "add(outside + '/planted')"
	run -125 husk pull -q "$REGISTRY/hostile/absolute:v1"
	assert_contains "$output" "absolute path"
	assert_clean_refusal
}

@test "hostile: a symlink then a write through it is refused" {
	push_hostile symlink "add('esc', type=tarfile.SYMTYPE, linkname=outside); add('esc/planted')"
	run -125 husk pull -q "$REGISTRY/hostile/symlink:v1"
	assert_contains "$output" "esc/planted"
	assert_contains "$output" "symlink"
	assert_clean_refusal
	push_hostile relsymlink "add('a/b/c', type=tarfile.DIRTYPE); add('a/b/c/up', type=tarfile.SYMTYPE, linkname='../../../../../../../../../../..' + outside); add('a/b/c/up/planted')"
	run -125 husk pull -q "$REGISTRY/hostile/relsymlink:v1"
	assert_clean_refusal
}

@test "hostile: a hardlink to outside is refused" {
	push_hostile hardlink "add('stolen', type=tarfile.LNKTYPE, linkname='../../../../../../../..' + outside + '/secret')"
	run -125 husk pull -q "$REGISTRY/hostile/hardlink:v1"
	assert_contains "$output" "hardlink target"
	assert_clean_refusal
	push_hostile abshardlink "add('stolen', type=tarfile.LNKTYPE, linkname=outside + '/secret')"
	run -125 husk pull -q "$REGISTRY/hostile/abshardlink:v1"
	assert_clean_refusal
}

@test "hostile: a blob whose content does not match its digest is refused" {
	push_hostile mismatch "add('fine.txt', b'fine')"
	layer=$(skopeo inspect --tls-verify=false --format '{{index .Layers 0}}' "docker://$REGISTRY/hostile/mismatch:v1")
	f=$(registry_blob_file "$layer")
	size=$(stat -c %s "$f")
	head -c "$size" /dev/zero >"$f"
	run -125 husk pull -q "$REGISTRY/hostile/mismatch:v1"
	assert_contains "$output" "digest mismatch"
	assert_contains "$output" "$layer"
	assert_equal "$(ls "$STORE/blobs/sha256" | grep -c "${layer#sha256:}")" 0 "the bad blob is not in the store"
	assert_clean_refusal
}

@test "hostile: a truncated gzip layer is refused" {
	local layout="$BATS_TEST_TMPDIR/layout-trunc"
	make_manifest "$layout" amd64 "$BUSYBOX"
	# Replace the layer blob by its first half, fixing the digest so only gzip notices.
	layer=$(python3 -c "import json; print(json.load(open('$BATS_TEST_TMPDIR/manifest.json'))['layers'][0]['digest'])")
	f="$layout/blobs/sha256/${layer#sha256:}"
	head -c $(($(stat -c %s "$f") / 2)) "$f" >"$BATS_TEST_TMPDIR/half.gz"
	read -r d s < <(add_blob "$layout" "$BATS_TEST_TMPDIR/half.gz")
	sed -e "s/$layer/$d/" -e "s/\"size\":$(stat -c %s "$f")}/\"size\":$s}/" "$BATS_TEST_TMPDIR/manifest.json" >"$BATS_TEST_TMPDIR/m2.json"
	read -r md ms < <(add_blob "$layout" "$BATS_TEST_TMPDIR/m2.json")
	write_index "$layout" '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"'$md'","size":'$ms v1
	push_layout "$layout" v1 hostile/truncated
	run -125 husk pull -q "$REGISTRY/hostile/truncated:v1"
	assert_contains "$output" "unpack layer $d"
	assert_clean_refusal
}

@test "hostile: a manifest pointing to a missing blob is refused" {
	push_hostile missing "add('fine.txt', b'fine')"
	layer=$(skopeo inspect --tls-verify=false --format '{{index .Layers 0}}' "docker://$REGISTRY/hostile/missing:v1")
	rm -rf "$(dirname "$(registry_blob_file "$layer")")"
	run -125 husk pull -q "$REGISTRY/hostile/missing:v1"
	assert_contains "$output" "$layer"
	assert_clean_refusal
}

@test "hostile: a huge declared size is refused before any download" {
	push_hostile huge "add('fine.txt', b'fine')"
	manifest=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REGISTRY/v2/hostile/huge/manifests/v1")
	huge=$(python3 -c "import json,sys; m=json.loads(sys.argv[1]); m['layers'][0]['size']=10**15; print(json.dumps(m))" "$manifest")
	run curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary "$huge" "http://$REGISTRY/v2/hostile/huge/manifests/v1"
	assert_equal "$output" 201 "registry accepted the hostile manifest"
	run -125 husk pull -q "$REGISTRY/hostile/huge:v1"
	assert_contains "$output" "declares 1000000000000000 bytes"
	assert_clean_refusal
}

@test "hostile: a blob longer than its declared size is cut off and refused" {
	push_hostile long "add('fine.txt', b'fine' * 5000)"
	manifest=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REGISTRY/v2/hostile/long/manifests/v1")
	short=$(python3 -c "import json,sys; m=json.loads(sys.argv[1]); m['layers'][0]['size']-=100; print(json.dumps(m))" "$manifest")
	run curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary "$short" "http://$REGISTRY/v2/hostile/long/manifests/v1"
	assert_equal "$output" 201 "registry accepted the hostile manifest"
	run -125 husk pull -q "$REGISTRY/hostile/long:v1"
	assert_contains "$output" "larger than its declared size"
	assert_clean_refusal
}
