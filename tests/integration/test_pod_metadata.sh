#!/usr/bin/env bash
#
# Pod names come from a real containerd's state: a container started with
# `ctr run` in namespace k8s.io, with the annotations containerd's CRI plugin
# puts on a pod's container and a kubelet-style cgroup path, has its exec
# events carry container.pod_name, pod_namespace, container_name and image,
# in `vigil trace` (--runtime-state-dir) and in `vigil run`
# (runtime_state_dirs), next to the container id from the cgroup.  In
# `vigil run` a SignalPolicy rule whose sender selector names the pod and
# namespace (`pods:`, `namespaces:`) judges the container's signal, one
# naming another pod does not, and /metrics counts the lookup as found.
# A container without pod annotations (plain `ctr run`) gets "" for all four.
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/containerd.sh
. "$(dirname "$0")/containerd.sh"

t_require_cmd curl

containerd_start
ref=vigil-it/busybox:pod
busybox_image "$ref"

pod_uid=$(rand_pod_uid)
id=$(rand_container_id)
cg=$(kubepods_cgroup "$pod_uid" "$id" besteffort)
plain_id=$(rand_container_id)
plain_cg=$(kubepods_cgroup "$(rand_pod_uid)" "$plain_id" besteffort)
# runc makes the cgroups; what did not exist before is removed at exit.
_note_cgroup_dirs "$cg"
_note_cgroup_dirs "$plain_cg"
mark=$T_MARK-pod plain_mark=$T_MARK-plain

port=$(free_port)
mkdir -p "$T_TMP/policies"
cat >"$T_TMP/policies/pods.yaml" <<EOF
apiVersion: vigil.dev/v1alpha1
kind: SignalPolicy
metadata:
  name: it-pods
spec:
  rules:
    - name: other-pod
      sender:
        pods: ["db-*"]
      target:
        relation: same-container
      signals: [SIGUSR2]
      action: audit
    - name: web-in-shop
      sender:
        namespaces: ["sho?"]
        pods: ["web-*"]
      target:
        relation: same-container
      signals: [SIGUSR2]
      action: audit
EOF
cat >"$T_TMP/vigil.yaml" <<EOF
# vigil integration test ($T_MARK): pod names from containerd's state
metrics_addr: "127.0.0.1:$port"
observe: {fork: false, exit: false}
runtime_state_dirs:
  - $CTRD_TASKS
EOF

# A busy node (or a test running next to this one) can write a lot of
# events; look for ours with grep, and hand jq only the lines naming our ids.
wait_grep() {
	local deadline=$((SECONDS + $3))
	until grep -qF -- "$2" "$1" 2>/dev/null; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}
ours() { grep -F -e "$id" -e "$plain_id" "$1" >"$1.ours" || true; }

tout=$T_TMP/trace.json terr=$T_TMP/trace.err
rout=$T_TMP/run.json rerr=$T_TMP/run.err
vigil_start "$tout" "$terr" trace exec --json --runtime-state-dir "$CTRD_TASKS"
trace_pid=$VIGIL_PID
vigil_start "$rout" "$rerr" run --config "$T_TMP/vigil.yaml" --policy-dir "$T_TMP/policies"
run_pid=$VIGIL_PID
wait_grep "$rerr" 'generation 1 active: 1 documents, 2 rules' 10 ||
	{ dump_file "$rerr"; fail "the pods/namespaces policy did not load"; }

# The shell ignores SIGUSR2 and sends it to itself: a signal inside the container.
t_ctr -n k8s.io run --rm --cgroup "$cg" \
	--annotation io.kubernetes.cri.container-type=container \
	--annotation io.kubernetes.cri.sandbox-name=web-0 \
	--annotation io.kubernetes.cri.sandbox-namespace=shop \
	--annotation io.kubernetes.cri.sandbox-uid="$pod_uid" \
	--annotation io.kubernetes.cri.container-name=nginx \
	--annotation io.kubernetes.cri.image-name=docker.io/library/nginx:1.27 \
	"$ref" "$id" /bin/sh -c "trap '' USR2; kill -USR2 \$\$; /bin/busybox true $mark" \
	</dev/null >"$T_TMP/ctr.out" 2>&1 || { dump_file "$T_TMP/ctr.out"; fail "ctr run of the pod container failed"; }
t_ctr -n k8s.io run --rm --cgroup "$plain_cg" "$ref" "$plain_id" /bin/busybox true "$plain_mark" \
	</dev/null >"$T_TMP/ctr-plain.out" 2>&1 || { dump_file "$T_TMP/ctr-plain.out"; fail "ctr run of the plain container failed"; }

for f in "$tout" "$rout"; do
	wait_grep "$f" "$plain_mark" 10 || log "$f: the plain container's exec not seen"
done
scrape "$T_TMP/metrics.txt"

for v in "$trace_pid:$terr" "$run_pid:$rerr"; do
	rc=0
	VIGIL_PID=${v%%:*} vigil_stop INT || rc=$?
	[[ $rc == 0 ]] || { dump_file "${v#*:}"; fail "vigil exited $rc after SIGINT (pid ${v%%:*})"; }
done

for f in "$tout" "$rout"; do
	ours "$f"
	f=$f.ours
	assert_json_lines "$f"
	# The marker exec itself (ctr's own command line on the host names the marker too).
	ev=$(jq_lines "$f" ".type == \"exec\" and .process.args == [\"/bin/busybox\", \"true\", \"$mark\"]" | head -n 1)
	[[ -n $ev ]] || {
		jq_lines "$f" ".container.id == \"$id\"" | head -n 5 >&2
		dump_file "$f" 10
		fail "$f: no exec event with $mark"
	}
	log "$(basename "$f"): $ev"
	assert_event "$ev" ".container.id == \"$id\"" "container.id is the ctr container's id"
	assert_event "$ev" ".container.pod_uid == \"$pod_uid\"" "container.pod_uid from the cgroup path"
	assert_event "$ev" '.container.pod_name == "web-0"' "container.pod_name from the sandbox-name annotation"
	assert_event "$ev" '.container.pod_namespace == "shop"' "container.pod_namespace from the sandbox-namespace annotation"
	assert_event "$ev" '.container.container_name == "nginx"' "container.container_name from the container-name annotation"
	assert_event "$ev" '.container.image == "docker.io/library/nginx:1.27"' "container.image from the image-name annotation"

	ev=$(jq_lines "$f" ".type == \"exec\" and .process.args == [\"/bin/busybox\", \"true\", \"$plain_mark\"]" | head -n 1)
	[[ -n $ev ]] || { dump_file "$f" 10; fail "$f: no exec event with $plain_mark"; }
	assert_event "$ev" ".container.id == \"$plain_id\"" "the plain container is attributed"
	assert_event "$ev" '.container.pod_name == "" and .container.pod_namespace == "" and .container.container_name == "" and .container.image == ""' \
		"a container without pod annotations has empty pod names"
done

# --- vigil run: the pod selector judged the container's signal
ev=$(jq_lines "$rout.ours" ".type == \"signal\" and .container.id == \"$id\" and .signal_name == \"SIGUSR2\"" | head -n 1)
[[ -n $ev ]] || { jq_lines "$rout.ours" '.type == "signal"' | head -n 5 >&2; fail "no SIGUSR2 event from the pod container"; }
log "signal: $ev"
assert_event "$ev" '.policy.name == "it-pods" and .policy.rule == "web-in-shop"' \
	"the rule selecting pods web-* in namespaces sho? matched (not the db-* one)"
assert_event "$ev" '.policy.effect == "audit"' "the audit rule's effect"

found=$(awk '$1 == "vigil_pod_metadata_lookups_total{result=\"found\"}" { print $2 }' "$T_TMP/metrics.txt")
notk=$(awk '$1 == "vigil_pod_metadata_lookups_total{result=\"not_kubernetes\"}" { print $2 }' "$T_TMP/metrics.txt")
log "pod metadata lookups: found=$found not_kubernetes=$notk"
[[ -n $found && $found -ge 1 ]] || { grep vigil_pod_metadata "$T_TMP/metrics.txt" >&2; fail "vigil_pod_metadata_lookups_total{result=\"found\"} is not >= 1"; }
[[ -n $notk && $notk -ge 1 ]] || { grep vigil_pod_metadata "$T_TMP/metrics.txt" >&2; fail "vigil_pod_metadata_lookups_total{result=\"not_kubernetes\"} is not >= 1"; }

log "ok"
