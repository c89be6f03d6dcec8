#!/usr/bin/env bats
# Registry credentials: a docker-registry with htpasswd (Basic) authentication; husk login
# checks and stores them, pull and push use them, and a missing or wrong login is a clear
# error.

load images

setup_file() {
	export AUTH_DIR="$BATS_FILE_TMPDIR/auth"
	mkdir -p "$AUTH_DIR"
	# bcrypt cost 4 (the minimum): every request checks the password, cost 12 takes 15 s here.
	python3 -c "import crypt; print('alice:' + crypt.crypt('s3cret', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))" >"$AUTH_DIR/htpasswd" 2>/dev/null
	REGISTRY_AUTH_HTPASSWD_REALM=husk-test REGISTRY_AUTH_HTPASSWD_PATH="$AUTH_DIR/htpasswd" registry_start
	tar -C "$BUSYBOX" -cf "$BATS_FILE_TMPDIR/rootfs.tar" .
}

teardown_file() { registry_stop; }
setup() { images_setup; }
teardown() { images_teardown; }

@test "auth: Basic credentials from husk login are used for push and pull" {
	husk import "$BATS_FILE_TMPDIR/rootfs.tar" "$REGISTRY/private/bb:1" >/dev/null
	run -125 husk push "$REGISTRY/private/bb:1"
	assert_contains "$output" "authentication required: husk login $REGISTRY"
	run -125 husk login -u alice -p wrong "$REGISTRY"
	assert_contains "$output" "refused the credentials"
	[[ ! -e "$HUSK_AUTH_FILE" ]] || fail "wrong credentials were stored"
	run -0 husk login -u alice --password-stdin "$REGISTRY" <<<"s3cret"
	run -0 husk push "$REGISTRY/private/bb:1"
	run -0 husk rmi "$REGISTRY/private/bb:1"
	run -0 husk pull -q "$REGISTRY/private/bb:1"
	rootfs=$(husk image mount "$REGISTRY/private/bb:1")
	cmp "$rootfs/bin/busybox" "$BUSYBOX/bin/busybox"
	husk image unmount "$REGISTRY/private/bb:1"
	run -0 skopeo inspect --tls-verify=false --creds alice:s3cret "docker://$REGISTRY/private/bb:1"
	run -0 husk logout "$REGISTRY"
	run -125 husk pull -q "$REGISTRY/private/bb:1"
	assert_contains "$output" "husk login"
}
