#!/usr/bin/env bash
#
# The capabilities in deploy/kubernetes are enough: render the base and the
# enforce overlay with kubectl kustomize, read the capability list of the
# rendered DaemonSet, and run `vigil run` under setpriv with exactly those
# in its bounding set (nothing inherited or ambient, no_new_privs, as
# allowPrivilegeEscalation: false gives the pod) and with the rendered
# base's policy ConfigMap (signal, trust, OOM and leak policies, all
# audit-mode).  For each:
#   - the agent's effective capability set is exactly the rendered list
#     (less any capability this test itself lacks: a subset that passes
#     proves the list sufficient; the log says which);
#   - it starts, loads the policies, reports a host exec of this test, and
#     pins the trust hooks (TrustPolicy in audit mode) in a bpffs directory
#     of this test's own; events carry VIGIL_NODE_NAME as their node;
# and as a control, the base list without BPF fails to load anything (so
# the bounding set really limits the agent).
# Pins go to /sys/fs/bpf/<mark>, removed at exit; the trust store is in the
# test's temp dir.
set -u -o pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

command -v kubectl >/dev/null || skip "kubectl not found: it renders deploy/kubernetes (kubectl 1.21 or later)"
command -v node >/dev/null || skip "node not found: it reads the rendered manifests (make deps)"
command -v setpriv >/dev/null || skip "setpriv not found (util-linux)"
"$T_ROOT/tests/deploy/npm-ci.sh" >&2 || fail "cannot install tests/deploy's npm packages"

# Kubernetes capability names (BPF) to setpriv's (+bpf), and to a CapEff mask.
declare -A capnum=([CHOWN]=0 [DAC_OVERRIDE]=1 [DAC_READ_SEARCH]=2 [FOWNER]=3 [FSETID]=4
	[KILL]=5 [SETGID]=6 [SETUID]=7 [SETPCAP]=8 [NET_ADMIN]=12 [NET_RAW]=13
	[IPC_LOCK]=14 [SYS_MODULE]=16 [SYS_RAWIO]=17 [SYS_CHROOT]=18 [SYS_PTRACE]=19
	[SYS_ADMIN]=21 [SYS_NICE]=23 [SYS_RESOURCE]=24 [MAC_ADMIN]=33 [SYSLOG]=34
	[PERFMON]=38 [BPF]=39 [CHECKPOINT_RESTORE]=40)
have_bnd=$((16#$(awk '/^CapBnd:/ {print $2}' /proc/self/status)))

render() { # DIR -> $T_TMP/NAME.yaml
	kubectl kustomize "$T_ROOT/$1" >"$T_TMP/$2.yaml" 2>"$T_TMP/$2.err" ||
		{ dump_file "$T_TMP/$2.err"; fail "kubectl kustomize $1 failed"; }
}
render deploy/kubernetes/base base
render deploy/kubernetes/overlays/enforce enforce
node "$T_ROOT/tests/deploy/caps.mjs" "$T_TMP/base.yaml" "$T_TMP/policies" >"$T_TMP/base.caps" ||
	fail "cannot read the capabilities of the rendered base"
node "$T_ROOT/tests/deploy/caps.mjs" "$T_TMP/enforce.yaml" >"$T_TMP/enforce.caps" ||
	fail "cannot read the capabilities of the rendered enforce overlay"
ls "$T_TMP"/policies/*.yaml >/dev/null 2>&1 || fail "the rendered base has no policy files"

bpffs=/sys/fs/bpf/$T_MARK
T_ON_EXIT+=("rm -rf '$bpffs'")

# run_with CAPSFILE NAME: vigil run with exactly those capabilities.
run_with() {
	local caps=$1 name=$2 set="" mask=0 c port
	while read -r c; do
		[[ -n $c ]] || continue
		[[ -n ${capnum[$c]+x} ]] || fail "$name: unknown capability '$c' in the manifest"
		# What this test lacks itself it cannot grant; a subset of the list
		# that passes proves the list sufficient all the same.
		if ((!(have_bnd >> capnum[$c] & 1))); then
			log "$name: NOTE: CAP_$c is not in this test's own bounding set; running without it"
			continue
		fi
		set+=",+${c,,}"
		mask=$((mask | 1 << capnum[$c]))
	done <"$caps"
	port=$(free_port)
	rm -rf "$bpffs"
	cat >"$T_TMP/$name.vigil.yaml" <<-EOF2
	metrics_addr: "127.0.0.1:$port"
	trust:
	  store_dir: $T_TMP/trust-$name
	  bpffs: $bpffs
	EOF2
	# vigil_start runs $VIGIL; make that setpriv around the real binary.
	cat >"$T_TMP/$name.sh" <<-EOF2
	#!/bin/sh
	exec setpriv --bounding-set=-all$set --inh-caps=-all --ambient-caps=-all --no-new-privs -- "$VIGIL" "\$@"
	EOF2
	chmod +x "$T_TMP/$name.sh"
	log "$name: capabilities ${set#,}"
	RUN_MASK=$mask RUN_WRAP=$T_TMP/$name.sh RUN_CFG=$T_TMP/$name.vigil.yaml
}

for variant in base enforce; do
	run_with "$T_TMP/$variant.caps" "$variant"
	out=$T_TMP/$variant.json err=$T_TMP/$variant.err
	real=$VIGIL
	VIGIL=$RUN_WRAP
	# As the DaemonSet sets it from spec.nodeName.
	export VIGIL_NODE_NAME=node-$T_MARK
	vigil_start "$out" "$err" run --config "$RUN_CFG" --policy-dir "$T_TMP/policies"
	unset VIGIL_NODE_NAME
	VIGIL=$real
	eff=$((16#$(awk '/^CapEff:/ {print $2}' "/proc/$VIGIL_PID/status")))
	((eff == RUN_MASK)) ||
		fail "$variant: vigil's effective capabilities are $(printf %x $eff), expected $(printf %x "$RUN_MASK")"
	wait_jq "$out" '.type == "policy_reload" and .result == "ok"' 20 ||
		{ dump_file "$err"; fail "$variant: the rendered policies did not load"; }
	marker="vigil-caps-$variant-$T_MARK"
	# Repeated: a burst from elsewhere on the host can fill the ring buffer
	# and lose one exec; every attempt carries the same marker.
	seen=0
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		sh -c ": $marker"
		wait_jq "$out" '.type == "exec" and ((.process.args // []) | join(" ") | contains("'"$marker"'"))' 2 &&
			{ seen=1; break; }
	done
	((seen)) || { dump_file "$err"; fail "$variant: no exec event for this test's '$marker' with the manifest's capabilities"; }
	assert_jq "$out" '.type == "exec" and .node == "node-'"$T_MARK"'" and ((.process.args // []) | join(" ") | contains("'"$marker"'"))' \
		"$variant: events carry VIGIL_NODE_NAME as node" '.type == "exec" and ((.process.args // []) | join(" ") | contains("'"$marker"'"))'
	[[ -e $bpffs/trust/trust_inodes ]] ||
		{ dump_file "$err"; fail "$variant: the TrustPolicy's maps are not pinned under $bpffs/trust"; }
	if grep -q 'Operation not permitted' "$err"; then
		dump_file "$err"
		fail "$variant: vigil reported 'Operation not permitted' with the manifest's capabilities"
	fi
	vigil_stop INT || fail "$variant: vigil exited with an error"
	log "$variant: exec reported, trust pinned, effective capabilities exactly the manifest's"
done

# Control: without BPF nothing loads, so the bounding set is in force.
grep -vx BPF "$T_TMP/base.caps" >"$T_TMP/nobpf.caps"
run_with "$T_TMP/nobpf.caps" nobpf
rc=0
timeout 30 "$RUN_WRAP" run --config "$RUN_CFG" --policy-dir "$T_TMP/policies" \
	>"$T_TMP/nobpf.json" 2>"$T_TMP/nobpf.err" </dev/null || rc=$?
((rc != 0 && rc != 124)) || { dump_file "$T_TMP/nobpf.err"; fail "vigil ran without CAP_BPF (exit $rc)"; }
assert_grep "$T_TMP/nobpf.err" 'Operation not permitted' "without CAP_BPF the load must fail with EPERM"
log "control: without CAP_BPF vigil exits $rc (EPERM), as it must"
