#!/usr/bin/env bash
#
# Lost events are counted and reported, never dropped silently:
#  (a) with a one-page ring buffer, an exec burst overflows it, and vigil
#      says so on stderr, in the summary and in a final events_lost line;
#  (b) with the default ring buffer, a 20,000-exec burst loses nothing:
#      every exec is reported, and the summary says 0 lost.
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

forkexec=$(need_helper forkexec) || exit 1

# burst N JOBS OUTFILE: run the exec burst; prints the driver's pid.
# (Called in $(...): fail only ends that subshell, so callers add || exit 1.)
burst() {
	local rc=0
	"$forkexec" -j "$2" "$1" >"$3" || rc=$?
	[[ $rc == 0 ]] || { dump_file "$3"; fail "forkexec -j $2 $1 failed ($rc)"; }
	awk '/^pid / {print $2; exit}' "$3"
}

# check_summary ERRFILE OUTFILE: the summary line exists and its event count
# matches the JSON lines printed; prints "N M".
check_summary() {
	local err=$1 out=$2 s n
	s=$(vigil_summary "$err") || { dump_file "$err"; fail "no 'vigil trace: N events, M lost' line on stderr"; }
	n=$(count_jq "$out" '.type != "events_lost"')
	assert_eq "${s% *}" "$n" "summary event count vs JSON event lines printed"
	printf '%s\n' "$s"
}

# ---------------------------------------------------------------- (a)
out=$T_TMP/small.json err=$T_TMP/small.err
vigil_start "$out" "$err" trace exec exit --json --ringbuf-bytes 4096
driver=$(burst 5000 3 "$T_TMP/burst-a.txt") || exit 1
log "burst (a) driver pid $driver: $(tail -n 1 "$T_TMP/burst-a.txt")"
sleep 1
rc=0
vigil_stop INT || rc=$?
[[ $rc == 0 ]] || { dump_file "$err"; fail "vigil trace exited $rc after SIGINT"; }
assert_json_lines "$out"

s=$(check_summary "$err" "$out") || exit 1
read -r n_a lost_a <<<"$s"
log "(a) summary: $n_a events, $lost_a lost"
((lost_a > 0)) || { dump_file "$err"; fail "(a) 5000 execs through a 4 KiB ring buffer: summary reports 0 lost"; }
((n_a > 0)) || fail "(a) no events at all got through"

assert_grep "$err" "^vigil: lost $lost_a events" "(a) stderr has 'vigil: lost $lost_a events' matching the summary"
lost_line=$(grep -n '^vigil: lost' "$err" | tail -n 1 | cut -d: -f1)
sum_line=$(grep -n '^vigil trace: ' "$err" | tail -n 1 | cut -d: -f1)
((lost_line < sum_line)) || { dump_file "$err"; fail "(a) the 'vigil: lost' line must come before the summary"; }

last=$(jq -cR 'fromjson? // empty' "$out" | tail -n 1)
log "(a) last JSON line: $last"
assert_event "$last" '.type == "events_lost"' "(a) the last JSON line is the events_lost record"
assert_event "$last" ".lost.total == $lost_a" "(a) events_lost.lost.total equals the summary's lost count"
assert_event "$last" '.lost | type == "object" and all(.[]; type == "number" and . >= 0)' \
	"(a) events_lost.lost holds non-negative counts"
# shellcheck disable=SC2016 # $l is jq's
assert_event "$last" '.lost as $l | [$l | to_entries[] | select(.key != "total") | .value] | length > 0 and all(.[]; . <= $l.total)' \
	"(a) events_lost.lost breaks the total down by type"
n=$(count_jq "$out" '.type == "events_lost"')
assert_eq "$n" 1 "(a) number of events_lost lines"

# ---------------------------------------------------------------- (b)
out=$T_TMP/default.json err=$T_TMP/default.err
vigil_start "$out" "$err" trace exec --json
driver=$(burst 20000 2 "$T_TMP/burst-b.txt") || exit 1
log "burst (b) driver pid $driver: $(tail -n 1 "$T_TMP/burst-b.txt")"
# Let the reader drain, but don't wait forever: the count decides.
deadline=$((SECONDS + 15))
while ((SECONDS < deadline)); do
	c=$(grep -cE "\"ppid\": ?${driver}[,} ]" "$out")
	((c >= 20000)) && break
	sleep 0.5
done
rc=0
vigil_stop INT || rc=$?
[[ $rc == 0 ]] || { dump_file "$err"; fail "vigil trace exited $rc after SIGINT"; }
assert_json_lines "$out"

s=$(check_summary "$err" "$out") || exit 1
read -r n_b lost_b <<<"$s"
log "(b) summary: $n_b events, $lost_b lost"
n=$(count_jq "$out" ".type == \"exec\" and .process.ppid == $driver")
if [[ $lost_b != 0 || $n != 20000 ]]; then
	grep '^vigil' "$err" | sed 's/^/    /' >&2
	fail "(b) default ring buffer, 20000 execs: $n exec events from driver $driver (want 20000), $lost_b lost (want 0)"
fi
assert_jq_none "$out" '.type == "events_lost"' "(b) no events_lost line when nothing was lost"
if grep -q '^vigil: lost' "$err"; then
	dump_file "$err"
	fail "(b) 'vigil: lost' on stderr although the summary says 0 lost"
fi
n=$(count_jq "$out" ".type == \"exec\" and .process.ppid == $driver and (.process.args != [\"/bin/true\"])")
assert_eq "$n" 0 "(b) burst exec events whose args are not [\"/bin/true\"]"

log "ok"
