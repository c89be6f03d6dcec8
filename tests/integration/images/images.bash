# Helpers for the image tests: a real docker-registry on 127.0.0.1, OCI layouts made by
# hand from busybox-static (tar, gzip, sha256sum), and husk with a private store.
#
# setup_file: registry_start (sets REGISTRY=127.0.0.1:PORT); teardown_file: registry_stop.

load ../helpers

BUSYBOX=${HUSK_BUSYBOX_BUNDLE:?}/rootfs

registry_start() {
	export REG_DIR="$BATS_FILE_TMPDIR/registry"
	mkdir -p "$REG_DIR/storage"
	local port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	cat >"$REG_DIR/config.yml" <<-YML
	version: 0.1
	log:
	  level: error
	storage:
	  filesystem:
	    rootdirectory: $REG_DIR/storage
	  delete:
	    enabled: true
	http:
	  addr: 127.0.0.1:$port
	YML
	docker-registry serve "$REG_DIR/config.yml" >"$REG_DIR/log" 2>&1 &
	echo $! >"$REG_DIR/pid"
	export REGISTRY=127.0.0.1:$port
	for _ in $(seq 100); do
		# 200, or 401 when the test configured authentication.
		[[ $(curl -s -o /dev/null -w '%{http_code}' "http://$REGISTRY/v2/") == [24]0[01] ]] && return 0
		# Or over TLS, when the test configured a certificate.
		[[ $(curl -sk -o /dev/null -w '%{http_code}' "https://$REGISTRY/v2/") == [24]0[01] ]] && return 0
		sleep 0.1
	done
	echo "docker-registry did not start: $(cat "$REG_DIR/log")" >&2
	return 1
}

registry_stop() {
	[[ -f "$REG_DIR/pid" ]] && kill "$(cat "$REG_DIR/pid")" 2>/dev/null
	wait 2>/dev/null || true
}

# The registry's copy of a blob on disk (to tamper with it).
registry_blob_file() { # DIGEST(sha256:hex)
	local hex=${1#sha256:}
	echo "$REG_DIR/storage/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
}

husk() { "$HUSK" --root "$STORE" --runroot "$STORE/run" "$@"; }

images_setup() {
	export STORE="$BATS_TEST_TMPDIR/store"
	export HUSK_AUTH_FILE="$BATS_TEST_TMPDIR/auth.json"
	mkdir -p "$STORE"
}

images_teardown() {
	remove_store_networks "$STORE" "$STORE/run"
	# Whatever `husk image mount` left mounted under this test's store.
	grep -o " $STORE[^ ]*" /proc/self/mountinfo 2>/dev/null | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done
	rm -rf "$STORE"
}

# Adds a file to an OCI layout's blobs; prints "sha256:<hex> <size>".
add_blob() { # LAYOUT FILE
	local hex size
	hex=$(sha256sum "$2" | cut -d' ' -f1)
	size=$(stat -c %s "$2")
	mkdir -p "$1/blobs/sha256"
	cp "$2" "$1/blobs/sha256/$hex"
	echo "sha256:$hex $size"
}

# Builds a gzip layer from a directory or a ready tar; sets LAYER_DESC (JSON) and LAYER_DIFF.
add_layer() { # LAYOUT DIR|TARFILE
	local tarfile="$BATS_TEST_TMPDIR/layer.$$.$RANDOM.tar"
	if [[ -d "$2" ]]; then
		tar --numeric-owner --sort=name -C "$2" -cf "$tarfile" .
	else
		cp "$2" "$tarfile"
	fi
	LAYER_DIFF=sha256:$(sha256sum "$tarfile" | cut -d' ' -f1)
	gzip -n -c "$tarfile" >"$tarfile.gz"
	local d s
	read -r d s < <(add_blob "$1" "$tarfile.gz")
	LAYER_DESC='{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"'$d'","size":'$s'}'
	rm -f "$tarfile" "$tarfile.gz"
}

# Makes an image manifest in LAYOUT from layer dirs; sets MANIFEST_DESC (JSON, no platform).
make_manifest() { # LAYOUT ARCH DIR...
	local layout=$1 arch=$2
	shift 2
	local descs="" diffs=""
	for dir in "$@"; do
		add_layer "$layout" "$dir"
		descs+="${descs:+,}$LAYER_DESC"
		diffs+="${diffs:+,}\"$LAYER_DIFF\""
	done
	local cfg="$BATS_TEST_TMPDIR/config.json"
	printf '{"architecture":"%s","os":"linux","created":"2024-01-01T00:00:00Z","config":{"Env":["PATH=/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' "$arch" "$diffs" >"$cfg"
	local cd cs
	read -r cd cs < <(add_blob "$layout" "$cfg")
	local man="$BATS_TEST_TMPDIR/manifest.json"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[%s]}' "$cd" "$cs" "$descs" >"$man"
	local md ms
	read -r md ms < <(add_blob "$layout" "$man")
	MANIFEST_DESC='{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"'$md'","size":'$ms
}

# Writes index.json naming one manifest (or index) descriptor as TAG.
write_index() { # LAYOUT DESC(without closing brace) TAG
	echo '{"imageLayoutVersion":"1.0.0"}' >"$1/oci-layout"
	printf '{"schemaVersion":2,"manifests":[%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' "$2" "$3" >"$1/index.json"
}

# Pushes LAYOUT:TAG to the registry as REPO:TAG.
push_layout() { # LAYOUT TAG REPO [skopeo flags]
	local layout=$1 tag=$2 repo=$3
	shift 3
	skopeo copy -q --dest-tls-verify=false "$@" "oci:$layout:$tag" "docker://$REGISTRY/$repo:$tag"
}

# Three layers on busybox: a whiteout, an opaque dir, a hardlink, symlinks, odd modes.
make_layer_dirs() { # BASE
	local b=$1
	mkdir -p "$b/l1" "$b/l2" "$b/l3"
	cp -a "$BUSYBOX/." "$b/l1/"
	mkdir -p "$b/l1/data/old" "$b/l1/opq"
	echo one >"$b/l1/data/gone.txt"
	echo keep >"$b/l1/data/keep.txt"
	echo hidden >"$b/l1/opq/hidden.txt"
	mkdir -p "$b/l2/data" "$b/l2/opq" "$b/l2/srv"
	: >"$b/l2/data/.wh.gone.txt"
	: >"$b/l2/opq/.wh..wh..opq"
	echo fresh >"$b/l2/opq/fresh.txt"
	echo linked >"$b/l2/srv/original"
	ln "$b/l2/srv/original" "$b/l2/srv/hardlink"
	ln -s original "$b/l2/srv/symlink"
	ln -s /etc/passwd "$b/l2/srv/abs-symlink"
	mkdir -p "$b/l3/srv"
	echo setuid >"$b/l3/srv/tool"
	chown 1234:5678 "$b/l3/srv/tool"
	chmod 4750 "$b/l3/srv/tool" # after chown, which clears set-id bits
	mkdir -p "$b/l3/$(printf 'd%.0s' {1..120})"
	echo long >"$b/l3/$(printf 'd%.0s' {1..120})/$(printf 'f%.0s' {1..200})"
}

# What the merged rootfs of make_layer_dirs' image must hold.
check_layered_rootfs() { # ROOTFS
	local r=$1
	[[ -x "$r/bin/busybox" ]] || fail "busybox missing"
	cmp "$r/bin/busybox" "$BUSYBOX/bin/busybox" || fail "busybox differs"
	[[ ! -e "$r/data/gone.txt" ]] || fail "whiteout did not remove data/gone.txt"
	assert_equal "$(cat "$r/data/keep.txt")" keep
	[[ ! -e "$r/opq/hidden.txt" ]] || fail "opaque dir still shows hidden.txt"
	assert_equal "$(cat "$r/opq/fresh.txt")" fresh
	assert_equal "$(stat -c %i "$r/srv/original")" "$(stat -c %i "$r/srv/hardlink")" "hardlink inode"
	assert_equal "$(readlink "$r/srv/symlink")" original
	assert_equal "$(readlink "$r/srv/abs-symlink")" /etc/passwd
	assert_equal "$(stat -c '%a %u %g' "$r/srv/tool")" "4750 1234 5678"
	assert_equal "$(cat "$r/$(printf 'd%.0s' {1..120})/$(printf 'f%.0s' {1..200})")" long
	assert_equal "$(readlink "$r/bin/sh")" "$(readlink "$BUSYBOX/bin/sh")"
}

# A logging proxy (proxy.py) in front of the registry; sets PROXY=127.0.0.1:PORT and
# PROXY_LOG (one JSON line per request). Stopped by proxy_stop.
proxy_start() { # [proxy.py flags]
	PROXY_LOG="$BATS_TEST_TMPDIR/proxy.log"
	local portfile="$BATS_TEST_TMPDIR/proxy.port"
	rm -f "$portfile" "$PROXY_LOG"
	: >"$PROXY_LOG"
	python3 "$BATS_TEST_DIRNAME/proxy.py" "${REGISTRY##*:}" "$PROXY_LOG" "$portfile" "$@" \
		>"$BATS_TEST_TMPDIR/proxy.out" 2>&1 3>&- &
	PROXY_PID=$!
	for _ in $(seq 100); do
		[[ -s "$portfile" ]] && break
		sleep 0.05
	done
	PROXY=127.0.0.1:$(cat "$portfile")
}

proxy_stop() {
	[[ -n "${PROXY_PID:-}" ]] && kill "$PROXY_PID" 2>/dev/null
	PROXY_PID=
}

# The proxy's log as lines "METHOD PATH STATUS key=value..." for the request headers named.
proxy_requests() { # HEADER...
	python3 - "$PROXY_LOG" "$@" <<-'PY'
	import json, sys
	for line in open(sys.argv[1]):
	    r = json.loads(line)
	    extra = " ".join(f"{h}={r['headers'].get(h, '-')}" for h in sys.argv[2:])
	    print(r["method"], r["path"], r.get("status"), extra, "cut" if r.get("cut") else "")
	PY
}

# busybox plus 3 MB of random bytes (incompressible: its gzip blob stays that big), pushed as
# REPO:v1. Sets BIG_BLOB/BIG_SIZE (the random layer's blob), BIG_RANDOM (the file), and
# WANT_DIGEST (the manifest's digest). For setup_file. SKOPEO_CREDS=user:pass when the
# registry wants them.
push_big_image() { # REPO
	local b="$BATS_FILE_TMPDIR/src"
	mkdir -p "$b/base" "$b/big/data"
	cp -a "$BUSYBOX/." "$b/base/"
	head -c 3000000 /dev/urandom >"$b/big/data/random"
	export BIG_RANDOM="$BATS_FILE_TMPDIR/random"
	cp "$b/big/data/random" "$BIG_RANDOM"
	local layout="$BATS_FILE_TMPDIR/layout"
	BATS_TEST_TMPDIR="$BATS_FILE_TMPDIR" make_manifest "$layout" amd64 "$b/base" "$b/big"
	BIG_BLOB=$(sed 's/.*"digest":"\([^"]*\)".*/\1/' <<<"$LAYER_DESC")
	BIG_SIZE=$(sed 's/.*"size":\([0-9]*\).*/\1/' <<<"$LAYER_DESC")
	export BIG_BLOB BIG_SIZE
	write_index "$layout" "$MANIFEST_DESC" v1
	local copy_creds=() inspect_creds=()
	if [[ -n "${SKOPEO_CREDS:-}" ]]; then
		copy_creds=(--dest-creds "$SKOPEO_CREDS")
		inspect_creds=(--creds "$SKOPEO_CREDS")
	fi
	push_layout "$layout" v1 "$1" "${copy_creds[@]}"
	WANT_DIGEST=$(skopeo inspect --tls-verify=false "${inspect_creds[@]}" --format '{{.Digest}}' "docker://$REGISTRY/$1:v1")
	export WANT_DIGEST
	rm -rf "$b"
}
