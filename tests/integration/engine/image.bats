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
	run h run --rm --name once busybox true
	[ "$status" -eq 0 ]
	# Gone when run returns: no listing, the name is free, and the image is not in use.
	[ -z "$(h ps -aq)" ]
	h create --name once busybox true >/dev/null
	h rm once >/dev/null
	# The rootfs, the runtime's state and the files go just after the exit code was sent.
	eventually sh -c "[ -z \"\$(ls '$T/root/containers')\" ]"
	eventually sh -c "! grep -qF ' $T/' /proc/self/mountinfo"
	[ "$(jq '.containers | length' "$T/root/images.json")" -eq 0 ]
	run h run --rm --pull never no-such-image:latest true
	[ "$status" -eq 125 ]
	[[ "$output" == *"no-such-image"* ]]
	h run -d --rm --name bg busybox sleep 0.3 >/dev/null
	eventually sh -c "[ -z \"\$(${H[*]} ps -aq)\" ]"
}

@test "rmi right after run --rm: the image is not in use by the container just removed" {
	for i in 1 2 3; do
		h run --rm busybox true
		h rmi busybox >/dev/null
		[ -z "$(h images -q)" ]
		[ -z "$(ls "$T/root/containers")" ]
		! grep -qF " $T/" /proc/self/mountinfo
		h load -i "$ARCHIVE" >/dev/null
	done
}

@test "a --rm removal whose cleanup never ran is finished by container prune and by rmi" {
	# The monitor's cleanup is `husk container-cleanup`: pointed at `true`, it does nothing,
	# which leaves what a cleanup killed at its start leaves.
	HUSK_BINARY=/bin/true h run --rm --name gone busybox true
	HUSK_BINARY=/bin/true h run --rm --name gone2 busybox true
	[ -z "$(h ps -aq)" ]
	[ "$(ls "$T/root/containers" | wc -l)" -eq 2 ]
	[ "$(grep -cF " $T/root/containers/" /proc/self/mountinfo)" -eq 2 ]
	[ "$(jq '.containers | length' "$T/root/images.json")" -eq 2 ]
	# Names are free at once.
	h create --name gone busybox true >/dev/null
	h rm gone >/dev/null
	h container prune -f >/dev/null
	[ -z "$(ls "$T/root/containers")" ]
	! grep -qF " $T/" /proc/self/mountinfo
	[ "$(jq '.containers | length' "$T/root/images.json")" -eq 0 ]
	[ -z "$(ls -A "$T/run/runtime" | grep -v '^@cache$')" ]
	# rmi finishes such removals before it decides whether the image is in use.
	HUSK_BINARY=/bin/true h run --rm busybox true
	h rmi busybox >/dev/null
	[ -z "$(ls "$T/root/containers")" ]
	! grep -qF " $T/" /proc/self/mountinfo
}
