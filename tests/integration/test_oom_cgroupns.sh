#!/usr/bin/env bash
#
# The OOM policy engine with the agent in a private cgroup namespace (what
# containerd gives an unprivileged pod on cgroup v2 nodes): /proc/PID/cgroup
# then shows every other process's cgroup relative to the agent's namespace
# root ("/../../x"), while the hierarchy mount is the host's whole tree.
#
# The agent runs through a wrapper this test writes: it moves itself into a
# cgroup three levels deep that the test makes in the memory hierarchy
# ($base/agent/ns), then `unshare -C` and execs the real binary ($VIGIL).
# The wrapper records what the agent sees (its own cgroup "/" and the mount
# root "/../../..") so the test knows the namespace is really private.
#
# (The kinds that read no cgroup path - process kills, handoff - are
# test_oom_policy's; running it whole in a namespace too added time and
# nothing these two do not check.)
#   group     kill: process_group: the victim's group-mate (a sleep in the
#             same memcg and process group) dies with it; its cgroup is
#             checked before the kill.
#   cgroup    kill: cgroup: every process in the memcg dies, each checked
#             to be in the subtree before its signal.
# Neither of the last two can pass when the agent compares namespace-relative
# paths with the policy's cgroup.
set -u -o pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/oom.sh
. "$(dirname "$0")/oom.sh"

t_require_cmd unshare setsid
attribution_hierarchy
[[ -n $cgroot ]] || skip "no cgroup v1 memory hierarchy and no cgroup2 mount"
[[ -e /proc/self/ns/cgroup ]] || skip "this kernel has no cgroup namespaces"
unshare -C true 2>/dev/null || skip "unshare -C fails here: cannot make a cgroup namespace"
if [[ $hier == v2 ]]; then
	grep -qw memory "$cgroot/cgroup.subtree_control" ||
		echo +memory >"$cgroot/cgroup.subtree_control" ||
		skip "cannot enable the memory controller in $cgroot"
fi
memhog=$(need_helper memhog)
real_vigil=$VIGIL
[[ -x $real_vigil ]] || fail "vigil binary not found at $real_vigil (run make)"
base=/$T_MARK
mkcg "$base/agent/ns"

wrapper=$T_TMP/vigil-in-cgns
nslog=$T_TMP/ns.log
{
	echo '#!/bin/sh'
	echo "# Written by $T_NAME: vigil in a private cgroup namespace rooted at $base/agent/ns."
	printf 'nscg=%q mnt=%q nslog=%q real=%q\n' "$cgroot$base/agent/ns" "$cgroot" "$nslog" "$real_vigil"
	cat <<'EOF'
if [ "$1" != --in-cgns ]; then
	echo $$ >"$nscg/cgroup.procs" || exit 97
	exec unshare -C "$0" --in-cgns "$@"
fi
shift
root=$(awk -v m="$mnt" '$5 == m { r = $4 } END { print r }' /proc/self/mountinfo)
echo "root=$root self=$(tr '\n' ' ' </proc/self/cgroup)" >>"$nslog"
exec "$real" "$@"
EOF
} >"$wrapper"
chmod +x "$wrapper"

# ---------------------------------------------------------------- group and cgroup kills

port=$(free_port)
mkdir -p "$T_TMP/policies" "$T_TMP/bin"
oom_config "$T_TMP/vigil.yaml" "$port"
: >"$T_TMP/policies/test.yaml"
for c in group cgroup; do
	memcg "$c" 64
	kind=$c
	[[ $c == group ]] && kind=process_group
	cat >>"$T_TMP/policies/test.yaml" <<EOF
---
apiVersion: vigil.dev/v1alpha1
kind: OomPolicy
metadata:
  name: it-ns-$c
spec:
  scope:
    cgroups: ["$base/$c"]
  detectors: [{usage: {percent: 60}}]
  postActionDelay: 30s
  kill: $kind
EOF
done
out=$T_TMP/out.jsonl err=$T_TMP/err.log
: >"$nslog"
VIGIL=$wrapper
vigil_start "$out" "$err" run --config "$T_TMP/vigil.yaml" --policy-dir "$T_TMP/policies"
wait_jq "$out" '.type == "policy_reload" and .result == "ok"' 20 ||
	{ dump_file "$err"; fail "the OomPolicies did not load"; }
grep -q "^root=/../../.. " "$nslog" || fail "vigil was not started in the private cgroup namespace"

# In each memcg: a sleep (its pid in $T_TMP/$c.mate) and a hog that grows
# past the 60% line, both in a new process group of their own.
declare -A hog mate
for c in group cgroup; do
	cp "$memhog" "$T_TMP/bin/hog-$c"
	spawn setsid /bin/sh -c 'echo $$ >"$1/cgroup.procs" || exit 1
		sleep 300 & echo $! >"$2"
		shift 2
		exec "$@"' sh "$cgroot$base/$c" "$T_TMP/$c.mate" "$T_TMP/bin/hog-$c" 200 40 --hold
	hog[$c]=$SPAWN_PID
done
for c in group cgroup; do
	for _ in $(seq 50); do
		[[ -s $T_TMP/$c.mate ]] && break
		sleep 0.1
	done
	mate[$c]=$(cat "$T_TMP/$c.mate" 2>/dev/null)
	[[ -n ${mate[$c]} ]] || fail "$c: the sleeping group-mate did not start"
	T_ON_EXIT+=("kill -9 ${mate[$c]} 2>/dev/null")
done
for c in group cgroup; do
	wait_dead "${hog[$c]}" 15 || fail "$c: vigil did not kill the hog (pid ${hog[$c]})"
	wait_dead "${mate[$c]}" 5 ||
		fail "$c: the hog's group-mate (pid ${mate[$c]}) in the same memcg survived kill: $c"
done
vigil_stop
assert_jq "$out" ".type == \"oom_kill\" and .process.pid == ${hog[group]} and .oom.policy == \"it-ns-group\"" \
	"group: vigil's oom_kill event names the hog" '.type == "oom_kill"'
assert_jq "$out" ".type == \"oom_kill\" and .process.pid == ${hog[cgroup]} and .oom.policy == \"it-ns-cgroup\"" \
	"cgroup: vigil's oom_kill event names the hog" '.type == "oom_kill"'
for c in group cgroup; do
	assert_eq "$(kernel_oom_kills "$c")" 0 "$c: the kernel's oom_kill counter"
done
if grep -q "private cgroup namespace" "$err"; then
	dump_file "$err"
	fail "the agent says it could not find its cgroup namespace root"
fi
log "ok"
