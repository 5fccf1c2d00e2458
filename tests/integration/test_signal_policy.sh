#!/usr/bin/env bash
#
# SignalPolicy on this host, where BPF LSM cannot load: a signal cannot be
# stopped, so rules report it, and kill-sender (or deny with
# `fallback: kill-sender`) SIGKILLs the sender.  Real runc containers:
#
# (Each container waits 0.3 s before sending: the pod-UID rule needs the
# masks the agent writes when it reads the cgroup's creation, and this test
# is about verdicts, not that race, which vigil_signal_policy_unclassified_total
# counts.)
#
#   container A (host pid namespace) signals host process H, which ignores
#   USR1, USR2 and WINCH:
#     - USR2 matches an audit rule that selects A by pod UID (a cgroup-level
#       field the agent evaluates): reported, A lives on;
#     - WINCH matches only the built-in container-escape rule (config
#       signal_guard.container_escape: audit): reported as policy "builtin";
#     - USR1 matches a deny rule with fallback kill-sender: reported with
#       effect kill-sender, and A is killed before its next command.
#   container B, in another pod, sends USR2 to H too: the pod-UID rule does
#   not select it, so its signal is reported by the built-in rule only.
#
# Also: the first policy_reload event, `vigil features` naming the degraded
# mode, and vigil_signal_policy_decisions_total counting each verdict.
set -u -o pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

if "$VIGIL" features 2>/dev/null | grep -q '^ *signal-policy *lsm'; then
	skip "BPF LSM works on this kernel: deny is a real EPERM here, which the VM tier tests (tests/vm/cases/signal_policy.sh)"
fi

attribution_hierarchy
[[ -n $cgroot ]] || skip "no cgroup v1 memory hierarchy and no cgroup2 mount"
port=$(free_port)

pod_a=$(rand_pod_uid) id_a=$(rand_container_id)
pod_b=$(rand_pod_uid) id_b=$(rand_container_id)

spawn /bin/sh -c 'trap "" USR1 USR2 WINCH; exec sleep 120'
pid_h=$SPAWN_PID

mkdir -p "$T_TMP/policies"
cat >"$T_TMP/policies/test.yaml" <<EOF
# vigil integration test ($T_MARK)
apiVersion: vigil.dev/v1alpha1
kind: SignalPolicy
metadata:
  name: it-audit
spec:
  rules:
    - name: pod-a-usr2
      sender:
        podUIDs: ["$pod_a"]
      target:
        relation: host
      signals: [SIGUSR2]
      action: audit
---
apiVersion: vigil.dev/v1alpha1
kind: SignalPolicy
metadata:
  name: it-deny
spec:
  rules:
    - name: usr1-to-host
      sender:
        scope: containers
      target:
        relation: host
      signals: [USR1]
      action: deny
      fallback: kill-sender
EOF
cat >"$T_TMP/vigil.yaml" <<EOF
cgroup_hierarchy: $hier
metrics_addr: "127.0.0.1:$port"
signal_guard:
  container_escape: audit
EOF

out=$T_TMP/events.json err=$T_TMP/vigil.err
vigil_start "$out" "$err" run --config "$T_TMP/vigil.yaml" --policy-dir "$T_TMP/policies"
wait_jq "$out" '.type == "policy_reload"' 10 || { dump_file "$err"; fail "no policy_reload event after start"; }
ev=$(jq_lines "$out" '.type == "policy_reload"' | head -n 1)
assert_event "$ev" '.trigger == "start" and .result == "ok" and .documents == 2 and .rules == 2 and (.errors | length) == 0' \
	"the start-up load reports both documents and no errors"

make_bundle --host-pid "$T_TMP/a" "$id_a" "$(kubepods_cgroup "$pod_a" "$id_a" burstable)" /bin/sh -c \
	"sleep 0.3; kill -USR2 $pid_h && echo sent-usr2 && kill -WINCH $pid_h && echo sent-winch && kill -USR1 $pid_h; echo survived-usr1"
make_bundle --host-pid "$T_TMP/b" "$id_b" "$(kubepods_cgroup "$pod_b" "$id_b" besteffort)" /bin/sh -c \
	"sleep 0.3; kill -USR2 $pid_h && echo sent-usr2"

rc_a=0
run_container_fg "$T_TMP/a" || rc_a=$?
rc_b=0
run_container_fg "$T_TMP/b" || rc_b=$?
log "container A exited $rc_a; B exited $rc_b"
kill -0 "$pid_h" 2>/dev/null || fail "host target died: it ignores the signals sent"

grep -q sent-winch "$T_TMP/a/out.log" || { dump_file "$T_TMP/a/out.log"; fail "container A did not get to send WINCH: an audit verdict must not stop it"; }
grep -q survived-usr1 "$T_TMP/a/out.log" && { dump_file "$T_TMP/a/out.log"; fail "container A ran on after USR1: kill-sender did not kill it"; }
[[ $rc_a == 137 ]] || { dump_file "$T_TMP/a/out.log"; fail "container A exited $rc_a, expected 137 (SIGKILL)"; }
[[ $rc_b == 0 ]] || { dump_file "$T_TMP/b/out.log"; fail "container B exited $rc_b: an audit-only verdict must not stop it"; }

sel() { printf '.type == "signal" and .target.process.pid == %s and .signal == %s and .container.id == "%s"' "$pid_h" "$1" "$2"; }
wait_jq "$out" "$(sel 10 "$id_a")" 10 || log "no USR1 event yet"
wait_jq "$out" "$(sel 12 "$id_b")" 5 || log "no USR2 event from B yet"

ev=$(jq_lines "$out" "$(sel 12 "$id_a")" | head -n 1)
[[ -n $ev ]] || { dump_file "$err"; fail "no signal event for A's USR2"; }
assert_event "$ev" '.policy.name == "it-audit" and .policy.rule == "pod-a-usr2" and .policy.action == "audit" and .policy.effect == "audit" and .policy.denied == false and .policy.sender_killed == false and .policy.generation == 1' \
	"A's USR2: audited by the pod-UID rule"
assert_event "$ev" '.result == "ignored" and .target.container.runtime == "host"' "A's USR2 still reached H (ignored there)"

ev=$(jq_lines "$out" "$(sel 28 "$id_a")" | head -n 1)
[[ -n $ev ]] || fail "no signal event for A's WINCH"
assert_event "$ev" '.policy.name == "builtin" and .policy.rule == "container-escape" and .policy.effect == "audit"' \
	"A's WINCH: reported by the built-in container-escape rule"

ev=$(jq_lines "$out" "$(sel 10 "$id_a")" | head -n 1)
[[ -n $ev ]] || fail "no signal event for A's USR1"
assert_event "$ev" '.policy.name == "it-deny" and .policy.rule == "usr1-to-host" and .policy.action == "deny" and .policy.effect == "kill-sender" and .policy.sender_killed == true and .policy.denied == false' \
	"A's USR1: deny degrades to kill-sender without BPF LSM"

ev=$(jq_lines "$out" "$(sel 12 "$id_b")" | head -n 1)
[[ -n $ev ]] || fail "no signal event for B's USR2"
assert_event "$ev" '.policy.name == "builtin" and .policy.effect == "audit"' \
	"B's USR2: the pod-UID rule does not select B; only the built-in rule does"

assert_jq "$out" ".type == \"exit\" and .container.id == \"$id_a\" and .signal == 9" \
	"A's shell exits by SIGKILL"

scrape "$T_TMP/m1"
for want in 'vigil_signal_policy_decisions_total{policy="it-audit",action="audit"} 1' \
	'vigil_signal_policy_decisions_total{policy="it-deny",action="kill-sender"} 1' \
	'vigil_policy_generation 1' 'vigil_policy_reloads_total{result="ok"} 1'; do
	grep -qxF "$want" "$T_TMP/m1" || { grep '^vigil_\(signal_\)\?polic' "$T_TMP/m1" >&2; fail "metrics lack: $want"; }
done
n=$(awk -F' ' '/^vigil_signal_policy_decisions_total\{policy="builtin",action="audit"\}/ { print $2 }' "$T_TMP/m1")
((n >= 2)) || fail "builtin audit decisions: got '$n', expected at least 2 (A's WINCH, B's USR2)"

rc=0
vigil_stop INT || rc=$?
[[ $rc == 0 ]] || { dump_file "$err"; fail "vigil run exited $rc"; }
assert_json_lines "$out"

"$VIGIL" features >"$T_TMP/features.txt" 2>&1
assert_grep "$T_TMP/features.txt" 'signal-policy +audit\+kill-sender' "vigil features names the degraded signal-policy mode"
log "ok"
