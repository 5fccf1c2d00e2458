#!/usr/bin/env bash
#
# `vigil leaks --trace PID`: real uprobes on real processes this test starts.
#   1. steady leak (tests/workloads/steady_leak, 1 MiB/s from
#      leak_steady_grow), traced 4 s with --min-age 1 --json: the top stack
#      by bytes has leak_steady_grow as a frame and holds more than 1 MiB;
#      the counters are all there and nothing was lost;
#   2. a stripped copy of it: the trace succeeds, and the top stack's frames
#      in the binary are printed as steady_stripped+0xOFFSET, the first one
#      at leak_steady_grow's address in the unstripped file plus the offset
#      test 1 saw;
#   3. a pid that does not exist: "no process with pid N", exit 2;
#   4. a static binary without libc (-nostdlib, a raw _start that sleeps):
#      refused with the documented message, exit 1;
#   5. a process that exits mid-trace (steady_leak --duration 2, traced for
#      8 s): the report says it exited and still names leak_steady_grow;
#      exit 0;
#   6. --sample 8: leak_steady_grow still in the top stack, and fewer
#      allocations recorded than calls seen;
#   7. SIGTERM mid-trace ends it early, with the report; exit 0.
# No run is judged on how long it took.
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

[[ -e /sys/bus/event_source/devices/uprobe/type ]] ||
	skip "this kernel has no uprobe PMU (CONFIG_UPROBE_EVENTS unset)"
t_require_cmd strip nm
steady=$(need_workload steady_leak)

# run_trace OUT ERR ARGS...: `vigil leaks ARGS` in the foreground; status in rc.
run_trace() {
	local out=$1 err=$2
	shift 2
	rc=0
	env --default-signal "$VIGIL" leaks "$@" >"$out" 2>"$err" </dev/null || rc=$?
}

# start_workload OUT BIN ARGS...: start BIN and wait (10 s) for its
# "NAME: pid N" line, so its libc is mapped before tracing begins.
start_workload() {
	local out=$1 deadline=$((SECONDS + 10))
	shift
	spawn "$@" >"$out"
	until grep -q ': pid ' "$out" 2>/dev/null; do
		kill -0 "$SPAWN_PID" 2>/dev/null || { dump_file "$out"; fail "$* exited at start"; }
		((SECONDS < deadline)) || fail "$* printed no pid line in 10 s"
		sleep 0.05
	done
}

# No crash, whatever the exit status: sanitizer or signal deaths show here.
assert_no_crash() {
	local err=$1
	((rc < 128)) || { dump_file "$err"; fail "vigil died of signal $((rc - 128))"; }
	! grep -qE 'AddressSanitizer|runtime error|Segmentation|Aborted' "$err" ||
		{ dump_file "$err"; fail "vigil crashed"; }
}

# check_json FILE PRED MESSAGE: the file's one JSON object satisfies PRED.
check_json() {
	local file=$1 pred=$2 msg=$3
	if jq -e "$pred" "$file" >/dev/null 2>&1; then
		return 0
	fi
	log "assertion failed: $msg"
	log "  predicate: $pred"
	jq -c '{exited, sample_every, counters, reported_bytes,
		top: [.stacks[]? | {bytes, allocations, f: [.frames[] | .function // "\(.module)+\(.offset)"]}][0:3]}' \
		"$file" 2>&1 | sed 's/^/    /' >&2 || dump_file "$file"
	fail "$msg"
}

top_has_leak='.stacks[0].frames | any(.function == "leak_steady_grow")'

# ---- 1. steady leak, JSON
log "1. steady leak, traced 4 s"
start_workload "$T_TMP/steady.out" "$steady"
pid=$SPAWN_PID
run_trace "$T_TMP/t1.json" "$T_TMP/t1.err" --trace "$pid" --duration 4 --min-age 1 --json
assert_no_crash "$T_TMP/t1.err"
[[ $rc == 0 ]] || { dump_file "$T_TMP/t1.err"; fail "trace of the steady leak exited $rc"; }
check_json "$T_TMP/t1.json" ".pid == $pid and .comm == \"steady_leak\" and .exited == false" \
	"the report names the traced process"
check_json "$T_TMP/t1.json" "$top_has_leak" "leak_steady_grow is a frame of the top stack"
check_json "$T_TMP/t1.json" '.stacks[0].bytes > 1048576' \
	"the top stack holds more than 1 MiB after 3 s of a 1 MiB/s leak"
check_json "$T_TMP/t1.json" '.stacks[0].frames[0] | (.address > 0) and (.module == "steady_leak")
	and (.file | type == "string") and (.line > 0)' \
	"the top stack's first frame is in steady_leak with file:line"
check_json "$T_TMP/t1.json" '[.counters | .calls, .recorded, .freed, .map_full, .stack_lost,
	.stack_collisions, .pending_full, .missed_returns, .nested, .returns_unseen, .failed,
	.mmap_in_allocator, .mmap_file] | all(type == "number")' "every counter is reported"
check_json "$T_TMP/t1.json" '.counters | .recorded > 0 and .map_full == 0 and .stack_lost == 0
	and .pending_full == 0' "nothing was lost tracing a slow leak"
kill "$pid"
reap "$pid"

# ---- 2. stripped binary, text
log "2. stripped copy of steady_leak"
cp "$steady" "$T_TMP/steady_stripped" || fail "cannot copy $steady"
strip "$T_TMP/steady_stripped" || fail "cannot strip $T_TMP/steady_stripped"
! nm "$T_TMP/steady_stripped" 2>/dev/null | grep -q leak_steady_grow ||
	fail "strip left leak_steady_grow in the symbol table"
start_workload "$T_TMP/stripped.out" "$T_TMP/steady_stripped"
pid=$SPAWN_PID
run_trace "$T_TMP/t2.txt" "$T_TMP/t2.err" --trace "$pid" --duration 3 --min-age 1 --top 1
assert_no_crash "$T_TMP/t2.err"
[[ $rc == 0 ]] || { dump_file "$T_TMP/t2.err"; fail "trace of the stripped binary exited $rc"; }
assert_grep "$T_TMP/t2.txt" '^#1  ' "the stripped binary's report has a top stack"
# The top stack's frames in the binary itself.
mapfile -t own < <(sed -n '/^#1 /,/^$/p' "$T_TMP/t2.txt" | grep '\[steady_stripped\]$')
((${#own[@]} > 0)) || { dump_file "$T_TMP/t2.txt"; fail "no frame of the top stack is in steady_stripped"; }
for l in "${own[@]}"; do
	[[ $l =~ ^\ +steady_stripped\+0x([0-9a-f]+)\ +\[steady_stripped\]$ ]] ||
		{ dump_file "$T_TMP/t2.txt"; fail "frame not printed as module+0xOFFSET: '$l'"; }
done
[[ ${own[0]} =~ \+0x([0-9a-f]+) ]]
off=$((16#${BASH_REMATCH[1]}))
# The same return address as in test 1, in the file's own terms: where
# leak_steady_grow starts in the unstripped file plus test 1's offset.
sym=$(nm "$steady" | awk '$3 == "leak_steady_grow" { print $1 }')
[[ -n $sym ]] || fail "nm finds no leak_steady_grow in $steady"
want=$((16#$sym + $(jq '.stacks[0].frames[0].offset' "$T_TMP/t1.json")))
[[ $off == "$want" ]] ||
	fail "top frame steady_stripped+$(printf 0x%x "$off"), expected +$(printf 0x%x "$want") (leak_steady_grow at 0x$sym + test 1's offset)"
kill "$pid"
reap "$pid"

# ---- 3. a pid that does not exist
log "3. a pid that does not exist"
spawn true
gone=$SPAWN_PID
reap "$gone"
[[ ! -e /proc/$gone ]] || skip "pid $gone was reused at once; cannot test a missing pid"
run_trace "$T_TMP/t3.out" "$T_TMP/t3.err" --trace "$gone" --duration 1
assert_no_crash "$T_TMP/t3.err"
assert_eq "$rc" 2 "exit status for a pid that does not exist"
assert_grep "$T_TMP/t3.err" "^vigil: no process with pid $gone\$" "a clear message for a missing pid"
[[ ! -s $T_TMP/t3.out ]] || { dump_file "$T_TMP/t3.out"; fail "a report was printed for a missing pid"; }

# ---- 4. a static binary without libc
log "4. a static binary without libc"
cat >"$T_TMP/nolibc.c" <<'EOF'
/* No libc, no allocator: sleeps 0.1 s at a time on raw nanosleep calls. */
struct ts { long sec, nsec; };

void _start(void)
{
	static const struct ts t = { 0, 100000000 };

	for (;;) {
		long r;

		__asm__ volatile("syscall" : "=a"(r) : "a"(35L), "D"(&t), "S"(0L)
				 : "rcx", "r11", "memory");
	}
}
EOF
[[ $(uname -m) == x86_64 ]] || skip "the no-libc test program is x86-64 assembly; this is $(uname -m)"
cc -static -nostdlib -O1 -o "$T_TMP/nolibc" "$T_TMP/nolibc.c" ||
	fail "cannot build the no-libc test program"
spawn "$T_TMP/nolibc"
pid=$SPAWN_PID
sleep 0.2
kill -0 "$pid" 2>/dev/null || fail "the no-libc program did not stay up"
run_trace "$T_TMP/t4.out" "$T_TMP/t4.err" --trace "$pid" --duration 1
assert_no_crash "$T_TMP/t4.err"
assert_eq "$rc" 1 "exit status for a static binary without libc"
assert_grep "$T_TMP/t4.err" "^vigil: pid $pid \\(nolibc\\) maps no libc and its executable has no malloc symbol: a static binary without libc cannot be traced\$" \
	"a clear message for a static binary without libc"
kill "$pid"
reap "$pid"

# ---- 5. a process that exits mid-trace
log "5. steady_leak --duration 2, traced for 8 s"
start_workload "$T_TMP/short.out" "$steady" --duration 2
pid=$SPAWN_PID
run_trace "$T_TMP/t5.txt" "$T_TMP/t5.err" --trace "$pid" --duration 8 --min-age 0.5
assert_no_crash "$T_TMP/t5.err"
assert_eq "$rc" 0 "exit status when the process exits mid-trace"
assert_grep "$T_TMP/t5.txt" "^pid $pid exited after [0-9.]+ s; allocations still outstanding at exit:\$" \
	"the report says the process exited"
sed -n '/^#1 /,/^$/p' "$T_TMP/t5.txt" | grep -q '^    leak_steady_grow+0x' ||
	{ dump_file "$T_TMP/t5.txt"; fail "the exited process's top stack does not name leak_steady_grow"; }
reap "$pid" || fail "steady_leak --duration 2 did not exit 0"

# ---- 6. sampling
log "6. --sample 8"
start_workload "$T_TMP/sampled.out" "$steady"
pid=$SPAWN_PID
run_trace "$T_TMP/t6.json" "$T_TMP/t6.err" --trace "$pid" --duration 6 --min-age 1 --sample 8 --json
assert_no_crash "$T_TMP/t6.err"
[[ $rc == 0 ]] || { dump_file "$T_TMP/t6.err"; fail "sampled trace exited $rc"; }
check_json "$T_TMP/t6.json" '.sample_every == 8' "the report says it sampled 1 in 8"
check_json "$T_TMP/t6.json" "$top_has_leak" "leak_steady_grow is a frame of the top stack when sampling"
# 96 calls in 6 s: all recorded would mean sampling did nothing (chance: 8^-96).
check_json "$T_TMP/t6.json" '.counters | .recorded < .calls' "sampling records fewer allocations than calls"

# ---- 7. SIGTERM ends the trace early, with the report
log "7. SIGTERM mid-trace"
vigil_start "$T_TMP/t7.txt" "$T_TMP/t7.err" leaks --trace "$pid" --duration 120 --min-age 0.5
sleep 2
vigil_stop TERM || { rc=$?; dump_file "$T_TMP/t7.err"; fail "vigil exited $rc on SIGTERM"; }
assert_grep "$T_TMP/t7.txt" '^interrupted after [0-9.]+ s$' "the report says the trace was interrupted"
assert_grep "$T_TMP/t7.txt" '^    leak_steady_grow\+0x' "the interrupted trace still reports the leak"
kill "$pid"
reap "$pid"

log "PASS"
