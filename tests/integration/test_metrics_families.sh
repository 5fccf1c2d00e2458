#!/usr/bin/env bash
#
# What /metrics says is true:
#   - every documented family is there with its type; vigil_build_info is 1
#     and names this binary's version; vigil_events_total has a series for
#     each event type from the start; vigil_events_lost_total has both
#     sources;
#   - after a burst of N fork+exec+exit (each also a SIGCHLD), the exec,
#     fork, exit and signal counters have each risen by at least N;
#   - vigil_processes_tracked follows 50 processes this test starts and
#     stops;
#   - the process_* figures match /proc/PID of the agent (start time, fd
#     count and limit, virtual and resident memory, CPU time);
#   - without --bpf-stats the agent holds no kernel BPF statistics and the
#     vigil_bpf_program_* counters stay 0 (checked only when nobody else on
#     the machine has BPF stats on); with --bpf-stats, or `bpf_stats: true`
#     in the config, the exec program's runs_total rises by at least N over
#     a burst and its run_seconds_total rises too; after the agent exits,
#     BPF stats are as they were before.
set -u -o pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null 2>&1 || skip "curl is not installed: this test needs the Debian package 'curl' (make deps)"
"$VIGIL" run --help 2>/dev/null | grep -q -- '--metrics-addr' ||
	fail "$VIGIL run has no --metrics-addr option"
"$VIGIL" run --help 2>/dev/null | grep -q -- '--bpf-stats' ||
	fail "$VIGIL run has no --bpf-stats option"

N=300
forkexec=$(need_helper forkexec)
hz=$(getconf CLK_TCK)



# msum FILE NAME [ERE]: sum of NAME's samples whose line matches ERE;
# status 1 (and "0") when there are none.
msum() {
	awk -v n="$2" -v re="${3:-.}" '
		(index($0, n "{") == 1 || index($0, n " ") == 1) && $0 ~ re { s += $NF; f = 1 }
		END { printf "%.12g\n", s; exit !f }' "$1"
}

# delta A B: B - A, for awk-sized numbers.
delta() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.12g\n", b - a }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

# Kernel BPF run-time statistics: on while any process holds a
# BPF_ENABLE_STATS fd ("anon_inode:bpf-stats") or the sysctl is 1.
stats_holders() {
	local f
	for f in /proc/[0-9]*/fd/*; do
		[[ $(readlink "$f" 2>/dev/null) == anon_inode:bpf-stats ]] && { f=${f#/proc/}; echo "${f%%/*}"; }
	done | sort -u | tr '\n' ' '
}
stats_sysctl() { cat /proc/sys/kernel/bpf_stats_enabled 2>/dev/null || echo 0; }
holds_stats() { [[ " $(stats_holders) " == *" $1 "* ]]; }

# Failures that do not stop the checks after them; reported at the end.
deferred=()
later() { log "FAILED (reported at the end): $*"; deferred+=("$*"); }

port=$(free_port)
sysctl0=$(stats_sysctl)

# ---------------------------------------------------------------- families
vigil_start "$T_TMP/a.out" "$T_TMP/a.err" run --metrics-addr "127.0.0.1:$port" --output /dev/null
agent=$VIGIL_PID
s0=$T_TMP/s0.txt
scrape "$s0"

while read -r fam type; do
	grep -qx "# TYPE $fam $type" "$s0" ||
		{ grep "^# TYPE $fam " "$s0" >&2; fail "/metrics has no '# TYPE $fam $type' line"; }
done <<'EOF'
vigil_build_info gauge
vigil_events_total counter
vigil_events_lost_total counter
vigil_processes_tracked gauge
vigil_containers_tracked gauge
vigil_container_events_total counter
vigil_bpf_program_run_seconds_total counter
vigil_bpf_program_runs_total counter
process_cpu_seconds_total counter
process_resident_memory_bytes gauge
process_start_time_seconds gauge
process_open_fds gauge
process_max_fds gauge
process_virtual_memory_bytes gauge
EOF
log "all 14 documented families are present with their types"

bi=$(grep '^vigil_build_info{' "$s0")
[[ $(wc -l <<<"$bi") == 1 && $bi =~ \ 1$ ]] || fail "vigil_build_info is not one series of value 1: $bi"
ver=$(sed -nE 's/.*[{,]version="([^"]*)".*/\1/p' <<<"$bi")
lib=$(sed -nE 's/.*[{,]libbpf="([^"]*)".*/\1/p' <<<"$bi")
[[ -n $ver && -n $lib ]] || fail "vigil_build_info lacks a non-empty version or libbpf label: $bi"
"$VIGIL" version 2>/dev/null | grep -qF -- "$ver" ||
	fail "vigil_build_info version '$ver' is not in \`vigil version\`: $("$VIGIL" version 2>&1 | head -n 1)"
log "build info: $bi"

for t in exec exit fork signal signal_deliver; do
	grep -q "^vigil_events_total{type=\"$t\"} " "$s0" || fail "vigil_events_total{type=\"$t\"} is not there from the start"
done
for src in ringbuf output; do
	grep -q "^vigil_events_lost_total{.*source=\"$src\"" "$s0" || fail "vigil_events_lost_total has no source=\"$src\" series"
done
bad=$(grep '^vigil_events_lost_total{' "$s0" | grep -vE 'source="(ringbuf|output)"')
[[ -z $bad ]] || fail "vigil_events_lost_total has sources other than ringbuf and output: $bad"

# ---------------------------------------------------------------- counters follow a burst
"$forkexec" "$N" >"$T_TMP/burst.out" || { dump_file "$T_TMP/burst.out"; fail "forkexec $N failed"; }
s1=$T_TMP/s1.txt
deadline=$((SECONDS + 10))
while :; do
	scrape "$s1"
	ok=1
	for t in exec fork exit signal; do
		d=$(delta "$(msum "$s0" vigil_events_total "type=\"$t\"")" "$(msum "$s1" vigil_events_total "type=\"$t\"")")
		ge "$d" "$N" || ok=0
	done
	((ok)) && break
	if ((SECONDS >= deadline)); then
		for t in exec fork exit signal; do
			log "vigil_events_total{type=\"$t\"}: $(msum "$s0" vigil_events_total "type=\"$t\"") -> $(msum "$s1" vigil_events_total "type=\"$t\"")"
		done
		fail "vigil_events_total did not rise by >= $N for each of exec, fork, exit and signal within 10 s of $N fork+exec+exit"
	fi
	sleep 0.3
done
log "after $N fork+exec+exit: exec +$(delta "$(msum "$s0" vigil_events_total 'type="exec"')" "$(msum "$s1" vigil_events_total 'type="exec"')"), signal +$(delta "$(msum "$s0" vigil_events_total 'type="signal"')" "$(msum "$s1" vigil_events_total 'type="signal"')")"
lost=$(msum "$s1" vigil_events_lost_total)
log "events lost so far: $lost"

# ---------------------------------------------------------------- processes_tracked
g0=$(msum "$s1" vigil_processes_tracked) || fail "no vigil_processes_tracked sample"
nproc_now=$(find /proc -maxdepth 1 -name '[0-9]*' | wc -l)
log "vigil_processes_tracked $g0; /proc has $nproc_now processes"
awk -v g="$g0" -v p="$nproc_now" 'BEGIN { exit !(g >= p / 2 && g <= p * 2 + 20) }' ||
	later "vigil_processes_tracked is $g0 while /proc lists $nproc_now processes (right after $N short-lived processes exited)"
sleepers=()
for _ in $(seq 1 50); do
	spawn sleep 120
	sleepers+=("$SPAWN_PID")
done
deadline=$((SECONDS + 10))
until g1=$(scrape "$T_TMP/g.txt"; msum "$T_TMP/g.txt" vigil_processes_tracked) && ge "$g1" "$((${g0%.*} + 45))"; do
	((SECONDS < deadline)) || { later "vigil_processes_tracked went from $g0 to $g1 after 50 new processes, not up by >= 45"; break; }
	sleep 0.3
done
for p in "${sleepers[@]}"; do kill -s TERM "$p" 2>/dev/null; done
for p in "${sleepers[@]}"; do reap "$p" 2>/dev/null; done
deadline=$((SECONDS + 10))
until g2=$(scrape "$T_TMP/g.txt"; msum "$T_TMP/g.txt" vigil_processes_tracked) && ! ge "$g2" "$((${g1%.*} - 45 + 1))"; do
	((SECONDS < deadline)) || { later "vigil_processes_tracked went from $g1 to $g2 after 50 processes exited, not down by >= 45"; break; }
	sleep 0.3
done
log "vigil_processes_tracked: $g0 -> $g1 with 50 more processes -> $g2 after they exited"

# ---------------------------------------------------------------- process_* against /proc
s2=$T_TMP/s2.txt
read -r -a st < <(sed 's/^.*) //' "/proc/$agent/stat")	# fields from 3 (state) on
cpu_before=$(awk -v u="${st[11]}" -v s="${st[12]}" -v hz="$hz" 'BEGIN { print (u + s) / hz }')
scrape "$s2"
fds_now=$(find "/proc/$agent/fd" -mindepth 1 -maxdepth 1 | wc -l)
read -r -a st2 < <(sed 's/^.*) //' "/proc/$agent/stat")
cpu_after=$(awk -v u="${st2[11]}" -v s="${st2[12]}" -v hz="$hz" 'BEGIN { print (u + s) / hz }')
btime=$(awk '/^btime / {print $2}' /proc/stat)
start_real=$(awk -v b="$btime" -v t="${st[19]}" -v hz="$hz" 'BEGIN { printf "%.2f", b + t / hz }')
max_fds=$(awk '/^Max open files/ {print $4}' "/proc/$agent/limits")
vsz=$(awk '/^VmSize:/ {print $2 * 1024}' "/proc/$agent/status")
rss=$(awk '/^VmRSS:/ {print $2 * 1024}' "/proc/$agent/status")

v=$(msum "$s2" process_start_time_seconds) || fail "no process_start_time_seconds sample"
awk -v a="$v" -v b="$start_real" 'BEGIN { d = a - b; exit !(d < 2 && d > -2) }' ||
	fail "process_start_time_seconds is $v; /proc/$agent/stat says the agent started at $start_real"
v=$(msum "$s2" process_max_fds) || fail "no process_max_fds sample"
[[ $max_fds == unlimited ]] || awk -v a="$v" -v b="$max_fds" 'BEGIN { exit !(a == b) }' ||
	fail "process_max_fds is $v; the agent's soft 'Max open files' is $max_fds"
v=$(msum "$s2" process_open_fds) || fail "no process_open_fds sample"
awk -v a="$v" -v b="$fds_now" 'BEGIN { d = a - b; exit !(d <= 3 && d >= -3) }' ||
	fail "process_open_fds is $v; /proc/$agent/fd has $fds_now entries"
v=$(msum "$s2" process_virtual_memory_bytes) || fail "no process_virtual_memory_bytes sample"
awk -v a="$v" -v b="$vsz" 'BEGIN { exit !(a >= b * 0.9 && a <= b * 1.1) }' ||
	fail "process_virtual_memory_bytes is $v; VmSize is $vsz bytes"
v=$(msum "$s2" process_resident_memory_bytes) || fail "no process_resident_memory_bytes sample"
awk -v a="$v" -v b="$rss" 'BEGIN { exit !(a >= b * 0.75 && a <= b * 1.25) }' ||
	fail "process_resident_memory_bytes is $v; VmRSS is $rss bytes"
v=$(msum "$s2" process_cpu_seconds_total) || fail "no process_cpu_seconds_total sample"
awk -v a="$v" -v lo="$cpu_before" -v hi="$cpu_after" 'BEGIN { exit !(a >= lo - 0.02 && a <= hi + 0.02) }' ||
	fail "process_cpu_seconds_total is $v; /proc/$agent/stat gave $cpu_before s before the scrape and $cpu_after s after"
log "process_*: start $start_real, fds $fds_now/$max_fds, VmSize $vsz, VmRSS $rss, CPU $cpu_before..$cpu_after s: all agree"

# ---------------------------------------------------------------- BPF stats off by default
holds_stats "$agent" && fail "vigil run without --bpf-stats holds a BPF stats fd (kernel BPF statistics on for the whole machine)"
others=$(stats_holders)
if [[ -z $others && $(stats_sysctl) == 0 ]]; then
	for f in "$s0" "$s1" "$s2"; do
		nz=$(grep -E '^vigil_bpf_program_(runs|run_seconds)_total' "$f" | awk '$NF != 0')
		[[ -z $nz ]] || fail "vigil_bpf_program_* counters are not 0 without --bpf-stats, with kernel BPF stats off: $nz"
	done
	log "without --bpf-stats: no stats fd, vigil_bpf_program_* all 0"
else
	log "note: kernel BPF stats are on for the machine (stats fd held by pid(s) ${others:-none}, sysctl $(stats_sysctl)); zero check skipped"
fi
grep -q '^vigil_bpf_program_runs_total{program="' "$s0" ||
	fail "vigil_bpf_program_runs_total has no per-program series (the program label set should be known from the start)"

rc=0
vigil_stop INT || rc=$?
[[ $rc == 0 ]] || { dump_file "$T_TMP/a.err"; fail "vigil run exited $rc after SIGINT"; }

# ---------------------------------------------------------------- --bpf-stats / bpf_stats: true
# bpf_stats_check HOW ARGS...: start vigil with ARGS, burst, check the exec
# program's counters, stop it, check stats are back off.
bpf_stats_check() {
	local how=$1 b0=$T_TMP/b0.txt b1=$T_TMP/b1.txt r0 r1 t0 t1 rc=0
	shift
	vigil_start "$T_TMP/b.out" "$T_TMP/b.err" run --metrics-addr "127.0.0.1:$port" --output /dev/null "$@"
	holds_stats "$VIGIL_PID" || [[ $(stats_sysctl) == 1 ]] ||
		fail "$how: the agent neither holds a BPF stats fd nor set kernel.bpf_stats_enabled"
	scrape "$b0"
	"$forkexec" "$N" >"$T_TMP/burst.out" || fail "forkexec $N failed"
	sleep 0.3
	scrape "$b1"
	r0=$(msum "$b0" vigil_bpf_program_runs_total 'program="[^"]*exec[^"]*"') ||
		{ grep '^vigil_bpf_program' "$b0" >&2; fail "$how: no vigil_bpf_program_runs_total series for an exec program"; }
	r1=$(msum "$b1" vigil_bpf_program_runs_total 'program="[^"]*exec[^"]*"')
	t0=$(msum "$b0" vigil_bpf_program_run_seconds_total 'program="[^"]*exec[^"]*"')
	t1=$(msum "$b1" vigil_bpf_program_run_seconds_total 'program="[^"]*exec[^"]*"')
	ge "$(delta "$r0" "$r1")" "$N" || { grep '^vigil_bpf_program' "$b1" >&2; fail "$how: exec program runs_total went $r0 -> $r1 over $N execs"; }
	awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b > a) }' || fail "$how: exec program run_seconds_total did not rise ($t0 -> $t1)"
	log "$how: exec program runs $r0 -> $r1, run seconds $t0 -> $t1"
	vigil_stop INT || rc=$?
	[[ $rc == 0 ]] || { dump_file "$T_TMP/b.err"; fail "$how: vigil run exited $rc after SIGINT"; }
	[[ $(stats_sysctl) == "$sysctl0" ]] ||
		fail "$how: kernel.bpf_stats_enabled is $(stats_sysctl) after the agent exited; it was $sysctl0 before"
}
bpf_stats_check "--bpf-stats" --bpf-stats
cat >"$T_TMP/stats.yaml" <<'EOF'
# vigil integration test: BPF run-time statistics from the config
bpf_stats: true
EOF
bpf_stats_check "config bpf_stats: true" --config "$T_TMP/stats.yaml"

((${#deferred[@]} == 0)) || { printf '    %s\n' "${deferred[@]}" >&2; fail "${#deferred[@]} check(s) failed (above)"; }
log "ok"
