#!/usr/bin/env bash
#
# Exit events say how a process ended: killed by a signal (signal number and
# name), or exited normally (exit code, signal 0); a container's exit is
# attributed to its pod.  `--pid PID` limits the trace to that process.
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

# Started before the tracers so `--pid` can name it.
spawn sleep 300
pid_k=$SPAWN_PID

out=$T_TMP/trace.json err=$T_TMP/trace.err
pout=$T_TMP/trace-pid.json perr=$T_TMP/trace-pid.err
vigil_start "$out" "$err" trace exit --json
all_pid=$VIGIL_PID
vigil_start "$pout" "$perr" trace exit --json --pid "$pid_k"
pid_pid=$VIGIL_PID

# Normal exit with a code.
spawn /bin/sh -c 'exit 3'
pid_e=$SPAWN_PID
rc=0
reap "$pid_e" || rc=$?
assert_eq "$rc" 3 "sh -c 'exit 3' status"

# Some unrelated exits the --pid tracer must not show.
for _ in 1 2 3; do /bin/true; done

# A container whose only process exits 7 (pod-level QoS: guaranteed).
pod=$(rand_pod_uid) id=$(rand_container_id)
make_bundle "$T_TMP/ct" "$id" "$(kubepods_cgroup "$pod" "$id" guaranteed)" /bin/sh -c 'exit 7'
rc=0
run_container_fg "$T_TMP/ct" || rc=$?
assert_eq "$rc" 7 "container exit status"

# Killed by SIGKILL after living at least a second.
# (A fixed sleep: bash's $SECONDS ticks in whole seconds, too coarse here.)
sleep 1.2
kill -s KILL "$pid_k"
rc=0
reap "$pid_k" 2>/dev/null || rc=$?	# (no "Killed" job notice)
assert_eq "$rc" 137 "sleep killed by SIGKILL, shell status"

sel_k=".type == \"exit\" and .process.pid == $pid_k"
sel_e=".type == \"exit\" and .process.pid == $pid_e"
sel_c=".type == \"exit\" and .container.id == \"$id\""
wait_jq "$out" "$sel_k" 10 || log "SIGKILL exit not seen before stop"

for v in "$all_pid:$err" "$pid_pid:$perr"; do
	rc=0
	VIGIL_PID=${v%%:*} vigil_stop INT || rc=$?
	[[ $rc == 0 ]] || { dump_file "${v#*:}"; fail "vigil trace exited $rc after SIGINT (pid ${v%%:*})"; }
done
assert_json_lines "$out"
assert_json_lines "$pout"
assert_jq_none "$out" '.type | IN("exit", "events_lost") | not' "trace exit prints only exit events"

# --- SIGKILL
n=$(count_jq "$out" "$sel_k")
assert_eq "$n" 1 "number of exit events for the killed sleep (pid $pid_k)"
ev=$(jq_lines "$out" "$sel_k")
log "killed: $ev"
assert_event "$ev" 'common' "exit event has the common fields"
assert_event "$ev" '.signal == 9 and .signal_name == "SIGKILL"' "killed by SIGKILL: signal 9, SIGKILL"
assert_event "$ev" '.core_dumped == false' "no core dump"
assert_event "$ev" '.exit_code | type == "number"' "exit_code is a number"
assert_event "$ev" '.lifetime_seconds | type == "number" and . >= 1 and . < 300' "lifetime_seconds is about how long it ran (>= 1 s)"
assert_event "$ev" ".process.comm == \"sleep\" and .process.ppid == $$" "the killed process is our sleep"
assert_event "$ev" '.container.runtime == "host"' "host process attribution"

# --- exit 3
n=$(count_jq "$out" "$sel_e")
assert_eq "$n" 1 "number of exit events for sh -c 'exit 3' (pid $pid_e)"
ev=$(jq_lines "$out" "$sel_e")
log "exit 3: $ev"
assert_event "$ev" 'common' "exit event has the common fields"
assert_event "$ev" '.exit_code == 3 and .signal == 0' "normal exit: exit_code 3, signal 0"
assert_event "$ev" '.core_dumped == false' "no core dump"
assert_event "$ev" '.lifetime_seconds | type == "number" and . >= 0 and . < 60' "lifetime_seconds is small"
# The tracer shows only exits, but the process began after it started: its
# exec must still have been recorded, or "what exited?" has no answer.
assert_event "$ev" ".process.binary == \"$(readlink -f /bin/sh)\"" \
	"exit event names the binary of a process exec'd after the tracer started (trace exit only)"
assert_event "$ev" '.process.args == ["/bin/sh", "-c", "exit 3"]' \
	"exit event carries the args of a process exec'd after the tracer started (trace exit only)"

# --- container exit 7
ev=$(jq_lines "$out" "$sel_c and .exit_code == 7" | head -n 1)
[[ -n $ev ]] || { log "exits from our container:"; jq_lines "$out" "$sel_c" >&2; fail "no exit event with exit_code 7 from container $id"; }
log "container: $ev"
assert_event "$ev" ".container.pod_uid == \"$pod\" and .container.qos == \"guaranteed\"" \
	"container exit attributed to the pod (guaranteed QoS)"
assert_event "$ev" '.signal == 0 and .process.comm == "sh"' "the container's shell exited normally"

# --- --pid
assert_jq "$pout" "$sel_k" "--pid $pid_k shows that process's exit"
assert_jq_none "$pout" ".type == \"exit\" and .process.pid != $pid_k" "--pid $pid_k shows no other process's exit"

log "ok"
