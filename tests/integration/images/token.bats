#!/usr/bin/env bats
# The Bearer token flow: docker-registry with `auth: token:` trusting a test certificate, and
# token_server.py issuing real RS256 JWTs for Basic credentials (alice: pull+push, bob: pull
# only, anonymous: nothing). husk login, push and pull use it; the scopes husk asks for are
# checked against the token spec (pull; pull,push; a second scope for a cross-repo mount).

load images

setup_file() {
	local t="$BATS_FILE_TMPDIR/token"
	mkdir -p "$t"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=husk-test-token \
		-keyout "$t/key.pem" -out "$t/cert.pem" 2>/dev/null
	export TOKEN_LOG="$t/log"
	: >"$TOKEN_LOG"
	python3 "$BATS_TEST_DIRNAME/token_server.py" "$t/key.pem" "$t/cert.pem" husk-test-issuer \
		"$TOKEN_LOG" "$t/port" >"$t/out" 2>&1 3>&- &
	echo $! >"$t/pid"
	for _ in $(seq 100); do
		[[ -s "$t/port" ]] && break
		sleep 0.05
	done
	REGISTRY_AUTH_TOKEN_REALM="http://127.0.0.1:$(cat "$t/port")/token" \
		REGISTRY_AUTH_TOKEN_SERVICE=husk-registry \
		REGISTRY_AUTH_TOKEN_ISSUER=husk-test-issuer \
		REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE="$t/cert.pem" registry_start
	tar -C "$BUSYBOX" -cf "$BATS_FILE_TMPDIR/rootfs.tar" .
}

teardown_file() {
	kill "$(cat "$BATS_FILE_TMPDIR/token/pid")" 2>/dev/null || true
	registry_stop
}
setup() { images_setup; }
teardown() {
	proxy_stop
	images_teardown
}

# The scope lists (one JSON array per token request) since the log was last emptied.
token_scopes() {
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(r["user"], json.dumps(r["scopes"]), r["service"][0] if r["service"] else "-")
' "$TOKEN_LOG"
}

@test "bearer: login, push and pull with tokens; pull asks for pull, push for pull,push" {
	husk import "$BATS_FILE_TMPDIR/rootfs.tar" "$REGISTRY/team/bb:1" >/dev/null
	run -125 husk push "$REGISTRY/team/bb:1"
	assert_contains "$output" "authentication required: husk login $REGISTRY"
	run -125 husk login -u alice -p wrong "$REGISTRY"
	assert_contains "$output" "refused the credentials"
	[[ ! -e "$HUSK_AUTH_FILE" ]] || fail "wrong credentials were stored"
	run -0 husk login -u alice --password-stdin "$REGISTRY" <<<"s3cret"

	: >"$TOKEN_LOG"
	run -0 husk push "$REGISTRY/team/bb:1"
	run -0 token_scopes
	echo "$output"
	assert_contains "$output" 'alice ["repository:team/bb:pull,push"] husk-registry'
	assert_not_contains "$output" 'None'

	run -0 husk rmi "$REGISTRY/team/bb:1"
	: >"$TOKEN_LOG"
	run -0 husk pull -q "$REGISTRY/team/bb:1"
	run -0 token_scopes
	echo "$output"
	# Every token of a pull is for pull on that repository, nothing more.
	assert_equal "$(sort -u <<<"$output")" 'alice ["repository:team/bb:pull"] husk-registry'
	rootfs=$(husk image mount "$REGISTRY/team/bb:1")
	cmp "$rootfs/bin/busybox" "$BUSYBOX/bin/busybox"
	husk image unmount "$REGISTRY/team/bb:1"
	run -0 skopeo inspect --tls-verify=false --creds alice:s3cret "docker://$REGISTRY/team/bb:1"

	# A login that the token server stops accepting is a clear error, not a hang or a 401 dump.
	python3 -c "import json,base64,sys; d=json.load(open(sys.argv[1])); d['auths']['$REGISTRY']['auth']=base64.b64encode(b'alice:changed').decode(); json.dump(d, open(sys.argv[1],'w'))" "$HUSK_AUTH_FILE"
	run -125 husk pull -q "$REGISTRY/team/bb:1"
	assert_contains "$output" "token server refused the credentials"
	run -0 husk logout "$REGISTRY"
	run -125 husk pull -q "$REGISTRY/team/bb:1"
	assert_contains "$output" "access denied to repository:team/bb:pull: authentication required: husk login $REGISTRY"
}

@test "bearer: a cross-repo mount asks for both scopes; a pull-only user cannot push" {
	run -0 husk login -u alice -p s3cret "$REGISTRY"
	husk import "$BATS_FILE_TMPDIR/rootfs.tar" "$REGISTRY/team/src:1" >/dev/null
	run -0 husk push -q "$REGISTRY/team/src:1"
	run -0 husk rmi "$REGISTRY/team/src:1"
	run -0 husk pull -q "$REGISTRY/team/src:1"
	run -0 husk tag "$REGISTRY/team/src:1" "$REGISTRY/team/dst:1"
	: >"$TOKEN_LOG"
	run -0 husk push "$REGISTRY/team/dst:1"
	assert_contains "$output" "mounted from another repository"
	run -0 token_scopes
	echo "$output"
	# Two scope parameters, as the token spec says (not one with a space).
	assert_contains "$output" 'alice ["repository:team/dst:pull,push", "repository:team/src:pull"]'

	run -0 husk login -u bob -p b0b "$REGISTRY"
	run -0 husk pull -q "$REGISTRY/team/dst:1"
	run -125 husk push "$REGISTRY/team/dst:1" "$REGISTRY/team/bob:1"
	assert_contains "$output" "access denied to repository:team/bob:pull,push"
	assert_contains "$output" 'for user "bob"'
	run -0 husk image check
}

@test "bearer: a token that expires in the middle of a pull is renewed and the pull completes" {
	run -0 husk login -u alice -p s3cret "$REGISTRY"
	SKOPEO_CREDS=alice:s3cret push_big_image team/big
	# The big blob's GET waits 4 s in the proxy; the pull's token expires after about 3 s.
	proxy_start --delay "blobs/$BIG_BLOB"
	run -0 husk login -u alice -p s3cret "$PROXY"
	touch "$TOKEN_LOG.short"
	: >"$TOKEN_LOG"
	run -0 husk pull "$PROXY/team/big:v1"
	echo "$output"
	assert_contains "$output" "Renewed the registry token for blob ${BIG_BLOB:7:12}"
	run -0 proxy_requests
	echo "$output"
	assert_match "$output" "GET /v2/team/big/blobs/$BIG_BLOB 401"
	assert_match "$output" "GET /v2/team/big/blobs/$BIG_BLOB 200"
	assert_equal "$(grep -c '"short": true' "$TOKEN_LOG")" 1
	rootfs=$(husk image mount "$PROXY/team/big:v1")
	cmp "$rootfs/data/random" "$BIG_RANDOM"
	husk image unmount "$PROXY/team/big:v1"
	run -0 husk image check
}
