# Helpers for the build tests: husk with a private store per file (busybox loaded from the
# archive the build makes), images run with husk-runtime on a rootfs from `husk image mount`,
# and buildah with private storage for side-by-side checks.

load ../helpers

BUSYBOX_ARCHIVE=${HUSK_BUSYBOX_ARCHIVE:-$(dirname "${HUSK_BUSYBOX_BUNDLE:?}")/busybox.tar}

husk() { "$HUSK" --root "$STORE" --runroot "$STORE/run" "$@"; }

build_setup_file() {
	export STORE="$BATS_FILE_TMPDIR/store"
	mkdir -p "$STORE"
	if [[ -f "$BUSYBOX_ARCHIVE" ]]; then
		husk load -i "$BUSYBOX_ARCHIVE" >/dev/null
	else
		tar -C "$HUSK_BUSYBOX_BUNDLE/rootfs" -cf "$BATS_FILE_TMPDIR/busybox.tar" .
		husk import "$BATS_FILE_TMPDIR/busybox.tar" busybox >/dev/null
	fi
}

build_teardown_file() {
	remove_store_networks "$STORE" "$STORE/run"
	grep -o " $STORE[^ ]*" /proc/self/mountinfo 2>/dev/null | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done
	if [[ -n "${BUILDAH_ROOT:-}" && -d "$BUILDAH_ROOT" ]]; then
		buildah_ rm -a >/dev/null 2>&1 || true
		buildah_ umount -a >/dev/null 2>&1 || true
		grep -o " $BUILDAH_ROOT[^ ]*" /proc/self/mountinfo 2>/dev/null | sort -r | while read -r m; do
			umount -l "$m" 2>/dev/null || true
		done
	fi
}

# A fresh context dir for the test: $CTX.
new_context() {
	export CTX="$BATS_TEST_TMPDIR/ctx"
	rm -rf "$CTX"
	mkdir -p "$CTX"
}

# Nothing a build leaves behind: no mounts under the store, no temp dirs, no containers.
assert_clean() {
	run grep -c " $STORE/tmp" /proc/self/mountinfo
	assert_equal "$output" "0" "mounts left under $STORE/tmp"
	assert_equal "$(ls -A "$STORE/tmp" 2>/dev/null)" "" "temp entries left in $STORE/tmp"
	assert_equal "$(ls -A "$STORE/run/build" 2>/dev/null | grep -v "^@")" "" "containers left in $STORE/run/build"
}

# config.json for a rootfs and an image config (OCI form: .config.Entrypoint ...) on stdin.
# Extra args replace Cmd, as `docker run IMAGE ARGS` does.
make_bundle() { # ROOTFS BUNDLE [ARGS...]
	local rootfs=$1 bundle=$2
	shift 2
	local image_config args_json
	image_config=$(cat)
	if (($#)); then
		args_json=$(printf '%s\n' "$@" | jq -R . | jq -s .)
	else
		args_json=null
	fi
	local user uid=0 gid=0
	user=$(jq -r '.config.User // ""' <<<"$image_config")
	if [[ -n "$user" ]]; then
		local u=${user%%:*}
		if [[ "$u" =~ ^[0-9]+$ ]]; then uid=$u; else
			uid=$(awk -F: -v n="$u" '$1==n{print $3}' "$rootfs/etc/passwd")
			gid=$(awk -F: -v n="$u" '$1==n{print $4}' "$rootfs/etc/passwd")
		fi
		if [[ "$user" == *:* ]]; then gid=${user#*:}; fi
	fi
	rm -rf "$bundle"
	mkdir -p "$bundle"
	"$HUSK_RUNTIME" spec --bundle "$bundle"
	jq --arg root "$rootfs" --argjson ic "$image_config" --argjson args "$args_json" \
		--argjson uid "${uid:-0}" --argjson gid "${gid:-0}" '
		.root = {path: $root, readonly: true}
		| .process.args = (($ic.config.Entrypoint // []) + ($args // $ic.config.Cmd // []))
		| .process.env = ($ic.config.Env // [])
		| .process.cwd = (if ($ic.config.WorkingDir // "") == "" then "/" else $ic.config.WorkingDir end)
		| .process.user = {uid: $uid, gid: $gid}' "$bundle/config.json" >"$bundle/c.json"
	mv "$bundle/c.json" "$bundle/config.json"
}

# Runs the husk-built image's Entrypoint/Cmd; output in $output.
run_husk_image() { # IMAGE [ARGS...]
	local image=$1
	shift
	local rootfs id
	rootfs=$(husk image mount "$image")
	id=$(husk image inspect "$image" | jq -r '.[0].Id')
	local config
	config=$(husk_config "$image")
	make_bundle "$rootfs" "$BATS_TEST_TMPDIR/bundle-husk" "$@" <<<"$config"
	run "$HUSK_RUNTIME" --root "$BATS_TEST_TMPDIR/rt" run -b "$BATS_TEST_TMPDIR/bundle-husk" \
		"hb-$BATS_TEST_NUMBER-$RANDOM"
	local st=$status out=$output
	husk image unmount "$image" >/dev/null
	status=$st
	output=$out
}

# The image config blob of a husk image (OCI field names).
husk_config() { # IMAGE
	local id
	id=$(husk image inspect "$1" | jq -r '.[0].Id')
	cat "$STORE/blobs/sha256/${id#sha256:}"
}

buildah_() { buildah --root "$BUILDAH_ROOT" --runroot "$BUILDAH_RUNROOT" --storage-driver vfs "$@"; }

buildah_setup() {
	export BUILDAH_ROOT="$BATS_FILE_TMPDIR/buildah-root" BUILDAH_RUNROOT="$BATS_FILE_TMPDIR/buildah-run"
	mkdir -p "$BUILDAH_ROOT" "$BUILDAH_RUNROOT"
	buildah_ pull -q "docker-archive:$BUSYBOX_ARCHIVE" >/dev/null
}

buildah_build() { # ARGS... (as for bud)
	buildah_ bud --isolation chroot --pull-never --format docker -q "$@"
}

# Runs a buildah-built image the same way as run_husk_image.
run_buildah_image() { # IMAGE [ARGS...]
	local image=$1
	shift
	local ctr rootfs config
	ctr=$(buildah_ from --pull-never "$image")
	rootfs=$(buildah_ mount "$ctr")
	config=$(buildah_ inspect --type image "$image" | jq '.OCIv1')
	make_bundle "$rootfs" "$BATS_TEST_TMPDIR/bundle-buildah" "$@" <<<"$config"
	run "$HUSK_RUNTIME" --root "$BATS_TEST_TMPDIR/rt" run -b "$BATS_TEST_TMPDIR/bundle-buildah" \
		"bb-$BATS_TEST_NUMBER-$RANDOM"
	local st=$status out=$output
	buildah_ umount "$ctr" >/dev/null
	buildah_ rm "$ctr" >/dev/null
	status=$st
	output=$out
}
