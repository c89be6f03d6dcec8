#!/usr/bin/env bats
# `husk run IMAGE` through the image store (src/image): the archive `husk load -i` takes,
# the image's config applied as Docker does, the rootfs given back at rm.
load engine_helpers

setup_file() {
	engine_setup_file
	export ARCHIVE="$(dirname "$HUSK_BUSYBOX_BUNDLE")/busybox.tar"
}
setup() {
	engine_setup
	[ -f "$ARCHIVE" ] || skip "no $ARCHIVE (build the busybox-archive target)"
	h load -i "$ARCHIVE" >/dev/null
}
teardown() { engine_teardown; }

@test "run IMAGE: the image's rootfs and defaults, writes stay in the container" {
	run h run --name img busybox sh -c 'echo "$PATH"; echo hello > /created; cat /created'
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"/bin"* ]]
	[ "${lines[1]}" = hello ]
	[ "$(h inspect -f '{{.Config.Image}}' img)" = busybox ]
	[[ "$(h inspect -f '{{.Image}}' img)" == sha256:* ]]
	# Another container from the same image does not see the first one's write.
	run h run --rm busybox test -e /created
	[ "$status" -eq 1 ]
	h rm img
	[ -z "$(h ps -aq)" ]
}

@test "run --rm IMAGE removes the container and its rootfs; unknown images fail with 125" {
	run h run --rm busybox true
	[ "$status" -eq 0 ]
	[ -z "$(h ps -aq)" ]
	[ -z "$(ls "$T/root/containers")" ]
	run h run --rm --pull never no-such-image:latest true
	[ "$status" -eq 125 ]
	[[ "$output" == *"no-such-image"* ]]
	h run -d --rm --name bg busybox sleep 0.3 >/dev/null
	eventually sh -c "[ -z \"\$(${H[*]} ps -aq)\" ]"
}
