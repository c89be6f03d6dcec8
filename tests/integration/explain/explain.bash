# Helpers for the explain tests: start a detached container, read its explain report.

# start_detached [ID]: runs $BUNDLE detached as ID (default $ID); fails with the stderr.
start_detached() {
	rtd run -d -b "$BUNDLE" "${1:-$ID}"
	[[ "$status" == 0 ]] || fail "run -d ${1:-$ID}: $stderr"
}

# explain_json [ID]: the report in $REPORT (fails when explain fails).
explain_json() {
	REPORT=$(rt explain --json "${1:-$ID}") || fail "explain --json ${1:-$ID} failed"
}

# jr FILTER: jq -r over $REPORT
jr() {
	jq -r "$@" <<<"$REPORT"
}

# findings AREA: the messages of that area's findings, one a line.
findings() {
	jr --arg a "$1" '.findings[] | select(.area == $a) | .message'
}

init_pid() {
	state_field pid "${1:-$ID}"
}
