# Leak scoring and leak tracing on the stock 6.1 kernel (cgroup v2): the
# task-iterator sampler reads 6.1's mm counter layout (an atomic array,
# not percpu counters) and the scorer confirms a real growing process in a
# memory cgroup with a limit (limit_scope cgroup, limit = memory.max); the
# uprobe tracer attaches to a static binary's own allocator and records
# its allocations; a stripped static busybox has no allocator symbol and is
# refused with exit 1.
. /lib/vmtest.sh

vigil features --json > "$T/f.json" || fail "vigil features failed"
jq -e '.modules[] | select(.module == "leak-trace") | .mode == "uprobes"' "$T/f.json" >/dev/null ||
	fail "leak-trace mode: $(jq -c '.modules[] | select(.module == "leak-trace")' "$T/f.json")"

name=vm-leak-$(rand_hex 8)
cg=/sys/fs/cgroup/$name
mkdir "$cg" || fail "cannot create $cg"
trap 'cleanup; rmdir "$cg" 2>/dev/null' EXIT
echo 256M > "$cg/memory.max" || fail "cannot set memory.max"

mkdir -p /tmp/leakpol
cat >/tmp/leakpol/leak.yaml <<EOF
apiVersion: vigil.dev/v1alpha1
kind: LeakPolicy
metadata:
  name: vm-leak
spec:
  scope:
    cgroups: ["/$name"]
  threshold: 0.8
  consecutive: 5
  minGrowthPercent: 20
  minGrowthMiB: 4
  warmup: 1s
  window: 3s
EOF
cat >/tmp/leakvm.yaml <<EOF
metrics_addr: "off"
observe:
  fork: false
  signal: false
leak:
  interval_ms: 250
EOF
vigil policy check /tmp/leakpol || fail "the case's policy does not check"
vigil_start "$T/o.json" "$T/o.err" run --config /tmp/leakvm.yaml --policy-dir /tmp/leakpol
vp=$VIGIL_PID
grep -q "leak scoring is off" "$T/o.err" && { cat "$T/o.err"; fail "the agent runs without leak scoring"; }

# 48 MiB at 4 MiB/s in the memcg, then held.
sh -c 'echo $$ > "$0/cgroup.procs" && exec memhog 48 4 --hold' "$cg" > "$T/hog.out" 2>&1 &
wait_for "$T/hog.out" "memhog: pid" 30 || fail "memhog did not start"
hog=$(sed -n '1s/^memhog: pid \([0-9]*\) .*/\1/p' "$T/hog.out")
log "memhog is pid $hog"
wait_for "$T/o.json" "\"type\":\"leak_suspected\"" 60 || { cat "$T/o.err"; fail "no leak_suspected"; }
expect_jq "$T/o.json" ".type == \"leak_suspected\" and .process.pid == $hog" \
	".leak.policy == \"vm-leak\" and .leak.slope_bytes_per_second > 1048576 and .leak.limit_scope == \"cgroup\" and .leak.limit_bytes == 268435456 and .leak.memory.rss_anon >= .leak.current_bytes - .leak.memory.rss_shmem - .leak.memory.swap and .leak.current_bytes > .leak.baseline_bytes + 4194304" \
	"memhog's leak is confirmed on 6.1"

# ---- the tracer, on the same (static) memhog while it holds its memory
vigil leaks --trace "$hog" --duration 2 --min-age 0 --json > "$T/t.json" 2> "$T/t.err"
rc=$?
[ $rc -eq 0 ] || { cat "$T/t.err"; fail "vigil leaks --trace $hog exited $rc"; }
jq -e '.counters | type == "object"' "$T/t.json" >/dev/null || fail "no counters in the trace report"
log "trace of a holding memhog: $(jq -c '.counters' "$T/t.json")"
kill "$hog"
wait_for "$T/o.json" "\"reason\":\"exited\"" 30 || fail "no leak_cleared after memhog was killed"

# ---- a memhog that allocates while traced, then dies mid-trace
memhog 32 4 --hold > "$T/h2.out" 2>&1 &
h2=$!
wait_for "$T/h2.out" "memhog: pid" 30 || fail "second memhog did not start"
vigil leaks --trace "$h2" --duration 20 --min-age 0 --json > "$T/t2.json" 2> "$T/t2.err" &
tp=$!
sleep 4
kill "$h2"
wait "$tp"
rc=$?
head -5 "$T/t2.err"
[ $rc -eq 0 ] || fail "trace of a memhog that exits mid-trace exited $rc"
jq -e '.counters.recorded > 0 and (.stacks | length) > 0' "$T/t2.json" >/dev/null ||
	fail "nothing recorded from an allocating memhog: $(jq -c '.counters' "$T/t2.json")"
jq -e ".exited == true" "$T/t2.json" >/dev/null || fail "the report does not say the process exited"
log "trace of an allocating memhog that exited: $(jq -c '.counters' "$T/t2.json")"

sleep 1000 &
sl=$!
rc=0
vigil leaks --trace "$sl" --duration 1 > "$T/s.out" 2> "$T/s.err" || rc=$?
kill $sl
[ $rc -eq 1 ] || { cat "$T/s.err"; fail "tracing static busybox exited $rc, want 1"; }
grep -q "cannot be traced" "$T/s.err" || { cat "$T/s.err"; fail "busybox: unclear message"; }
log "busybox sleep refused: $(head -1 "$T/s.err")"
vigil_stop $vp
log "ok"
