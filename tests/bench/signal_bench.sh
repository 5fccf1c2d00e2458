#!/usr/bin/env bash
#
# signal_bench.sh - what judging signals costs the sender (`make bench`).
#
# kill(2) throughput to a host process that ignores SIGUSR1, with the agent
# running in both runs of each pair: (A) an empty policy directory, so no
# rule is checked; (B) 62 SignalPolicy rules (the most a set may hold), each
# of which passes the scope, relation and signal checks and then fails on
# its comm selector, so the kernel walks the whole table for every signal.
# Both runs report every signal (one event each), so the ratio B/A isolates
# the rule walk.  Pairs alternate their order; medians at the end.
#
# Environment: BENCH_PAIRS (default 6), BENCH_KILLS (default 200000).
# Exits 0 whatever the ratio; 1 only if a run fails.
set -u -o pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VIGIL=${VIGIL:-$root/build/vigil}
pairs=${BENCH_PAIRS:-6}
kills=${BENCH_KILLS:-200000}

die() { echo "signal_bench: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root (the agent loads BPF programs)"
[[ -x $VIGIL ]] || die "no agent binary at $VIGIL (run make)"

helpers=$root/build/test-helpers
mkdir -p "$helpers"
cc -O2 -Wall -Wextra -o "$helpers/killbench" "$root/tests/bench/killbench.c" || die "cannot build killbench"

tmp=$(mktemp -d /tmp/vigil-sigbench.XXXXXX)
agent_pid= target_pid=
cleanup() {
	[[ -n $agent_pid ]] && kill -s TERM "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
	[[ -n $target_pid ]] && kill -s KILL "$target_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$tmp/none" "$tmp/full"
{
	for i in $(seq 1 62); do
		cat <<YAML
---
apiVersion: vigil.dev/v1alpha1
kind: SignalPolicy
metadata:
  name: bench-$i
spec:
  rules:
    - sender: {comms: ["no-such-comm-$((i % 100))"]}
      target: {relation: host}
      signals: [USR1]
      action: audit
YAML
	done
} >"$tmp/full/bench.yaml"
"$VIGIL" policy check "$tmp/full" >/dev/null || die "the bench policy set does not check"

/bin/sh -c 'trap "" USR1; exec sleep 100000' &
target_pid=$!

run() {	# run POLICY_DIR -> ns per kill on stdout
	env --default-signal "$VIGIL" run --metrics-addr off --output /dev/null --policy-dir "$1" \
		>/dev/null 2>"$tmp/agent.err" &
	agent_pid=$!
	for _ in $(seq 200); do
		grep -q '^vigil: running' "$tmp/agent.err" && break
		sleep 0.05
	done
	grep -q '^vigil: running' "$tmp/agent.err" || { cat "$tmp/agent.err" >&2; die "agent did not start"; }
	"$helpers/killbench" "$target_pid" 10 "$kills" || die "killbench failed"
	kill -s INT "$agent_pid"
	wait "$agent_pid" || { cat "$tmp/agent.err" >&2; die "agent exited non-zero"; }
	agent_pid=
}

printf '%-5s %14s %14s %8s\n' pair "A ns/kill" "B ns/kill" "B/A"
ratios=() as=() bs=()
for p in $(seq 1 "$pairs"); do
	if ((p % 2)); then a=$(run "$tmp/none"); b=$(run "$tmp/full")
	else b=$(run "$tmp/full"); a=$(run "$tmp/none"); fi
	r=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')
	printf '%-5s %14s %14s %8s\n' "$p" "$a" "$b" "$r"
	ratios+=("$r") as+=("$a") bs+=("$b")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "median: A $(median "${as[@]}") ns/kill (no rules), B $(median "${bs[@]}") ns/kill (62 rules walked), B/A $(median "${ratios[@]}")"
