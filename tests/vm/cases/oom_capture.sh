# Kernel OOM kills on the stock 6.1 kernel, pure cgroup v2, kprobes on:
# `vigil features` picks kprobe/oom_kill_process + tp_btf/mark_victim, and
# two memhogs OOM-killed in a 32 MiB memcg (no swap) give exactly as many
# oom_kill events as memory.events counts, each with the memcg exact from
# the kernel's oom_control (memcg_exact, from_kprobe, points > 0), the
# memcg's path and limit, and the victim's identity and memory.  A memhog
# that fits gives none.
. /lib/vmtest.sh

vigil features --json > "$T/f.json" || fail "vigil features failed"
mode=$(jq -r '.modules[] | select(.module == "oom-capture") | .mode' "$T/f.json")
[ "$mode" = "kprobe+tp_btf" ] ||
	fail "oom-capture mode is '$mode': $(jq -c '.modules[] | select(.module == "oom-capture"), .features.kprobe_oom_kill_process, .features.oom_kill_counter' "$T/f.json")"
log "oom-capture: $(jq -r '.modules[] | select(.module == "oom-capture") | .why' "$T/f.json")"

name=vm-oom-$(rand_hex 8)
cg=/sys/fs/cgroup/$name
mkdir "$cg" || fail "cannot create $cg"
trap 'cleanup; rmdir "$cg" 2>/dev/null' EXIT
echo 32M > "$cg/memory.max" || fail "cannot set memory.max"
[ -e "$cg/memory.swap.max" ] && echo 0 > "$cg/memory.swap.max"
kills() { awk '$1 == "oom_kill" { print $2 }' "$cg/memory.events"; }
before=$(kills)

vigil_start "$T/t.json" "$T/t.err" trace oom_kill --json -v
vp=$VIGIL_PID
grep -o 'oom capture: .*' "$T/t.err" | head -1 | while read -r l; do log "$l"; done
grep -q 'oom capture: kprobe/oom_kill_process + tp_btf/mark_victim' "$T/t.err" ||
	fail "the agent did not attach the kprobe: $(grep -o 'oom capture: .*' "$T/t.err")"

# hog MIB: memhog in the memcg; sets HOG_PID, returns its status.
hog() {
	sh -c 'echo $$ > "$0/cgroup.procs" && exec memhog "$1"' "$cg" "$1" > "$T/hog.out" 2>&1
	rc=$?
	HOG_PID=$(sed -n '1s/^memhog: pid \([0-9]*\) .*/\1/p' "$T/hog.out")
	return $rc
}
hog 200
rc=$?
[ $rc -eq 137 ] || fail "memhog 200 exited $rc, want 137 (OOM kill): $(tail -1 "$T/hog.out")"
p1=$HOG_PID
hog 200
rc=$?
[ $rc -eq 137 ] || fail "second memhog 200 exited $rc, want 137: $(tail -1 "$T/hog.out")"
p2=$HOG_PID
hog 4 || fail "memhog 4 did not fit its 32 MiB: $(tail -1 "$T/hog.out")"
p3=$HOG_PID
after=$(kills)
kernel=$((after - before))
[ "$kernel" -eq 2 ] || fail "the kernel counted $kernel OOM kills in $cg, expected 2"

wait_for "$T/t.json" "\"pid\":$p2," 30
vigil_stop $vp

n=$(jq -c "select(.type == \"oom_kill\" and .oom.memcg.path == \"/$name\")" "$T/t.json" | wc -l)
[ "$n" -eq "$kernel" ] || { cat "$T/t.json"; fail "vigil reported $n OOM kills in /$name, memory.events says $kernel"; }
[ -z "$(jq -c "select(.process.pid == $p3)" "$T/t.json")" ] || fail "the memhog that fit has an oom_kill event"
for p in $p1 $p2; do
	expect_jq "$T/t.json" ".type == \"oom_kill\" and .process.pid == $p" \
		".process.comm == \"memhog\" and .process.binary == \"/bin/memhog\" and .oom.source == \"kernel\" and .oom.scope == \"memcg\"" \
		"victim $p is memhog, killed by the kernel in a memcg"
	expect_jq "$T/t.json" ".type == \"oom_kill\" and .process.pid == $p" \
		".oom.memcg_exact == true and .oom.from_kprobe == true and .oom.points > 0 and .oom.totalpages == 8192" \
		"victim $p: the kprobe gives the memcg exactly, the badness and the OOM's size (32 MiB = 8192 pages)"
	expect_jq "$T/t.json" ".type == \"oom_kill\" and .process.pid == $p" \
		".oom.memcg.path == \"/$name\" and .oom.memcg.limit == 33554432 and .oom.memcg.usage >= 29360128 and .oom.memcg.id == .oom.victim.memcg_id" \
		"victim $p: the memcg's path, limit and usage at the limit"
	expect_jq "$T/t.json" ".type == \"oom_kill\" and .process.pid == $p" \
		".oom.victim.rss_anon >= 16777216 and .oom.victim.swap == 0 and .oom.trigger.pid == $p and .oom.global == false" \
		"victim $p: its anonymous RSS (6.1's mm_rss_stat), no swap, and it triggered the OOM itself"
done
log "event: $(jq -c "select(.process.pid == $p2) | .oom" "$T/t.json")"
