#!/usr/bin/env bash
#
# OomPolicy on this host, with real memory hogs in small memory cgroups the
# test makes (never the whole machine):
#
#   pre     usage >= 60% of a 64 MiB limit: vigil kills the hog before the
#           kernel must; the memcg's kernel oom_kill counter stays 0 and the
#           oom_kill event says source vigil.
#   prefer  two hogs (44 MiB "bigger", 8 MiB "smaller"): a policy preferring
#           */smaller kills smaller, not the largest process.
#   avoid   the same two hogs, a policy avoiding */bigger: smaller dies.
#   dry     dryRun: an oom_pre_kill event says what would have been done, and
#           the hog lives on.
#   hook    a pre-kill hook that hangs is killed at its timeout, and the
#           victim is killed anyway (hook: timeout in the event).
#   gone    a hook that kills the victim itself: the action is counted as
#           victim_exited, nothing crashes.
#   missing a policy naming a cgroup that does not exist is reported and
#           counted, then picks the cgroup up once it is made.
#   handoff (cgroup v1) oom_kill_disable=1: a real OOM is resolved by the
#           policy's choice (smaller), and the kernel's counter stays 0.
#   chain   (cgroup v1) OOMs back to back for longer than handoffDeadline,
#           each resolved by the policy in time: the kernel kills nothing.
#   wd      (cgroup v1) kill -9 of the agent while it is handling a
#           handed-off OOM: the watchdog gives it back to the kernel, whose
#           OOM killer resolves it within the deadline.
set -u -o pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/oom.sh
. "$(dirname "$0")/oom.sh"

attribution_hierarchy
[[ -n $cgroot ]] || skip "no cgroup v1 memory hierarchy and no cgroup2 mount"
if [[ $hier == v2 ]]; then
	grep -qw memory "$cgroot/cgroup.controllers" ||
		skip "the cgroup2 hierarchy has no memory controller"
	grep -qw memory "$cgroot/cgroup.subtree_control" ||
		echo +memory >"$cgroot/cgroup.subtree_control" ||
		skip "cannot enable the memory controller in $cgroot"
fi
memhog=$(need_helper memhog)
port=$(free_port)
base=/$T_MARK
mkcg "$base"
# Hooks that sleep are found again by their unusual duration.
nap=29.$((RANDOM % 9000 + 1000))
pkill_hooks() { pkill -f "sleep $nap" 2>/dev/null; return 0; }
T_ON_EXIT+=("pkill_hooks")

# hog NAME AS MiB RATE: start a copy of memhog named AS in memcg NAME,
# allocating MiB at RATE MiB/s, then holding.  Sets HOG_PID.
hog() {
	local bin=$T_TMP/bin/$2
	mkdir -p "$T_TMP/bin"
	[[ -x $bin ]] || cp "$memhog" "$bin"
	spawn /bin/sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh \
		"$cgroot$base/$1" "$bin" "$3" "$4" --hold
	HOG_PID=$SPAWN_PID
}

# rss_mib PID: resident MiB now (0 once gone).
rss_mib() { awk '/^VmRSS/ { print int($2 / 1024) }' "/proc/$1/status" 2>/dev/null || echo 0; }

# wait_rss PID MiB: until the process holds at least MiB (10 s).
wait_rss() {
	local deadline=$((SECONDS + 10))
	while (($(rss_mib "$1") < $2)); do
		((SECONDS < deadline)) || fail "pid $1 never reached $2 MiB (now $(rss_mib "$1"))"
		kill -0 "$1" 2>/dev/null || fail "pid $1 died before reaching $2 MiB"
		sleep 0.1
	done
}

policy() { # NAME SCOPE-CGROUP BODY...
	local name=$1 cg=$2
	shift 2
	cat >>"$T_TMP/policies/test.yaml" <<EOF
---
apiVersion: vigil.dev/v1alpha1
kind: OomPolicy
metadata:
  name: $name
spec:
  scope:
    cgroups: ["$cg"]
$(printf '  %s\n' "$@")
EOF
}

mkdir -p "$T_TMP/policies"
echo "# vigil integration test ($T_MARK)" >"$T_TMP/policies/test.yaml"
oom_config "$T_TMP/vigil.yaml" "$port"

# ---------------------------------------------------------------- run 1: detectors

for c in pre dry hook gone; do
	memcg "$c" 64
done
memcg prefer 96
memcg avoid 96
policy it-pre "$base/pre" 'detectors: [{usage: {percent: 60}}]' 'postActionDelay: 30s'
policy it-prefer "$base/prefer" 'detectors: [{usage: {percent: 50}}]' 'postActionDelay: 30s' \
	'victim: {prefer: {binaries: ["*/smaller"]}}'
policy it-avoid "$base/avoid" 'detectors: [{usage: {percent: 50}}]' 'postActionDelay: 30s' \
	'victim: {avoid: {binaries: ["*/bigger"]}}'
policy it-dry "$base/dry" 'detectors: [{usage: {percent: 50}}]' 'dryRun: true' \
	'postActionDelay: 30s'
policy it-hook "$base/hook" 'detectors: [{usage: {percent: 50}}]' 'postActionDelay: 30s' \
	"preKillHook: {command: \"exec sleep $nap\", timeout: 300ms}"
policy it-gone "$base/gone" 'detectors: [{usage: {percent: 50}}]' 'postActionDelay: 30s' \
	'preKillHook: {command: "kill -9 $VIGIL_OOM_VICTIM_PID; sleep 0.2", timeout: 5s}'
policy it-missing "$base/not-yet" 'detectors: [{usage: {percent: 50}}]'

out=$T_TMP/out.jsonl err=$T_TMP/err.log
vigil_start "$out" "$err" run --config "$T_TMP/vigil.yaml" --policy-dir "$T_TMP/policies"
wait_jq "$out" '.type == "policy_reload" and .result == "ok"' 20 ||
	{ dump_file "$err"; fail "the OomPolicies did not load"; }

# Two hogs holding 44 + 8 MiB (54% of 96 MiB) in prefer and avoid; started
# slowly enough that both are in before the 50% line is crossed.
for c in prefer avoid; do
	hog "$c" bigger 44 0
	eval "big_$c=\$HOG_PID"
	wait_rss "$HOG_PID" 40
done
# The policies fire at 48 MiB: smaller crosses it.
for c in prefer avoid; do
	hog "$c" smaller 8 20
	eval "small_$c=\$HOG_PID"
done
hog pre memhog 200 40
pid_pre=$HOG_PID
hog dry memhog 40 40
pid_dry=$HOG_PID
hog hook memhog 40 40
pid_hook=$HOG_PID
hog gone memhog 40 40
pid_gone=$HOG_PID

wait_dead "$pid_pre" 15 || fail "vigil did not kill the hog in $base/pre"
for c in prefer avoid; do
	eval "s=\$small_$c b=\$big_$c"
	wait_dead "$s" 15 || fail "$c: vigil did not kill 'smaller' (pid $s)"
	dead "$b" && fail "$c: 'bigger' (pid $b) was killed too"
done
wait_dead "$pid_hook" 15 || fail "the hook's victim was not killed after the hook timed out"
wait_dead "$pid_gone" 15 || fail "the hook that kills its victim did not run"
wait_jq "$out" ".type == \"oom_pre_kill\" and .process.pid == $pid_dry" 15 ||
	fail "no oom_pre_kill event for the dry-run hog"
sleep 1
dead "$pid_dry" && fail "dryRun killed its hog"

# missing: reported, then picked up once it exists.
assert_grep "$err" "OomPolicy it-missing: no memory cgroup .* matches its scope" \
	"a policy naming a cgroup that does not exist is reported"
scrape "$T_TMP/m1"
assert_grep "$T_TMP/m1" '^vigil_oom_errors_total\{reason="no_matching_cgroup"\} [1-9]' \
	"the missing cgroup is counted"
memcg not-yet 64
sleep 1
scrape "$T_TMP/m2"
assert_grep "$T_TMP/m2" '^vigil_oom_watched_cgroups\{policy="it-missing"\} 1$' \
	"the cgroup is watched once it exists"
assert_grep "$T_TMP/m2" '^vigil_oom_policy_actions_total\{policy="it-dry",action="dry_run",result="ok"\} [1-9]' \
	"dry-run actions are counted"
assert_grep "$T_TMP/m2" '^vigil_oom_policy_actions_total\{policy="it-hook",action="hook",result="timeout"\} 1$' \
	"the hook timeout is counted"
assert_grep "$T_TMP/m2" '^vigil_oom_policy_actions_total\{policy="it-gone",action="kill",result="victim_exited"\} 1$' \
	"a victim that exits first is counted"
assert_grep "$T_TMP/m2" '^vigil_oom_kills_total\{source="vigil",scope="process"\} [4-9]' \
	"vigil's kills are counted by source"
vigil_stop

assert_jq "$out" ".type == \"oom_kill\" and .process.pid == $pid_pre and .oom.source == \"vigil\" and .oom.policy == \"it-pre\" and .oom.detector == \"usage\" and .oom.value >= 60 and .oom.memcg.path == \"$base/pre\" and .oom.memcg.limit == 67108864 and .oom.victim.rss_anon > 30000000" \
	"pre: vigil's oom_kill event names the hog, the policy and the memcg" '.type == "oom_kill"'
assert_eq "$(kernel_oom_kills pre)" 0 "pre: the kernel's oom_kill counter"
assert_jq "$out" ".type == \"oom_pre_kill\" and .process.pid == $pid_pre and .oom.dry_run == false" \
	"pre: an oom_pre_kill event came first" '.type == "oom_pre_kill"'
for c in prefer avoid; do
	eval "s=\$small_$c"
	assert_jq "$out" ".type == \"oom_kill\" and .process.pid == $s and .oom.policy == \"it-$c\"" \
		"$c: the victim is the policy's choice" '.type == "oom_kill"'
	assert_eq "$(kernel_oom_kills "$c")" 0 "$c: the kernel's oom_kill counter"
done
assert_jq "$out" ".type == \"oom_pre_kill\" and .process.pid == $pid_dry and .oom.dry_run == true and .oom.policy == \"it-dry\"" \
	"dry: the pre-kill event says dry_run" '.type == "oom_pre_kill"'
assert_jq_none "$out" ".type == \"oom_kill\" and .process.pid == $pid_dry" "dry: no oom_kill event"
assert_jq "$out" ".type == \"oom_kill\" and .process.pid == $pid_hook and .oom.hook == \"timeout\"" \
	"hook: killed after the hook timed out" '.type == "oom_kill"'
pgrep -f "sleep $nap" >/dev/null && fail "the timed-out hook is still running"

# ---------------------------------------------------------------- run 2: handoff (cgroup v1)

if [[ $hier != memory ]]; then
	log "handoff cases skipped: they need the cgroup v1 memory controller (memory.oom_control)"
	exit 0
fi
: >"$T_TMP/policies/test.yaml"
memcg handoff 48
memcg wd 32
memcg deadline 32
policy it-handoff "$base/handoff" 'handoff: true' 'victim: {prefer: {binaries: ["*/smaller"]}}'
policy it-wd "$base/wd" 'handoff: true' 'handoffDeadline: 30s' \
	"preKillHook: {command: \"exec sleep $nap\", timeout: 60s}"
policy it-deadline "$base/deadline" 'handoff: true' 'handoffDeadline: 1s' \
	"preKillHook: {command: \"exec sleep $nap\", timeout: 60s}"
memcg chain 40
policy it-chain "$base/chain" 'handoff: true' 'handoffDeadline: 1s' \
	'preKillHook: {command: "exec sleep 0.4", timeout: 800ms}' \
	'victim: {prefer: {binaries: ["*/victim"]}}'
out=$T_TMP/out2.jsonl err=$T_TMP/err2.log
vigil_start "$out" "$err" run --config "$T_TMP/vigil.yaml" --policy-dir "$T_TMP/policies"
wait_jq "$out" '.type == "policy_reload" and .result == "ok"' 20 ||
	{ dump_file "$err"; fail "the handoff policies did not load"; }
for _ in $(seq 50); do
	grep -q '^oom_kill_disable 1' "$cgroot$base/handoff/memory.oom_control" && break
	sleep 0.1
done
grep -q '^oom_kill_disable 1' "$cgroot$base/handoff/memory.oom_control" ||
	fail "handoff did not set oom_kill_disable=1"
hog handoff bigger 30 0
big=$HOG_PID
wait_rss "$big" 28
hog handoff smaller 6 0
small=$HOG_PID
wait_rss "$small" 5
hog handoff memhog 60 40
trig=$HOG_PID
wait_dead "$small" 15 || fail "handoff: the OOM was not resolved by killing 'smaller'"
wait_jq "$out" ".type == \"oom_kill\" and .oom.policy == \"it-handoff\"" 5 ||
	fail "handoff: no oom_kill event"
first=$(jq_lines "$out" '.type == "oom_kill" and .oom.policy == "it-handoff"' | head -n 1)
assert_eq "$(jq -r '.process.pid' <<<"$first")" "$small" "handoff: the first victim"
assert_eq "$(jq -r '.oom.detector' <<<"$first")" handoff "handoff: the detector"
wait_dead "$trig" 15 || fail "handoff: the allocating hog was never resolved"
assert_eq "$(kernel_oom_kills handoff)" 0 "handoff: the kernel's oom_kill counter"

# chain: OOMs back to back in one memcg for longer than the deadline, each
# resolved by the agent within it (a 0.4 s hook, then a kill).  Each OOM
# gets its own deadline: the kernel must kill nothing.  (The watchdog used
# to time every OOM from the first one, and gave the third back to the
# kernel 1 s after the first began.)
victims=()
for _ in 1 2 3; do
	hog chain victim 8 0
	victims+=("$HOG_PID")
	wait_rss "$HOG_PID" 7
done
hog chain memhog 60 20
cpid=$HOG_PID
for v in "${victims[@]}" "$cpid"; do
	wait_dead "$v" 20 || fail "chain: pid $v was not killed ($(kernel_oom_kills chain) kernel kills so far)"
done
assert_eq "$(kernel_oom_kills chain)" 0 "chain: the kernel's oom_kill counter after back-to-back OOMs"
assert_eq "$(count_jq "$out" '.type == "oom_kill" and .oom.policy == "it-chain"')" 4 \
	"chain: the agent's kills (three victims, then the hog)"

# deadline: the agent is alive but busy (its hook sleeps 30 s): after 1 s
# the watchdog hands the OOM back to the kernel.
hog deadline memhog 64 40
dpid=$HOG_PID
wait_jq "$out" ".type == \"oom_pre_kill\" and .process.pid == $dpid" 15 ||
	fail "deadline: the handed-off OOM never reached the policy"
wait_dead "$dpid" 5 || fail "deadline: the OOM was not given back to the kernel after 1 s"
assert_eq "$(kernel_oom_kills deadline)" 1 "deadline: the kernel's oom_kill counter"
scrape "$T_TMP/m3"
assert_grep "$T_TMP/m3" '^vigil_oom_handoff_fallbacks_total [1-9]' "deadline: the fallback is counted"
for _ in $(seq 30); do
	grep -q '^oom_kill_disable 1' "$cgroot$base/deadline/memory.oom_control" && break
	sleep 0.1
done
grep -q '^oom_kill_disable 1' "$cgroot$base/deadline/memory.oom_control" ||
	fail "deadline: handoff was not re-armed once the OOM was over"

# wd: an OOM the agent is busy with (its hook sleeps; the deadline is 30 s)
# when it is killed -9: only the watchdog can explain a quick resolution.
hog wd memhog 64 40
wpid=$HOG_PID
wait_jq "$out" ".type == \"oom_pre_kill\" and .process.pid == $wpid" 15 ||
	fail "wd: the handed-off OOM never reached the policy"
grep -q '^under_oom 1' "$cgroot$base/wd/memory.oom_control" ||
	fail "wd: the memcg is not under OOM while the hook runs"
kill -KILL "$VIGIL_PID"
t0=$(date +%s%N)
wait_dead "$wpid" 5 || fail "wd: the kernel did not resolve the OOM after the agent died"
t1=$(date +%s%N)
log "wd: the hog died $(((t1 - t0) / 1000000)) ms after kill -9 of the agent"
reap "$VIGIL_PID" 2>/dev/null
assert_eq "$(kernel_oom_kills wd)" 1 "wd: the kernel's oom_kill counter"
grep -q '^oom_kill_disable 0' "$cgroot$base/wd/memory.oom_control" ||
	fail "wd: oom_kill_disable was not restored"
grep -q '^oom_kill_disable 0' "$cgroot$base/handoff/memory.oom_control" ||
	fail "handoff: oom_kill_disable was not restored after the agent died"
for _ in $(seq 30); do
	pgrep -x vigil-oomwd >/dev/null || break
	sleep 0.1
done
pgrep -x vigil-oomwd >/dev/null && fail "the watchdog outlived its agent"
log "ok"
