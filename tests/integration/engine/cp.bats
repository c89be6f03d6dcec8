#!/usr/bin/env bats
# husk cp: docker cp's rules in both directions, tar streams, -a and -L, running, created and
# exited containers, volumes and bind mounts, and hostile symlinks that must never reach a
# host file (checked from outside).
load engine_helpers

setup_file() { engine_setup_file; }
setup() {
	engine_setup
	# What a hostile container points at: a host directory with a secret and a file to keep.
	V=$(mktemp -d /tmp/husk-cp-victim.XXXXXX)
	echo host-secret >"$V/secret"
	chmod 600 "$V/secret"
	SUM_BEFORE=$(find "$V" -printf '%p %m %s %T@\n' && cat "$V/secret")
}
teardown() {
	local after=""
	[ -n "${V:-}" ] && after=$(find "$V" -printf '%p %m %s %T@\n' && cat "$V/secret")
	[ -n "${V:-}" ] && rm -rf "$V"
	engine_teardown
	[ "$after" = "${SUM_BEFORE:-}" ] || { echo "host directory $V changed" >&2; return 1; }
}

@test "cp: docker cp's SRC/DEST rules, both directions, running container" {
	h run -d --name ctr --rootfs "$RF" sleep 60 >/dev/null
	mkdir -p "$T/src/sub"
	echo one >"$T/src/f1"
	echo two >"$T/src/sub/f2"
	chmod 750 "$T/src/sub"
	# A file into a directory (its basename), to a new name, onto an existing file.
	h cp "$T/src/f1" ctr:/tmp
	h cp "$T/src/f1" ctr:/tmp/renamed
	echo changed >"$T/f1b"
	h cp "$T/f1b" ctr:/tmp/renamed
	[ "$(h exec ctr cat /tmp/f1)" = one ]
	[ "$(h exec ctr cat /tmp/renamed)" = changed ]
	# A directory into an existing directory, to a new name, and its contents with /.
	h cp "$T/src" ctr:/tmp
	h cp "$T/src" ctr:/tmp/newdir
	h exec ctr mkdir /tmp/merge
	h cp "$T/src/." ctr:/tmp/merge
	[ "$(h exec ctr cat /tmp/src/sub/f2 /tmp/newdir/f1 /tmp/merge/sub/f2)" = "two
one
two" ]
	[ "$(h exec ctr stat -c %a /tmp/src/sub)" = 750 ]
	# Errors as docker's.
	run h cp "$T/src" ctr:/tmp/f1
	[ "$status" -ne 0 ]
	[[ "$output" == *"cannot copy a directory to a file"* ]]
	run h cp "$T/src/f1" ctr:/nonexistent/dir/f
	[ "$status" -ne 0 ]
	[[ "$output" == *"parent directory"* ]]
	run h cp "$T/src/f1" ctr:/tmp/missing/
	[ "$status" -ne 0 ]
	[[ "$output" == *"does not exist"* ]]
	run h cp ctr:/no/such "$T/out"
	[ "$status" -ne 0 ]
	[[ "$output" == *"no such file"*"/no/such"* ]]
	run h cp "$T/src/f1/" ctr:/tmp
	[ "$status" -ne 0 ]
	run h cp "$T/src/f1" "$T/other"
	[ "$status" -ne 0 ]
	[[ "$output" == *"at least one container"* ]]
	# Back to the host.
	h cp ctr:/tmp/src "$T/back"
	diff -r "$T/src" "$T/back"
	h cp ctr:/etc/passwd "$T"
	cmp "$T/passwd" "$RF/etc/passwd"
	mkdir "$T/into"
	h cp ctr:/tmp/src/. "$T/into"
	[ "$(cat "$T/into/sub/f2")" = two ]
}

@test "cp: created and exited containers, image containers, -a keeps owners, -L follows" {
	h create --name made --rootfs "$RF" true >/dev/null
	echo created >"$T/f"
	h cp "$T/f" made:/f
	[ "$(cat "$RF/f")" = created ]
	h run --name ran --rootfs "$RF" sh -c 'echo exited > /exited.txt; mkdir /own; chown 123:456 /own; echo x > /own/file; chown 7:8 /own/file; ln -s /exited.txt /link'
	h cp ran:/exited.txt "$T/out"
	[ "$(cat "$T/out")" = exited ]
	# Without -a the copy belongs to the writer (root); with -a it keeps uid/gid.
	h cp ran:/own "$T/plain"
	[ "$(stat -c %u:%g "$T/plain" "$T/plain/file" | tr '\n' ' ')" = "0:0 0:0 " ]
	h cp -a ran:/own "$T/kept"
	[ "$(stat -c %u:%g "$T/kept" "$T/kept/file" | tr '\n' ' ')" = "123:456 7:8 " ]
	# A symlink is copied as a link; -L copies what it points at (inside the container).
	h cp ran:/link "$T/asis"
	[ "$(readlink "$T/asis")" = /exited.txt ]
	h cp -L ran:/link "$T/followed"
	[ "$(cat "$T/followed")" = exited ]
	# An image container (overlay rootfs) after it exited.
	local archive="$(dirname "$HUSK_BUSYBOX_BUNDLE")/busybox.tar"
	if [ -f "$archive" ]; then
		h load -i "$archive" >/dev/null
		h run --name img busybox sh -c 'echo from-image > /made'
		h cp img:/made "$T/img"
		[ "$(cat "$T/img")" = from-image ]
		h cp "$T/f" img:/in
		h cp img:/in "$T/in-back"
		[ "$(cat "$T/in-back")" = created ]
		h rm img >/dev/null
	fi
}

@test "cp: tar streams on stdout and stdin" {
	h run -d --name ctr --rootfs "$RF" sleep 60 >/dev/null
	h exec ctr sh -c 'mkdir -p /d/e; echo deep > /d/e/f; ln -s e/f /d/l'
	h cp ctr:/d - >"$T/d.tar"
	[ "$(tar -tf "$T/d.tar" | sort | tr '\n' ' ')" = "d/ d/e/ d/e/f d/l " ]
	tar -xOf "$T/d.tar" d/e/f | grep -qx deep
	h cp ctr:/d/. - | tar -tf - | grep -qx 'e/f'
	mkdir -p "$T/tree/x"
	echo streamed >"$T/tree/x/y"
	tar -C "$T/tree" -czf - . | h cp - ctr:/tmp
	[ "$(h exec ctr cat /tmp/x/y)" = streamed ]
	# The whole container: /proc and /sys come as empty directories, not their contents.
	h cp ctr:/ - | tar -tf - >"$T/all"
	grep -qx 'd/e/f' "$T/all"
	grep -qx 'proc/' "$T/all"
	[ -z "$(grep '^proc/.' "$T/all")" ]
	[ -z "$(grep '^sys/.' "$T/all")" ]
	run h cp - ctr:/tmp/x/y </dev/null
	[ "$status" -ne 0 ]
	[[ "$output" == *"must be a directory"* ]]
}

@test "cp: hostile symlinks in the container never reach host files" {
	h run -d --name ctr --rootfs "$RF" sleep 60 >/dev/null
	h exec ctr sh -c "ln -s $V /abs; ln -s ../../../../../../../..$V /rel; ln -s $V/secret /victim; ln -s /etc/shadow /shadow"
	echo attacker >"$T/payload"
	for target in "ctr:/abs/secret" "ctr:/rel/secret" "ctr:/abs/" "ctr:/rel/new"; do
		run h cp "$T/payload" "$target"
		[ "$status" -ne 0 ]
	done
	# The last component: the link itself is replaced inside the container.
	h cp "$T/payload" ctr:/victim
	[ "$(h exec ctr cat /victim)" = attacker ]
	# Reads: the links resolve inside the container (where they lead nowhere).
	for src in ctr:/abs/secret ctr:/rel/secret ctr:/shadow/; do
		run h cp -L "$src" "$T/read"
		[ "$status" -ne 0 ]
		[ ! -e "$T/read" ]
	done
	run h cp -L ctr:/shadow "$T/read"
	[ "$status" -ne 0 ]
	[ ! -e "$T/read" ]
	h exec ctr sh -c 'echo container-shadow > /etc/shadow'
	h cp -L ctr:/shadow "$T/read"
	[ "$(cat "$T/read")" = container-shadow ]
	# A stopped container: the same through its rootfs on the host.
	h stop -t 0 ctr >/dev/null
	run h cp "$T/payload" ctr:/rel/secret
	[ "$status" -ne 0 ]
	run h cp -L ctr:/rel/secret "$T/read"
	[ "$status" -ne 0 ]
	# A tar stream climbing out of DEST, or through a link it planted itself.
	python3 - "$T/evil.tar" "$V" <<-'EOF'
		import io, sys, tarfile
		with tarfile.open(sys.argv[1], "w") as t:
		    l = tarfile.TarInfo("up"); l.type = tarfile.SYMTYPE; l.linkname = sys.argv[2]
		    t.addfile(l)
		    data = b"pwned\n"
		    for name in ("up/pwned", "../../../../../../.." + sys.argv[2] + "/pwned2"):
		        f = tarfile.TarInfo(name); f.size = len(data)
		        t.addfile(f, io.BytesIO(data))
	EOF
	run h cp - ctr:/tmp <"$T/evil.tar"
	[ "$status" -ne 0 ]
	[ ! -e "$V/pwned" ]
	[ ! -e "$V/pwned2" ]
}

@test "cp: volumes and bind mounts are copied into and out of, read-only ones refuse" {
	mkdir "$T/bind" "$T/robind"
	echo from-host >"$T/robind/ro"
	h run -d --name ctr -v vol:/vol -v "$T/bind:/bind" -v "$T/robind:/ro:ro" --rootfs "$RF" sleep 60 >/dev/null
	echo payload >"$T/p"
	h cp "$T/p" ctr:/vol/in-volume
	h cp "$T/p" ctr:/bind/in-bind
	[ "$(cat "$(h volume inspect -f '{{.Mountpoint}}' vol)/in-volume")" = payload ]
	[ "$(cat "$T/bind/in-bind")" = payload ]
	run h cp "$T/p" ctr:/ro/x
	[ "$status" -ne 0 ]
	[[ "$output" == *"ead-only"* ]]
	h cp ctr:/ro/ro "$T/ro-out"
	[ "$(cat "$T/ro-out")" = from-host ]
	# Stopped: the same view, through the volumes bound on the rootfs for the copy only.
	h stop -t 0 ctr >/dev/null
	h cp "$T/p" ctr:/vol/while-stopped
	[ "$(cat "$(h volume inspect -f '{{.Mountpoint}}' vol)/while-stopped")" = payload ]
	h cp ctr:/bind/in-bind "$T/bind-out"
	[ "$(cat "$T/bind-out")" = payload ]
	run h cp "$T/p" ctr:/ro/x
	[ "$status" -ne 0 ]
	[ ! -e "$T/robind/x" ]
	# Nothing was written to the rootfs under the mount points, nothing stays mounted.
	[ ! -e "$RF/vol/while-stopped" ]
	[ ! -e "$RF/bind/in-bind" ]
	[ -z "$(grep -F " $RF/" /proc/self/mountinfo)" ]
	# --read-only: the rootfs refuses, its volume still takes files.
	h create --name ro --read-only -v vol:/vol --rootfs "$RF" true >/dev/null
	run h cp "$T/p" ro:/etc/x
	[ "$status" -ne 0 ]
	h cp "$T/p" ro:/vol/ro-ok
}
