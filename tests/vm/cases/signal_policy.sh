# SignalPolicy where BPF LSM works (stock 6.1): deny is a real EPERM from
# lsm/task_kill, and every denial is reported.
#   - a process in a (kubepods-layout) container sends SIGUSR1 to a host
#     process: kill fails with EPERM, a signal event with result "denied"
#     names the rule; SIGUSR2 matches an audit rule and is delivered;
#   - the built-in protect_self rule: a host shell's SIGSTOP to vigil fails
#     with EPERM and vigil keeps running;
#   - 100 SIGHUP reloads while the container sends SIGUSR1 in a tight loop:
#     not one signal gets through.
. /lib/vmtest.sh

vigil features --json | jq -e '.modules[] | select(.module == "signal-policy") | .mode == "lsm"' >/dev/null ||
	fail "features does not report lsm signal-policy: $(vigil features --json | jq -c '.modules[] | select(.module == "signal-policy")')"

pod=$(rand_pod_uid) id=$(rand_container_id)
cg=kubepods/burstable/pod$pod/$id
mkdir -p /tmp/pol
cat >/tmp/pol/p.yaml <<EOF
apiVersion: vigil.dev/v1alpha1
kind: SignalPolicy
metadata:
  name: vm-deny
spec:
  rules:
    - name: usr1-out
      sender: {scope: containers}
      target: {relation: host}
      signals: [USR1]
      action: deny
    - name: usr2-seen
      sender: {scope: containers}
      target: {relation: host}
      signals: [USR2]
      action: audit
EOF
printf 'metrics_addr: "off"\nsignal_guard:\n  protect_self: true\n' >/tmp/pol-vigil.yaml

sh -c 'trap "" USR1 USR2; while :; do sleep 1; done' &
th=$!
vigil_start "$T/r.json" "$T/r.err" run --config /tmp/pol-vigil.yaml --policy-dir /tmp/pol
vp=$VIGIL_PID
wait_for "$T/r.json" '"type":"policy_reload"' 30 || { cat "$T/r.err"; fail "no policy_reload event"; }
grep -F '"type":"policy_reload"' "$T/r.json" | head -1 | jq -e '.result == "ok" and .rules == 2' >/dev/null ||
	fail "start-up load: $(grep -F policy_reload "$T/r.json" | head -1)"

log "start-up load ok"
# --- deny and audit from the container
rc=0
in_cgroup "$cg" sh -c "kill -USR1 $th" 2>"$T/kill.err" || rc=$?
[ $rc -ne 0 ] || fail "kill -USR1 from the container to a host process succeeded"
grep -qi 'not permitted' "$T/kill.err" || { cat "$T/kill.err"; fail "kill failed, but not with EPERM"; }
log "USR1 refused: $(cat "$T/kill.err")"
in_cgroup "$cg" sh -c "kill -USR2 $th" || fail "kill -USR2 (audit rule) was refused"
log "USR2 sent"
kill -0 $th || fail "host target is gone"
wait_for "$T/r.json" '"result":"denied"' 30 || fail "no denied signal event"
wait_for "$T/r.json" '"rule":"usr2-seen"' 30 || fail "no audited signal event"

log "deny and audit events seen"
# --- protect_self: SIGSTOP from a host shell (not pid 1)
rc=0
kill -STOP $vp 2>"$T/stop.err" || rc=$?
[ $rc -ne 0 ] || fail "SIGSTOP to vigil succeeded"
grep -qi 'not permitted' "$T/stop.err" || { cat "$T/stop.err"; fail "SIGSTOP failed, but not with EPERM"; }
state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' /proc/$vp/status)
[ "$state" != T ] || fail "vigil is stopped"
wait_for "$T/r.json" '"rule":"protect-self"' 30 || fail "no event for the refused SIGSTOP"

log "protect_self ok"
# --- 100 reloads under a tight loop of denied signals
# The loop paces itself a little (usleep): under TCG an unpaced loop starves
# the agent, and the point is overlap with the reloads, not volume.
in_cgroup "$cg" sh -c "n=0; while [ ! -e /tmp/stop ]; do kill -USR1 $th 2>/dev/null && echo ok >> /tmp/through; n=\$((n + 1)); usleep 2000; done; echo \$n > /tmp/count" &
lp=$!
i=0
while [ $i -lt 100 ]; do
	i=$((i + 1))
	kill -HUP $vp
	j=0
	# stderr has one line per load and stays small; the event file does not.
	until [ "$(grep -c '^vigil: policies (' "$T/r.err")" -gt $i ]; do
		j=$((j + 1))
		[ $j -lt 300 ] || fail "reload $i: no policy load line in 30 s"
		sleep 0.05
	done
	[ $((i % 25)) -ne 0 ] || log "$i reloads"
done
touch /tmp/stop
wait $lp
n=$(cat /tmp/count)
log "sent $n signals during 100 reloads"
[ "$n" -gt 100 ] || fail "the loop sent only $n signals"
[ ! -e /tmp/through ] || fail "$(wc -l < /tmp/through) of $n signals got through during reloads"
grep -F '"type":"policy_reload"' "$T/r.json" | jq -s -e 'map(select(.result != "ok")) | length == 0' >/dev/null ||
	fail "a reload failed"
kill -KILL $th
vigil_stop $vp

expect_jq "$T/r.json" '.type == "signal" and .signal == 10 and .result == "denied"' \
	".container.id == \"$id\" and .target.process.pid == $th and .policy.name == \"vm-deny\" and .policy.rule == \"usr1-out\" and .policy.effect == \"deny\" and .policy.denied == true" \
	"container -> host USR1 denied with EPERM and reported"
expect_jq "$T/r.json" '.type == "signal" and .signal == 12' \
	".result == \"ignored\" and .policy.rule == \"usr2-seen\" and .policy.effect == \"audit\" and .policy.denied == false" \
	"USR2 audited and delivered"
expect_jq "$T/r.json" ".type == \"signal\" and .target.process.pid == $vp and .signal == 19" \
	".result == \"denied\" and .policy.name == \"builtin\" and .policy.rule == \"protect-self\"" \
	"SIGSTOP to vigil denied by the built-in rule"
denied=$(grep -F '"result":"denied"' "$T/r.json" | grep -cF "\"rule\":\"usr1-out\"")
log "denied events: $denied (loop sent $n, plus the first)"
[ "$denied" -ge "$n" ] || fail "only $denied denial events for $n denied signals"
rmdir /sys/fs/cgroup/$cg /sys/fs/cgroup/kubepods/burstable/pod$pod 2>/dev/null
true
