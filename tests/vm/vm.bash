# Helpers for the VM tests: one guest boot per .bats file (in setup_file), one @test per
# guest check, each reading its result line from the serial log.
#
# Environment (set by CTest): HUSK_RUNTIME, HUSK (optional), HUSK_BUSYBOX_BUNDLE,
# HUSK_SOURCE_DIR, HUSK_BUILD_DIR. HUSK_VM_CACHE: the kernel cache (default: see
# lib/fetch-kernel; under CI ($CI set): $HUSK_BUILD_DIR/vm-cache). The serial logs are kept
# in $HUSK_BUILD_DIR/vm-logs/<file>.log (or $BATS_FILE_TMPDIR when there is no build dir).

bats_require_minimum_version 1.5.0

VM_LIB=$BATS_TEST_DIRNAME/lib
VM_GUEST=$BATS_TEST_DIRNAME/guest

# vm_boot MODE SCENARIO [RUN-VM OPTIONS...]: boots the guest once for the file. Fails loudly
# (every test of the file then fails) when qemu, the kernel or the binaries are missing;
# skips when not root (the guest needs nothing from the host, but the tests of this tree
# are run as root, and KVM needs /dev/kvm access).
vm_boot() {
	local mode=$1 scenario=$2
	shift 2
	[[ "$(id -u)" == 0 ]] || skip "VM tests run as root"
	local name logs
	name=$(basename "$BATS_TEST_FILENAME" .bats)
	logs=${HUSK_BUILD_DIR:+$HUSK_BUILD_DIR/vm-logs}
	logs=${logs:-$BATS_FILE_TMPDIR}
	mkdir -p "$logs"
	VM_LOG=$logs/$name.log
	export VM_LOG
	rm -f "$VM_LOG"
	if [[ -n "${CI:-}" && -z "${HUSK_VM_CACHE:-}" && -n "${HUSK_BUILD_DIR:-}" ]]; then
		export HUSK_VM_CACHE=$HUSK_BUILD_DIR/vm-cache
	fi
	command -v qemu-system-x86_64 >/dev/null ||
		{ echo "qemu-system-x86_64 not found: install qemu-system-x86 (scripts/install-deps)" >&2; return 1; }
	local t0=$SECONDS rc=0
	"$VM_LIB/run-vm" --mode "$mode" --log "$VM_LOG" "$@" "$scenario" 2>"$BATS_FILE_TMPDIR/run-vm.err" || rc=$?
	echo "# guest ($mode) ran for $((SECONDS - t0)) s: $(cat "$BATS_FILE_TMPDIR/run-vm.err" | tr '\n' ' ')" >&3
	if [[ $rc != 0 ]]; then
		echo "run-vm failed ($rc):" >&2
		cat "$BATS_FILE_TMPDIR/run-vm.err" >&2
		[[ -f "$VM_LOG" ]] && tail -n 40 "$VM_LOG" >&2
		return 1
	fi
}

# The serial log without carriage returns and terminal escapes (the firmware clears the
# screen: "ESC c ESC [?7l ESC [2J" can precede the first line of the guest's own output).
vm_log() { tr -d '\r' <"$VM_LOG" | sed -e 's/\x1bc//g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g'; }

# vm_result CHECK: passes when the guest printed "HUSK-VM-RESULT CHECK ok"; otherwise fails
# with the check's own log lines and result.
vm_result() {
	local check=$1 line
	[[ -f "$VM_LOG" ]] || { echo "no serial log (the guest did not boot)" >&2; return 1; }
	line=$(vm_log | grep -a "^HUSK-VM-RESULT $check " | tail -n 1)
	if [[ -z "$line" ]]; then
		echo "the guest printed no result for $check; end of the serial log ($VM_LOG):" >&2
		vm_log | tail -n 30 >&2
		return 1
	fi
	# The check's log: the "  | " lines since the previous check ended.
	vm_log | awk -v c="$check" '
		/^  \| .* took [0-9]+ ms$/ { buf = ""; next }
		/^HUSK-VM-RESULT / { if ($2 == c) { printf "%s", buf; print; exit } buf = ""; next }
		/^  \| / { buf = buf $0 "\n" }' >&2
	[[ "$line" == "HUSK-VM-RESULT $check ok"* ]]
}

# vm_booted MODE: the guest came up in the expected cgroup mode and finished its scenario.
vm_booted() {
	[[ -f "$VM_LOG" ]] || { echo "no serial log" >&2; return 1; }
	vm_log | grep -aq "^HUSK-VM-BOOTED mode=$1 " ||
		{ echo "no HUSK-VM-BOOTED mode=$1 line in $VM_LOG" >&2; vm_log | tail -n 30 >&2; return 1; }
	vm_log | grep -aq "^HUSK-VM-DONE rc=0" ||
		{ echo "the scenario did not finish cleanly" >&2; vm_log | tail -n 30 >&2; return 1; }
}
