#!/usr/bin/env bash
#
# `vigil leaks` against a running agent, with a real leaking process:
#
#   json     `vigil leaks --json --top 5`: the steady leak is first by
#            score and by growth, its history has points that rise, and the
#            agent's tracked count is > 1 (it samples the whole node);
#   text     the three lists, their titles, the leak's row with a
#            sparkline, and the '!' of a confirmed leak once the
#            leak_suspected event is out;
#   metrics  /metrics has the leak families, vigil_leak_suspected_total for
#            the test's policy is >= 1, and vigil_leak_samples_total grows;
#   errors   no agent at the address: exit 1 and a message that says what
#            to do; --top 0 and an unknown option: exit 2 with the usage.
set -u -o pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null 2>&1 || skip "curl is not installed (make deps)"
leak=$(need_workload steady_leak)
port=$(free_port)
mkdir -p "$T_TMP/policies"
cat >"$T_TMP/vigil.yaml" <<EOF
metrics_addr: "127.0.0.1:$port"
leak:
  interval_ms: 200
EOF
cat >"$T_TMP/policies/leak.yaml" <<EOF
apiVersion: vigil.dev/v1alpha1
kind: LeakPolicy
metadata:
  name: it-cli
spec:
  scope:
    comms: [steady_leak]
  threshold: 0.8
  consecutive: 5
  minGrowthPercent: 20
  minGrowthMiB: 2
  warmup: 1s
  window: 4s
EOF

out=$T_TMP/out.jsonl err=$T_TMP/err.log
vigil_start "$out" "$err" run --config "$T_TMP/vigil.yaml" --policy-dir "$T_TMP/policies"
wait_jq "$out" '.type == "policy_reload" and .result == "ok"' 20 ||
	{ dump_file "$err"; fail "the LeakPolicy did not load"; }
grep -q "leak scoring is off" "$err" && { dump_file "$err"; fail "the agent runs without leak scoring"; }

spawn "$leak" --duration 60
lpid=$SPAWN_PID
log "steady_leak is pid $lpid"
wait_jq "$out" ".type == \"leak_suspected\" and .process.pid == $lpid" 30 ||
	{ dump_file "$err"; fail "no leak_suspected for the steady leak (pid $lpid) within 30 s"; }

# ---------------------------------------------------------------- json
"$VIGIL" leaks --json --top 5 --agent "127.0.0.1:$port" >"$T_TMP/leaks.json" 2>"$T_TMP/leaks.err" ||
	{ dump_file "$T_TMP/leaks.err"; fail "vigil leaks --json failed"; }
jq -e . "$T_TMP/leaks.json" >/dev/null || fail "vigil leaks --json is not JSON"
[[ $(jq '.by_score | length' "$T_TMP/leaks.json") -le 5 ]] || fail "--top 5 listed more than 5"
[[ $(jq ".by_score[0].pid" "$T_TMP/leaks.json") == "$lpid" ]] ||
	fail "the steady leak is not first by score: $(jq -c '[.by_score[] | {pid, comm, score}]' "$T_TMP/leaks.json")"
[[ $(jq ".by_growth[0].pid" "$T_TMP/leaks.json") == "$lpid" ]] ||
	fail "the steady leak is not first by growth: $(jq -c '[.by_growth[] | {pid, comm, growth_percent}]' "$T_TMP/leaks.json")"
jq -e ".by_score[0] | .suspected == true and .policy == \"it-cli\" and .slope_bytes_per_second > 0" \
	"$T_TMP/leaks.json" >/dev/null ||
	fail "the leak's entry: $(jq -c '.by_score[0] | del(.history_bytes)' "$T_TMP/leaks.json")"
jq -e '.by_score[0].history_bytes | length >= 5 and .[-1] > .[0]' "$T_TMP/leaks.json" >/dev/null ||
	fail "the leak's history does not rise: $(jq -c '.by_score[0].history_bytes' "$T_TMP/leaks.json")"
jq -e '.tracked > 1' "$T_TMP/leaks.json" >/dev/null || fail "the agent tracks only $(jq .tracked "$T_TMP/leaks.json") processes"
log "json: first by score and growth; tracked $(jq .tracked "$T_TMP/leaks.json") processes"

# ---------------------------------------------------------------- text
"$VIGIL" leaks --top 3 --agent "127.0.0.1:$port" >"$T_TMP/leaks.txt" 2>"$T_TMP/leaks.err" ||
	{ dump_file "$T_TMP/leaks.err"; fail "vigil leaks failed"; }
for title in "By growth-pattern score" "By memory in use" "By growth over baseline"; do
	grep -q "^$title" "$T_TMP/leaks.txt" || { dump_file "$T_TMP/leaks.txt"; fail "no '$title' list"; }
done
row=$(grep -m1 -E "^! $lpid +steady_leak" "$T_TMP/leaks.txt") ||
	{ dump_file "$T_TMP/leaks.txt"; fail "no row marked '!' for pid $lpid"; }
grep -q '[▁▂▃▄▅▆▇█]' <<<"$row" || fail "the leak's row has no sparkline: $row"
log "text: $row"

# ---------------------------------------------------------------- metrics
scrape "$T_TMP/m1.txt"
for fam in vigil_leak_suspected_total vigil_leak_processes_tracked vigil_leak_samples_total \
	vigil_leak_sample_duration_seconds vigil_leak_processes_untracked vigil_leak_suspected_processes; do
	grep -q "^# TYPE $fam " "$T_TMP/m1.txt" || fail "/metrics has no $fam family"
done
n=$(awk '/^vigil_leak_suspected_total\{policy="it-cli"\}/ { print $2 }' "$T_TMP/m1.txt")
[[ -n $n ]] && awk -v n="$n" 'BEGIN { exit !(n >= 1) }' ||
	fail "vigil_leak_suspected_total{policy=\"it-cli\"} is '${n:-absent}'"
s1=$(awk '/^vigil_leak_samples_total / { print $2 }' "$T_TMP/m1.txt")
sleep 0.6
scrape "$T_TMP/m2.txt"
s2=$(awk '/^vigil_leak_samples_total / { print $2 }' "$T_TMP/m2.txt")
awk -v a="$s1" -v b="$s2" 'BEGIN { exit !(b > a) }' || fail "vigil_leak_samples_total did not grow ($s1 -> $s2)"
log "metrics: suspected_total $n, samples $s1 -> $s2"

# ---------------------------------------------------------------- errors
dead=$(free_port "$port")
rc=0
"$VIGIL" leaks --agent "127.0.0.1:$dead" >/dev/null 2>"$T_TMP/e1" || rc=$?
((rc == 1)) || fail "no agent: exit $rc, want 1"
grep -q "no agent answered" "$T_TMP/e1" || { dump_file "$T_TMP/e1"; fail "no agent: unclear message"; }
rc=0
"$VIGIL" leaks --top 0 >/dev/null 2>"$T_TMP/e2" || rc=$?
((rc == 2)) || fail "--top 0: exit $rc, want 2"
grep -q "Usage: vigil leaks" "$T_TMP/e2" || fail "--top 0: no usage"
rc=0
"$VIGIL" leaks --bogus >/dev/null 2>"$T_TMP/e3" || rc=$?
((rc == 2)) || fail "--bogus: exit $rc, want 2"
log "errors: exit 1 without an agent, 2 for bad options"

kill "$lpid" 2>/dev/null
wait_jq "$out" ".type == \"leak_cleared\" and .process.pid == $lpid and .leak.reason == \"exited\"" 10 ||
	fail "no leak_cleared (exited) after the leak was killed"
vigil_stop
log "ok"
