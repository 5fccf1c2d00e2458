#!/usr/bin/env bash
#
# shape.sh - watch one workload's memory shape, without vigil.
#
#   tests/workloads/shape.sh [-i INTERVAL] [-n SECONDS] NAME [WORKLOAD ARGS...]
#
# Builds tests/workloads/NAME.c (same flags as need_workload in
# tests/integration/lib.sh), runs it for SECONDS (default 20) and samples
# its footprint every INTERVAL seconds (default 0.25) from /proc/PID/status:
# RssAnon + RssShmem + VmSwap, the bytes the leak scorer counts.  For
# child_leak the child's footprint is a second column.  Prints one line per
# sample ("t_s KiB [child_KiB]") and a summary per column: first, min, max,
# last, and how many samples fell by more than 1 MiB from the one before.
#
# Examples:
#   tests/workloads/shape.sh sawtooth
#   tests/workloads/shape.sh -n 40 slow_leak --scale 2
#   tests/workloads/shape.sh -i 0.1 -n 8 child_leak
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
interval=0.25
seconds=20

usage() {
	sed -n '3,18p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while getopts 'i:n:h' opt; do
	case $opt in
	i) interval=$OPTARG ;;
	n) seconds=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
(($# >= 1)) || usage
name=$1
shift
[[ -f $here/$name.c ]] || { echo "shape.sh: no workload $here/$name.c" >&2; exit 2; }
[[ $interval =~ ^[0-9]*\.?[0-9]+$ && $seconds =~ ^[0-9]+$ ]] ||
	{ echo "shape.sh: -i wants seconds (e.g. 0.25), -n whole seconds" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vigil-shape.XXXXXX") || exit 1
pid=
cleanup() {
	[[ -n $pid ]] && kill -s TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

cc -O1 -g -fno-omit-frame-pointer -Wall -Wextra -o "$tmp/$name" "$here/$name.c" ||
	{ echo "shape.sh: cannot build $name" >&2; exit 1; }

# A little longer than we sample, so it is still running at the last sample.
"$tmp/$name" --duration $((seconds + 2)) "$@" >"$tmp/out" </dev/null &
pid=$!

# KiB the scorer would count for PID; empty once it is gone.
footprint() {
	awk '/^(RssAnon|RssShmem|VmSwap):/ { kib += $2; seen = 1 }
	     END { if (seen) print kib }' "/proc/$1/status" 2>/dev/null
}

child=
if [[ $name == child_leak ]]; then
	for _ in $(seq 50); do
		child=$(sed -n 's/^child_leak: child \([0-9]*\)$/\1/p' "$tmp/out")
		[[ -n $child ]] && break
		sleep 0.1
	done
	[[ -n $child ]] || { echo "shape.sh: child_leak printed no child pid" >&2; exit 1; }
fi

# Sample on a fixed grid (EPOCHREALTIME), so the pacing does not drift.
t0=${EPOCHREALTIME/./}
n=$(awk -v s="$seconds" -v i="$interval" 'BEGIN { print int(s / i + 0.5) }')
step_us=$(awk -v i="$interval" 'BEGIN { printf "%d", i * 1000000 }')
for ((k = 0; k <= n; k++)); do
	now=${EPOCHREALTIME/./}
	left=$((t0 + k * step_us - now))
	((left > 0)) && sleep "$(printf '%d.%06d' $((left / 1000000)) $((left % 1000000)))"
	a=$(footprint "$pid")
	[[ -n $a ]] || { echo "shape.sh: $name (pid $pid) exited early" >&2; break; }
	line=$(awk -v k="$k" -v i="$interval" 'BEGIN { printf "%6.2f", k * i }')
	line+=" $a"
	[[ -n $child ]] && line+=" $(footprint "$child")"
	printf '%s\n' "$line"
done | tee "$tmp/series"

printf '%s (pid %s%s): footprint KiB per column\n' "$name" "$pid" "${child:+, child $child}"
awk -v cols="$([[ -n $child ]] && echo 2 || echo 1)" '
	{ for (c = 1; c <= cols; c++) {
		v = $(c + 1)
		if (v == "") continue
		if (!(c in first)) { first[c] = v; min[c] = v; max[c] = v }
		else if (prev[c] - v > 1024) falls[c]++
		if (v < min[c]) min[c] = v
		if (v > max[c]) max[c] = v
		last[c] = v; prev[c] = v
	} }
	END { for (c = 1; c <= cols; c++)
		printf "  %-6s first %7d  min %7d  max %7d  last %7d  falls>1MiB %d\n",
			c == 1 ? "main" : "child", first[c], min[c], max[c], last[c], falls[c] + 0 }
' "$tmp/series"
