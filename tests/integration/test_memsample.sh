#!/usr/bin/env bash
#
# The memory sampler (bpf/mem.bpf.c through agent/memsample.c, driven by
# build/test-tools/memsample_dump) against what /proc and cgroupfs say, for
# processes this test owns:
#   - memory cgroups made here: P (limit 64 MiB) with children a (48 MiB)
#     and b (96 MiB, looser than its parent's), in the memory controller's
#     hierarchy (v1 where it is there, else cgroup2 with the controller
#     delegated);
#   - memhog 8 --hold in a: its sample's rss_anon, rss_file, rss_shmem and
#     swap equal RssAnon, RssFile, RssShmem and VmSwap in /proc/PID/status,
#     comm and start time match /proc, cgroup_id is a's inode in
#     the attribution hierarchy, memcg_id a's inode in the memory hierarchy,
#     memcg_limit a's own 48 MiB (tighter than P's), memcg_usage a's usage;
#   - shmhog (shared anonymous memory, 4116 KiB, and 3 idle threads) in b
#     as uid 65534: one record (not one per thread), rss_shmem equals
#     RssShmem, memcg_limit is P's 64 MiB (the tightest on the path, not
#     b's own), in the same pass as a's figures (the sampler caches memcg
#     figures per pass: each memcg must keep its own);
#   (ppid and uid are not in a sample: the leak engine takes them from the
#   enricher's process table);
#   - a memhog that was killed and reaped has no record;
#   - no kernel thread (kthreadd, or any child of it) and no duplicate pid
#     appears; this test's own shell, under no limit, reports none;
#   - two passes on one open sampler both see the processes.
# The counters are compared exactly: the helpers are idle while sampled,
# and this kernel's /proc sums the per-CPU counter deltas as the sampler
# does (MEMSAMPLE_TOLERANCE_KIB widens it for a kernel whose /proc does not).
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

dump=$T_ROOT/build/test-tools/memsample_dump
[[ -x $dump ]] || fail "$dump is missing: \`make integration\` builds it (or make $dump)"
memhog=$(need_helper memhog)
shmhog=$(need_helper shmhog)
command -v setpriv >/dev/null 2>&1 || skip "setpriv (util-linux) is not installed"
tol=$(( ${MEMSAMPLE_TOLERANCE_KIB:-0} * 1024 ))
usage_tol=$((1 << 20))	# memcg charge stocks drain between two reads

# The memory controller's hierarchy, and the one vigil attributes cgroup ids from.
memory_hierarchy
attribution_hierarchy
[[ -n $cgroot ]] || skip "no cgroup hierarchy to attribute from"

name=vigil-it-mem-$(rand_hex 8)
P=$memroot/$name
for d in "$P" "$P/a" "$P/b"; do
	T_CG_CREATED+=("$d")
	mkdir "$d" || fail "cannot create cgroup $d"
done
if [[ $memv == 2 ]]; then
	echo +memory >"$P/cgroup.subtree_control" || fail "cannot delegate memory below $P"
	limfile=memory.max usefile=memory.current
else
	limfile=memory.limit_in_bytes usefile=memory.usage_in_bytes
fi
echo $((64 << 20)) >"$P/$limfile" || fail "cannot set $P/$limfile"
echo $((48 << 20)) >"$P/a/$limfile" || fail "cannot set $P/a/$limfile"
echo $((96 << 20)) >"$P/b/$limfile" || fail "cannot set $P/b/$limfile"
# The expected limits come from the kernel's own read-back, not from the code under test.
lim_p=$(cat "$P/$limfile") lim_a=$(cat "$P/a/$limfile") lim_b=$(cat "$P/b/$limfile")
exp_a=$((lim_a < lim_p ? lim_a : lim_p))
exp_b=$((lim_b < lim_p ? lim_b : lim_p))
log "memcgs under $P (v$memv): limits P $lim_p, a $lim_a, b $lim_b; attribution hierarchy $cgroot"

# Where the attribution hierarchy is not the memory one, the processes join
# a twin there, so cgroup_id has a cgroup of ours to be checked against.
attr_a=$P/a attr_b=$P/b
if [[ $cgroot != "$memroot" ]]; then
	mkcg "$name/a"
	mkcg "$name/b"
	attr_a=$cgroot/$name/a attr_b=$cgroot/$name/b
fi

# in_cgroups MEMCG ATTRCG CMD...: run CMD (spawned) inside both cgroups.
in_cgroups() {
	local mcg=$1 acg=$2
	shift 2
	# shellcheck disable=SC2016 # expanded by the inner shell
	spawn sh -c 'echo $$ >"$1/cgroup.procs" && { [ "$2" = "$1" ] || echo $$ >"$2/cgroup.procs"; } &&
		shift 2 && exec "$@"' sh "$mcg" "$acg" "$@"
}

# wait_line FILE ERE PID: until FILE has a line matching ERE (20 s).
wait_line() {
	local deadline=$((SECONDS + 20))
	until grep -qE "$2" "$1" 2>/dev/null; do
		kill -0 "$3" 2>/dev/null || { dump_file "$1"; fail "pid $3 exited before printing /$2/"; }
		((SECONDS < deadline)) || { dump_file "$1"; fail "no /$2/ from pid $3 within 20 s"; }
		sleep 0.05
	done
}

in_cgroups "$P/a" "$attr_a" "$memhog" 8 --hold >"$T_TMP/hog.out"
hog=$SPAWN_PID
in_cgroups "$P/b" "$attr_b" setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$shmhog" 4116 3 >"$T_TMP/shm.out"
shm=$SPAWN_PID
in_cgroups "$P/a" "$attr_a" "$memhog" 1 --hold >"$T_TMP/gone.out"
gone=$SPAWN_PID
wait_line "$T_TMP/hog.out" '^memhog: holding' "$hog"
wait_line "$T_TMP/shm.out" '^shmhog: pid [0-9]+ ready' "$shm"
wait_line "$T_TMP/gone.out" '^memhog: holding' "$gone"
kill -s TERM "$gone"
reap "$gone" || true
[[ -d /proc/$gone ]] && fail "pid $gone still exists after it was reaped"
threads=$(find "/proc/$shm/task" -mindepth 1 -maxdepth 1 | wc -l)
((threads == 4)) || fail "shmhog $shm has $threads tasks, expected 4 (leader + 3 threads)"
log "memhog $hog in a, shmhog $shm (4 tasks) in b, reaped $gone"

out=$T_TMP/samples.txt
"$dump" --passes 2 >"$out" 2>"$T_TMP/dump.err" || { dump_file "$T_TMP/dump.err"; fail "memsample_dump failed"; }
# Right after the pass, while nothing has moved.
declare -A status
for p in "$hog" "$shm"; do
	for k in RssAnon RssFile RssShmem VmSwap; do
		status[$p.$k]=$(awk -v k="$k:" '$1 == k { print $2 * 1024 }' "/proc/$p/status")
		[[ -n ${status[$p.$k]} ]] || fail "no $k in /proc/$p/status"
	done
done
use_a=$(cat "$P/a/$usefile") use_b=$(cat "$P/b/$usefile")
cat "$T_TMP/dump.err" >&2
for i in 1 2; do
	n=$(sed -n "s/^memsample_dump: pass $i: \([0-9]*\) records$/\1/p" "$T_TMP/dump.err")
	[[ -n $n ]] || fail "no record count for pass $i on memsample_dump's stderr"
	((n > 0)) || fail "pass $i read no records"
done

# rec PID: the one record of PID (fails on none or several).
rec() {
	local lines n
	lines=$(grep -E "^pid=$1 " "$out")
	n=$(grep -c . <<<"$lines")
	[[ -n $lines ]] || { dump_file "$out" 10; fail "no record for pid $1"; }
	((n == 1)) || { printf '%s\n' "$lines" >&2; fail "$n records for pid $1, expected one"; }
	printf '%s\n' "$lines"
}
# field RECORD NAME
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -n 1; }

# near NAME GOT WANT TOL
near() {
	local d=$(($2 - $3))
	((d < 0)) && d=$((-d))
	((d <= $4)) || fail "$1: sampled $2, expected $3 (off by $d, tolerance $4)"
}

hz=$(getconf CLK_TCK)
check_proc() {
	local p=$1 r=$2 st ticks got
	st=$(cat "/proc/$p/stat")
	st=${st##*) }	# fields from the 3rd (state) on
	assert_eq "$(field "$r" comm)" "$(cat "/proc/$p/comm")" "pid $p: comm"
	ticks=$(awk '{ print $20 }' <<<"$st")	# starttime, field 22
	got=$(awk -v ns="$(field "$r" start_ns)" -v hz="$hz" 'BEGIN { printf "%d", ns * hz / 1e9 }')
	near "pid $p: start time in clock ticks" "$got" "$ticks" 1
	near "pid $p: rss_anon" "$(field "$r" rss_anon)" "${status[$p.RssAnon]}" "$tol"
	near "pid $p: rss_file" "$(field "$r" rss_file)" "${status[$p.RssFile]}" "$tol"
	near "pid $p: rss_shmem" "$(field "$r" rss_shmem)" "${status[$p.RssShmem]}" "$tol"
	near "pid $p: swap" "$(field "$r" swap)" "${status[$p.VmSwap]}" "$tol"
}

r=$(rec "$hog") || exit 1
log "memhog: $r"
check_proc "$hog" "$r"
(($(field "$r" rss_anon) >= 8 << 20)) || fail "memhog holds 8 MiB, sampled rss_anon $(field "$r" rss_anon)"
assert_eq "$(field "$r" cgroup_id)" "$(stat -c %i "$attr_a")" "memhog: cgroup_id (inode of $attr_a)"
assert_eq "$(field "$r" memcg_id)" "$(stat -c %i "$P/a")" "memhog: memcg_id (inode of $P/a)"
assert_eq "$(field "$r" memcg_limit)" "$exp_a" "memhog: memcg_limit (a's own, tighter than P's)"
near "memhog: memcg_usage" "$(field "$r" memcg_usage)" "$use_a" "$usage_tol"

r=$(rec "$shm") || exit 1
log "shmhog: $r"
check_proc "$shm" "$r"
(($(field "$r" rss_shmem) >= 4116 << 10)) || fail "shmhog holds 4116 KiB of shmem, sampled $(field "$r" rss_shmem)"
assert_eq "$(field "$r" cgroup_id)" "$(stat -c %i "$attr_b")" "shmhog: cgroup_id (inode of $attr_b)"
assert_eq "$(field "$r" memcg_id)" "$(stat -c %i "$P/b")" "shmhog: memcg_id (inode of $P/b)"
assert_eq "$(field "$r" memcg_limit)" "$exp_b" "shmhog: memcg_limit (P's, the tightest on the path)"
near "shmhog: memcg_usage" "$(field "$r" memcg_usage)" "$use_b" "$usage_tol"

grep -qE "^pid=$gone " "$out" && fail "pid $gone was reaped but still has a record"

if [[ $(cat /proc/2/comm 2>/dev/null) == kthreadd ]]; then
	grep -qE '^pid=2 ' "$out" && fail "kthreadd (pid 2) has a record"
	# Children of kthreadd from /proc (pure bash: the node may have many processes).
	kthreads=()
	for f in /proc/[0-9]*/stat; do
		read -r st <"$f" 2>/dev/null || continue
		st=${st##*) }	# "state ppid ..."
		st=${st#* }
		[[ ${st%% *} == 2 ]] || continue
		k=${f#/proc/}
		kthreads+=("${k%/stat}")
	done
	for k in "${kthreads[@]}"; do
		grep -qE "^pid=$k " "$out" && fail "kernel thread $k (child of kthreadd) has a record"
	done
	((${#kthreads[@]})) || fail "found no children of kthreadd in /proc to check"
fi
dups=$(sed -E 's/^pid=([0-9]+) .*/\1/' "$out" | sort | uniq -d | head -n 5)
[[ -z $dups ]] || fail "pids with more than one record: $dups"

# This shell: its memcg path has no limit anywhere, so the sampler says none.
self_cg=$(awk -F: -v v="$memv" '(v == 1 && $2 ~ /(^|,)memory(,|$)/) || (v == 2 && $1 == "0") { print $3 }' /proc/$$/cgroup)
unlimited=1 d=$memroot${self_cg%/}
while [[ $d == "$memroot"* && -n $d ]]; do
	l=$(cat "$d/$limfile" 2>/dev/null) || break
	[[ $l == max || $l -ge 9223372036854771712 ]] || unlimited=0
	[[ $d == "$memroot" ]] && break
	d=${d%/*}
done
r=$(rec "$$") || exit 1
if ((unlimited)); then
	assert_eq "$(field "$r" memcg_limit)" none "this shell ($$, memcg ${self_cg:-/}, no limit on the path): memcg_limit"
else
	log "this shell's memcg path ${self_cg:-/} has a limit; not checking 'none' on it"
fi
log "PASS: samples of the test's processes match /proc and cgroupfs"
