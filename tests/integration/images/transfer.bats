#!/usr/bin/env bats
# The registry client's transfers, seen through a logging proxy (proxy.py) in front of a real
# docker-registry: a download cut mid-blob resumes with a Range request (or starts over when
# the server ignores Range); push uploads in PATCH chunks or one PUT, mounts blobs from
# another repository, and skips blobs the registry has.

load images

setup_file() {
	registry_start
	push_big_image test/big
}

teardown_file() { registry_stop; }
setup() { images_setup; }
teardown() {
	proxy_stop
	images_teardown
}

check_big_rootfs() { # IMAGE
	local rootfs
	rootfs=$(husk image mount "$1")
	cmp "$rootfs/bin/busybox" "$BUSYBOX/bin/busybox"
	cmp "$rootfs/data/random" "$BIG_RANDOM"
	husk image unmount "$1"
}

@test "pull: a blob cut mid-transfer resumes with Range: bytes=N-" {
	proxy_start --cut-after 1000000
	run -0 husk pull "$PROXY/test/big:v1"
	assert_contains "$output" "Retrying blob ${BIG_BLOB:7:12} at byte 1000000"
	run -0 proxy_requests range
	echo "$output"
	blob_gets=$(grep "^GET /v2/test/big/blobs/$BIG_BLOB " <<<"$output")
	assert_equal "$(wc -l <<<"$blob_gets")" 2 "GETs of the big blob"
	assert_match "$(sed -n 1p <<<"$blob_gets")" " 200 range=- cut$"
	assert_match "$(sed -n 2p <<<"$blob_gets")" " 206 range=bytes=1000000- $"
	run -0 husk image check
	check_big_rootfs "$PROXY/test/big:v1"
}

@test "pull: a server that ignores Range (200) still ends in a correct blob" {
	proxy_start --cut-after 1000000 --strip-range
	run -0 husk pull "$PROXY/test/big:v1"
	run -0 proxy_requests range
	blob_gets=$(grep "^GET /v2/test/big/blobs/$BIG_BLOB " <<<"$output")
	assert_equal "$(wc -l <<<"$blob_gets")" 2 "GETs of the big blob"
	# husk asked for the rest; the server sent the whole blob again, which husk took from 0.
	assert_match "$(sed -n 2p <<<"$blob_gets")" " 200 range=bytes=1000000- $"
	run -0 husk image check
	check_big_rootfs "$PROXY/test/big:v1"
	assert_equal "$(sha256sum "$STORE/blobs/sha256/${BIG_BLOB#sha256:}" | cut -d' ' -f1)" "${BIG_BLOB#sha256:}"
}

@test "push: blobs over --chunk-size go up in PATCH chunks; skopeo and podman read the result" {
	run -0 husk pull -q "$REGISTRY/test/big:v1"
	proxy_start
	run -0 husk push --chunk-size 1M "$REGISTRY/test/big:v1" "$PROXY/chunked/big:v1"
	assert_equal "${lines[-1]}" "$WANT_DIGEST" "digest printed"
	# Per upload session: the PATCHes' Content-Range must tile the blob, then one PUT ?digest=.
	run -0 python3 - "$PROXY_LOG" "$BIG_BLOB" "$BIG_SIZE" <<-'PY'
	import json, sys, re
	log, big, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
	sessions = {}
	for line in open(log):
	    r = json.loads(line)
	    m = re.match(r"/v2/chunked/big/blobs/uploads/([^?/]+)", r["path"])
	    if m:
	        sessions.setdefault(m.group(1), []).append(r)
	chunked = [s for s in sessions.values() if any(r["method"] == "PATCH" for r in s)]
	assert len(chunked) == 1, f"{len(chunked)} chunked uploads, want 1 (only the big blob)"
	reqs = chunked[0]
	patches = [r for r in reqs if r["method"] == "PATCH"]
	want = 0
	for p in patches:
	    lo, hi = map(int, p["headers"]["content-range"].split("-"))
	    assert lo == want and hi - lo + 1 == int(p["headers"]["content-length"]), p
	    assert hi - lo + 1 <= 1 << 20 and p["status"] == 202, p
	    want = hi + 1
	assert want == size, (want, size)
	assert len(patches) == -(-size // (1 << 20)), len(patches)
	put = reqs[-1]
	assert put["method"] == "PUT" and f"digest={big.replace(':', '%3A')}" in put["path"], put
	assert put["headers"].get("content-length") == "0" and put["status"] == 201, put
	print(len(patches), "patches")
	PY
	echo "$output"
	got=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REGISTRY/chunked/big:v1")
	assert_equal "$got" "$WANT_DIGEST" "pushed manifest digest"
	p="$BATS_TEST_TMPDIR/podman"
	run -0 podman --root "$p/root" --runroot "$p/run" --storage-driver vfs pull -q --tls-verify=false "$REGISTRY/chunked/big:v1"
	mnt=$(podman --root "$p/root" --runroot "$p/run" --storage-driver vfs image mount "$REGISTRY/chunked/big:v1")
	cmp "$mnt/data/random" "$BIG_RANDOM"
	podman --root "$p/root" --runroot "$p/run" --storage-driver vfs image unmount -a >/dev/null 2>&1 || true
	podman --root "$p/root" --runroot "$p/run" --storage-driver vfs rmi -a -f >/dev/null 2>&1 || true
	rm -rf "$p" 2>/dev/null || true
}

@test "push: monolithic PUT below the chunk size and with --chunk-size 0" {
	tar -C "$BUSYBOX" -cf "$BATS_TEST_TMPDIR/rootfs.tar" .
	husk import "$BATS_TEST_TMPDIR/rootfs.tar" "$REGISTRY/import/bb:1" >/dev/null
	run -0 husk pull -q "$REGISTRY/test/big:v1"
	proxy_start
	run -0 husk push "$REGISTRY/import/bb:1" "$PROXY/mono/bb:1"
	run -0 husk push --chunk-size 0 "$REGISTRY/test/big:v1" "$PROXY/mono/big:1"
	run -0 proxy_requests content-length
	echo "$output"
	assert_not_contains "$output" "PATCH"
	# bb: a layer and a config; big: two layers and a config. Each one PUT with its bytes.
	assert_equal "$(grep -c '^PUT /v2/mono/[a-z]*/blobs/uploads/.*digest=sha256.* 201 content-length=[1-9]' <<<"$output")" 5
	assert_contains "$output" "PUT /v2/mono/big/blobs/uploads/"
	run -0 skopeo inspect --tls-verify=false "docker://$REGISTRY/mono/bb:1"
	run -125 husk push --chunk-size 5X "$REGISTRY/import/bb:1" "$PROXY/mono/bb:2"
	assert_contains "$output" 'invalid --chunk-size "5X"'
}

@test "push: cross-repository mount, then HEAD skips what the registry has" {
	proxy_start
	# Pulled through the proxy: the image's repo digest names this registry, test/big.
	run -0 husk pull -q "$PROXY/test/big:v1"
	: >"$PROXY_LOG"
	run -0 husk push "$PROXY/test/big:v1" "$PROXY/mounted/big:v1"
	assert_contains "$output" "mounted from another repository"
	run -0 proxy_requests
	echo "$output"
	assert_equal "$(grep -c "^POST /v2/mounted/big/blobs/uploads/?mount=sha256:[0-9a-f]*&from=test/big 201" <<<"$output")" 3
	assert_not_contains "$output" "PATCH"
	assert_equal "$(grep -c '^PUT /v2/mounted/big/blobs' <<<"$output")" 0
	: >"$PROXY_LOG"
	run -0 husk push "$PROXY/test/big:v1" "$PROXY/mounted/big:v1"
	assert_contains "$output" "skipped: already exists"
	run -0 proxy_requests
	echo "$output"
	assert_equal "$(grep -c '^HEAD /v2/mounted/big/blobs/sha256:[0-9a-f]* 200' <<<"$output")" 3
	assert_not_contains "$output" "POST"
	got=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REGISTRY/mounted/big:v1")
	assert_equal "$got" "$WANT_DIGEST"
}

@test "push: a chunk cut mid-upload is resumed (or restarted) and the blob arrives whole" {
	run -0 husk pull -q "$REGISTRY/test/big:v1"
	proxy_start --cut-upload-after 300000
	run -0 husk push --chunk-size 1M "$REGISTRY/test/big:v1" "$PROXY/resumed/big:v1"
	echo "$output"
	assert_contains "$output" "Retrying blob ${BIG_BLOB:7:12} at byte"
	run -0 proxy_requests content-range
	echo "$output"
	# The cut PATCH, then the session's status asked for, then the upload goes on: from the
	# Range the status gives (204), or, as docker-registry does (it drops a session whose
	# stored size no longer matches its state), from byte 0 in a new session.
	assert_match "$output" "PATCH /v2/resumed/big/blobs/uploads/[^ ]* None content-range=0-1048575 cut"
	assert_match "$output" "GET /v2/resumed/big/blobs/uploads/[^ ]* (204|404|400) "
	assert_equal "$(grep -c '^PUT /v2/resumed/big/blobs/uploads/.*digest=sha256.* 201' <<<"$output")" 3
	got=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REGISTRY/resumed/big:v1")
	assert_equal "$got" "$WANT_DIGEST"
	# The registry holds the blob exactly.
	curl -sf "http://$REGISTRY/v2/resumed/big/blobs/$BIG_BLOB" | sha256sum | grep -q "^${BIG_BLOB#sha256:} "
}
