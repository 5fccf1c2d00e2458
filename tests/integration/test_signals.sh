#!/usr/bin/env bash
#
# A signal sent from one container to another container, and from a
# container to a host process, is reported with the sender's and the
# target's attribution, the signal, and what the kernel did with it; a
# delivered signal also gets a signal_deliver event naming the handler.
#
#   container A (pod A, burstable, host pid namespace): the sender
#   container B (pod B, besteffort, own pid namespace): USR1 has a handler
#   host process H (`sleep`, USR1 ignored): the kernel drops the signal
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

pod_a=$(rand_pod_uid) id_a=$(rand_container_id)
pod_b=$(rand_pod_uid) id_b=$(rand_container_id)

# --- B: a shell that handles USR1 and then says so
make_bundle "$T_TMP/b" "$id_b" "$(kubepods_cgroup "$pod_b" "$id_b" besteffort)" /bin/sh -c \
	'trap "echo got-usr1" USR1; echo ready; while :; do sleep 1; done'
run_container "$T_TMP/b"
pid_b=$CONTAINER_PID

# --- H: SIG_IGN survives exec, so this is `sleep` with USR1 ignored
spawn /bin/sh -c 'trap "" USR1; exec sleep 120'
pid_h=$SPAWN_PID
for _ in $(seq 50); do
	[[ $(cat "/proc/$pid_h/comm" 2>/dev/null) == sleep ]] && break
	sleep 0.1
done
[[ $(cat "/proc/$pid_h/comm" 2>/dev/null) == sleep ]] || fail "host target did not exec sleep"
sigign=$(awk '/^SigIgn:/ {print $2}' "/proc/$pid_h/status")
(((16#$sigign >> 9) & 1)) || fail "host target does not ignore SIGUSR1 (SigIgn $sigign)"
grep -q ready "$T_TMP/b/out.log" 2>/dev/null || sleep 0.5

# --- A: sends from inside a container that can see host pids, then exits
# at once (its cgroup is gone right after: attribution must not depend on it
# still being there when the event is read)
make_bundle --host-pid "$T_TMP/a" "$id_a" "$(kubepods_cgroup "$pod_a" "$id_a" burstable)" \
	/bin/sh -c "kill -USR1 $pid_b && kill -USR1 $pid_h && echo sent"

out=$T_TMP/trace.json err=$T_TMP/trace.err
vigil_start "$out" "$err" trace signal --json

rc=0
run_container_fg "$T_TMP/a" || rc=$?
[[ $rc == 0 ]] || { dump_file "$T_TMP/a/out.log"; fail "sender container exited $rc"; }
grep -q sent "$T_TMP/a/out.log" || { dump_file "$T_TMP/a/out.log"; fail "sender container did not send"; }

# B runs its handler after its current `sleep 1`.
for _ in $(seq 30); do
	grep -q got-usr1 "$T_TMP/b/out.log" && break
	sleep 0.1
done
grep -q got-usr1 "$T_TMP/b/out.log" || { dump_file "$T_TMP/b/out.log"; fail "container B never ran its USR1 handler"; }
kill -0 "$pid_h" 2>/dev/null || fail "host target died: SIGUSR1 was not ignored"

sel_b=".type == \"signal\" and .target.process.pid == $pid_b and .signal == 10"
sel_h=".type == \"signal\" and .target.process.pid == $pid_h and .signal == 10"
sel_d=".type == \"signal_deliver\" and .process.pid == $pid_b and .signal == 10"
wait_jq "$out" "$sel_d" 10 || log "no signal_deliver for B before stop"
wait_jq "$out" "$sel_h" 2 || log "no signal event for H before stop"

rc=0
vigil_stop INT || rc=$?
[[ $rc == 0 ]] || { dump_file "$err"; fail "vigil trace exited $rc after SIGINT"; }
assert_json_lines "$out"
assert_jq_none "$out" '.type | IN("signal", "signal_deliver", "events_lost") | not' \
	"trace signal prints only signal and signal_deliver events"

ctx=".type == \"signal\" and (.target.process.pid == $pid_b or .target.process.pid == $pid_h or .container.id == \"$id_a\")"

# --- A -> B
ev=$(jq_lines "$out" "$sel_b" | head -n 1)
[[ -n $ev ]] || { log "signal events around ours:"; jq_lines "$out" "$ctx" | head >&2; dump_file "$err"; fail "no signal event with target pid $pid_b (container B) and signal 10"; }
log "A->B: $ev"
assert_event "$ev" 'common' "signal event has the common fields"
assert_event "$ev" '(.target.process | proc) and (.target.container | ctr)' "target has process and container objects of the common shape"
assert_event "$ev" ".container.id == \"$id_a\" and .container.pod_uid == \"$pod_a\" and .container.qos == \"burstable\"" \
	"sender attribution is container A"
assert_event "$ev" ".target.container.id == \"$id_b\" and .target.container.pod_uid == \"$pod_b\" and .target.container.qos == \"besteffort\"" \
	"target attribution is container B"
assert_event "$ev" '.signal_name == "SIGUSR1"' "signal_name is SIGUSR1"
assert_event "$ev" '.result == "delivered"' "a signal with a handler is delivered"
assert_event "$ev" '.code == 0' "kill(2) gives si_code SI_USER (0)"
assert_event "$ev" '.process.comm == "sh" and .target.process.comm == "sh"' "sender and target are the two shells"

# --- A -> H (host)
ev=$(jq_lines "$out" "$sel_h" | head -n 1)
[[ -n $ev ]] || { log "signal events around ours:"; jq_lines "$out" "$ctx" | head >&2; fail "no signal event with target pid $pid_h (host sleep) and signal 10"; }
log "A->H: $ev"
assert_event "$ev" 'common' "signal event has the common fields"
assert_event "$ev" ".container.id == \"$id_a\"" "sender attribution is container A"
assert_event "$ev" '.target.container.runtime == "host" and .target.container.id == "" and .target.container.pod_uid == ""' \
	"target attribution is the host"
assert_event "$ev" '.signal_name == "SIGUSR1"' "signal_name is SIGUSR1"
assert_event "$ev" '.result == "ignored"' "a signal whose disposition is SIG_IGN is reported as ignored"
assert_event "$ev" '.target.process.comm == "sleep"' "target is the host sleep"

# --- delivery to B
ev=$(jq_lines "$out" "$sel_d" | head -n 1)
[[ -n $ev ]] || { log "deliver events:"; jq_lines "$out" '.type == "signal_deliver"' | tail -n 5 >&2; fail "no signal_deliver event for pid $pid_b and signal 10"; }
log "deliver B: $ev"
assert_event "$ev" 'common' "signal_deliver event has the common fields"
assert_event "$ev" '.handler == "user"' "B's USR1 has a user handler"
assert_event "$ev" ".container.id == \"$id_b\"" "signal_deliver is attributed to the target's container"
assert_event "$ev" '.signal_name == "SIGUSR1"' "signal_name is SIGUSR1"

# An ignored signal is dropped when generated, so it is never delivered.
assert_jq_none "$out" ".type == \"signal_deliver\" and .process.pid == $pid_h and .signal == 10" \
	"no delivery of the ignored SIGUSR1 to the host sleep"

log "ok"
