#!/usr/bin/env bash
#
# oom_bench.sh - what an OomPolicy costs and how fast it acts (`make bench`).
#
# 1. Reaction latency, per detector, with build/test-helpers/oomlat (source:
#    tests/bench/oomlat.c, whose header defines the timings exactly):
#    - usage: `usage: {percent: 50}` on a 64 MiB memcg.  A hog ramps
#      anonymous memory at OOM_BENCH_RATE MiB/s in 1 MiB steps; latency is
#      from the first usage reading >= 32 MiB (taken by the hog right after
#      the step that crossed it) to the hog's death (pidfd readable).
#      Measured with `oom.interval_ms` 50 (the default) and 10, each with
#      its own agent, in alternating blocks (50, 10, 10, 50).
#    - psi: `psi: {type: some, stall: 100ms, window: 1s}` on another 64 MiB
#      memcg, and `psi: {type: some, stall: 200ms, window: 2s}` on a third.
#      A hog thrashes the page cache (a 96 MiB file on disk, mapped and read
#      page by page, pass after pass); there is no threshold crossing, so
#      latency is from the start of the thrash to the death.  Also printed:
#      from the first stall the hog saw in its pressure file.  Without
#      CAP_SYS_RESOURCE the kernel takes only PSI triggers whose window is a
#      multiple of 2 s (and services them every 2 s); the agent then polls
#      the stall total every interval for the 1 s window.  Which one ran is
#      read from the agent's stderr and printed.  A psi hog still alive 10 s
#      (1 s window) or 8 s (2 s window) after its start is a miss.
#      On a hybrid node the hog joins the memcg's cgroup v2 twin too (vigil
#      reads the twin's memory.pressure); before any agent runs, a 3 s probe
#      checks that pressure shows there.  If it does not, the psi figures are
#      skipped with a loud message: node-wide pressure is never used here, a
#      benchmark must not push the whole host into reclaim.
#    Both policies kill: process and have postActionDelay 200ms; runs are
#    500 ms apart.  The kernel's oom_kill counter of both memcgs must stay
#    0 (reported, never failed on).  The agent's own latency_ms (detector
#    firing to SIGKILL) is read from its oom_kill events.
# 2. Watcher memory: one agent with an OomPolicy (usage {percent: 90})
#    whose scope glob matches 0, 1, 10, 100, 250 and OOM_BENCH_WATCH empty
#    memcgs (64 MiB limit each) made by this script.  On cgroup v1 they are
#    made up front as idle-NNNN and renamed to watch-NNNN in steps, so the
#    agent sees no new cgroups, only new matches; on cgroup v2 (no rename)
#    they are made in steps.  At each step, once vigil_oom_watched_cgroups
#    says so (rescan_ms is the default 2 s) and 1 s later: the agent's
#    VmRSS, RssAnon and Pss (smaps_rollup).  Reported: bytes per watched
#    cgroup, (RssAnon at N - at 0) / N.
# 3. Detector loop CPU: the same agent's utime+stime over OOM_BENCH_CPU_SECONDS
#    with 0 and with OOM_BENCH_WATCH watched memcgs (interval 50 ms), and
#    vigil_oom_evaluations_total over the same time.
#
# Everything runs in memory cgroups this script makes under its own
# vigil-oombench-* cgroup, removed at exit with the thrash file and the temp
# directory.  Hogs never run outside them.
#
# Environment: OOM_BENCH_RUNS (20 per detector and interval), OOM_BENCH_RATE
# (100 MiB/s), OOM_BENCH_WATCH (500), OOM_BENCH_CPU_SECONDS (10), VIGIL.
#
# Timings never fail the benchmark: it exits 0 whatever the figures, and 1
# only if something does not work (the agent fails, a policy never loads,
# no hog is ever killed).
set -u -o pipefail
export LC_ALL=C

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VIGIL=${VIGIL:-$root/build/vigil}
runs=${OOM_BENCH_RUNS:-20}
rate=${OOM_BENCH_RATE:-100}
nwatch=${OOM_BENCH_WATCH:-500}
cpu_s=${OOM_BENCH_CPU_SECONDS:-10}
goal_ms=100
limit_mb=64
file_mb=96

die() {
	echo "oom_bench: $*" >&2
	exit 1
}
note() { echo "oom_bench: $*"; }

posint() { [[ $2 =~ ^[0-9]+$ && $2 -ge 1 ]] || die "$1 must be a positive integer, got '$2'"; }
posint OOM_BENCH_RUNS "$runs"
posint OOM_BENCH_RATE "$rate"
posint OOM_BENCH_WATCH "$nwatch"
posint OOM_BENCH_CPU_SECONDS "$cpu_s"
((nwatch <= 5000)) || die "OOM_BENCH_WATCH is at most 5000"
[[ $(id -u) == 0 ]] || die "needs root (the agent loads BPF programs; cgroups)"
[[ -x $VIGIL ]] || die "no agent binary at $VIGIL (run make)"
for t in curl jq ss awk; do
	command -v "$t" >/dev/null || die "needs $t"
done

helpers=$root/build/test-helpers
mkdir -p "$helpers"
cc -O2 -Wall -Wextra -o "$helpers/oomlat" "$root/tests/bench/oomlat.c" -lm || die "cannot build oomlat"
oomlat=$helpers/oomlat

# ---------------------------------------------------------------- cgroups

# The memory controller's hierarchy (v1 memory on hybrid nodes, else
# cgroup2), and on hybrid nodes the cgroup2 mount that holds the twins.
hier='' cgroot='' v2root=''
while read -r mnt fstype opts; do
	if [[ $fstype == cgroup && ,$opts, == *,memory,* && -z $hier ]]; then
		hier=memory cgroot=$mnt
	fi
	[[ $fstype == cgroup2 && -z $v2root ]] && v2root=$mnt
done < <(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break; print $5, $(i+1), $(i+3) }' /proc/self/mountinfo)
if [[ -z $hier && -n $v2root ]]; then
	hier=v2 cgroot=$v2root v2root=''
	grep -qw memory "$cgroot/cgroup.controllers" || die "the cgroup2 hierarchy has no memory controller"
fi
[[ -n $cgroot ]] || die "no cgroup v1 memory hierarchy and no cgroup2 mount"

base=vigil-oombench-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
tmp=$(mktemp -d /tmp/vigil-oom-bench.XXXXXX)
thrash=$root/build/oom-bench-thrash.$$.dat
agent_pid=
cg_made=()
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
	local i d
	if [[ -n $agent_pid ]] && kill -0 "$agent_pid" 2>/dev/null; then
		kill -s TERM "$agent_pid" 2>/dev/null
		wait "$agent_pid" 2>/dev/null
	fi
	for ((i = ${#cg_made[@]} - 1; i >= 0; i--)); do
		d=${cg_made[i]}
		# renamed on the way (idle-N -> watch-N): try both names
		[[ -d $d ]] || d=${d/\/idle-//watch-}
		for _ in $(seq 50); do
			[[ -d $d ]] || break
			rmdir "$d" 2>/dev/null && break
			sleep 0.05
		done
		[[ -d $d ]] && echo "oom_bench: warning: could not remove cgroup $d" >&2
	done
	rm -f "$thrash"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkcg() {	# mkcg DIR: one cgroup, registered for removal
	cg_made+=("$1")
	mkdir "$1" || die "cannot create cgroup $1"
}

# limit DIR MiB: memory limit, no swap.
limit() {
	if [[ $hier == memory ]]; then
		echo "$(($2 << 20))" >"$1/memory.limit_in_bytes" || die "cannot limit $1"
		[[ -e $1/memory.memsw.limit_in_bytes ]] && echo "$(($2 << 20))" >"$1/memory.memsw.limit_in_bytes"
	else
		echo "$(($2 << 20))" >"$1/memory.max" || die "cannot limit $1"
		[[ -e $1/memory.swap.max ]] && echo 0 >"$1/memory.swap.max"
	fi
	return 0
}

kernel_oom_kills() {	# DIR: the kernel's own oom_kill count
	if [[ $hier == memory ]]; then
		awk '$1 == "oom_kill" { print $2 }' "$1/memory.oom_control"
	else
		awk '$1 == "oom_kill" { print $2 }' "$1/memory.events"
	fi
}

mkcg "$cgroot/$base"
[[ $hier == v2 ]] && { echo +memory >"$cgroot/$base/cgroup.subtree_control" || die "cannot enable memory in $cgroot/$base"; }
for c in usage psi psi2s w; do mkcg "$cgroot/$base/$c"; done
[[ $hier == v2 ]] && { echo +memory >"$cgroot/$base/w/cgroup.subtree_control" || die "cannot enable memory in $cgroot/$base/w"; }
limit "$cgroot/$base/usage" $limit_mb
limit "$cgroot/$base/psi" $limit_mb
limit "$cgroot/$base/psi2s" $limit_mb
twin_args=() twin2_args=()
psi_pressure=$cgroot/$base/psi/memory.pressure
if [[ $hier == memory ]]; then
	if [[ -n $v2root ]]; then
		mkcg "$v2root/$base"
		mkcg "$v2root/$base/psi"
		mkcg "$v2root/$base/psi2s"
		twin_args=(-2 "$v2root/$base/psi")
		twin2_args=(-2 "$v2root/$base/psi2s")
		psi_pressure=$v2root/$base/psi/memory.pressure
	else
		psi_pressure=
	fi
fi

# ---------------------------------------------------------------- PSI probe

psi_ok=0 psi_why=''
fstype=$(stat -f -c %T "$root/build")
if [[ -z $psi_pressure ]]; then
	psi_why="this node has the v1 memory controller and no cgroup2 mount: a memcg has no pressure file of its own, and node-wide pressure is not measured here"
elif [[ ! -r $psi_pressure ]]; then
	psi_why="no $psi_pressure (PSI off in this kernel?)"
elif [[ $fstype == tmpfs || $fstype == ramfs ]]; then
	psi_why="$root/build is on $fstype: the thrash needs a disk-backed file"
else
	# O_DIRECT: none of it lands in this shell's page cache (oomlat drops
	# what may be cached before each run anyway).
	dd if=/dev/urandom of="$thrash" bs=1M count=$file_mb oflag=direct conv=fsync status=none ||
		die "cannot write $thrash"
	if "$oomlat" probe -m "$cgroot/$base/psi" "${twin_args[@]}" -f "$thrash" -s 3 >"$tmp/probe.out" 2>&1; then
		psi_ok=1
	else
		psi_why="a 3 s thrash showed no stall in $psi_pressure: $(tail -1 "$tmp/probe.out")"
	fi
	note "psi probe: $(tail -1 "$tmp/probe.out")"
fi
if ((!psi_ok)); then
	echo "oom_bench: ******** SKIPPING the psi detector: $psi_why ********" >&2
fi

# ---------------------------------------------------------------- agent

free_port() {
	local p
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 12000))
		[[ -z $(ss -Htan "sport = :$p" 2>/dev/null) ]] && { echo "$p"; return 0; }
	done
	die "no free TCP port between 20000 and 32000"
}
port=$(free_port)

metrics() { curl -fsS --max-time 5 "http://127.0.0.1:$port/metrics" 2>/dev/null; }
metric() {	# metric NAME{LABELS}: its value, or empty
	metrics | awk -v n="$1" '$1 == n { print $2; exit }'
}
watched() { metric "vigil_oom_watched_cgroups{policy=\"$1\"}"; }

# wait_watched POLICY N SECONDS: until the engine watches N memcgs for POLICY.
wait_watched() {
	local deadline=$((SECONDS + $3)) v
	while :; do
		v=$(watched "$1")
		[[ $v == "$2" ]] && return 0
		((SECONDS < deadline)) || { cat "$tmp/agent.err" >&2; die "policy $1 watches '${v}' memcgs, not $2, after $3 s"; }
		sleep 0.1
	done
}

write_config() {	# write_config FILE INTERVAL_MS RESCAN_MS
	cat >"$1" <<EOF
metrics_addr: "127.0.0.1:$port"
oom:
  interval_ms: $2
  rescan_ms: $3
EOF
}

agent_start() {	# agent_start CONFIG POLICY_DIR EVENTS
	local deadline=$((SECONDS + 30))
	: >"$tmp/agent.err"
	env --default-signal "$VIGIL" run --config "$1" --policy-dir "$2" --output "$3" \
		>/dev/null 2>"$tmp/agent.err" </dev/null &
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
	kill -s TERM "$agent_pid"
	wait "$agent_pid" || { cat "$tmp/agent.err" >&2; agent_pid=; die "agent exited non-zero"; }
	agent_pid=
	cat "$tmp/agent.err" >>"$tmp/agent.all.err"
}

policy() {	# policy NAME SCOPE DETECTOR
	cat <<EOF
---
apiVersion: vigil.dev/v1alpha1
kind: OomPolicy
metadata:
  name: $1
spec:
  scope:
    cgroups: ["$2"]
  detectors:
    - $3
  postActionDelay: 200ms
  kill: process
EOF
}

mkdir -p "$tmp/lat" "$tmp/watch"
{
	policy bench-usage "/$base/usage" "usage: {percent: 50}"
	if ((psi_ok)); then
		policy bench-psi "/$base/psi" "psi: {type: some, stall: 100ms, window: 1s}"
		policy bench-psi2s "/$base/psi2s" "psi: {type: some, stall: 200ms, window: 2s}"
	fi
} >"$tmp/lat/oom.yaml"
policy bench-watch "/$base/w/watch-*" "usage: {percent: 90}" >"$tmp/watch/oom.yaml"
for d in lat watch; do
	"$VIGIL" policy check "$tmp/$d" >"$tmp/check.out" 2>&1 || { cat "$tmp/check.out" >&2; die "the $d policy set does not check"; }
done

# ---------------------------------------------------------------- 1. latency

# stats FILE: "median p99 min max n" of the numbers in FILE (nearest rank).
stats() {
	sort -g "$1" | awk '{ v[NR] = $1 }
		function rk(q,  r) { r = q * NR; r = (r == int(r)) ? r : int(r) + 1; if (r < 1) r = 1; return v[r] }
		END { if (NR) printf "%.1f %.1f %.1f %.1f %d\n", rk(0.5), rk(0.99), v[1], v[NR], NR; else print "- - - - 0" }'
}

half=$(((runs + 1) / 2))
misses=0 killed_any=0
lat_block() {	# lat_block INTERVAL BLOCK
	local iv=$1 b=$2 ev=$tmp/events-$1-$2.jsonl rc
	write_config "$tmp/lat-$iv.yaml" "$iv" 200
	agent_start "$tmp/lat-$iv.yaml" "$tmp/lat" "$ev"
	wait_watched bench-usage 1 15
	if ((psi_ok)); then
		wait_watched bench-psi 1 15
		wait_watched bench-psi2s 1 15
	fi
	"$oomlat" usage -m "$cgroot/$base/usage" -t $(((limit_mb << 20) / 2)) -c $((limit_mb - 8)) \
		-r "$rate" -n "$half" -g 500 -T 5000 -l "usage-$iv" >"$tmp/usage-$iv-$b.out" 2>&1
	rc=$?
	((rc <= 1)) || { cat "$tmp/usage-$iv-$b.out" >&2; die "oomlat usage failed"; }
	if ((psi_ok && iv == 50)); then
		"$oomlat" psi -m "$cgroot/$base/psi" "${twin_args[@]}" -f "$thrash" -n "$half" -g 1500 \
			-T 10000 -l "psi" >"$tmp/psi-$b.out" 2>&1
		rc=$?
		((rc <= 1)) || { cat "$tmp/psi-$b.out" >&2; die "oomlat psi failed"; }
		"$oomlat" psi -m "$cgroot/$base/psi2s" "${twin2_args[@]}" -f "$thrash" -n "$half" -g 1500 \
			-T 8000 -l "psi2s" >"$tmp/psi2s-$b.out" 2>&1
		rc=$?
		((rc <= 1)) || { cat "$tmp/psi2s-$b.out" >&2; die "oomlat psi (2 s window) failed"; }
	fi
	agent_stop
}

note "latency: $runs runs per detector, usage hog at $rate MiB/s into a $limit_mb MiB memcg (threshold 50%)"
lat_block 50 1
lat_block 10 1
lat_block 10 2
lat_block 50 2

for f in "$tmp"/usage-*.out "$tmp"/psi-*.out "$tmp"/psi2s-*.out; do
	[[ -e $f ]] || continue
	grep -E '^run [0-9]+( missed|:)' "$f" | sed "s|^|oom_bench: $(basename "$f" .out): |"
	misses=$((misses + $(grep -cE '^run [0-9]+( missed|:)' "$f")))
done
cat "$tmp"/usage-50-*.out | awk '$1 == "run" && $3 == "latency_ms" { print $4 }' >"$tmp/u50"
cat "$tmp"/usage-10-*.out | awk '$1 == "run" && $3 == "latency_ms" { print $4 }' >"$tmp/u10"
for d in psi psi2s; do
	: >"$tmp/$d" && : >"$tmp/${d}stall"
	((psi_ok)) || continue
	cat "$tmp"/$d-*.out | awk '$1 == "run" && $3 == "latency_ms" { print $4 }' >"$tmp/$d"
	cat "$tmp"/$d-*.out | awk '$1 == "run" && $3 == "latency_ms" && $8 >= 0 { print $8 }' >"$tmp/${d}stall"
done
# How the agent read each stall detector: a kernel trigger, or polling.
psi_mode() {	# psi_mode MEMCG-NAME
	if grep -q "no PSI trigger on [^ ]*/$base/$1/memory.pressure" "$tmp/agent.all.err" 2>/dev/null; then
		echo "no trigger"
	else
		echo "trigger armed"
	fi
}
# The agent's own view: detector firing to SIGKILL, from its oom_kill events.
eng() {	# eng POLICY INTERVAL
	cat "$tmp"/events-"$2"-*.jsonl 2>/dev/null |
		jq -r --arg p "$1" 'select(.type == "oom_kill" and .oom.source == "vigil" and .oom.policy == $p) | .oom.latency_ms' \
			>"$tmp/eng-$1-$2" 2>/dev/null
	stats "$tmp/eng-$1-$2"
}
[[ -s $tmp/u50 || -s $tmp/u10 ]] && killed_any=1

echo
printf '%-34s %9s %9s %9s %9s %5s   %s\n' "detector (oom.interval_ms)" "median" "p99" "min" "max" "n" "agent fire->SIGKILL median/p99 ms"
row() {	# row LABEL FILE POLICY INTERVAL
	local med p99 mn mx n emed ep99 en
	read -r med p99 mn mx n < <(stats "$2")
	read -r emed ep99 _ _ en < <(eng "$3" "$4")
	printf '%-34s %9s %9s %9s %9s %5s   %s / %s (%s events)\n' "$1" "$med" "$p99" "$mn" "$mx" "$n" "$emed" "$ep99" "$en"
}
row "usage 50% (50 ms), ms" "$tmp/u50" bench-usage 50
u50_med=$(stats "$tmp/u50" | cut -d' ' -f1)
row "usage 50% (10 ms), ms" "$tmp/u10" bench-usage 10
if ((psi_ok)); then
	row "psi 100ms/1s ($(psi_mode psi)), ms" "$tmp/psi" bench-psi 50
	read -r med p99 mn mx n < <(stats "$tmp/psistall")
	printf '%-34s %9s %9s %9s %9s %5s\n' "  the same, from first stall seen" "$med" "$p99" "$mn" "$mx" "$n"
	row "psi 200ms/2s ($(psi_mode psi2s)), ms" "$tmp/psi2s" bench-psi2s 50
	read -r med p99 mn mx n < <(stats "$tmp/psi2sstall")
	printf '%-34s %9s %9s %9s %9s %5s\n' "  the same, from first stall seen" "$med" "$p99" "$mn" "$mx" "$n"
	echo "(psi latencies are from the start of the thrash; \"no trigger\": the kernel refused a PSI trigger and only"
	echo " the sampled stall total is read, see the agent's stderr below; \"trigger armed\": either may fire)"
	grep -m1 "no PSI trigger" "$tmp/agent.all.err" | sed 's/^/  agent: /'
else
	echo "psi: SKIPPED ($psi_why)"
fi
ku=$(kernel_oom_kills "$cgroot/$base/usage")
kp=$(kernel_oom_kills "$cgroot/$base/psi")
kp2=$(kernel_oom_kills "$cgroot/$base/psi2s")
echo "kernel oom_kill counters: usage memcg ${ku:-?}, psi memcgs ${kp:-?} and ${kp2:-?} (0: vigil always acted first)"
if [[ $u50_med != - ]]; then
	if awk -v m="$u50_med" -v g="$goal_ms" 'BEGIN { exit !(m < g) }'; then
		echo "usage detector median ${u50_med} ms at the default interval: under the ${goal_ms} ms goal"
	else
		echo "usage detector median ${u50_med} ms at the default interval: NOT under the ${goal_ms} ms goal"
	fi
fi
((misses == 0)) || echo "oom_bench: $misses run(s) missed (see the lines above)"
((killed_any)) || { cat "$tmp/agent.all.err" >&2; die "no usage hog was ever killed by the agent"; }

# ---------------------------------------------------------------- 2. + 3. watcher memory and CPU

wdir=$cgroot/$base/w
for i in $(seq -f '%04g' 1 "$nwatch"); do
	if [[ $hier == memory ]]; then
		mkcg "$wdir/idle-$i"
		limit "$wdir/idle-$i" $limit_mb
	fi
done
write_config "$tmp/watch.yaml" 50 2000
agent_start "$tmp/watch.yaml" "$tmp/watch" /dev/null
clk=$(getconf CLK_TCK)

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$agent_pid/stat"; }
mem_line() {	# "VmRSS RssAnon Pss" in KiB
	local rss anon pss
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$agent_pid/status")
	anon=$(awk '/^RssAnon:/ { print $2 }' "/proc/$agent_pid/status")
	pss=$(awk '/^Pss:/ { print $2 }' "/proc/$agent_pid/smaps_rollup" 2>/dev/null)
	echo "$rss $anon ${pss:--}"
}
# cpu_sample: "agent_ms evaluations" over cpu_s seconds.
cpu_sample() {
	local c0 c1 e0 e1
	c0=$(cpu_ticks) e0=$(metric vigil_oom_evaluations_total)
	sleep "$cpu_s"
	c1=$(cpu_ticks) e1=$(metric vigil_oom_evaluations_total)
	echo "$(((c1 - c0) * 1000 / clk)) $((${e1:-0} - ${e0:-0}))"
}

sleep 3	# one rescan at least: the policy matches nothing yet
read -r cpu0_ms ev0 < <(cpu_sample)
declare -A mem
steps=()
for s in 0 1 10 100 250; do ((s < nwatch)) && steps+=("$s"); done
steps+=("$nwatch")
have=0
echo
printf '%-16s %12s %12s %12s\n' "watched memcgs" "VmRSS KiB" "RssAnon KiB" "Pss KiB"
for s in "${steps[@]}"; do
	while ((have < s)); do
		have=$((have + 1))
		i=$(printf '%04d' "$have")
		if [[ $hier == memory ]]; then
			mv "$wdir/idle-$i" "$wdir/watch-$i" || die "cannot rename $wdir/idle-$i"
		else
			mkcg "$wdir/watch-$i"
			limit "$wdir/watch-$i" $limit_mb
		fi
	done
	if ((s == 0)); then
		v=$(watched bench-watch)
		[[ -z $v || $v == 0 ]] || die "bench-watch watches $v memcgs before any matches"
	else
		wait_watched bench-watch "$s" 30
	fi
	sleep 1
	mem[$s]=$(mem_line)
	# shellcheck disable=SC2086  # three fields
	printf '%-16s %12s %12s %12s\n' "$s" ${mem[$s]}
done
read -r cpuN_ms evN < <(cpu_sample)
agent_stop

read -r r0 a0 p0 <<<"${mem[0]}"
read -r rN aN pN <<<"${mem[$nwatch]}"
per() { awk -v a="$1" -v b="$2" -v n="$nwatch" 'BEGIN { printf "%.0f", (b - a) * 1024 / n }'; }
echo
echo "watcher memory: RssAnon $a0 -> $aN KiB for 0 -> $nwatch memcgs: $(per "$a0" "$aN") B per watched memcg (VmRSS $(per "$r0" "$rN") B, Pss $([[ $p0 != - ]] && per "$p0" "$pN" || echo -) B)"
pct() { awk -v ms="$1" -v s="$cpu_s" 'BEGIN { printf "%.2f", ms / (s * 10) }'; }
echo "detector loop CPU over ${cpu_s} s at interval 50 ms: 0 watched ${cpu0_ms} ms (${ev0} evaluation rounds, $(pct "$cpu0_ms")% of a CPU); $nwatch watched ${cpuN_ms} ms (${evN} rounds, $(pct "$cpuN_ms")% of a CPU)"
awk -v a="$cpu0_ms" -v b="$cpuN_ms" -v e="$evN" -v n="$nwatch" 'BEGIN {
	if (e > 0) printf "  => (%d - %d) ms / %d rounds = %.0f us per round, %.2f us per watched memcg per reading\n", b, a, e, (b - a) * 1000 / e, (b - a) * 1000 / e / n }'
load=$(cut -d' ' -f1 /proc/loadavg)
echo "1-minute load average at the end: $load on $(nproc) CPUs"
exit 0
