#!/usr/bin/env bash
#
# leak_bench.sh - what one leak-sampling tick costs with 10,000 processes on
# the node: the memory sampler's task iterator against a /proc/*/statm scan,
# side by side in one run (`make bench`; docs/BENCHMARKS.md, "Leak
# sampling").  Goal: the sampler at least 10x faster.
#
# 1. build/bench/leak_spawn (tests/bench/leak_spawn.c, static) forks
#    LEAK_BENCH_PROCS sleepers inside a cgroup this script makes in the
#    hierarchy vigil attributes from (the v1 memory hierarchy where there is
#    one, else cgroup2).  Before that the script checks kernel.pid_max,
#    kernel.threads-max and `ulimit -u` against what it needs, raising the
#    two sysctls for the run (restored at exit) and the soft ulimit where
#    the hard one allows, and checks MemAvailable for about 256 KiB a
#    sleeper (they take far less).
# 2. build/bench/leak_bench (tests/bench/leak_bench.c, linked with the
#    agent's objects like micro.sh) runs LEAK_BENCH_ROUNDS rounds of one
#    pass each way, order rotating, pinned to one CPU where taskset works:
#    memsampler_read() into an array; opendir /proc + open, read, close and
#    parse every /proc/PID/statm (the goal's baseline); and the same with
#    openat() on the /proc fd (the cheapest scan).  It reports the median
#    and p90 ms of each (wall clock), the median CPU time of a pass (the
#    thread's, which includes the kernel's work in its syscalls, and is less
#    disturbed by other load), the ratios, and how many records a pass
#    produced (the sampler
#    skips kernel threads; statm has them all), plus how many sampler
#    records came from the bench cgroup (should be every sleeper and the
#    spawner).
#
# At exit (also on failure or ^C): the spawner is sent SIGTERM (it kills
# and reaps its children), anything left in the cgroup is SIGKILLed, the
# cgroup is removed and the sysctls are restored.
#
# Environment: LEAK_BENCH_PROCS (10000), LEAK_BENCH_ROUNDS (30),
# LEAK_BENCH_CPU (CPU to pin to; default the last one), LEAK_NO_MAKE=1 (use
# build/obj as it is).
#
# Timings never fail it: it exits 0 whatever the figures, and 1 only if it
# cannot run (not root, a build fails, limits too low, a fork fails).
set -u -o pipefail
export LC_ALL=C

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root" || exit 1
out=build/bench
procs=${LEAK_BENCH_PROCS:-10000}
rounds=${LEAK_BENCH_ROUNDS:-30}
cpu=${LEAK_BENCH_CPU:-$(($(nproc) - 1))}
goal=10

die() {
	echo "leak_bench: cannot run: $*" >&2
	exit 1
}
note() { echo "leak_bench: $*"; }

for v in procs rounds cpu; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "LEAK_BENCH_${v^^} must be a non-negative integer, got '${!v}'"
done
((procs >= 1 && procs <= 100000)) || die "LEAK_BENCH_PROCS must be 1..100000"
((rounds >= 1)) || die "LEAK_BENCH_ROUNDS must be at least 1"
[[ $(id -u) == 0 ]] || die "needs root: it loads a BPF iterator and makes a cgroup"

# ---------------------------------------------------------------- build

if [[ ${LEAK_NO_MAKE:-0} != 1 ]]; then
	make --no-print-directory -s all || die "make failed; the benchmark links the agent's objects"
fi
# shellcheck source=SCRIPTDIR/link.sh
. tests/bench/link.sh
mkdir -p "$out" || die "cannot create $out"
# shellcheck disable=SC2086 # $libs is a word list
cc -O2 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter \
	-iquote agent -iquote exporters -iquote bpf -iquote build \
	-o "$out/leak_bench" tests/bench/leak_bench.c "${objs[@]}" $libs ||
	die "cannot build $out/leak_bench"
cc -O2 -static -Wall -Wextra -Wno-unused-parameter -o "$out/leak_spawn" tests/bench/leak_spawn.c 2>/dev/null ||
	cc -O2 -Wall -Wextra -Wno-unused-parameter -o "$out/leak_spawn" tests/bench/leak_spawn.c ||
	die "cannot build $out/leak_spawn"

# ---------------------------------------------------------------- cleanup

cg='' spawn_pid='' tmp='' restore=()
cleanup() {
	local rc=$? left i s
	trap - EXIT INT TERM
	if [[ -n $spawn_pid ]] && kill -0 "$spawn_pid" 2>/dev/null; then
		kill -s TERM "$spawn_pid" 2>/dev/null
		for ((i = 0; i < 300; i++)); do
			kill -0 "$spawn_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -s KILL "$spawn_pid" 2>/dev/null
		wait "$spawn_pid" 2>/dev/null
	fi
	if [[ -n $cg && -d $cg ]]; then
		# Only what is in our own cgroup: the spawner's children, if any survived it.
		for ((i = 0; i < 100; i++)); do
			left=$(wc -l <"$cg/cgroup.procs")
			((left == 0)) && break
			xargs -r kill -s KILL <"$cg/cgroup.procs" 2>/dev/null
			sleep 0.1
		done
		((left == 0)) || echo "leak_bench: $left processes still in $cg" >&2
		for ((i = 0; i < 50; i++)); do
			rmdir "$cg" 2>/dev/null && break
			sleep 0.1
		done
		[[ -d $cg ]] && echo "leak_bench: could not remove $cg" >&2
	fi
	for s in "${restore[@]}"; do
		echo "${s#*=}" >"/proc/sys/kernel/${s%%=*}" 2>/dev/null ||
			echo "leak_bench: could not restore kernel.${s%%=*} to ${s#*=}" >&2
	done
	[[ -n $tmp ]] && rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
tmp=$(mktemp -d /tmp/vigil-leakbench.XXXXXX) || die "mktemp failed"

# ---------------------------------------------------------------- limits

tasks=$(find /proc/[0-9]*/task -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
need=$((tasks + procs + 1024))
# raise NAME: kernel.NAME up to need for this run.
raise() {
	local cur
	cur=$(cat "/proc/sys/kernel/$1") || die "cannot read kernel.$1"
	((cur >= need)) && return 0
	echo "$need" >"/proc/sys/kernel/$1" 2>/dev/null ||
		die "kernel.$1 is $cur, $need are needed ($tasks tasks now + $procs), and it cannot be raised"
	restore+=("$1=$cur")
	note "raised kernel.$1 from $cur to $need for this run"
}
raise pid_max
raise threads-max
nproc_soft=$(ulimit -S -u)
if [[ $nproc_soft != unlimited ]] && ((nproc_soft < need)); then
	ulimit -S -u "$need" 2>/dev/null || ulimit -S -u unlimited 2>/dev/null ||
		die "ulimit -u is $nproc_soft (hard $(ulimit -H -u)); $need processes are needed"
fi
avail_kb=$(awk '$1 == "MemAvailable:" { print $2 }' /proc/meminfo)
((avail_kb >= procs * 256)) ||
	die "MemAvailable is $((avail_kb >> 10)) MiB; $((procs / 4)) MiB are wanted for $procs sleepers"

# ---------------------------------------------------------------- cgroup

cgroot=''
while read -r mnt fstype opts; do
	if [[ $fstype == cgroup && ,$opts, == *,memory,* ]]; then
		cgroot=$mnt
		break
	fi
	[[ $fstype == cgroup2 && -z $cgroot ]] && cgroot=$mnt
done < <(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break; print $5, $(i+1), $(i+3) }' /proc/self/mountinfo)
[[ -n $cgroot ]] || die "no cgroup hierarchy mounted"
cg=$cgroot/vigil-leakbench-$$-$RANDOM
mkdir "$cg" || { cg=''; die "cannot create a cgroup under $cgroot"; }
cg_id=$(stat -c %i "$cg")

# ---------------------------------------------------------------- sleepers

t0=$SECONDS
# shellcheck disable=SC2016 # expanded by the inner shell
sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" "$3"' sh "$cg" "$out/leak_spawn" "$procs" \
	>"$tmp/spawn.out" 2>&1 </dev/null &
spawn_pid=$!
until grep -qs '^leak_spawn: [0-9]* ready' "$tmp/spawn.out"; do
	if ! kill -0 "$spawn_pid" 2>/dev/null; then
		wait "$spawn_pid"
		spawn_pid=''
		die "$(cat "$tmp/spawn.out") (see pids.max of the cgroups above, kernel.pid_max, kernel.threads-max, ulimit -u)"
	fi
	((SECONDS - t0 < 300)) || die "the spawner did not finish forking $procs children in 300 s"
	sleep 0.2
done
in_cg=$(wc -l <"$cg/cgroup.procs")
((in_cg == procs + 1)) || die "$in_cg processes in $cg, expected $((procs + 1))"
usage=$(cat "$cg/memory.usage_in_bytes" 2>/dev/null || cat "$cg/memory.current" 2>/dev/null || echo '')
note "$procs sleepers forked in $((SECONDS - t0)) s into $cg${usage:+, charged $((usage / procs)) bytes each}"

# ---------------------------------------------------------------- measure

pin=()
if command -v taskset >/dev/null 2>&1 && taskset -c "$cpu" true 2>/dev/null; then
	pin=(taskset -c "$cpu")
	pinned="pinned to CPU $cpu"
else
	pinned="not pinned (no taskset, or CPU $cpu unusable)"
fi
read -r load1 _ </proc/loadavg
printf 'leak sampling: %s processes on the node, %s CPUs, %s, load average %s, kernel %s, commit %s\n' \
	"$(find /proc -maxdepth 1 -name '[0-9]*' 2>/dev/null | wc -l)" "$(nproc)" "$pinned" "$load1" "$(uname -r)" \
	"$(git describe --always --dirty 2>/dev/null || echo unknown)"
awk -v l="$load1" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }' &&
	echo "warning: the machine is busy; timings will be noisy"

line=$("${pin[@]}" "$out/leak_bench" "$rounds" "$cg_id") || die "leak_bench failed"
kv() { tr ' ' '\n' <<<"$line" | sed -n "s/^$1=//p"; }

echo
line5() { printf '%-44s %-10s %-10s %-11s %s\n' "$@"; }
row() { line5 "$2" "$(kv "$1_median_ms")" "$(kv "$1_p90_ms")" "$(kv "$1_cpu_median_ms")" "$(kv "$1_records")"; }
line5 "one tick, $rounds rounds each, order rotating" "median ms" "p90 ms" "CPU ms med" "records/pass"
line5 "--------------------------------------------" "---------" "------" "----------" "------------"
row sampler "sampler ($(kv walk) walk, into an array)"
row statm "/proc/PID/statm: open, read, close, parse"
row statmat "the same with openat on the /proc fd"
echo
verdict() { awk -v r="$1" -v g="$goal" 'BEGIN { print (r >= g) ? "met" : "NOT met" }'; }
printf 'statm/sampler, medians: wall clock %sx (goal >= %sx: %s), CPU time %sx (%s)\n' \
	"$(kv ratio)" "$goal" "$(verdict "$(kv ratio)")" "$(kv cpu_ratio)" "$(verdict "$(kv cpu_ratio)")"
printf 'statm via openat/sampler, medians: wall clock %sx (%s), CPU time %sx (%s)\n' \
	"$(kv ratio_at)" "$(verdict "$(kv ratio_at)")" "$(kv cpu_ratio_at)" "$(verdict "$(kv cpu_ratio_at)")"
printf 'sampler records from the bench cgroup: %s of %s; %s bytes per record in the tick array\n' \
	"$(kv in_cgroup)" "$((procs + 1))" "$(kv record_bytes)"
printf 'the whole leak-scorer tick (sampling, history, scoring; leak_engine_tick, defaults): CPU median %s ms, p90 %s ms for %s tracked processes\n' \
	"$(kv engine_cpu_median_ms)" "$(kv engine_cpu_p90_ms)" "$(kv engine_tracked)"
printf 'agent heap per tracked process (history 360 samples): %s bytes\n' "$(kv engine_bytes_per_process)"
