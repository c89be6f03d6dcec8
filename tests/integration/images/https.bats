#!/usr/bin/env bats
# HTTPS to a registry whose certificate a test CA signed: refused (with the certificate
# error) until husk is given the CA, in a certs.d-style directory (HUSK_CERTS_D/<host:port>/
# or --cert-dir); trusted in addition to the system's CAs; --tls-verify=false skips checks.

load images

setup_file() {
	local c="$BATS_FILE_TMPDIR/pki"
	mkdir -p "$c"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=husk-test-ca \
		-keyout "$c/ca.key" -out "$c/ca.crt" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
		-keyout "$c/server.key" -out "$c/server.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$c/ext"
	openssl x509 -req -in "$c/server.csr" -CA "$c/ca.crt" -CAkey "$c/ca.key" -CAcreateserial \
		-days 2 -extfile "$c/ext" -out "$c/server.crt" 2>/dev/null
	REGISTRY_HTTP_TLS_CERTIFICATE="$c/server.crt" REGISTRY_HTTP_TLS_KEY="$c/server.key" registry_start
	tar -C "$BUSYBOX" -cf "$BATS_FILE_TMPDIR/rootfs.tar" .
	# A certs.d tree for this registry, as /etc/containers/certs.d would hold it.
	export CERTS_D="$BATS_FILE_TMPDIR/certs.d"
	mkdir -p "$CERTS_D/$REGISTRY"
	cp "$c/ca.crt" "$CERTS_D/$REGISTRY/ca.crt"
}

teardown_file() { registry_stop; }
setup() { images_setup; }
teardown() { images_teardown; }

@test "https: an untrusted certificate is refused with the TLS error; the CA from certs.d makes it work" {
	husk import "$BATS_FILE_TMPDIR/rootfs.tar" "$REGISTRY/tls/bb:1" >/dev/null
	run -125 husk push "$REGISTRY/tls/bb:1"
	echo "$output"
	assert_contains "$output" "registry $REGISTRY"
	assert_contains "$output" "SSL peer certificate"
	assert_match "$output" "[Cc]ertificate"
	HUSK_CERTS_D="$CERTS_D" run -0 husk push "$REGISTRY/tls/bb:1"
	# It went over TLS: the registry only speaks TLS, and curl checks the same way.
	run -0 curl -s --cacert "$CERTS_D/$REGISTRY/ca.crt" "https://$REGISTRY/v2/tls/bb/tags/list"
	assert_contains "$output" '"1"'
	run -0 husk rmi "$REGISTRY/tls/bb:1"
	HUSK_CERTS_D="$CERTS_D" run -0 husk pull -q "$REGISTRY/tls/bb:1"
	rootfs=$(husk image mount "$REGISTRY/tls/bb:1")
	cmp "$rootfs/bin/busybox" "$BUSYBOX/bin/busybox"
	husk image unmount "$REGISTRY/tls/bb:1"
}

@test "https: --cert-dir, --tls-verify=false, and a bad cert dir is a clear error" {
	husk import "$BATS_FILE_TMPDIR/rootfs.tar" "$REGISTRY/tls/bb:2" >/dev/null
	run -0 husk push -q --cert-dir "$CERTS_D/$REGISTRY" "$REGISTRY/tls/bb:2" "$REGISTRY/tls/bb:1"
	run -0 husk rmi "$REGISTRY/tls/bb:2"
	run -0 husk pull -q --cert-dir "$CERTS_D/$REGISTRY" "$REGISTRY/tls/bb:1"
	run -0 husk rmi "$REGISTRY/tls/bb:1"
	run -0 husk pull -q --tls-verify=false "$REGISTRY/tls/bb:1"
	bad="$BATS_TEST_TMPDIR/bad"
	mkdir -p "$bad"
	echo "not a certificate" >"$bad/ca.crt"
	run -125 husk pull -q --cert-dir "$bad" "$REGISTRY/tls/bb:1"
	assert_contains "$output" "$bad/ca.crt: not a PEM certificate"
	# A CA that did not sign the server's certificate is no help.
	mkdir -p "$BATS_TEST_TMPDIR/other"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca \
		-keyout "$BATS_TEST_TMPDIR/other/ca.key" -out "$BATS_TEST_TMPDIR/other/ca.crt" 2>/dev/null
	rm "$BATS_TEST_TMPDIR/other/ca.key"
	run -125 husk pull -q --cert-dir "$BATS_TEST_TMPDIR/other" "$REGISTRY/tls/bb:1"
	assert_match "$output" "[Cc]ertificate"
}
