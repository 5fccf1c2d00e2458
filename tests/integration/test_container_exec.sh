#!/usr/bin/env bash
#
# An exec inside a Kubernetes-style runc container is attributed to that
# container (id, pod UID, QoS class, runtime), and an exec on the host is
# attributed to the host.  A second tracer with --container ID sees only that
# container, and one with --host sees only the host.
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

pod_uid=$(rand_pod_uid)
id=$(rand_container_id)
cg=$(kubepods_cgroup "$pod_uid" "$id" burstable)
ctr_mark=$T_MARK-ctr
host_mark=$T_MARK-host

out=$T_TMP/trace.json err=$T_TMP/trace.err
cout=$T_TMP/trace-ctr.json cerr=$T_TMP/trace-ctr.err
hout=$T_TMP/trace-host.json herr=$T_TMP/trace-host.err

# The container waits for a go file, so all three tracers are attached
# before its marker exec happens.
make_bundle "$T_TMP/ct" "$id" "$cg" /bin/sh -c \
	"while [ ! -e /tmp/go ]; do sleep 0.1; done; /bin/busybox true $ctr_mark; sleep 0.5"
run_container "$T_TMP/ct"

vigil_start "$out" "$err" trace exec --json
all_pid=$VIGIL_PID
vigil_start "$cout" "$cerr" trace exec --json --container "$id"
ctr_pid=$VIGIL_PID
vigil_start "$hout" "$herr" trace exec --json --host
host_pid=$VIGIL_PID

touch "$T_TMP/ct/rootfs/tmp/go"
/bin/true "$host_mark" || fail "/bin/true failed"

wait_jq "$out" "has_arg(\"$ctr_mark\")" 10 || log "container exec not seen before stop"
wait_jq "$out" "has_arg(\"$host_mark\")" 5 || log "host exec not seen before stop"

for v in "$all_pid:$err" "$ctr_pid:$cerr" "$host_pid:$herr"; do
	rc=0
	VIGIL_PID=${v%%:*} vigil_stop INT || rc=$?
	[[ $rc == 0 ]] || { dump_file "${v#*:}"; fail "vigil trace exited $rc after SIGINT (pid ${v%%:*})"; }
	assert_grep "${v#*:}" '^vigil trace: [0-9]+ events, [0-9]+ lost' "summary line on stderr"
done

for f in "$out" "$cout" "$hout"; do
	assert_json_lines "$f"
	assert_jq_none "$f" '.type != "exec"' "$f: only exec events were asked for"
done

# --- unfiltered tracer: the container's exec
ev=$(jq_lines "$out" "has_arg(\"$ctr_mark\")" | head -n 1)
[[ -n $ev ]] || {
	log "exec events from our pod (if any):"
	jq_lines "$out" ".container.pod_uid == \"$pod_uid\" or (.container.cgroup | contains(\"$id\"))" | head -n 5 >&2
	dump_file "$out" 10
	fail "no exec event whose args contain $ctr_mark"
}
log "container exec: $ev"
assert_event "$ev" 'common' "container exec event has the common fields with the right types"
assert_event "$ev" '.type == "exec" and (.args_truncated | type == "boolean")' "exec event has args_truncated"
assert_event "$ev" ".container.id == \"$id\"" "container.id is the runc container id"
assert_event "$ev" ".container.pod_uid == \"$pod_uid\"" "container.pod_uid is the pod UID from the cgroup path"
assert_event "$ev" '.container.qos == "burstable"' "container.qos is burstable"
assert_event "$ev" '.container.runtime == "kubepods"' "container.runtime for a bare kubepods cgroup path is kubepods"
assert_event "$ev" ".container.cgroup | endswith(\"/pod$pod_uid/$id\")" "container.cgroup is the container's cgroup path"
assert_event "$ev" '.process.binary | length > 0 and endswith("/busybox")' "binary is the executed file (…/busybox)"
assert_event "$ev" ".process.args == [\"/bin/busybox\", \"true\", \"$ctr_mark\"]" "args are the exec'd argv"
assert_event "$ev" '.process.comm == "busybox"' "comm is the new image's name"
assert_event "$ev" '.process.uid == 0' "uid is 0 (root in the container, no user namespace)"

# --- unfiltered tracer: the host exec
ev=$(jq_lines "$out" "has_arg(\"$host_mark\")" | head -n 1)
[[ -n $ev ]] || { dump_file "$out" 10; fail "no exec event whose args contain $host_mark"; }
log "host exec: $ev"
assert_event "$ev" 'common' "host exec event has the common fields with the right types"
assert_event "$ev" '.container.runtime == "host"' "host exec has container.runtime host"
assert_event "$ev" '.container.id == "" and .container.pod_uid == ""' "host exec has empty container id and pod uid"
assert_event "$ev" '.process.binary | length > 0 and endswith("/true")' "binary is the executed file (…/true)"
assert_event "$ev" ".process.ppid == $$" "ppid of the host exec is the test shell"
assert_event "$ev" ".process.args == [\"/bin/true\", \"$host_mark\"]" "args are the exec'd argv"

# --- --container ID
assert_jq "$cout" "has_arg(\"$ctr_mark\")" "--container $id shows the container's exec" \
	"(.container.id == \"$id\")"
assert_jq_none "$cout" "has_arg(\"$host_mark\")" "--container $id hides host execs"
assert_jq_none "$cout" ".container.id != \"$id\"" "--container $id shows only that container's events"

# --- --host
assert_jq "$hout" "has_arg(\"$host_mark\")" "--host shows the host exec"
assert_jq_none "$hout" "has_arg(\"$ctr_mark\")" "--host hides container execs"
assert_jq_none "$hout" '.container.runtime != "host"' "--host shows only host events"

log "ok"
