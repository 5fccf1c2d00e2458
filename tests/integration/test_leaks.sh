#!/usr/bin/env bash
#
# Leak scoring against the evaluation suite (tests/workloads/): all eight
# workloads run at once, for WL_SECONDS, in one cgroup this test makes,
# under one agent that samples every 250 ms and has one LeakPolicy scoped
# to that cgroup.  Asserted:
#
#   - every leak gets a leak_suspected event: steady_leak (1 MiB/s),
#     slow_leak (64 KiB/s) and child_leak's child (1 MiB/s);
#   - no non-leak gets one: plateau, sawtooth, cache_cap, step, bursty and
#     child_leak's parent;
#   - each leak_suspected event is sane: the policy's name, score in
#     [threshold, 1], slope within a factor of 2 of the workload's real rate,
#     current > baseline, growth of at least minGrowthPercent and
#     minGrowthMiB, at least `consecutive` evaluations, the cgroup's limit
#     as the one exhaustion is projected against;
#   - a flagged leak is cleared ("exited") once its process is gone.
#
# Detection latency (workload start to its leak_suspected event) is
# reported in a summary table, never asserted.
#
# The policy, and why (the scorer is agent/leakscore.h's documented score):
#   warmup 2s        the baseline is taken early, so every pattern but the
#                    first half of plateau's warm-up is judged against it,
#                    step's jump at 3 s included.
#   consecutive 64   64 x 250 ms = 16 s of score >= threshold.  cache_cap
#                    grows at exactly the steady leak's rate for its first
#                    12 s; while it fills, no scorer can tell them apart.
#                    Only a confirmation longer than that fill, plus the few
#                    samples a change point needs after the cap, can.  With
#                    consecutive 8 (2 s), cache_cap and plateau are flagged
#                    by the documented score (checked on the workloads' own
#                    series, sampled at 250 ms).
#   window 8s        32 samples: a few sawtooth cycles, many bursts.
#   minGrowthMiB 2   slow_leak needs ~32 s at 64 KiB/s to grow this much
#                    after the baseline, so its expected latency is ~35 s,
#                    against ~19 s for the fast leaks; WL_SECONDS leaves it
#                    about 15 s of slack.
# Every workload runs at --scale 1: slow_leak really is 16 times slower than
# steady_leak.  All of them together stay under ~200 MiB; the cgroup gets a
# 512 MiB limit so a runaway could only hurt itself.
set -u -o pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

WL_SECONDS=50		# each workload's --duration
THRESHOLD=0.8
CONSECUTIVE=64
MIN_GROWTH_PCT=20
MIN_GROWTH_MIB=2
LIMIT_MIB=512
POLICY=it-leaks

# Every workload, and child_leak's child; EXPECT names the leaks (the rest
# must not be flagged) and RATE their real growth in bytes/s.
SUBJECTS=(steady_leak slow_leak plateau sawtooth cache_cap step bursty child_leak child_leak/child)
declare -A EXPECT=([steady_leak]=leak [slow_leak]=leak [child_leak/child]=leak)
declare -A RATE=([steady_leak]=1048576 [slow_leak]=65536 [child_leak/child]=1048576)
WORKLOADS=(steady_leak slow_leak plateau sawtooth cache_cap step bursty child_leak)

# gone PID: true once PID has exited (a zombie counts: it has ended).
gone() {
	! kill -0 "$1" 2>/dev/null || [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == Z ]]
}

attribution_hierarchy
[[ -n $cgroot ]] || skip "no cgroup v1 memory hierarchy and no cgroup2 mount"
if [[ $hier == v2 ]]; then
	grep -qw memory "$cgroot/cgroup.controllers" ||
		skip "the cgroup2 hierarchy has no memory controller (the test limits its cgroup)"
	grep -qw memory "$cgroot/cgroup.subtree_control" ||
		echo +memory >"$cgroot/cgroup.subtree_control" ||
		skip "cannot enable the memory controller in $cgroot"
fi
[[ -x $VIGIL ]] || fail "vigil binary not found at $VIGIL (run make)"

declare -A BIN
for w in "${WORKLOADS[@]}"; do
	BIN[$w]=$(need_workload "$w") || exit 1
done

base=/$T_MARK
mkcg "$base"
cgdir=$cgroot$base
if [[ $hier == memory ]]; then
	echo $((LIMIT_MIB << 20)) >"$cgdir/memory.limit_in_bytes" || fail "cannot limit $cgdir"
else
	echo $((LIMIT_MIB << 20)) >"$cgdir/memory.max" || fail "cannot limit $cgdir"
fi

port=$(free_port)
cat >"$T_TMP/vigil.yaml" <<EOF
cgroup_hierarchy: $hier
metrics_addr: "127.0.0.1:$port"
leak:
  enabled: true
  interval_ms: 250
EOF
mkdir -p "$T_TMP/policies"
cat >"$T_TMP/policies/leaks.yaml" <<EOF
# vigil integration test ($T_MARK)
apiVersion: vigil.dev/v1alpha1
kind: LeakPolicy
metadata:
  name: $POLICY
spec:
  scope:
    cgroups: ["$base*"]
  threshold: $THRESHOLD
  consecutive: $CONSECUTIVE
  minGrowthPercent: $MIN_GROWTH_PCT
  minGrowthMiB: $MIN_GROWTH_MIB
  warmup: 2s
  window: 8s
EOF

# A vigil without the leak engine refuses the policy kind: say so plainly
# instead of failing later for want of events.
rc=0
timeout -k 5 15 "$VIGIL" policy check "$T_TMP/policies" >"$T_TMP/check.out" 2>"$T_TMP/check.err" </dev/null || rc=$?
if ((rc != 0)); then
	dump_file "$T_TMP/check.err"
	fail "vigil policy check refuses the LeakPolicy (exit $rc): this vigil has no leak engine, or the policy is wrong"
fi

out=$T_TMP/events.jsonl err=$T_TMP/vigil.err
vigil_start "$out" "$err" run --config "$T_TMP/vigil.yaml" --policy-dir "$T_TMP/policies"
wait_jq "$out" '.type == "policy_reload" and .result == "ok"' 20 ||
	{ dump_file "$err"; fail "the LeakPolicy did not load"; }

# ---------------------------------------------------------------- run

declare -A PID START
for w in "${WORKLOADS[@]}"; do
	START[$w]=$EPOCHREALTIME
	# shellcheck disable=SC2016 # $$ and $@ belong to the inner sh
	spawn /bin/sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh \
		"$cgdir" "${BIN[$w]}" --duration "$WL_SECONDS" >"$T_TMP/$w.out"
	PID[$w]=$SPAWN_PID
done

# Each prints "NAME: pid PID" once it runs; child_leak also its child's pid.
deadline=$((SECONDS + 10))
for w in "${WORKLOADS[@]}"; do
	until grep -qx "$w: pid ${PID[$w]}" "$T_TMP/$w.out"; do
		((SECONDS < deadline)) || { dump_file "$T_TMP/$w.out"; fail "$w (pid ${PID[$w]}) did not start"; }
		sleep 0.1
	done
done
until [[ -n $(sed -n 's/^child_leak: child \([0-9][0-9]*\)$/\1/p' "$T_TMP/child_leak.out") ]]; do
	((SECONDS < deadline)) || { dump_file "$T_TMP/child_leak.out"; fail "child_leak did not report its child"; }
	sleep 0.1
done
PID[child_leak/child]=$(sed -n 's/^child_leak: child \([0-9][0-9]*\)$/\1/p' "$T_TMP/child_leak.out")
START[child_leak/child]=${START[child_leak]}
for s in "${SUBJECTS[@]}"; do
	grep -qx "${PID[$s]}" "$cgdir/cgroup.procs" || fail "$s (pid ${PID[$s]}) is not in $cgdir"
done
log "workloads running for ${WL_SECONDS} s in $base: $(for s in "${SUBJECTS[@]}"; do printf '%s=%s ' "$s" "${PID[$s]}"; done)"

# Until every workload has ended by itself (--duration).  A workload that
# fails (malloc refused, a bad exit) makes its pattern meaningless.
deadline=$((SECONDS + WL_SECONDS + 20))
for w in "${WORKLOADS[@]}"; do
	until gone "${PID[$w]}"; do
		((SECONDS < deadline)) || fail "$w (pid ${PID[$w]}) still runs $((WL_SECONDS + 20)) s after its start"
		sleep 0.5
	done
	rc=0
	reap "${PID[$w]}" || rc=$?
	((rc == 0)) || { dump_file "$T_TMP/$w.out"; fail "$w exited with status $rc"; }
done
gone "${PID[child_leak/child]}" || fail "child_leak's child (pid ${PID[child_leak/child]}) outlived its parent"

# The flagged leaks are cleared once their process is gone: give the
# agent a few ticks (bounded) to notice, then stop it.
for s in "${SUBJECTS[@]}"; do
	[[ ${EXPECT[$s]:-} == leak ]] || continue
	wait_jq "$out" ".type == \"leak_cleared\" and .process.pid == ${PID[$s]}" 5 || true
done
vigil_stop
assert_json_lines "$out"

# ---------------------------------------------------------------- verdicts

# Seconds since the epoch of an event's RFC 3339 time, with the fraction.
# shellcheck disable=SC2016 # jq, not shell
JQ_EPOCH='def epoch: (sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601)
	+ ((capture("(?<f>\\.[0-9]+)Z$").f // ".0") | tonumber);'

problems=()
rows=()
for s in "${SUBJECTS[@]}"; do
	pid=${PID[$s]} want=${EXPECT[$s]:-ok}
	ev=$(jq_lines "$out" ".type == \"leak_suspected\" and .process.pid == $pid" | head -n 1)
	if [[ -z $ev ]]; then
		rows+=("$s $pid $want ok - -")
		[[ $want == leak ]] && problems+=("$s (pid $pid) leaks ${RATE[$s]} B/s but got no leak_suspected event")
		continue
	fi
	lat=$(jq -r "$JQ_EPOCH (.time | epoch) - ${START[$s]} | . * 10 | round / 10" <<<"$ev")
	score=$(jq -r '.leak.score | . * 1000 | round / 1000' <<<"$ev")
	rows+=("$s $pid $want leak $lat $score")
	if [[ $want != leak ]]; then
		problems+=("$s (pid $pid) is not a leak but got leak_suspected: $ev")
		continue
	fi
	rate=${RATE[$s]}
	pred="common
		and .process.comm == \"${s%%/*}\"
		and .leak.policy == \"$POLICY\"
		and (.leak.score | type == \"number\" and . >= $THRESHOLD and . <= 1)
		and (.leak.slope_bytes_per_second | type == \"number\" and . > 0
			and . >= $rate / 2 and . <= $rate * 2)
		and (.leak.current_bytes | type == \"number\") and .leak.current_bytes > .leak.baseline_bytes
		and .leak.growth_bytes >= $((MIN_GROWTH_MIB << 20))
		and .leak.growth_percent >= $MIN_GROWTH_PCT
		and .leak.evaluations >= $CONSECUTIVE
		and (.leak.observed_seconds | type == \"number\" and . > 0)
		and .leak.limit_scope == \"cgroup\" and .leak.limit_bytes == $((LIMIT_MIB << 20))
		and (.leak.time_to_exhaustion_seconds == null
			or (.leak.time_to_exhaustion_seconds | type == \"number\" and . > 0))"
	ok=$(jq -r "$T_JQ_DEFS ($pred) == true" <<<"$ev" 2>&1)
	[[ $ok == true ]] || problems+=("$s (pid $pid): leak_suspected fields are not sane ($ok): $ev")
	[[ -n $(jq_lines "$out" ".type == \"leak_cleared\" and .process.pid == $pid and .leak.reason == \"exited\" and .leak.policy == \"$POLICY\"") ]] ||
		problems+=("$s (pid $pid): no leak_cleared event with reason \"exited\" after it ended")
done

log "detection summary (policy $POLICY: threshold $THRESHOLD, consecutive $CONSECUTIVE x 250 ms, warmup 2s, window 8s, minGrowth ${MIN_GROWTH_PCT}% and ${MIN_GROWTH_MIB} MiB; latency = workload start to leak_suspected):"
{
	printf '%-18s %8s %-8s %-8s %9s %6s\n' workload pid expected got latency_s score
	for r in "${rows[@]}"; do
		# shellcheck disable=SC2086 # one row, space-separated
		printf '%-18s %8s %-8s %-8s %9s %6s\n' $r
	done
} | sed "s/^/[$T_NAME]   /" >&2

if ((${#problems[@]})); then
	for p in "${problems[@]}"; do
		log "problem: $p"
	done
	log "leak events seen for this test's pids:"
	pids=$(for s in "${SUBJECTS[@]}"; do printf '%s,' "${PID[$s]}"; done)
	jq_lines "$out" "(.type | startswith(\"leak_\")) and (.process.pid | IN(${pids%,}))" |
		head -n 20 | sed 's/^/    /' >&2
	fail "${#problems[@]} problem(s) with the leak verdicts (see above)"
fi
log "ok"
