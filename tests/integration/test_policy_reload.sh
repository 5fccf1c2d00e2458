#!/usr/bin/env bash
#
# Policy reloads leave no gap.  A sender in a cgroup this test made sends
# SIGUSR1 to a host process in a tight loop (sigloop) while vigil reloads
# its policy directory 100 times on SIGHUP.  The rule selects the sender by
# cgroup glob, so every reload rewrites the sender's masks into the
# inactive slot before the flip.  Without BPF LSM the signal cannot be
# denied, so "no gap" here means: every signal kill(2) accepted is reported
# with the rule's verdict, across many generations (the VM tier checks the
# same loop is denied every time).
#
# Then inotify: a new valid file is picked up without a signal; a broken
# file is refused with file:line:column errors, counted in
# vigil_policy_reload_errors_total, and the previous set stays active.
set -u -o pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

RELOADS=100
SIGLOOP=$T_HELPERS/sigloop
[[ -x $SIGLOOP ]] || fail "helper $SIGLOOP was not built (tests/integration/run.sh builds it)"
attribution_hierarchy
[[ -n $cgroot ]] || skip "no cgroup v1 memory hierarchy and no cgroup2 mount"
port=$(free_port)
cg=/$T_MARK-sender

spawn /bin/sh -c 'trap "" USR1; exec sleep 300'
pid_h=$SPAWN_PID

mkdir -p "$T_TMP/policies"
policy() {
	cat <<EOF
# vigil integration test ($T_MARK) $1
apiVersion: vigil.dev/v1alpha1
kind: SignalPolicy
metadata:
  name: it-reload
spec:
  rules:
    - name: sender-cgroup
      sender:
        cgroups: ["/vigil-it-*-sender"]
      target:
        relation: host
      signals: [USR1]
      action: audit
EOF
}
policy v1 >"$T_TMP/policies/reload.yaml"
printf 'cgroup_hierarchy: %s\nmetrics_addr: "127.0.0.1:%s"\n' "$hier" "$port" >"$T_TMP/vigil.yaml"

out=$T_TMP/events.json err=$T_TMP/vigil.err
vigil_start "$out" "$err" run --config "$T_TMP/vigil.yaml" --policy-dir "$T_TMP/policies"
wait_jq "$out" '.type == "policy_reload" and .result == "ok"' 10 || { dump_file "$err"; fail "no successful policy_reload at start"; }

# The cgroup is made after vigil started: its mkdir record gives it masks.
mkcg "$cg"
spawn /bin/sh -c 'echo $$ > "$1/cgroup.procs" && exec "$2" "$3" 10 "$4" "$5"' sh \
	"$cgroot$cg" "$SIGLOOP" "$pid_h" "$T_TMP/go" "$T_TMP/stop" >"$T_TMP/sigloop.out"
pid_s=$SPAWN_PID
wait_jq "$out" ".type == \"exec\" and .process.pid == $pid_s" 10 || fail "vigil never reported sigloop's exec"
touch "$T_TMP/go"

reloads() { grep -c '"type":"policy_reload"' "$out"; }
base=$(reloads)
for i in $(seq 1 $RELOADS); do
	kill -HUP "$VIGIL_PID"
	deadline=$((SECONDS + 10))
	until (($(reloads) >= base + i)); do
		((SECONDS < deadline)) || { dump_file "$err"; fail "reload $i: no policy_reload event within 10 s"; }
		sleep 0.01
	done
done
touch "$T_TMP/stop"
reap "$pid_s" || fail "sigloop failed"
read -r sent denied other < <(sed -E 's/sent=([0-9]+) denied=([0-9]+) other=([0-9]+)/\1 \2 \3/' "$T_TMP/sigloop.out")
log "sigloop: sent=$sent denied=$denied other=$other over $RELOADS reloads"
((sent > 0)) || fail "sigloop sent nothing"
((other == 0 && denied == 0)) || fail "kill(2) failed $denied+$other times: nothing here should refuse it"

sel=".type == \"signal\" and .process.pid == $pid_s and .signal == 10"
deadline=$((SECONDS + 10))
until (($(jq_lines "$out" "$sel" | wc -l) >= sent)) || ((SECONDS >= deadline)); do sleep 0.2; done
reported=$(jq_lines "$out" "$sel" | wc -l)
judged=$(jq_lines "$out" "$sel and .policy.name == \"it-reload\" and .policy.effect == \"audit\"" | wc -l)
gens=$(jq_lines "$out" "$sel" | jq -s 'map(.policy.generation) | unique | length')
log "reported=$reported judged=$judged distinct generations=$gens"
assert_jq_none "$out" '.type == "events_lost"' "no events were lost (a loss would make the count meaningless)"
assert_eq "$reported" "$sent" "signal events for sigloop's USR1s"
assert_eq "$judged" "$sent" "signals reported with the rule's verdict (a gap in a reload would leave some unjudged)"
((gens >= 10)) || fail "the signals spanned only $gens policy generations: the loop did not overlap the reloads"
assert_jq_none "$out" '.type == "policy_reload" and .result != "ok"' "every SIGHUP reload succeeded"

# --- inotify: a second valid file, no signal sent
gen_before=$(jq_lines "$out" '.type == "policy_reload"' | tail -n 1 | jq .generation)
cat >"$T_TMP/policies/extra.yaml" <<EOF
apiVersion: vigil.dev/v1alpha1
kind: SignalPolicy
metadata:
  name: it-extra
spec:
  rules:
    - target:
        relation: host
      signals: [SIGURG]
      action: audit
EOF
wait_jq "$out" ".type == \"policy_reload\" and .trigger == \"inotify\" and .result == \"ok\" and .documents == 2 and .generation == $((gen_before + 1))" 10 ||
	{ jq_lines "$out" '.type == "policy_reload"' | tail -n 3 >&2; fail "a new policy file was not picked up through inotify"; }

# --- inotify: a broken file is refused whole; the last good set stays
printf 'apiVersion: vigil.dev/v1alpha1\nkind: SignalPolicy\nmetadata:\n  name: it-bad\nspec:\n  rules:\n    - action: block\n' >"$T_TMP/policies/zz-bad.yaml"
wait_jq "$out" '.type == "policy_reload" and .trigger == "inotify" and .result == "error"' 10 ||
	{ jq_lines "$out" '.type == "policy_reload"' | tail -n 3 >&2; fail "a broken policy file did not produce a failed reload"; }
ev=$(jq_lines "$out" '.type == "policy_reload" and .result == "error"' | tail -n 1)
assert_event "$ev" "(.errors | map(select(test(\"zz-bad.yaml:7:15: \"))) | length) == 1 and .generation == $((gen_before + 1)) and .documents == 2" \
	"the error names file:line:column and the previous generation stays active"
scrape "$T_TMP/m"
grep -qxF 'vigil_policy_reload_errors_total 1' "$T_TMP/m" || { grep '^vigil_policy' "$T_TMP/m" >&2; fail "vigil_policy_reload_errors_total is not 1"; }
grep -qxF "vigil_policy_generation $((gen_before + 1))" "$T_TMP/m" || fail "vigil_policy_generation moved on a refused reload"

# The old set still judges: one more signal from the sender cgroup.
/bin/sh -c 'echo $$ > "$1/cgroup.procs" && kill -USR1 "$2"' sh "$cgroot$cg" "$pid_h" || fail "could not send from the sender cgroup"
wait_jq "$out" ".type == \"signal\" and .signal == 10 and .target.process.pid == $pid_h and .process.pid != $pid_s and .policy.name == \"it-reload\" and .policy.generation == $((gen_before + 1))" 10 ||
	fail "after a refused reload the previous set no longer judged signals"

rc=0
vigil_stop INT || rc=$?
[[ $rc == 0 ]] || { dump_file "$err"; fail "vigil run exited $rc"; }
log "ok"
