#!/usr/bin/env bash
#
# Kernel OOM kills become oom_kill events, one per kill, exactly as many as
# the kernel counts:
#   - a memory cgroup made here (v1 memory hierarchy where there is one,
#     else cgroup2) with a 32 MiB limit (memory+swap too, so swap cannot
#     hide the OOM) runs memhog 200 three times; each is SIGKILLed by the
#     kernel's OOM killer;
#   - `vigil run` reports each as oom_kill: the victim's pid, comm, binary
#     and args, source kernel, scope memcg, the memcg's path and limit,
#     usage at the limit, the victim's anonymous RSS, the trigger (memhog
#     itself); memcg_exact only when the kprobe supplied it;
#   - vigil's count for the memcg equals the kernel's oom_kill counter
#     (memory.oom_control on v1, memory.events on v2), and
#     vigil_oom_kills_total{source="kernel",scope="memcg"} rises by the
#     number of kernel oom_kill events vigil wrote meanwhile;
#   - a memhog that fits its limit exits normally with no oom_kill event;
#   - `vigil trace oom_kill --json` sees the same kills, and `-v` says
#     which hook catches them.
# Nothing here can OOM the machine: every allocation is inside the 32 MiB
# memcg.
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null 2>&1 || skip "curl is not installed (make deps)"
memhog=$(need_helper memhog)
N=3

# The memory controller's hierarchy: what vigil resolves memcg ids against.
memory_hierarchy

name=vigil-it-oom-$(rand_hex 8)
cg=$memroot/$name
T_CG_CREATED+=("$cg")
mkdir "$cg" || fail "cannot create $cg"
if [[ $memv == 1 ]]; then
	echo 32M >"$cg/memory.limit_in_bytes" || fail "cannot set $cg/memory.limit_in_bytes"
	if [[ -e $cg/memory.memsw.limit_in_bytes ]]; then
		echo 32M >"$cg/memory.memsw.limit_in_bytes" || fail "cannot set the memsw limit"
	fi
	kernel_kills() { awk '$1 == "oom_kill" { print $2 }' "$cg/memory.oom_control"; }
else
	echo 32M >"$cg/memory.max" || fail "cannot set $cg/memory.max"
	[[ -e $cg/memory.swap.max ]] && echo 0 >"$cg/memory.swap.max"
	kernel_kills() { awk '$1 == "oom_kill" { print $2 }' "$cg/memory.events"; }
fi
limit=$((32 << 20))
log "memcg $cg (cgroup v$memv), limit $limit bytes; kernel oom_kill now $(kernel_kills)"

port=$(free_port)
mkdir -p "$T_TMP/policies"
out=$T_TMP/run.json
vigil_start "$out" "$T_TMP/run.err" run --metrics-addr "127.0.0.1:$port" --output "$out" \
	--policy-dir "$T_TMP/policies"
runpid=$VIGIL_PID
tout=$T_TMP/trace.json
vigil_start "$tout" "$T_TMP/trace.err" trace oom_kill --json -v
tracepid=$VIGIL_PID
hooks=$(grep -m1 -o 'oom capture: .*' "$T_TMP/trace.err") ||
	{ dump_file "$T_TMP/trace.err"; fail "vigil trace -v does not say which hook catches OOM kills"; }
log "$hooks"
[[ $hooks == *mark_victim* ]] || fail "OOM capture is not on: $hooks"

s0=$T_TMP/s0.txt
scrape "$s0"
grep -q '^vigil_oom_kills_total{source="kernel",scope="memcg"} 0$' "$s0" ||
	grep -q '^vigil_oom_kills_total{source="kernel",scope="memcg"} ' "$s0" ||
	fail "vigil_oom_kills_total{source=\"kernel\",scope=\"memcg\"} is not there from the start"
grep -q '^vigil_oom_kills_total{source="kernel",scope="global"} ' "$s0" ||
	fail "vigil_oom_kills_total{source=\"kernel\",scope=\"global\"} is not there from the start"
before_kernel=$(kernel_kills)

# hog MIB: run memhog MIB inside the memcg, in the foreground; prints its pid
# (from its own first line) and returns its exit status.
hog() {
	local rc=0 log=$T_TMP/hog.$RANDOM.out
	/bin/sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$cg" "$memhog" "$1" \
		>"$log" 2>&1 </dev/null &
	{ wait $!; } 2>/dev/null || rc=$?	# (no "Killed" job notice)
	HOG_PID=$(sed -nE '1s/^memhog: pid ([0-9]+) .*/\1/p' "$log")
	[[ -n $HOG_PID ]] || { dump_file "$log"; fail "memhog printed no pid"; }
	HOG_LAST=$(tail -n 1 "$log")
	return "$rc"
}

pids=()
for i in $(seq 1 $N); do
	rc=0
	hog 200 || rc=$?
	[[ $rc == 137 ]] || fail "memhog 200 in a 32 MiB memcg exited $rc (want 137, SIGKILL); last line: $HOG_LAST"
	log "memhog $i (pid $HOG_PID) was OOM-killed after: $HOG_LAST"
	pids+=("$HOG_PID")
done
rc=0
hog 4 || rc=$?
[[ $rc == 0 ]] || fail "memhog 4 in a 32 MiB memcg exited $rc"
fit_pid=$HOG_PID
after_kernel=$(kernel_kills)
kernel_n=$((after_kernel - before_kernel))
log "kernel oom_kill for the memcg: $before_kernel -> $after_kernel"
[[ $kernel_n == "$N" ]] || fail "the kernel counted $kernel_n OOM kills in $cg, expected $N (one per memhog)"

sel=".type == \"oom_kill\" and .oom.memcg.path == \"/$name\""
last=".type == \"oom_kill\" and .process.pid == ${pids[$((N - 1))]}"
wait_jq "$out" "$last" 10 || log "the last OOM kill is not in the run output yet"
wait_jq "$tout" "$last" 10 || log "the last OOM kill is not in the trace output yet"
s1=$T_TMP/s1.txt
scrape "$s1"

vigil_stop || { dump_file "$T_TMP/trace.err"; fail "vigil trace exited non-zero"; }
VIGIL_PID=$runpid
vigil_stop || { dump_file "$T_TMP/run.err"; fail "vigil run exited non-zero"; }
assert_json_lines "$out"
assert_json_lines "$tout"

# ---------------------------------------------------------------- counts
n=$(count_jq "$out" "$sel")
[[ $n == "$kernel_n" ]] || {
	jq_lines "$out" '.type == "oom_kill"' | sed 's/^/    /' >&2
	fail "vigil run wrote $n oom_kill events for /$name; the kernel counted $kernel_n"
}
n=$(count_jq "$tout" "$sel")
[[ $n == "$kernel_n" ]] || fail "vigil trace oom_kill wrote $n oom_kill events for /$name; the kernel counted $kernel_n"
assert_jq_none "$tout" '.type != "oom_kill"' "vigil trace oom_kill shows only oom_kill events"
assert_jq_none "$out" ".type == \"oom_kill\" and .process.pid == $fit_pid" \
	"a memhog that fit its limit has no oom_kill event"
log "vigil: $n oom_kill events for /$name, the kernel: $kernel_n"

# ---------------------------------------------------------------- each event
mh=$(readlink -f "$memhog")
for p in "${pids[@]}"; do
	ev=$(jq_lines "$out" ".type == \"oom_kill\" and .process.pid == $p")
	[[ $(wc -l <<<"$ev") == 1 && -n $ev ]] || fail "not exactly one oom_kill event for memhog pid $p: $ev"
	assert_event "$ev" 'common' "oom_kill has the common fields"
	assert_event "$ev" ".process.comm == \"memhog\" and .process.binary == \"$mh\"" \
		"the victim is memhog ($mh)"
	assert_event "$ev" '.process.args == ["'"$memhog"'", "200"]' "the victim's args"
	assert_event "$ev" '.oom.source == "kernel" and .oom.scope == "memcg"' "source kernel, scope memcg"
	assert_event "$ev" ".oom.memcg.path == \"/$name\" and .oom.memcg.limit == $limit" \
		"the OOM-ing memcg is ours, with its 32 MiB limit"
	assert_event "$ev" ".oom.memcg.id == $(stat -c %i "$cg")" "memcg.id is the cgroup's inode number"
	assert_event "$ev" ".oom.memcg.usage >= $limit - 4194304 and .oom.memcg.usage <= $limit + 1048576" \
		"memcg usage at the kill is at the limit"
	assert_event "$ev" '.oom.victim.rss_anon >= 16777216 and .oom.victim.rss_anon <= 40000000' \
		"the victim's anonymous RSS is most of the 32 MiB"
	assert_event "$ev" '.oom.victim.total_vm >= .oom.victim.rss_anon and .oom.victim.oom_score_adj == 0' \
		"total_vm and oom_score_adj"
	assert_event "$ev" ".oom.victim.memcg_id == .oom.memcg.id" "the victim lives in the OOM-ing memcg"
	assert_event "$ev" ".oom.trigger.pid == $p and .oom.trigger.comm == \"memhog\"" \
		"the trigger is memhog itself (its page fault failed to charge)"
	assert_event "$ev" '.oom.global == false and .oom.victim_pid_only == false and .oom.no_mm == false' \
		"flags: not global, victim known, victim had memory"
	assert_event "$ev" '.oom.memcg_exact == .oom.from_kprobe and ((.oom | has("points")) == .oom.from_kprobe)' \
		"memcg_exact and points exactly when the kprobe supplied them"
	assert_event "$ev" '(.oom | has("policy")) | not' "no OOM-policy fields on a kernel kill"
done
log "each event: $(jq_lines "$out" "$last" | jq -c .oom)"

# ---------------------------------------------------------------- metrics
m0=$(awk '$1 == "vigil_oom_kills_total{source=\"kernel\",scope=\"memcg\"}" { print $2 }' "$s0")
m1=$(awk '$1 == "vigil_oom_kills_total{source=\"kernel\",scope=\"memcg\"}" { print $2 }' "$s1")
all=$(count_jq "$out" '.type == "oom_kill" and .oom.source == "kernel" and .oom.scope == "memcg"')
[[ $((m1 - m0)) == "$all" ]] ||
	fail "vigil_oom_kills_total{source=\"kernel\",scope=\"memcg\"} went $m0 -> $m1, but vigil wrote $all such oom_kill events"
((all >= N)) || fail "only $all kernel memcg oom_kill events in the run output"
log "vigil_oom_kills_total{source=\"kernel\",scope=\"memcg\"}: $m0 -> $m1"
log "ok"
