#!/usr/bin/env bash
#
# micro.sh - user-space micro-benchmarks of the two hot formatters, each
# against its goal (docs/BENCHMARKS.md, "Micro-benchmarks"), and of the
# leak score, which has no goal and is reported:
#
#   /metrics render   tests/bench/bench_metrics.c: prometheus_render() of a
#                     registry with 2,000 series; goal: median < 5 ms
#   JSON lines        tests/bench/bench_json.c: jsonl_write_event() of exec
#                     events into /dev/null; goal: >= 500,000 events/s on
#                     one core
#   leak score        tests/bench/bench_leakscore.c: leak_score_compute() of
#                     one process's window of 60, 360 and 4096 samples, a
#                     leak (no change point) and a step (change point);
#                     median and p90 ns per call
#   pod names         tests/bench/bench_podmeta.c: podmeta_lookup() of a
#                     container's runtime bundle (containerd, CRI-O, none);
#                     once per new container; median and p90 us per lookup
#
# All are built with -O2 against the agent's own objects (build/obj/agent/
# *.o except main.o, build/obj/exporters/*.o; `make` is run first to bring
# them up to date) into build/bench/, and each runs pinned to one CPU with
# taskset when it is available.  None needs root or BPF.
#
# Environment: MICRO_SERIES (default 2000), MICRO_RENDERS (300),
# MICRO_EVENTS (200000), MICRO_RUNS (9), MICRO_SCORE_CALLS (5000 per leak
# score case), MICRO_CPU (CPU to pin to; default the last one),
# MICRO_NO_MAKE=1 (use build/obj as it is).
#
# Timings never fail it: it exits 0 whatever the figures, and 1 only if a
# benchmark cannot be built or fails to run.
set -u -o pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root" || exit 1
out=build/bench
series=${MICRO_SERIES:-2000}
renders=${MICRO_RENDERS:-300}
events=${MICRO_EVENTS:-200000}
runs=${MICRO_RUNS:-9}
score_calls=${MICRO_SCORE_CALLS:-5000}
cpu=${MICRO_CPU:-$(($(nproc) - 1))}
goal_render_ms=5
goal_eps=500000

die() {
	echo "micro: $*" >&2
	exit 1
}

for v in series renders events runs cpu score_calls; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "MICRO_${v^^} must be a non-negative integer, got '${!v}'"
done
((score_calls > 0)) || die "MICRO_SCORE_CALLS must be at least 1"

if [[ ${MICRO_NO_MAKE:-0} != 1 ]]; then
	make --no-print-directory -s all || die "make failed; the benchmarks link the agent's objects"
fi

# shellcheck source=SCRIPTDIR/link.sh
. tests/bench/link.sh

cflags=(-O2 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter
	-iquote agent -iquote exporters -iquote bpf -iquote build -iquote tests/unit)
# Time the sink the way `vigil run --output FILE` uses it: through
# exporters/output.c when jsonl.h offers that (bench_json.c explains the flags).
if grep -qE 'jsonl_init_output\(' exporters/jsonl.h; then
	json_flags=(-DBENCH_JSONL_INIT_OUTPUT)
elif grep -qE 'jsonl_init\([^)]*struct vigil_output' exporters/jsonl.h; then
	json_flags=(-DBENCH_JSONL_OUTPUT)
else
	json_flags=()
fi

mkdir -p "$out" || die "cannot create $out"
build() {
	local name=$1
	shift
	# shellcheck disable=SC2086 # $libs is a word list
	cc "${cflags[@]}" "$@" -o "$out/$name" "tests/bench/$name.c" "${objs[@]}" $libs ||
		die "cannot build $out/$name"
}
build bench_metrics
build bench_json "${json_flags[@]}"
build bench_leakscore
build bench_podmeta

pin=()
if command -v taskset >/dev/null 2>&1 && taskset -c "$cpu" true 2>/dev/null; then
	pin=(taskset -c "$cpu")
	pinned="pinned to CPU $cpu"
else
	pinned="not pinned (no taskset, or CPU $cpu unusable)"
fi

# The line bench_json times must be a JSON exec event; a benchmark of a
# broken formatter would be meaningless.
if command -v jq >/dev/null 2>&1; then
	"$out/bench_json" --sample | jq -e '.type == "exec" and (.process.args | length == 5)' \
		>/dev/null || die "bench_json --sample is not the JSON exec event it should be"
fi

# kv LINE KEY: the value of KEY=VALUE in LINE.
kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

read -r load1 _ </proc/loadavg
printf 'micro-benchmarks: %s CPUs, %s, load average %s, commit %s\n' "$(nproc)" "$pinned" \
	"$load1" "$(git describe --always --dirty 2>/dev/null || echo unknown)"
awk -v l="$load1" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }' &&
	echo "warning: the machine is busy; timings will be noisy"

m=$("${pin[@]}" "$out/bench_metrics" "$series" "$renders") || die "bench_metrics failed"
j=$("${pin[@]}" "$out/bench_json" "$events" "$runs") || die "bench_json failed"
s=$("${pin[@]}" "$out/bench_leakscore" "$score_calls") || die "bench_leakscore failed"
p=$("${pin[@]}" "$out/bench_podmeta") || die "bench_podmeta failed"

m_med=$(kv "$m" median_ms) m_p90=$(kv "$m" p90_ms) m_bytes=$(kv "$m" bytes)
j_eps=$(kv "$j" median_eps) j_min=$(kv "$j" min_eps) j_max=$(kv "$j" max_eps)
j_bpe=$(kv "$j" bytes_per_event)

echo
printf '%-34s %-30s %-14s %s\n' benchmark result goal verdict
printf '%-34s %-30s %-14s %s\n' --------- ------ ---- -------
printf '%-34s %-30s %-14s %s\n' \
	"/metrics render, $(kv "$m" series) series" \
	"median $m_med ms, p90 $m_p90 ms" \
	"median < $goal_render_ms ms" \
	"$(awk -v v="$m_med" -v g="$goal_render_ms" 'BEGIN { print (v < g) ? "met" : "NOT met" }')"
printf '%-34s %-30s %-14s %s\n' \
	"JSON lines, exec events, one core" \
	"$(awk -v v="$j_eps" 'BEGIN { printf "%d events/s (median)", v }')" \
	">= $(awk -v g="$goal_eps" 'BEGIN { printf "%d/s", g }')" \
	"$(awk -v v="$j_eps" -v g="$goal_eps" 'BEGIN { print (v >= g) ? "met" : "NOT met" }')"
echo
printf 'render: %s renders after 20 warm-ups; %s bytes per scrape (%s bytes/series)\n' \
	"$(kv "$m" renders)" "$m_bytes" "$(awk -v b="$m_bytes" -v s="$(kv "$m" series)" 'BEGIN { printf "%.0f", b / s }')"
printf 'json:   %s sink, %s runs of %s events; range %s .. %s events/s; %s bytes/event (%.0f MB/s at the median)\n' \
	"$(kv "$j" sink)" "$(kv "$j" runs)" "$(kv "$j" events)" "$j_min" "$j_max" "$j_bpe" \
	"$(awk -v e="$j_eps" -v b="$j_bpe" 'BEGIN { print e * b / 1e6 }')"

# The leak score: one row per window, both shapes, then what a tick costs.
# score WINDOW SHAPE: bench_leakscore's line for that case.
score() { grep " window=$1 shape=$2 " <<<"$s"; }
# us LINE: "median / p90 us" of a case's line.
us() { awk -v m="$(kv "$1" median_ns)" -v p="$(kv "$1" p90_ns)" 'BEGIN { printf "%.1f / %.1f us", m / 1e3, p / 1e3 }'; }
echo
printf '%-22s %-24s %-24s %s\n' "leak score, per call" "leak: median / p90" "step: median / p90" scratch
printf '%-22s %-24s %-24s %s\n' ---------- ------------------ ------------------ -------
for w in 60 360 4096; do
	l=$(score "$w" leak) st=$(score "$w" step)
	[[ -n $l && -n $st ]] || die "bench_leakscore printed no window=$w line"
	printf '%-22s %-24s %-24s %s\n' "window $w samples" "$(us "$l")" "$(us "$st")" \
		"$(awk -v b="$(kv "$l" scratch_bytes)" 'BEGIN { printf "%.0f KiB", b / 1024 }')"
done
l=$(score 60 leak)
printf 'score:  %s calls per case; 10,000 processes at the default window (60 samples) cost %s ms per tick\n' \
	"$(kv "$l" calls)" "$(awk -v n="$(kv "$l" median_ns)" 'BEGIN { printf "%.0f", n * 10000 / 1e6 }')"

# Pod names: one lookup per new container, then cached with its cgroup.
echo
printf '%-34s %-28s %s\n' "pod names, per new container" "median / p90" "config.json"
printf '%-34s %-28s %s\n' ---------- ------------ -----------
for c in containerd crio missing; do
	l=$(grep " case=$c " <<<"$p")
	[[ -n $l ]] || die "bench_podmeta printed no case=$c line"
	printf '%-34s %-28s %s\n' "$c" "$(us "$l")" \
		"$(awk -v b="$(kv "$l" file_bytes)" 'BEGIN { print b ? sprintf("%.1f KiB", b / 1024) : "-" }')"
done
