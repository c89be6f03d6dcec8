# Helpers for the rootless tests: an unprivileged user made for the test file (useradd with
# a unique name, its own /etc/subuid and /etc/subgid ranges), husk run as that user with a
# clean environment (setpriv), and a teardown that removes the user's containers, stops its
# user namespace holder (by pid) and deletes the user.
#
# setup_file: rootless_user_setup [--no-subids]; teardown_file: rootless_user_teardown.
# As the user: `as_user husk ...` (husk and husk-runtime are on its PATH), `uh ...` for husk.

load ../helpers

rootless_user_setup() {
	local subids=1
	[[ "${1:-}" == --no-subids ]] && subids=0
	# Short and unique: user names are limited to 32 characters.
	export RL_USER="hrl$$$(printf %04x $RANDOM)"
	export RL_DIR
	RL_DIR=$(mktemp -d /tmp/husk-rootless.XXXXXX)
	chmod 0755 "$RL_DIR"
	export RL_HOME="$RL_DIR/home"
	useradd -m -d "$RL_HOME" -s /bin/sh -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$RL_USER"
	# Container ids other than root are subordinate ids on the host: they must be able to
	# reach a rootfs kept in the home (docs/RUNTIME.md, user namespaces).
	chmod 0755 "$RL_HOME"
	export RL_UID RL_GID
	RL_UID=$(id -u "$RL_USER")
	RL_GID=$(id -g "$RL_USER")
	export RL_SUBUID=""
	if [[ $subids == 1 ]]; then
		# A free range above every range already given out.
		local top
		top=$(cat /etc/subuid /etc/subgid 2>/dev/null | awk -F: '$2+$3>m{m=$2+$3} END{print m+0}')
		((top < 200000)) && top=200000
		RL_SUBUID=$(((top / 65536 + 1) * 65536))
		usermod --add-subuids "$RL_SUBUID-$((RL_SUBUID + 65535))" \
			--add-subgids "$RL_SUBUID-$((RL_SUBUID + 65535))" "$RL_USER"
	fi
	export RL_RUN="$RL_DIR/run"
	install -d -m 0700 -o "$RL_USER" -g "$RL_GID" "$RL_RUN"
	# The tools: the build dir is world-readable; PATH finds husk and husk-runtime.
	export RL_BIN
	RL_BIN=$(dirname "$HUSK")
	# pasta and slirp4netns open /dev/net/tun as the user: Debian's udev makes it 0666, this
	# VM (no udev) has it 0600. The user's commands then see a 0666 node of the same device,
	# bound over it in a mount namespace of their own; the host's node is left alone.
	export RL_TUN=""
	if [[ "$(stat -c %a /dev/net/tun 2>/dev/null)" != 666 ]]; then
		RL_TUN="$RL_DIR/tun"
		mknod -m 0666 "$RL_TUN" c 10 200
	fi
	# The same for /dev/fuse (fuse-overlayfs), which Debian's udev makes 0666 too.
	export RL_FUSE=""
	if [[ -c /dev/fuse && "$(stat -c %a /dev/fuse)" != 666 ]]; then
		RL_FUSE="$RL_DIR/fuse"
		mknod -m 0666 "$RL_FUSE" c 10 229
	fi
	export RL_TAR="$RL_DIR/busybox.tar"
	install -m 0644 "${HUSK_BUSYBOX_TAR:-$RL_BIN/images/busybox.tar}" "$RL_TAR"
}

# Runs a command as the test user, in its home, with only the variables a login would set.
as_user() {
	local wrap=()
	if [[ -n "${RL_TUN:-}${RL_FUSE:-}" ]]; then
		wrap=(unshare -m --propagation slave sh -c \
			'{ [ -z "$0" ] || mount --bind "$0" /dev/net/tun; } && { [ -z "$1" ] || mount --bind "$1" /dev/fuse; } && shift && exec "$@"' \
			"${RL_TUN:-}" "${RL_FUSE:-}")
	fi
	(cd "$RL_HOME" && "${wrap[@]}" setpriv --reuid="$RL_UID" --regid="$RL_GID" --init-groups \
		env -i HOME="$RL_HOME" USER="$RL_USER" LOGNAME="$RL_USER" \
		PATH="$RL_BIN:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" \
		XDG_RUNTIME_DIR="$RL_RUN" ${RL_ENV:-} timeout 120 "$@")
}

uh() { as_user husk "$@"; }

# The user's namespace holder, from the pid file husk keeps.
holder_pid() {
	awk '{print $1}' "$RL_RUN/husk/userns.pid" 2>/dev/null
}

rootless_user_teardown() {
	[[ -n "${RL_USER:-}" ]] || return 0
	local ids
	ids=$(uh ps -aq --no-trunc 2>/dev/null || true)
	[[ -n "$ids" ]] && uh rm -f $ids >/dev/null 2>&1
	local pid
	pid=$(holder_pid)
	if [[ -n "$pid" ]]; then
		kill -9 "$pid" 2>/dev/null
		# userdel refuses a user that still has a process.
		for _ in $(seq 50); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
	fi
	# Helpers (pasta, slirp4netns) end with their monitors, a moment after `rm -f`; userdel
	# refuses a user that still has a process. What remains was started here: stopped by pid.
	for _ in $(seq 50); do [[ -z "$(ps -u "$RL_USER" -o pid= 2>/dev/null)" ]] && break; sleep 0.1; done
	for pid in $(ps -u "$RL_USER" -o pid= 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
	sleep 0.2
	userdel -r "$RL_USER" >/dev/null 2>&1 || userdel "$RL_USER" >/dev/null 2>&1
	sed -i "/^$RL_USER:/d" /etc/subuid /etc/subgid
	# Files the user's subordinate ids own are removed as root.
	rm -rf "$RL_DIR"
}

# Fields of /proc/PID/status, read from the host: the truth about who a process is.
host_ids() { # PID FIELD(Uid|Gid)
	awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"
}
