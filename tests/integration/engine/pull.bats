#!/usr/bin/env bats
# run/create --pull missing|always|never against a real docker-registry on 127.0.0.1, and the
# image's VOLUMEs: an anonymous volume per container with the image's content copied up.
load engine_helpers
load ../images/images

setup_file() {
	engine_setup_file
	export ARCHIVE="$(dirname "$HUSK_BUSYBOX_BUNDLE")/busybox.tar"
	[ -f "$ARCHIVE" ] || return 0
	registry_start
	# The registry's image: busybox, pushed from a scratch store.
	local s="$BATS_FILE_TMPDIR/pusher"
	"$HUSK" --root "$s" --runroot "$s/run" load -i "$ARCHIVE" >/dev/null
	"$HUSK" --root "$s" --runroot "$s/run" push -q busybox "$REGISTRY/engine/bb:v1"
}
teardown_file() { registry_stop; }
setup() {
	engine_setup
	[ -f "$ARCHIVE" ] || skip "no $ARCHIVE (build the busybox-archive target)"
}
teardown() { engine_teardown; }

@test "--pull missing (the default) pulls once; never fails with 125; always gets the new image" {
	local img="$REGISTRY/engine/bb:v1"
	run h run --rm --pull never "$img" true
	[ "$status" -eq 125 ]
	[[ "$output" == *"$img"*"--pull never"* ]]
	[ -z "$(ls "$T/root/containers" 2>/dev/null)" ]
	run h run --rm "$img" echo pulled
	[ "$status" -eq 0 ]
	[[ "$output" == *"Unable to find image"* ]]
	[ "${lines[-1]}" = pulled ]
	# Now in the store: missing and never run it without asking the registry.
	run h run --rm --pull never "$img" echo cached
	[ "$status" -eq 0 ]
	[ "$output" = cached ]
	run h create --pull missing --name made "$img" true
	[ "$status" -eq 0 ]
	[[ "$output" != *"Unable to find"* ]]
	# The registry's tag moves to another image: always takes it, missing keeps the old one.
	local s="$BATS_TEST_TMPDIR/pusher2"
	mkdir -p "$T/newfs"
	cp -a "$RF/." "$T/newfs"
	echo v2 >"$T/newfs/version"
	tar -C "$T/newfs" -cf "$T/new.tar" .
	"$HUSK" --root "$s" --runroot "$s/run" import "$T/new.tar" moved:latest >/dev/null
	"$HUSK" --root "$s" --runroot "$s/run" push -q moved:latest "$img"
	run h run --rm "$img" cat /version
	[ "$status" -ne 0 ]
	run h run --rm --pull always "$img" cat /version
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = v2 ]
	# A registry without the image: a clear error, nothing created.
	run h run --rm --pull always "$REGISTRY/engine/none:v1" true
	[ "$status" -eq 125 ]
	[[ "$output" == *"engine/none"* ]]
	run h run --pull bogus "$img" true
	[ "$status" -eq 125 ]
	[[ "$output" == *"--pull"* ]]
	[ "$(h ps -aq | wc -l)" -eq 1 ]
}

@test "image VOLUME: an anonymous volume per container, copied up from the image, rm -v removes it" {
	mkdir -p "$T/ctx"
	cat >"$T/ctx/Dockerfile" <<-'EOF'
	FROM busybox
	RUN mkdir -p /data/sub && echo seeded > /data/sub/f && chown -R 12:34 /data && chmod 0750 /data
	VOLUME /data
	EOF
	h load -i "$ARCHIVE" >/dev/null
	h build -q -t withvol "$T/ctx" >/dev/null
	h run --name va withvol sh -c 'cat /data/sub/f; echo a > /data/written'
	[ "$(h logs va)" = seeded ]
	h run --name vb withvol sh -c 'cat /data/sub/f; ls /data'
	# Each container its own volume: b does not see a's write.
	[ "$(h logs vb)" = "seeded
sub" ]
	local va vb
	va=$(h inspect va | jq -r '.[0].Mounts[0].Name')
	vb=$(h inspect vb | jq -r '.[0].Mounts[0].Name')
	[ -n "$va" ]
	[ "$va" != "$vb" ]
	local mp
	mp=$(h volume inspect -f '{{.Mountpoint}}' "$va")
	[ "$(cat "$mp/written")" = a ]
	# Owners and modes came with the copy.
	[ "$(stat -c '%u:%g %a' "$mp" "$mp/sub/f" | tr '\n' ' ')" = "12:34 750 12:34 644 " ]
	# A named volume at that path replaces the anonymous one, and gets the copy-up when empty.
	h run --rm -v named:/data withvol cat /data/sub/f
	h run --rm -v named:/data withvol sh -c 'echo changed > /data/sub/f'
	[ "$(h run --rm -v named:/data withvol cat /data/sub/f)" = changed ]
	# nocopy: the empty volume stays empty.
	[ -z "$(h run --rm -v empty:/data:nocopy withvol ls /data)" ]
	# run --rm takes its anonymous volume with it, as Docker's.
	local before
	before=$(h volume ls -q | wc -l)
	h run --rm withvol true
	[ "$(h volume ls -q | wc -l)" -eq "$before" ]
	h rm -v va
	run h volume inspect "$va"
	[ "$status" -ne 0 ]
	h rm vb
	h volume inspect "$vb" >/dev/null
}
