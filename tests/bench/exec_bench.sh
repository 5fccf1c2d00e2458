#!/usr/bin/env bash
#
# exec_bench.sh - exec throughput with and without the agent (`make bench`).
#
# Each pair runs the same exec burst twice: (A) with no agent, (B) with
# `vigil run --output /dev/null` attached (started before the burst, stopped
# after).  Pairs alternate their order (AB, BA, AB, ...) so slow drift of the
# machine falls on both sides equally.  Per pair it prints the throughput of
# each run and the ratio B/A, the CPU time the burst itself used per exec
# (driver + children, user + system: where in-kernel hook cost lands, and
# less sensitive than wall time to other load on the machine), the agent's
# CPU time during the burst (utime+stime from /proc/PID/stat, sampled just
# before and just after it) and its peak RSS (VmHWM from /proc/PID/status,
# read before stopping it).  At the end: medians.
#
# Environment: BENCH_PAIRS (default 10), BENCH_EXECS (default 5000, about
# 2-3 s per run here), BENCH_JOBS (parallel children, default 1),
# VIGIL (default build/vigil).
#
# Timings never fail the benchmark: it exits 0 whatever the ratio, and 1 only
# if a run itself fails (the agent does not attach or exits non-zero, or the
# burst driver fails).
set -u -o pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VIGIL=${VIGIL:-$root/build/vigil}
pairs=${BENCH_PAIRS:-10}
execs=${BENCH_EXECS:-5000}
jobs=${BENCH_JOBS:-1}
goal=0.97

die() {
	echo "exec_bench: $*" >&2
	exit 1
}

[[ $(id -u) == 0 ]] || die "needs root (the agent loads BPF programs)"
[[ -x $VIGIL ]] || die "no agent binary at $VIGIL (run make)"
[[ $pairs =~ ^[0-9]+$ && $pairs -ge 1 ]] || die "BENCH_PAIRS must be a positive integer"
[[ $execs =~ ^[0-9]+$ && $execs -ge 1 ]] || die "BENCH_EXECS must be a positive integer"

helpers=$root/build/test-helpers
mkdir -p "$helpers"
cc -O2 -Wall -Wextra -o "$helpers/forkexec" "$root/tests/integration/forkexec.c" ||
	die "cannot build the forkexec helper"
forkexec=$helpers/forkexec

tmp=$(mktemp -d /tmp/vigil-bench.XXXXXX)
agent_pid=
cleanup() {
	if [[ -n $agent_pid ]] && kill -0 "$agent_pid" 2>/dev/null; then
		kill -s TERM "$agent_pid" 2>/dev/null
		wait "$agent_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

hz=$(getconf CLK_TCK)

# burst: run forkexec; prints "ELAPSED_S CPU_S".
burst() {
	local out=$tmp/burst.txt
	"$forkexec" -j "$jobs" "$execs" >"$out" || { cat "$out" >&2; die "forkexec failed"; }
	awk '/^elapsed / {e = $2} /^cpu / {c = $2} END {
		if (e == "" || c == "") exit 1
		print e, c
	}' "$out" || { cat "$out" >&2; die "forkexec printed no elapsed/cpu lines"; }
}

# CPU ticks (utime + stime) of a pid.  comm may contain spaces, so the
# fields are counted from the closing parenthesis.
cpu_ticks() {
	local s
	s=$(cat "/proc/$1/stat") || die "agent (pid $1) vanished"
	s=${s##*) }
	awk '{print $12 + $13}' <<<"$s"
}

agent_start() {
	local deadline=$((SECONDS + 30))
	: >"$tmp/agent.err"
	env --default-signal "$VIGIL" run --output /dev/null >/dev/null 2>"$tmp/agent.err" </dev/null &
	agent_pid=$!
	until grep -q '^vigil: running' "$tmp/agent.err"; do
		if ! kill -0 "$agent_pid" 2>/dev/null; then
			cat "$tmp/agent.err" >&2
			agent_pid=
			die "agent exited before attaching"
		fi
		((SECONDS < deadline)) || { cat "$tmp/agent.err" >&2; die "agent did not attach within 30 s"; }
		sleep 0.05
	done
}

agent_stop() {
	local rc=0
	kill -s TERM "$agent_pid"
	wait "$agent_pid" || rc=$?
	agent_pid=
	((rc == 0)) || { cat "$tmp/agent.err" >&2; die "agent exited $rc after SIGTERM"; }
}

# Results, one line per pair:
#   pair a_rate b_rate ratio a_us_per_exec b_us_per_exec agent_cpu_s hwm_kib
results=$tmp/results.txt
: >"$results"

run_a() {
	local r
	r=$(burst) || exit 1
	read -r a_el a_cpu <<<"$r"
}

run_b() {
	local c0 c1 r
	agent_start
	c0=$(cpu_ticks "$agent_pid")
	r=$(burst) || exit 1
	read -r b_el b_cpu <<<"$r"
	c1=$(cpu_ticks "$agent_pid")
	agent_cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" 'BEGIN { printf "%.3f", (b - a) / hz }')
	b_hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$agent_pid/status")
	agent_stop
}

printf 'exec benchmark: %d pairs x %d execs of /bin/true, %d in flight, %d CPUs, kernel %s\n' \
	"$pairs" "$execs" "$jobs" "$(nproc)" "$(uname -r)"
printf 'agent: %s run --output /dev/null (%s)\n' "$VIGIL" \
	"$("$VIGIL" version 2>/dev/null | head -n 1)"
read -r load1 _ </proc/loadavg
printf 'load average before the run: %s\n' "$load1"
awk -v l="$load1" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }' &&
	echo "warning: the machine is busy; wall-clock ratios will be noisy (compare the CPU columns)"
echo
printf '%-4s %-5s %10s %10s %7s %9s %9s %9s %9s\n' \
	pair order "A exec/s" "B exec/s" "B/A" "A us/ex" "B us/ex" "agent s" "RSS MiB"
printf '%-4s %-5s %10s %10s %7s %9s %9s %9s %9s\n' \
	---- ----- -------- -------- --- ------- ------- ------- -------

# One warm-up burst so the first A run doesn't pay for cold caches.
burst >/dev/null

for ((i = 1; i <= pairs; i++)); do
	if ((i % 2)); then
		order=AB
		run_a
		run_b
	else
		order=BA
		run_b
		run_a
	fi
	line=$(awk -v n="$execs" -v a="$a_el" -v b="$b_el" -v ac="$a_cpu" -v bc="$b_cpu" \
		-v cpu="$agent_cpu" -v hwm="$b_hwm" -v i="$i" '
		BEGIN {
			ra = n / a; rb = n / b
			printf "%d %.1f %.1f %.4f %.1f %.1f %s %s", i, ra, rb, rb / ra, \
				ac * 1e6 / n, bc * 1e6 / n, cpu, hwm
		}')
	echo "$line" >>"$results"
	read -r _ ra rb ratio aus bus cpu hwm <<<"$line"
	printf '%-4s %-5s %10s %10s %7s %9s %9s %9s %9s\n' "$i" "$order" "$ra" "$rb" "$ratio" \
		"$aus" "$bus" "$cpu" "$(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }')"
done

echo
awk -v goal="$goal" -v n="$execs" '
	function median(arr, cnt,    i, j, t) {
		for (i = 2; i <= cnt; i++)
			for (j = i; j > 1 && arr[j - 1] > arr[j]; j--) {
				t = arr[j]; arr[j] = arr[j - 1]; arr[j - 1] = t
			}
		return cnt % 2 ? arr[(cnt + 1) / 2] : (arr[cnt / 2] + arr[cnt / 2 + 1]) / 2
	}
	{
		c++; ra[c] = $2; rb[c] = $3; r[c] = $4; au[c] = $5; bu[c] = $6; cr[c] = $6 / $5
		cpu[c] = $7
		if ($8 > maxhwm) maxhwm = $8
		if (c == 1 || $4 < minr) minr = $4
		if (c == 1 || $4 > maxr) maxr = $4
	}
	END {
		mr = median(r, c); ma = median(ra, c); mb = median(rb, c); mc = median(cpu, c)
		mau = median(au, c); mbu = median(bu, c); mcr = median(cr, c)
		printf "throughput, median    A (no agent) %.1f execs/s, B (agent) %.1f execs/s\n", ma, mb
		printf "ratio B/A, median     %.4f (range %.4f .. %.4f); goal >= %.2f: %s\n", \
			mr, minr, maxr, goal, ((mr >= goal) ? "met" : "NOT met")
		printf "burst CPU per exec    A %.1f us, B %.1f us; median B/A %.4f\n", mau, mbu, mcr
		printf "agent CPU per burst   median %.3f s (%.1f us per exec)\n", mc, mc * 1e6 / n
		printf "agent peak RSS        max %.1f MiB (VmHWM)\n", maxhwm / 1024
	}' "$results"
