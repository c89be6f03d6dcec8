# Helpers for the husk doctor / bootstrap / init tests.
#
# Every husk call gets its own --root/--runroot under $TEST_TMP, so the doctor's overlay
# probe and disk check look at the test's filesystem and never at /var/lib/husk.

load ../helpers

system_setup() {
	[[ -n "${HUSK:-}" && -x "$HUSK" ]] || fail "HUSK must name the husk binary" || return 1
	[[ "$(id -u)" == 0 ]] || skip "needs root"
	TEST_TMP=$(mktemp -d /tmp/husk-system.XXXXXX)
	TEST_TMP=$(cd "$TEST_TMP" && pwd -P)
	STORE=$TEST_TMP/store
}

system_teardown() {
	[[ -n "${TEST_TMP:-}" && -d "$TEST_TMP" ]] && rm -rf "$TEST_TMP"
	return 0
}

# husk ARGS...: husk with the test's storage root.
husk() {
	"$HUSK" --root "$STORE" --runroot "$TEST_TMP/run" "$@"
}

# check_field JSON ID JQ: prints `.checks[] | select(.id == ID) | JQ` of a doctor report.
check_field() {
	jq -r --arg id "$2" ".checks[] | select(.id == \$id) | $3" <<<"$1"
}

# The machine's own answers, computed with other tools than husk's.
machine_cgroup_layout() {
	local v1=0 v2=0
	# A hierarchy counts when its mount point still holds that filesystem (not hidden).
	while read -r mp type; do
		case "$(stat -f -c %T "$mp" 2>/dev/null)" in
		cgroupfs) [[ $type == cgroup ]] && v1=1 ;;
		cgroup2fs) [[ $type == cgroup2 ]] && v2=1 ;;
		esac
	done < <(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { print $5, $(i + 1); break } }' \
		/proc/self/mountinfo | grep -E ' cgroup2?$')
	if ((v1 && v2)); then echo hybrid; elif ((v1)); then echo v1; elif ((v2)); then echo v2; else echo none; fi
}

# 1 when this process lacks capability number $1 in its effective set.
machine_lacks_cap() {
	local eff
	eff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
	(((0x$eff >> $1) & 1)) && echo 0 || echo 1
}

machine_nft_works() {
	unshare --net nft 'add table ip t; add chain ip t c { type nat hook postrouting priority 100; }; add rule ip t c masquerade' >/dev/null 2>&1 && echo true || echo false
}
