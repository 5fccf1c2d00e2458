#!/usr/bin/env bash
#
# trace_bench.sh - what `vigil leaks --trace` costs the traced process
# (`make bench`).
#
# build/test-helpers/allocloop (source: tests/bench/allocloop.c) does
# TRACE_BENCH_PAIRS malloc/free pairs of mixed small sizes and reports its
# own ns per pair, timed from a SIGUSR1 the script sends once the tracer
# (if any) has printed its "vigil: tracing" line: wall-clock, and the CPU
# time allocloop used (user + system; the uprobe traps and the BPF programs
# run in allocloop and are charged to it).  On a loaded machine the CPU
# figure is the one to trust: every trap is a chance for the scheduler to
# run something else, which inflates wall time but not CPU time.  Three configurations in
# each round, their order rotated from round to round:
#   A      allocloop alone;
#   S1     under `vigil leaks --trace PID --sample 1` (every allocation);
#   SN     under `--sample TRACE_BENCH_SAMPLE` (default 16).
# Tracer start-up and shutdown (about 2 s: each uprobe removal waits for a
# grace period) are outside the timed loop.  Reported: CPU ns per pair for
# each run, medians of CPU and wall ns per pair, and the medians of the
# per-round slowdowns S1/A and SN/A (CPU; wall in brackets).  The tracer's own counters from the first round show that every
# call was seen (calls) and how many were recorded.
#
# Environment: TRACE_BENCH_ROUNDS (5), TRACE_BENCH_PAIRS (200000: a traced
# pair costs tens of microseconds on the dev VM, so 2 million pairs would
# take a minute or more per traced run), TRACE_BENCH_SAMPLE (16), VIGIL.
# Exits 0 whatever the figures; 1 only if a run fails.
set -u -o pipefail
export LC_ALL=C

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VIGIL=${VIGIL:-$root/build/vigil}
rounds=${TRACE_BENCH_ROUNDS:-5}
npairs=${TRACE_BENCH_PAIRS:-200000}
sample=${TRACE_BENCH_SAMPLE:-16}

die() { echo "trace_bench: $*" >&2; exit 1; }
posint() { [[ $2 =~ ^[0-9]+$ && $2 -ge 1 ]] || die "$1 must be a positive integer, got '$2'"; }
posint TRACE_BENCH_ROUNDS "$rounds"
posint TRACE_BENCH_PAIRS "$npairs"
posint TRACE_BENCH_SAMPLE "$sample"
[[ $(id -u) == 0 ]] || die "needs root (uprobes)"
[[ -x $VIGIL ]] || die "no agent binary at $VIGIL (run make)"
[[ -e /sys/bus/event_source/devices/uprobe/type ]] || die "this kernel has no uprobe PMU"

helpers=$root/build/test-helpers
mkdir -p "$helpers"
cc -O2 -g -fno-omit-frame-pointer -Wall -Wextra -o "$helpers/allocloop" "$root/tests/bench/allocloop.c" ||
	die "cannot build allocloop"

tmp=$(mktemp -d /tmp/vigil-tracebench.XXXXXX)
loop_pid='' vigil_pid=''
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	[[ -n $vigil_pid ]] && kill -s TERM "$vigil_pid" 2>/dev/null && wait "$vigil_pid" 2>/dev/null
	[[ -n $loop_pid ]] && kill -s KILL "$loop_pid" 2>/dev/null && wait "$loop_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# wait_line FILE ERE WHAT: up to 20 s for a line of FILE to match.
wait_line() {
	for _ in $(seq 400); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	cat "$1" >&2
	die "$3"
}

# run SAMPLE|none TAG -> "CPU_NS WALL_NS" per pair on stdout; the tracer's JSON in
# $tmp/TAG.json.  Runs in a subshell: a failure returns 1 (callers exit).
# The tracer ends by itself when allocloop exits (it watches the pid).
run() {
	local mode=$1 tag=$2 ns
	"$helpers/allocloop" "$npairs" >"$tmp/loop.out" 2>&1 &
	loop_pid=$!
	wait_line "$tmp/loop.out" '^allocloop: pid ' "allocloop did not start"
	if [[ $mode != none ]]; then
		env --default-signal "$VIGIL" leaks --trace "$loop_pid" --duration 3600 --min-age 0 \
			--sample "$mode" --json >"$tmp/$tag.json" 2>"$tmp/vigil.err" </dev/null &
		vigil_pid=$!
		wait_line "$tmp/vigil.err" '^vigil: tracing' "vigil leaks --trace did not attach"
	fi
	kill -s USR1 "$loop_pid"
	wait "$loop_pid" || { cat "$tmp/loop.out" >&2; die "allocloop failed"; }
	loop_pid=
	if [[ -n $vigil_pid ]]; then
		wait "$vigil_pid" || { cat "$tmp/vigil.err" >&2; die "vigil leaks --trace exited non-zero"; }
		vigil_pid=
		grep -q '^vigil: pid [0-9]* exited' "$tmp/vigil.err" ||
			{ cat "$tmp/vigil.err" >&2; die "the tracer did not see allocloop exit"; }
	fi
	ns=$(awk '/^pairs / { print $8, $6 }' "$tmp/loop.out")
	[[ -n $ns ]] || { cat "$tmp/loop.out" >&2; die "no figure from allocloop"; }
	echo "$ns"
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b / a }'; }

echo "trace_bench: $npairs malloc/free pairs per run, $rounds rounds; load average $(cut -d' ' -f1 /proc/loadavg) on $(nproc) CPUs"
run none warmup >/dev/null || exit 1
printf '%-6s %13s %13s %13s %8s %8s\n' round "A cpu ns/pair" "S1" "S$sample" "S1/A" "S$sample/A"
declare -A mode=([A]=none [S1]=1 [SN]=$sample) cpu wall
declare -a ac aw s1c s1w snc snw r1c r1w rnc rnw
for r in $(seq 1 "$rounds"); do
	case $((r % 3)) in
	1) order="A S1 SN" ;;
	2) order="S1 SN A" ;;
	0) order="SN A S1" ;;
	esac
	for c in $order; do
		v=$(run "${mode[$c]}" "r$r-$c") || exit 1
		cpu[$c]=${v% *} wall[$c]=${v#* }
	done
	printf '%-6s %13s %13s %13s %8s %8s\n' "$r" "${cpu[A]}" "${cpu[S1]}" "${cpu[SN]}" \
		"$(ratio "${cpu[A]}" "${cpu[S1]}")" "$(ratio "${cpu[A]}" "${cpu[SN]}")"
	ac+=("${cpu[A]}") aw+=("${wall[A]}") s1c+=("${cpu[S1]}") s1w+=("${wall[S1]}")
	snc+=("${cpu[SN]}") snw+=("${wall[SN]}")
	r1c+=("$(ratio "${cpu[A]}" "${cpu[S1]}")") r1w+=("$(ratio "${wall[A]}" "${wall[S1]}")")
	rnc+=("$(ratio "${cpu[A]}" "${cpu[SN]}")") rnw+=("$(ratio "${wall[A]}" "${wall[SN]}")")
done
echo "median ns per malloc/free pair, CPU (wall):"
echo "  A   no tracer          $(median "${ac[@]}") ($(median "${aw[@]}"))"
echo "  S1  --sample 1         $(median "${s1c[@]}") ($(median "${s1w[@]}"))"
echo "  S$sample --sample $sample        $(median "${snc[@]}") ($(median "${snw[@]}"))"
echo "median slowdown: S1/A $(median "${r1c[@]}")x ($(median "${r1w[@]}")x wall)," \
	"S$sample/A $(median "${rnc[@]}")x ($(median "${rnw[@]}")x wall)"
for tag in r1-S1 r1-SN; do
	[[ -s $tmp/$tag.json ]] || continue
	jq -r --arg t "$tag" '"tracer counters (\($t), sample \(.sample_every)): calls \(.counters.calls), recorded \(.counters.recorded), freed \(.counters.freed), lost \(.counters.map_full + .counters.pending_full + .counters.stack_lost)"' \
		"$tmp/$tag.json" 2>/dev/null || echo "trace_bench: $tag: the tracer's report is not JSON" >&2
done
exit 0
