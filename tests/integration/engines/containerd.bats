#!/usr/bin/env bats
# husk-runtime under containerd 1.6 (Debian 12): a containerd of the test's own (root, state,
# socket and config under a temp dir, CRI off), the runc v2 shim pointed at the built binary
# with `ctr run --runc-binary`, the shim's runtime root under the temp dir (`--runc-root`),
# and an image made by the test as a docker-archive from the bundled busybox rootfs.
#
# The shim's own socket lives in /run/containerd/s/ (a path containerd 1.6 fixes); it is
# removed when the shim exits.

setup_file() {
	export CT_DIR CT_NS=husk-ct CT_IMAGE=localhost/husk-busybox:ct
	CT_DIR=$(mktemp -d /tmp/husk-containerd.XXXXXX)
	export CT_SOCK="$CT_DIR/containerd.sock" CT_RUNC_ROOT="$CT_DIR/runc-root"
	export CT_FIFO="$CT_DIR/fifo"
	mkdir -p "$CT_FIFO"
	cat >"$CT_DIR/config.toml" <<CONF
version = 2
root = "$CT_DIR/root"
state = "$CT_DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CT_SOCK"
[ttrpc]
  address = "$CT_DIR/containerd.sock.ttrpc"
[debug]
  address = "$CT_DIR/debug.sock"
[metrics]
  address = ""
CONF
	containerd --config "$CT_DIR/config.toml" >"$CT_DIR/containerd.log" 2>&1 &
	echo $! >"$CT_DIR/containerd.pid"
	local n=0
	until ctr --address "$CT_SOCK" version >/dev/null 2>&1; do
		n=$((n + 1))
		if [ "$n" -gt 100 ]; then
			echo "containerd did not come up:" >&2
			tail -20 "$CT_DIR/containerd.log" >&2
			return 1
		fi
		sleep 0.1
	done
	make_docker_archive "$CT_DIR/image"
	ctr --address "$CT_SOCK" -n "$CT_NS" images import "$CT_DIR/image.tar" >/dev/null
}

# A docker-archive (`docker save` format) by hand: one layer tar, its config (diff_ids = the
# layer's sha256) and manifest.json naming both and the tag.
make_docker_archive() {
	local dir=$1 layer_sha config_sha
	mkdir -p "$dir"
	tar -C "$HUSK_BUSYBOX_BUNDLE/rootfs" -cf "$dir/layer.tar" .
	layer_sha=$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)
	cat >"$dir/config.json" <<JSON
{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:$layer_sha"]},"history":[{"created_by":"husk containerd.bats"}]}
JSON
	config_sha=$(sha256sum "$dir/config.json" | cut -d' ' -f1)
	mv "$dir/config.json" "$dir/$config_sha.json"
	printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer.tar"]}]\n' \
		"$config_sha" "$CT_IMAGE" >"$dir/manifest.json"
	tar -C "$dir" -cf "$CT_DIR/image.tar" manifest.json "$config_sha.json" layer.tar
}

teardown_file() {
	local id
	for id in $(ctr --address "$CT_SOCK" -n "$CT_NS" tasks list -q 2>/dev/null); do
		ctr --address "$CT_SOCK" -n "$CT_NS" tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
		timeout 10 ctr --address "$CT_SOCK" -n "$CT_NS" tasks delete -f "$id" >/dev/null 2>&1 || true
	done
	for id in $(ctr --address "$CT_SOCK" -n "$CT_NS" containers list -q 2>/dev/null); do
		ctr --address "$CT_SOCK" -n "$CT_NS" containers delete "$id" >/dev/null 2>&1 || true
	done
	if [ -s "$CT_DIR/containerd.pid" ]; then
		local pid
		pid=$(cat "$CT_DIR/containerd.pid")
		kill "$pid" 2>/dev/null || true
		local n=0
		while kill -0 "$pid" 2>/dev/null && [ "$n" -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
		kill -9 "$pid" 2>/dev/null || true
	fi
	grep -F " $CT_DIR/" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l
	rm -rf "$CT_DIR"
	# ctr's default spec puts each container at /<namespace>/<id> in every hierarchy.
	local d
	for d in /sys/fs/cgroup/*/"$CT_NS" /sys/fs/cgroup/unified/"$CT_NS"; do
		[ -d "$d" ] || continue
		find "$d" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null || true
		rmdir "$d" 2>/dev/null || true
	done
}

c() { timeout 60 ctr --address "$CT_SOCK" -n "$CT_NS" "$@"; }
crun_() { c run --runc-binary "$HUSK_RUNTIME" --runc-root "$CT_RUNC_ROOT" --fifo-dir "$CT_FIFO" "$@"; }

@test "ctr images import of the test's docker-archive" {
	run c images list -q
	[ "$status" -eq 0 ]
	[[ "$output" == *"$CT_IMAGE"* ]]
}

@test "ctr run --rm --runc-binary: output, exit code, and husk-runtime really ran" {
	run crun_ --rm "$CT_IMAGE" hk-rm sh -c 'echo "hello from pid $$"; exit 7'
	[ "$status" -eq 7 ]
	[[ "$output" == *"hello from pid 1"* ]]
	run crun_ --rm "$CT_IMAGE" hk-rm2 true
	[ "$status" -eq 0 ]
	# The shim called the given binary: its state root is the one ctr passed (<root>/<ns>),
	# and after --rm no container is left in it.
	[ -d "$CT_RUNC_ROOT/$CT_NS" ]
	run "$HUSK_RUNTIME" --root "$CT_RUNC_ROOT/$CT_NS" list -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "ctr run -d, task ps, task exec, task kill, task delete" {
	run crun_ -d "$CT_IMAGE" hk-life sh -c 'trap "exit 0" TERM; while true; do sleep 0.2; done'
	[ "$status" -eq 0 ]
	# husk-runtime holds the container the shim made.
	run "$HUSK_RUNTIME" --root "$CT_RUNC_ROOT/$CT_NS" state hk-life
	[ "$status" -eq 0 ]
	[[ "$output" == *'"status": "running"'* || "$output" == *'"status":"running"'* ]]
	local init_pid
	init_pid=$(c task list | awk '$1 == "hk-life" { print $2 }')
	[ -n "$init_pid" ]
	# task ps goes through `husk-runtime ps --format json`.
	run c task ps hk-life
	[ "$status" -eq 0 ]
	[[ "$output" == *"$init_pid"* ]]
	run c task exec --exec-id ex1 hk-life sh -c 'echo "exec sees pid1: $(cat /proc/1/cmdline | tr "\0" " ")"; exit 4'
	[ "$status" -eq 4 ]
	[[ "$output" == *"exec sees pid1: sh -c trap"* ]]
	run c task kill -s SIGTERM hk-life
	[ "$status" -eq 0 ]
	local n=0
	until c task list | awk '$1 == "hk-life" { print $3 }' | grep -qx STOPPED; do
		n=$((n + 1)); [ "$n" -lt 50 ] || { c task list; return 1; }; sleep 0.1
	done
	run c task delete hk-life
	[ "$status" -eq 0 ]
	[[ "$output" == *"status: 0"* || -z "$output" ]]
	run c container delete hk-life
	[ "$status" -eq 0 ]
	run "$HUSK_RUNTIME" --root "$CT_RUNC_ROOT/$CT_NS" state hk-life
	[ "$status" -ne 0 ]
}

@test "errors from husk-runtime reach ctr through the shim's log.json" {
	# A process cwd that is a file in the image: create must fail, and the runtime's own
	# message (naming the path) must come back through the shim.
	run crun_ --rm --cwd /bin/busybox "$CT_IMAGE" hk-bad true
	[ "$status" -ne 0 ]
	[[ "$output" == *"/bin/busybox"*"ot a directory"* ]]
	c container delete hk-bad >/dev/null 2>&1 || true
	# A config husk-runtime refuses while parsing it: the field's name comes back.
	run crun_ --rm --memory-limit 10 "$CT_IMAGE" hk-bad2 true
	[ "$status" -ne 0 ]
	[[ "$output" == *"linux.resources.memory.limit"*"below one page"* ]]
	c container delete hk-bad2 >/dev/null 2>&1 || true
	run "$HUSK_RUNTIME" --root "$CT_RUNC_ROOT/$CT_NS" list -q
	[ -z "$output" ]
}
