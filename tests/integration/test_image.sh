#!/usr/bin/env bash
#
# The image `make image` builds (build/vigil-image.tar) runs under a real
# containerd the way the DaemonSet runs it: privileged, in the host's pid
# namespace, with the DaemonSet's host mounts; and it reports an exec that
# happens on the host, with the host's pid, and names a pod's container
# from the runtime state the DaemonSet mounts.  Also: the archive is a
# from-scratch image (one layer, only vigil's files) whose entrypoint is vigil.
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/containerd.sh
. "$(dirname "$0")/containerd.sh"

archive=$T_ROOT/build/vigil-image.tar
[[ -f $archive ]] || fail "$archive is missing: make image (make integration builds it)"
t_require_cmd curl tar

# --- the archive itself: one manifest, one layer, vigil's entrypoint
mkdir -p "$T_TMP/oci"
tar -C "$T_TMP/oci" -xf "$archive" || fail "cannot unpack $archive"
blob() { printf '%s/oci/blobs/%s\n' "$T_TMP" "${1/://}"; }
[[ $(jq '.manifests | length' "$T_TMP/oci/index.json") == 1 ]] || fail "index.json has not exactly one manifest"
tag=$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$T_TMP/oci/index.json")
manifest=$(blob "$(jq -r '.manifests[0].digest' "$T_TMP/oci/index.json")")
[[ $(jq '.layers | length' "$manifest") == 1 ]] || fail "the image has $(jq '.layers | length' "$manifest") layers, want 1 (from scratch)"
config=$(blob "$(jq -r '.config.digest' "$manifest")")
assert_eq "$(jq -c '.config.Entrypoint' "$config")" '["/usr/sbin/vigil"]' "image entrypoint"
assert_eq "$(jq -c '.config.Cmd' "$config")" '["run"]' "image cmd"
layer=$(blob "$(jq -r '.layers[0].digest' "$manifest")")
# Regular files and links only (directories are implied).
files=$(tar -tvzf "$layer" | awk '$1 !~ /^d/ {print $NF}' | sed 's|^\./||' | sort | tr '\n' ' ')
assert_eq "$files" "usr/sbin/vigil " "files in the image's layer"
log "archive: tag $tag, 1 layer: $files"

# --- run it
containerd_start
image_import "$archive" vigil
ref=vigil:$tag
t_ctr -n k8s.io images ls -q | grep -qx "$ref" || fail "$ref not in containerd after import"

port=$(free_port)
mkdir -p "$T_TMP/varlib"
out=$T_TMP/events.jsonl err=$T_TMP/vigil.err
name=vigil-it-$(rand_hex 8)
# The host mounts of deploy/kubernetes's DaemonSet, read from the rendered
# base.  Host paths a test must not touch are replaced: the runtimes' state
# by this test's containerd's (and an empty dir), /var/lib/vigil by a temp dir.
t_require_cmd kubectl node
kubectl kustomize "$T_ROOT/deploy/kubernetes/base" >"$T_TMP/base.yaml" 2>"$T_TMP/kustomize.err" ||
	{ dump_file "$T_TMP/kustomize.err"; fail "kubectl kustomize deploy/kubernetes/base failed"; }
node "$T_ROOT/tests/deploy/caps.mjs" --mounts "$T_TMP/base.yaml" >"$T_TMP/mounts" ||
	fail "cannot read the DaemonSet's mounts (tests/deploy: make deps runs npm ci)"
mkdir -p "$T_TMP/crio-state"
mounts=()
while read -r src dst mode; do
	case $src in
	/run/containerd) src=$CTRD_STATE ;;
	/run/containers) src=$T_TMP/crio-state ;;
	/var/lib/vigil) src=$T_TMP/varlib ;;
	esac
	[[ -e $src ]] || { log "host has no $src: not mounted"; continue; }
	mounts+=(--mount "type=bind,src=$src,dst=$dst,options=rbind:$mode")
	log "mount $src -> $dst ($mode)"
done <"$T_TMP/mounts"
((${#mounts[@]} >= 5)) || fail "only ${#mounts[@]} host mounts read from the DaemonSet"
# --with-ns pid:<our pid namespace> is the DaemonSet's hostPID: true.
spawn t_ctr -n k8s.io run --rm --privileged --net-host \
	--with-ns "pid:/proc/$$/ns/pid" "${mounts[@]}" \
	"$ref" "$name" /usr/sbin/vigil run --metrics-addr "127.0.0.1:$port" >"$out" 2>"$err"
ctr_pid=$SPAWN_PID
T_ON_EXIT+=("t_ctr -n k8s.io tasks kill -s KILL $name >/dev/null 2>&1")
deadline=$((SECONDS + 30))
until grep -q '^vigil: running' "$err" 2>/dev/null; do
	kill -0 "$ctr_pid" 2>/dev/null || { dump_file "$err"; fail "the vigil container exited before it was running"; }
	((SECONDS < deadline)) || { dump_file "$err"; fail "vigil in the container not running after 30 s"; }
	sleep 0.2
done
log "$(grep '^vigil: running' "$err")"

ready=$(curl -fsS --max-time 5 "http://127.0.0.1:$port/readyz") || fail "/readyz of the containerized agent did not answer 200"
log "/readyz: $ready"

/bin/true "$T_MARK" &
host_pid=$!
wait "$host_pid"
wait_jq "$out" ".type == \"exec\" and (.process.args | index(\"$T_MARK\"))" 10 ||
	{ dump_file "$err"; dump_file "$out" 5; fail "no exec event for the host's /bin/true $T_MARK"; }
ev=$(jq_lines "$out" ".type == \"exec\" and (.process.args | index(\"$T_MARK\"))" | head -n 1)
log "event: $ev"
assert_eq "$(jq -r .process.pid <<<"$ev")" "$host_pid" "pid in the event is the host's pid (hostPID)"
assert_eq "$(jq -r .container.runtime <<<"$ev")" host "the host exec is attributed to the host"

# A pod's container in the same containerd: the agent in the image reads
# its names through the DaemonSet's /run/containerd mount, with the
# built-in default runtime_state_dirs.
busybox_image vigil-it/busybox:img
pod_uid=$(rand_pod_uid)
id=$(rand_container_id)
cg=$(kubepods_cgroup "$pod_uid" "$id" besteffort)
_note_cgroup_dirs "$cg"
t_ctr -n k8s.io run --rm --cgroup "$cg" \
	--annotation io.kubernetes.cri.container-type=container \
	--annotation io.kubernetes.cri.sandbox-name=shop-api-7d9f \
	--annotation io.kubernetes.cri.sandbox-namespace=shop \
	--annotation io.kubernetes.cri.container-name=api \
	vigil-it/busybox:img "$id" /bin/busybox true "$T_MARK-pod" \
	</dev/null >"$T_TMP/ctr.out" 2>&1 || { dump_file "$T_TMP/ctr.out"; fail "ctr run of the pod container failed"; }
deadline=$((SECONDS + 10))
until grep -qF -- "$T_MARK-pod" "$out"; do
	((SECONDS < deadline)) || { dump_file "$err"; fail "no event for the pod container's exec"; }
	sleep 0.2
done
ev=$(grep -F -- "$id" "$out" | jq -c "select(.type == \"exec\" and .process.args[-1] == \"$T_MARK-pod\")" | head -n 1)
log "pod event: $ev"
[[ -n $ev ]] || fail "no exec event of the pod container naming its id"
assert_eq "$(jq -r '[.container.pod_name, .container.pod_namespace, .container.container_name] | join("/")' <<<"$ev")" \
	"shop-api-7d9f/shop/api" "pod name, namespace and container name seen from inside the image"

t_ctr -n k8s.io tasks kill -s TERM "$name" >/dev/null 2>&1 || fail "cannot signal the vigil task"
rc=0
reap "$ctr_pid" || rc=$?
[[ $rc == 0 ]] || { dump_file "$err"; fail "vigil in the container exited $rc after SIGTERM"; }
assert_grep "$err" '^vigil run: [0-9]+ events, 0 lost' "clean summary line after SIGTERM"
log "PASS"
