#!/usr/bin/env bats
# Progress output of pull and push: per-blob bars redrawn in place on a terminal (run under a
# pty by pty-run.py, the transfer slowed by proxy.py so that bars are seen moving), plain
# lines when stderr is not a terminal, and only the id or digest with --quiet.

load images

setup_file() {
	registry_start
	push_big_image test/big
}

teardown_file() { registry_stop; }
setup() { images_setup; }
teardown() {
	proxy_stop
	images_teardown
}

# Replays a terminal transcript (\r, \n, ESC[nA, ESC[K, ESC[J) and prints the final screen.
screen() { # TRANSCRIPT
	python3 - "$1" <<-'PY'
	import re, sys
	data = open(sys.argv[1], "rb").read().decode()
	rows, y, x = [""], 0, 0
	for tok in re.findall(r"\x1b\[(\d*)([A-Za-z])|(\r)|(\n)|([^\x1b\r\n]+)", data):
	    n, cmd, cr, nl, text = tok
	    if cmd == "A":
	        y = max(0, y - int(n or 1))
	    elif cmd == "K":
	        rows[y] = rows[y][:x]
	    elif cmd == "J":
	        rows[y] = rows[y][:x]
	        del rows[y + 1:]
	    elif cmd:
	        raise SystemExit(f"unexpected escape {cmd!r}")
	    elif cr:
	        x = 0
	    elif nl:
	        y, x = y + 1, 0
	        if y == len(rows):
	            rows.append("")
	    elif text:
	        line = rows[y].ljust(x)
	        rows[y] = line[:x] + text + line[x + len(text):]
	        x += len(text)
	print("\n".join(r.rstrip() for r in rows).rstrip("\n"))
	PY
}

@test "progress: bars on a terminal, redrawn in place, the final state left on screen" {
	proxy_start --throttle 1500000
	run -0 python3 "$BATS_TEST_DIRNAME/pty-run.py" 100 "$BATS_TEST_TMPDIR/term" "$BATS_TEST_TMPDIR/out" -- \
		"$HUSK" --root "$STORE" --runroot "$STORE/run" pull "$PROXY/test/big:v1"
	id=$(cat "$BATS_TEST_TMPDIR/out")
	[[ $id =~ ^[0-9a-f]{64}$ ]] || fail "stdout is not just the id: $id"
	raw=$(cat -v "$BATS_TEST_TMPDIR/term")
	echo "$raw"
	# Redrawn in place: the cursor goes back up to the bars, many times over.
	(($(grep -o '\^\[\[[0-9]*A' <<<"$raw" | wc -l) >= 5)) || fail "bars were not redrawn in place"
	assert_match "$raw" "Copying blob ${BIG_BLOB:7:12} \[=+>? *\] [0-9.]+ [kM]?B / 3\.0 MB [0-9.]+ [kM]?B/s"
	run -0 screen "$BATS_TEST_TMPDIR/term"
	echo "$output"
	# One row per blob, each in its final state; no row wider than the terminal.
	assert_equal "$(grep -c "Copying blob ${BIG_BLOB:7:12}" <<<"$output")" 1
	assert_contains "$output" "Copying blob ${BIG_BLOB:7:12} done  3.0 MB"
	assert_equal "$(grep -c 'Copying blob .* done' <<<"$output")" 2
	assert_not_contains "$output" "["
	assert_contains "$output" "Writing manifest to image destination"
	(($(wc -L <<<"$output") < 100)) || fail "a line is wider than the terminal"

	# Push at a terminal: the blobs the registry has are skipped, the rest uploaded.
	run -0 husk tag "$PROXY/test/big:v1" "$REGISTRY/other/big:v1"
	run -0 python3 "$BATS_TEST_DIRNAME/pty-run.py" 100 "$BATS_TEST_TMPDIR/term2" "$BATS_TEST_TMPDIR/out2" -- \
		"$HUSK" --root "$STORE" --runroot "$STORE/run" push "$REGISTRY/other/big:v1"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/out2")" "$WANT_DIGEST"
	run -0 screen "$BATS_TEST_TMPDIR/term2"
	echo "$output"
	assert_equal "$(grep -c 'Copying blob [0-9a-f]\{12\} done' <<<"$output")" 3
	run -0 python3 "$BATS_TEST_DIRNAME/pty-run.py" 100 "$BATS_TEST_TMPDIR/term3" "$BATS_TEST_TMPDIR/out3" -- \
		"$HUSK" --root "$STORE" --runroot "$STORE/run" push "$REGISTRY/other/big:v1"
	run -0 screen "$BATS_TEST_TMPDIR/term3"
	echo "$output"
	assert_equal "$(grep -c 'Copying blob [0-9a-f]\{12\} skipped: already exists' <<<"$output")" 3
}

@test "progress: plain lines when stderr is not a terminal; --quiet prints only the id" {
	"$HUSK" --root "$STORE" --runroot "$STORE/run" pull "$REGISTRY/test/big:v1" \
		>"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err"
	cat "$BATS_TEST_TMPDIR/err"
	! grep -q $'\x1b' "$BATS_TEST_TMPDIR/err" || fail "escape sequences in plain output"
	grep -q "^Copying blob ${BIG_BLOB:7:12} done (3.0 MB)$" "$BATS_TEST_TMPDIR/err"
	id=$(cat "$BATS_TEST_TMPDIR/out")
	[[ $id =~ ^[0-9a-f]{64}$ ]] || fail "stdout is not just the id: $id"
	husk rmi "$REGISTRY/test/big:v1" >/dev/null

	# --quiet: the id alone, on a terminal too.
	run -0 python3 "$BATS_TEST_DIRNAME/pty-run.py" 100 "$BATS_TEST_TMPDIR/term" "$BATS_TEST_TMPDIR/out" -- \
		"$HUSK" --root "$STORE" --runroot "$STORE/run" pull -q "$REGISTRY/test/big:v1"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/out")" "$id"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/term")" ""
	"$HUSK" --root "$STORE" --runroot "$STORE/run" push -q "$REGISTRY/test/big:v1" "$REGISTRY/quiet/big:v1" \
		>"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/out")" "$WANT_DIGEST"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/err")" ""
}
