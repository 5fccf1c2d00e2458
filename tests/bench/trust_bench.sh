#!/usr/bin/env bash
#
# trust_bench.sh - what trusted-binary enforcement costs (`make bench`).
#
# Three measurements, side by side in one run:
#
# 1. Exec throughput.  The exec burst of exec_bench.sh (forkexec, fork+execve
#    of /bin/true N times, one child in flight) runs inside a container
#    cgroup this script creates (/kubepods/burstable/pod<uid>/<64-hex id> in
#    the hierarchy vigil attributes from).  (A) no agent and nothing pinned;
#    (B) `vigil run` with a TrustPolicy in enforce mode, libraries: true,
#    scoped to that one container id, with forkexec, /bin/true, every
#    library they map and the dynamic loader trusted; (C, a reference) the
#    same agent with no TrustPolicy, so no trust hooks: C/A is what the
#    agent costs without trust (exec_bench.sh measures that too), B/C what
#    the trust hooks add.  The headline is B/A.  Rounds alternate their
#    order (ABC, CBA, ...).  Before each B burst an untrusted copy of
#    /bin/true is run in the cgroup and must be killed (SIGKILL, exit 137;
#    EPERM, exit 126, where BPF LSM works): if it is not, the script fails.
#    After each B run the agent is stopped and its bpffs pins removed
#    (enforcement outlives the agent), and before A and C runs the same
#    copy must run.  The agent's vigil_trust_checks_total, read before and
#    after the burst, shows that the kernel judged the burst's execs and
#    mmaps; agent CPU (utime+stime) is sampled around each burst.
#
# 2. Hashing.  `vigil trust --dir D add FILES...` (fresh store each time)
#    next to `sha256sum FILES` on the same files: regular non-empty files
#    under /usr/lib/x86_64-linux-gnu in path order, up to TRUST_BENCH_HASH_MB
#    MB; page cache warmed first; alternating order; MB/s each and the ratio.
#
# 3. Memory per trusted entry.  Kernel: memlock of the trust_inodes map
#    (bpftool) / max_entries; the map is a preallocated hash, so memlock is
#    the same whatever the number of entries.  Agent: VmRSS (and RssAnon) of
#    `vigil run` once it has synced a store of the few bench files, and once
#    it has synced a store with TRUST_BENCH_RECORDS more records (tiny files
#    generated under /tmp); per-record delta.  Store: bytes of the store file
#    per record.
#
# Only the cgroup created here is ever in scope.  Pins go to a bpffs
# directory of this run's own, removed at exit, and so are the cgroup and
# everything under /tmp.
#
# Environment: TRUST_BENCH_PAIRS (5 rounds), TRUST_BENCH_EXECS (3000 per run),
# TRUST_BENCH_HASH_RUNS (3 per tool), TRUST_BENCH_HASH_MB (300),
# TRUST_BENCH_RECORDS (50000), VIGIL (build/vigil).
#
# Timings never fail the benchmark: it exits 0 whatever the figures, and 1
# only if something does not work (no trust command, enforcement not on,
# the agent fails, a helper fails).
set -u -o pipefail
export LC_ALL=C

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VIGIL=${VIGIL:-$root/build/vigil}
pairs=${TRUST_BENCH_PAIRS:-5}
execs=${TRUST_BENCH_EXECS:-3000}
hash_runs=${TRUST_BENCH_HASH_RUNS:-3}
hash_mb=${TRUST_BENCH_HASH_MB:-300}
nrec=${TRUST_BENCH_RECORDS:-50000}
goal=0.97
libdir=/usr/lib/x86_64-linux-gnu

die() {
	echo "trust_bench: $*" >&2
	exit 1
}

posint() { [[ $2 =~ ^[0-9]+$ && $2 -ge 1 ]] || die "$1 must be a positive integer, got '$2'"; }
posint TRUST_BENCH_PAIRS "$pairs"
posint TRUST_BENCH_EXECS "$execs"
posint TRUST_BENCH_HASH_RUNS "$hash_runs"
posint TRUST_BENCH_HASH_MB "$hash_mb"
posint TRUST_BENCH_RECORDS "$nrec"
[[ $(id -u) == 0 ]] || die "needs root (the agent loads BPF programs)"
[[ -x $VIGIL ]] || die "no agent binary at $VIGIL (run make)"
"$VIGIL" trust --help >/dev/null 2>&1 || die "$VIGIL has no working 'trust' command (rebuild with make)"
for t in bpftool curl jq sha256sum ldd ss; do
	command -v "$t" >/dev/null || die "needs $t"
done
[[ -d $libdir ]] || die "no $libdir to hash"

helpers=$root/build/test-helpers
mkdir -p "$helpers"
cc -O2 -Wall -Wextra -o "$helpers/forkexec" "$root/tests/integration/forkexec.c" ||
	die "cannot build the forkexec helper"
forkexec=$helpers/forkexec

# ---------------------------------------------------------------- setup

# The hierarchy vigil attributes from: v1 memory if mounted, else cgroup2
# (as tests/integration/lib.sh attribution_hierarchy decides).
hier='' cgroot=''
while read -r mnt fstype opts; do
	if [[ $fstype == cgroup && ,$opts, == *,memory,* ]]; then
		hier=memory cgroot=$mnt
		break
	fi
	[[ $fstype == cgroup2 && -z $cgroot ]] && hier=v2 cgroot=$mnt
done < <(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break; print $5, $(i+1), $(i+3) }' /proc/self/mountinfo)
[[ -n $cgroot ]] || die "no cgroup v1 memory hierarchy and no cgroup2 mount"

# Under BPF LSM an untrusted exec fails with EPERM (the shell exits 126);
# with the fallback the task is killed (137).
if "$VIGIL" features 2>/dev/null | grep -q '^ *exec-enforcement *lsm'; then
	enf=lsm deny_rc=126
else
	enf=sigkill-fallback deny_rc=137
fi

hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
ctr_id=$(hex 32)
pod_hex=$(hex 16)
pod_uid=${pod_hex:0:8}-${pod_hex:8:4}-${pod_hex:12:4}-${pod_hex:16:4}-${pod_hex:20:12}
cg_rel=kubepods/burstable/pod$pod_uid/$ctr_id
cg=$cgroot/$cg_rel
bpffs=/sys/fs/bpf/vigil-trust-bench-$$-${ctr_id:0:12}

tmp=$(mktemp -d /tmp/vigil-trust-bench.XXXXXX)
agent_pid=
cg_made=()
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
	local i d
	if [[ -n $agent_pid ]] && kill -0 "$agent_pid" 2>/dev/null; then
		kill -s TERM "$agent_pid" 2>/dev/null
		wait "$agent_pid" 2>/dev/null
	fi
	rm -rf "$bpffs"
	# Our processes in the cgroup have all been reaped; rmdir the cgroups
	# this run made, deepest first (a dying task may linger for a moment).
	for ((i = ${#cg_made[@]} - 1; i >= 0; i--)); do
		d=${cg_made[i]}
		for _ in $(seq 50); do
			[[ -d $d ]] || break
			rmdir "$d" 2>/dev/null && break
			sleep 0.05
		done
		[[ -d $d ]] && echo "trust_bench: warning: could not remove cgroup $d" >&2
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

acc=$cgroot
IFS=/ read -ra parts <<<"$cg_rel"
for p in "${parts[@]}"; do
	acc=$acc/$p
	[[ -d $acc ]] && continue
	cg_made+=("$acc")
	mkdir "$acc" || die "cannot create cgroup $acc"
done

# incg CMD...: run CMD in the bench cgroup (a subshell moves itself there,
# then execs CMD, so the exec itself is judged).  Returns CMD's status.
incg() {
	(
		echo "$BASHPID" >"$cg/cgroup.procs" || exit 99
		exec "$@"
	)
}

# probe_untrusted: run the untrusted copy in the bench cgroup; returns its
# status.  It runs as a child of a subshell in the cgroup whose stderr is
# /dev/null, so bash's "Killed" notice does not clutter the output.
probe_untrusted() {
	(
		echo "$BASHPID" >"$cg/cgroup.procs" || exit 99
		"$untrusted"
		exit $?
	) 2>/dev/null
}

untrusted=$tmp/bin/untrusted-true
mkdir -p "$tmp/bin"
cp /bin/true "$untrusted"

free_port() {
	local p
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 12000))
		[[ -z $(ss -Htan "sport = :$p" 2>/dev/null) ]] && { echo "$p"; return 0; }
	done
	die "no free TCP port between 20000 and 32000"
}
port=$(free_port)

mkdir -p "$tmp/policies"
cat >"$tmp/policies/trust.yaml" <<EOF
# vigil trust benchmark: enforce in the bench cgroup only
apiVersion: vigil.dev/v1alpha1
kind: TrustPolicy
metadata:
  name: trust-bench
spec:
  rules:
    - name: bench-container
      selector:
        containerIds: ["$ctr_id"]
      mode: enforce
      libraries: true
EOF

# write_config FILE STORE_DIR
write_config() {
	cat >"$1" <<EOF
cgroup_hierarchy: $hier
metrics_addr: "127.0.0.1:$port"
trust:
  store_dir: $2
  bpffs: $bpffs
EOF
}

# What the burst runs: forkexec, /bin/true, what they map, the loader.
trusted_files() {
	local f
	for f in "$forkexec" /bin/true; do
		readlink -f "$f"
		ldd "$f" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
			xargs -r readlink -f
	done | sort -u
}
mapfile -t trusted < <(trusted_files)
((${#trusted[@]} >= 3)) || die "could not list the burst's binaries and libraries (got: ${trusted[*]})"

# trust_add STORE_DIR FILE...: `vigil trust add`, output kept for errors.
trust_add() {
	local dir=$1
	shift
	"$VIGIL" trust --dir "$dir" --bpffs "$bpffs" add "$@" >"$tmp/add.out" 2>&1 ||
		{ cat "$tmp/add.out" >&2; die "vigil trust --dir $dir add failed"; }
}

store0=$tmp/store0
trust_add "$store0" "${trusted[@]}"
write_config "$tmp/vigil0.yaml" "$store0"

# ---------------------------------------------------------------- agent

metric() {	# metric NAME: its value from /metrics, or empty
	curl -fsS --max-time 5 "http://127.0.0.1:$port/metrics" 2>/dev/null |
		awk -v n="$1" '$1 == n { print $2; exit }'
}

agent_start() {	# agent_start CONFIG [POLICY_DIR]
	local deadline=$((SECONDS + 30))
	: >"$tmp/agent.err"
	env --default-signal "$VIGIL" run --config "$1" --policy-dir "${2:-$tmp/policies}" --output /dev/null \
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

agent_stop() {	# stop the agent, then remove its pins: nothing stays enforced
	local rc=0
	kill -s TERM "$agent_pid"
	wait "$agent_pid" || rc=$?
	agent_pid=
	rm -rf "$bpffs"
	((rc == 0)) || { cat "$tmp/agent.err" >&2; die "agent exited $rc after SIGTERM"; }
}

# The untrusted copy must be refused in the cgroup (enforcement really on).
expect_enforced() {
	local rc deadline=$((SECONDS + 20))
	while :; do
		rc=0
		probe_untrusted || rc=$?
		((rc == deny_rc)) && return 0
		((SECONDS < deadline)) || {
			cat "$tmp/agent.err" >&2
			die "ENFORCEMENT IS NOT ON: an untrusted copy of /bin/true in the bench cgroup exited $rc, not $deny_rc; no figure would mean anything"
		}
		sleep 0.2
	done
}

# ... and must run once the agent is gone and its pins are removed.
expect_free() {
	local rc
	for _ in $(seq 50); do
		rc=0
		probe_untrusted || rc=$?
		((rc == 0)) && return 0
		sleep 0.1
	done
	die "enforcement still on after the agent stopped and $bpffs was removed (untrusted copy exited $rc)"
}

# ---------------------------------------------------------------- 1. exec

# burst: forkexec in the cgroup; prints "ELAPSED_S CPU_S".
burst() {
	local out=$tmp/burst.txt
	incg "$forkexec" "$execs" >"$out" || { cat "$out" >&2; die "forkexec failed in the bench cgroup"; }
	awk '/^elapsed / {e = $2} /^cpu / {c = $2} END {
		if (e == "" || c == "") exit 1
		print e, c
	}' "$out" || { cat "$out" >&2; die "forkexec printed no elapsed/cpu lines"; }
}

# CPU ticks (utime + stime) of a pid; comm may hold spaces, so fields are
# counted from the closing parenthesis.
hz=$(getconf CLK_TCK)
cpu_ticks() {
	local st
	st=$(cat "/proc/$1/stat") || die "agent (pid $1) vanished"
	st=${st##*) }
	awk '{ print $12 + $13 }' <<<"$st"
}

# Each run sets X_el X_cpu (burst wall and CPU seconds); B and C also
# X_agent (agent CPU seconds during the burst); B sets checks.
run_a() {
	local r
	expect_free
	r=$(burst) || exit 1
	read -r a_el a_cpu <<<"$r"
}

run_b() {
	local r c0 c1 t0 t1
	agent_start "$tmp/vigil0.yaml" "$tmp/policies"
	expect_enforced
	c0=$(metric vigil_trust_checks_total)
	t0=$(cpu_ticks "$agent_pid")
	r=$(burst) || exit 1
	t1=$(cpu_ticks "$agent_pid")
	read -r b_el b_cpu <<<"$r"
	c1=$(metric vigil_trust_checks_total)
	b_agent=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN { print (b - a) / hz }')
	checks=$(awk -v a="${c0:-0}" -v b="${c1:-0}" 'BEGIN { print b - a }')
	agent_stop
}

run_c() {
	local r t0 t1
	agent_start "$tmp/vigil0.yaml" "$tmp/nopolicies"
	expect_free
	t0=$(cpu_ticks "$agent_pid")
	r=$(burst) || exit 1
	t1=$(cpu_ticks "$agent_pid")
	read -r c_el c_cpu <<<"$r"
	c_agent=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN { print (b - a) / hz }')
	agent_stop
}
mkdir -p "$tmp/nopolicies"

read -r load1 _ </proc/loadavg
printf 'trusted-binary enforcement benchmark: %d CPUs, kernel %s, enforcement %s\n' \
	"$(nproc)" "$(uname -r)" "$enf"
printf 'agent: %s (%s)\n' "$VIGIL" "$("$VIGIL" version 2>/dev/null | head -n 1)"
printf 'bench cgroup: %s (%s hierarchy); pins: %s\n' "$cg" "$hier" "$bpffs"
printf 'load average before the run: %s\n' "$load1"
awk -v l="$load1" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }' &&
	echo "warning: the machine is busy; wall-clock ratios will be noisy"
echo
echo "== 1. exec throughput in the bench cgroup"
echo "   A no agent; B agent + TrustPolicy enforce, libraries: true, everything trusted;"
echo "   C (reference) the same agent with no TrustPolicy (tracing only, no trust hooks)"
printf '   %d rounds x %d execs of /bin/true, order ABC / CBA alternating; trusted: %s\n' \
	"$pairs" "$execs" "${trusted[*]}"
row() { printf '%-3s %-5s %8s %8s %8s %7s %7s %7s %22s %16s %7s\n' "$@"; }
row "#" order "A ex/s" "B ex/s" "C ex/s" "B/A" "C/A" "B/C" "burst us/ex A/B/C" "agent us/ex B/C" "chk/ex"
row - ----- ------ ------ ------ --- --- --- ----------------- --------------- ------

results=$tmp/exec.txt
: >"$results"
expect_free
burst >/dev/null	# warm-up, untimed
for ((i = 1; i <= pairs; i++)); do
	if ((i % 2)); then
		order=ABC
		run_a
		run_b
		run_c
	else
		order=CBA
		run_c
		run_b
		run_a
	fi
	# i ra rb rc b/a c/a b/c aus bus cus agent_b_us agent_c_us checks/ex cpu_b/a
	line=$(awk -v n="$execs" -v a="$a_el" -v b="$b_el" -v c="$c_el" -v ac="$a_cpu" -v bc="$b_cpu" \
		-v cc="$c_cpu" -v ab="$b_agent" -v acc="$c_agent" -v ck="$checks" -v i="$i" 'BEGIN {
			ra = n / a; rb = n / b; rc = n / c
			printf "%d %.1f %.1f %.1f %.4f %.4f %.4f %.1f %.1f %.1f %.1f %.1f %.2f %.4f", i, ra, rb, rc, \
				rb / ra, rc / ra, rb / rc, ac * 1e6 / n, bc * 1e6 / n, cc * 1e6 / n, \
				ab * 1e6 / n, acc * 1e6 / n, ck / n, bc / ac
		}')
	echo "$line" >>"$results"
	read -r _ ra rb rc rba rca rbc aus bus cus agb agc cpe _ <<<"$line"
	row "$i" "$order" "$ra" "$rb" "$rc" "$rba" "$rca" "$rbc" "$aus/$bus/$cus" "$agb/$agc" "$cpe"
done
exec_summary=$(awk -v goal="$goal" '
	function median(arr, cnt,    i, j, t) {
		for (i = 2; i <= cnt; i++)
			for (j = i; j > 1 && arr[j - 1] > arr[j]; j--) {
				t = arr[j]; arr[j] = arr[j - 1]; arr[j - 1] = t
			}
		return cnt % 2 ? arr[(cnt + 1) / 2] : (arr[cnt / 2] + arr[cnt / 2 + 1]) / 2
	}
	{
		c++
		for (k = 2; k <= 15; k++) v[k, c] = $k
		if (c == 1 || $5 < minr) minr = $5
		if (c == 1 || $5 > maxr) maxr = $5
	}
	END {
		for (k = 2; k <= 15; k++) {
			for (j = 1; j <= c; j++) col[j] = v[k, j]
			m[k] = median(col, c)
		}
		# ra rb rc  b/a min max  c/a b/c  aus bus cus  agb agc  chk  cpu_b/a  verdict
		printf "%.1f %.1f %.1f %.4f %.4f %.4f %.4f %.4f %.1f %.1f %.1f %.1f %.1f %.2f %.4f %s\n", \
			m[2], m[3], m[4], m[5], minr, maxr, m[6], m[7], m[8], m[9], m[10], m[11], m[12], \
			m[13], m[14], (m[5] >= goal) ? "PASS" : "BELOW_TARGET"
	}' "$results")
read -r ex_a ex_b ex_c ex_r ex_rmin ex_rmax ex_ca ex_bc ex_aus ex_bus ex_cus ex_agb ex_agc ex_ck ex_cr \
	ex_verdict <<<"$exec_summary"
((${ex_ck%.*} >= 1)) || die "the agent counted fewer trust checks than execs during the B bursts ($ex_ck per exec): the burst was not judged"

# ---------------------------------------------------------------- 2. hashing

echo
echo "== 2. hashing: vigil trust add vs sha256sum"
# Regular non-empty files under $libdir in path order, up to hash_mb MB.
find "$libdir" -type f -size +0 -printf '%s %p\n' | LC_ALL=C sort -k2 |
	awk -v lim="$((hash_mb * 1000000))" '{ if (s >= lim) exit; s += $1; sub(/^[0-9]+ /, ""); print }' \
		>"$tmp/hashfiles.txt"
hash_n=$(wc -l <"$tmp/hashfiles.txt")
hash_bytes=$(tr '\n' '\0' <"$tmp/hashfiles.txt" | xargs -0 stat -c %s | awk '{ s += $1 } END { print s }')
tr '\n' '\0' <"$tmp/hashfiles.txt" >"$tmp/hashfiles.0"
grep -q '[[:space:]]' "$tmp/hashfiles.txt" && die "a file name under $libdir has white space; this script does not handle it"
mapfile -t hfiles <"$tmp/hashfiles.txt"
printf '   %d files, %.1f MB (page cache warmed), %d runs each, alternating\n' \
	"$hash_n" "$(awk -v b="$hash_bytes" 'BEGIN { print b / 1e6 }')" "$hash_runs"
xargs -0 cat <"$tmp/hashfiles.0" >/dev/null
xargs -0 cat <"$tmp/hashfiles.0" >/dev/null

now() { echo "$EPOCHREALTIME"; }
run_sha() {
	local t0 t1
	t0=$(now)
	xargs -0 sha256sum <"$tmp/hashfiles.0" >"$tmp/sha.out" || die "sha256sum failed"
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }'
}
run_vigil() {
	local t0 t1
	rm -rf "$tmp/hstore"
	t0=$(now)
	"$VIGIL" trust --dir "$tmp/hstore" --bpffs "$bpffs" add "${hfiles[@]}" >"$tmp/hadd.out" 2>&1 ||
		{ cat "$tmp/hadd.out" >&2; die "vigil trust add of the hash set failed"; }
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }'
}
printf '%-4s %-10s %12s %12s %8s\n' run order "sha256sum s" "vigil s" "v/s"
printf '%-4s %-10s %12s %12s %8s\n' ---- ---------- ----------- ------- ---
: >"$tmp/hash.txt"
for ((i = 1; i <= hash_runs; i++)); do
	if ((i % 2)); then
		order=sha,vigil
		ts=$(run_sha) || exit 1
		tv=$(run_vigil) || exit 1
	else
		order=vigil,sha
		tv=$(run_vigil) || exit 1
		ts=$(run_sha) || exit 1
	fi
	echo "$ts $tv" >>"$tmp/hash.txt"
	printf '%-4s %-10s %12s %12s %8s\n' "$i" "$order" "$ts" "$tv" \
		"$(awk -v s="$ts" -v v="$tv" 'BEGIN { printf "%.2f", s / v }')"
done
hash_summary=$(awk -v b="$hash_bytes" '
	function median(arr, cnt,    i, j, t) {
		for (i = 2; i <= cnt; i++)
			for (j = i; j > 1 && arr[j - 1] > arr[j]; j--) {
				t = arr[j]; arr[j] = arr[j - 1]; arr[j - 1] = t
			}
		return cnt % 2 ? arr[(cnt + 1) / 2] : (arr[cnt / 2] + arr[cnt / 2 + 1]) / 2
	}
	{ c++; s[c] = $1; v[c] = $2 }
	END {
		ms = median(s, c); mv = median(v, c)
		printf "%.1f %.1f %.2f\n", b / 1e6 / ms, b / 1e6 / mv, ms / mv
	}' "$tmp/hash.txt")
read -r h_sha h_vigil h_ratio <<<"$hash_summary"
# Same digests?  One file's record in the store must carry sha256sum's digest.
sample=$(head -n 1 "$tmp/hashfiles.txt")
sum=$(sha256sum "$sample" | cut -d' ' -f1)
grep -q "$sum" "$tmp/hstore/store" 2>/dev/null ||
	echo "warning: the store's record of $sample does not carry sha256sum's digest $sum (or the store is not at $tmp/hstore/store)"

# ---------------------------------------------------------------- 3. memory

echo
echo "== 3. memory per trusted entry"
tree=$tmp/tree
mkdir -p "$tree"
for ((d = 0; d < (nrec + 999) / 1000; d++)); do
	mkdir "$tree/d$d"
	for ((f = 0; f < 1000 && d * 1000 + f < nrec; f++)); do
		echo "$d.$f" >"$tree/d$d/f$f"
	done
done
storeN=$tmp/storeN
trust_add "$storeN" "${trusted[@]}"
t0=$(now)
find "$tree" -type f -print0 | xargs -0 -n 10000 "$VIGIL" trust --dir "$storeN" --bpffs "$bpffs" add >"$tmp/addN.out" 2>&1 ||
	{ tail -n 20 "$tmp/addN.out" >&2; die "vigil trust add of $nrec generated files failed"; }
t1=$(now)
write_config "$tmp/vigilN.yaml" "$storeN"
rec0=${#trusted[@]}
recN=$((rec0 + nrec))
printf '   %d records added with vigil trust add in %.1f s (%d calls of up to 10000 paths)\n' "$nrec" \
	"$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$(((nrec + 9999) / 10000))"

# mem_run CONFIG RECORDS: start, wait for the sync, read memory; sets
# m_rss m_anon m_kentries m_memlock m_maxent m_key m_val.
mem_run() {
	local deadline=$((SECONDS + 60)) show
	agent_start "$1"
	while :; do
		m_kentries=$(metric vigil_trust_kernel_entries)
		[[ -n $m_kentries ]] && ((${m_kentries%.*} >= $2)) && break
		((SECONDS < deadline)) || { cat "$tmp/agent.err" >&2; die "the agent did not sync $2 records within 60 s (kernel entries: ${m_kentries:-none})"; }
		sleep 0.2
	done
	expect_enforced
	sleep 1
	m_rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$agent_pid/status")
	m_anon=$(awk '/^RssAnon:/ { print $2 }' "/proc/$agent_pid/status")
	show=$(bpftool -j map show pinned "$bpffs/trust/trust_inodes") ||
		die "bpftool cannot show $bpffs/trust/trust_inodes"
	read -r m_memlock m_maxent m_key m_val m_flags < <(jq -r '"\(.bytes_memlock) \(.max_entries) \(.bytes_key) \(.bytes_value) \(.flags)"' <<<"$show")
	agent_stop
}

mem_run "$tmp/vigil0.yaml" "$rec0"
r0_rss=$m_rss r0_anon=$m_anon r0_k=$m_kentries r0_memlock=$m_memlock
mem_run "$tmp/vigilN.yaml" "$recN"
rN_rss=$m_rss rN_anon=$m_anon rN_k=$m_kentries
s0_bytes=$(stat -c %s "$store0/store")
sN_bytes=$(stat -c %s "$storeN/store")
printf '%-28s %14s %14s\n' "" "small store" "large store"
printf '%-28s %14s %14s\n' "store records" "$rec0" "$recN"
printf '%-28s %14s %14s\n' "kernel map entries" "$r0_k" "$rN_k"
printf '%-28s %14s %14s\n' "trust_inodes memlock B" "$r0_memlock" "$m_memlock"
printf '%-28s %14s %14s\n' "agent VmRSS KiB" "$r0_rss" "$rN_rss"
printf '%-28s %14s %14s\n' "agent RssAnon KiB" "$r0_anon" "$rN_anon"
printf '%-28s %14s %14s\n' "store file B" "$s0_bytes" "$sN_bytes"
mem_summary=$(awk -v ml="$m_memlock" -v me="$m_maxent" -v r0="$r0_rss" -v rn="$rN_rss" \
	-v a0="$r0_anon" -v an="$rN_anon" -v s0="$s0_bytes" -v sn="$sN_bytes" -v n="$nrec" -v recn="$recN" 'BEGIN {
	printf "%.1f %.1f %.1f %.1f %.1f\n", ml / me, (rn - r0) * 1024 / n, (an - a0) * 1024 / n, \
		(sn - s0) / n, sn / recn
}')
read -r k_per a_per anon_per st_per st_avg <<<"$mem_summary"

# ---------------------------------------------------------------- summary

echo
echo "== results"
printf 'exec throughput, median   A (no agent) %s, B (enforce, all trusted) %s, C (agent, no TrustPolicy) %s execs/s\n' \
	"$ex_a" "$ex_b" "$ex_c"
printf 'ratio B/A, median         %s (range %s .. %s) over %d rounds; target >= %s: %s\n' \
	"$ex_r" "$ex_rmin" "$ex_rmax" "$pairs" "$goal" "${ex_verdict/_/ }"
printf 'reference ratios, median  C/A %s (the agent without trust), B/C %s (the trust hooks alone)\n' \
	"$ex_ca" "$ex_bc"
printf 'burst CPU per exec        A %s, B %s, C %s us (medians); median of per-round B/A %s\n' \
	"$ex_aus" "$ex_bus" "$ex_cus" "$ex_cr"
printf 'agent CPU per exec        B %s us, C %s us (medians); trust checks per exec in B: %s\n' \
	"$ex_agb" "$ex_agc" "$ex_ck"
printf 'hashing, median           sha256sum %s MB/s, vigil trust add %s MB/s; vigil/sha256sum %sx\n' \
	"$h_sha" "$h_vigil" "$h_ratio"
printf 'kernel map                trust_inodes: key %s B + value %s B; memlock %s B for max_entries %s = %s B per entry (preallocated hash, flags %s: paid for every slot whatever the store holds)\n' \
	"$m_key" "$m_val" "$m_memlock" "$m_maxent" "$k_per" "$m_flags"
printf 'agent memory              VmRSS %s -> %s KiB for %s -> %s records: %s B per record (RssAnon %s B per record)\n' \
	"$r0_rss" "$rN_rss" "$rec0" "$recN" "$a_per" "$anon_per"
read -r load2 _ </proc/loadavg
printf 'load average              %s before, %s after\n' "$load1" "$load2"
printf 'store file                %s B for %s records: %s B per added record (%s B average; paths like %s)\n' \
	"$sN_bytes" "$recN" "$st_per" "$st_avg" "$tree/d0/f0"
exit 0
