# OomPolicy on pure cgroup v2 (stock 6.1 kernel):
#   handoff  adding a handoff policy is refused: a policy_reload event with
#            result error that names cgroup v1; the set before it stays
#            active (the two checks below run on it).
#   psi      a memcg (memory.max 64M, swap.max 0) whose workload thrashes
#            its page cache (page-by-page reads of a 96 MiB RAM disk,
#            /dev/ram0, whose pages the memcg can hold only 2/3 of) while
#            its anonymous memory grows by 1 MiB/s toward 100 MiB, so the
#            kernel's OOM killer would end it within about a minute: a PSI
#            stall trigger (some 100ms/1s) makes vigil kill it first.
#            memory.events oom_kill stays 0; the oom_kill event says source
#            vigil, detector psi, and names the workload.
#   cgroup   kill: cgroup with a usage detector (50% of 64M): a hog and four
#            sleepers, two of them in a child cgroup, all die through
#            cgroup.kill; the event's killed is 5; oom_kill stays 0.
. /lib/vmtest.sh

cg=/sys/fs/cgroup
grep -qw memory $cg/cgroup.subtree_control || fail "the memory controller is not enabled for children"
[ -e /proc/pressure/memory ] || fail "no /proc/pressure/memory: PSI is off in this kernel"
command -v oomlat >/dev/null || fail "no oomlat in the initramfs (tests/vm/run.sh builds it)"
[ -b /dev/ram0 ] || insmod /lib/modules/brd.ko rd_nr=1 rd_size=98304 || fail "cannot load brd"
i=0
while [ ! -b /dev/ram0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -b /dev/ram0 ] || fail "no /dev/ram0 after loading brd"

psi=oomvm-psi-$(rand_hex 8)
kc=oomvm-kill-$(rand_hex 8)
memcg() {	# memcg NAME MiB
	mkdir $cg/$1 || fail "cannot create $cg/$1"
	echo $(($2 << 20)) >$cg/$1/memory.max || fail "cannot set $1 memory.max"
	echo 0 >$cg/$1/memory.swap.max || fail "cannot set $1 memory.swap.max"
}
memcg $psi 64
memcg $kc 64
mkdir $cg/$kc/child
kernel_oom_kills() { awk '$1 == "oom_kill" { print $2 }' $cg/$1/memory.events; }
dead() { [ ! -e /proc/$1 ] || [ "$(cut -d' ' -f3 /proc/$1/stat 2>/dev/null)" = Z ]; }
# start CGROUP CMD...: CMD in that cgroup, in the background; sets PID (CMD's own pid).
start() {
	_c=$cg/$1
	shift
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$_c" "$@" &
	PID=$!
}
secs() { cut -d. -f1 /proc/uptime; }

mkdir -p /tmp/oompol
cat >/tmp/oompol/oom.yaml <<EOF
apiVersion: vigil.dev/v1alpha1
kind: OomPolicy
metadata:
  name: vm-psi
spec:
  scope:
    cgroups: ["/$psi"]
  detectors:
    - psi: {type: some, stall: 100ms, window: 1s}
  kill: process
---
apiVersion: vigil.dev/v1alpha1
kind: OomPolicy
metadata:
  name: vm-cgroup
spec:
  scope:
    cgroups: ["/$kc"]
  detectors:
    - usage: {percent: 50}
  kill: cgroup
EOF
# Only what this case needs: no process events, so TCG has less to do.
cat >/tmp/oomvm.yaml <<EOF
metrics_addr: "off"
observe:
  fork: false
  exec: false
  exit: false
  signal: false
oom:
  rescan_ms: 500
EOF
vigil policy check /tmp/oompol || fail "the case's policies do not check"

vigil_start "$T/o.json" "$T/o.err" run --config /tmp/oomvm.yaml --policy-dir /tmp/oompol
vp=$VIGIL_PID
wait_for "$T/o.json" '"type":"policy_reload"' 30 || { cat "$T/o.err"; fail "no policy_reload event"; }
grep -F '"type":"policy_reload"' "$T/o.json" | head -1 | jq -e '.result == "ok" and .documents == 2' >/dev/null ||
	{ cat "$T/o.err"; fail "start-up load: $(grep -F policy_reload "$T/o.json" | head -1)"; }
log "start-up load ok"

# ---- handoff is refused on cgroup v2
cat >/tmp/handoff.yaml <<EOF
apiVersion: vigil.dev/v1alpha1
kind: OomPolicy
metadata:
  name: vm-handoff
spec:
  scope:
    cgroups: ["/oomvm-handoff-$(rand_hex 8)"]
  handoff: true
EOF
vigil policy check /tmp/handoff.yaml >/dev/null 2>&1 || log "note: vigil policy check refuses the handoff file itself"
mv /tmp/handoff.yaml /tmp/oompol/handoff.yaml
kill -HUP $vp
wait_for "$T/o.json" '"result":"error"' 30 || { cat "$T/o.err"; fail "adding a handoff policy was not refused"; }
expect_jq "$T/o.json" '.type == "policy_reload" and .result == "error"' \
	'(.errors | map(tostring) | join(" ")) | (test("cgroup v1") and test("handoff"))' \
	"a handoff policy is refused on cgroup v2, naming cgroup v1"
grep -F '"result":"error"' "$T/o.json" | head -1 | jq -c .errors
nr=$(grep -c '"type":"policy_reload"' "$T/o.json")
rm /tmp/oompol/handoff.yaml
kill -HUP $vp
i=0
until [ "$(grep -c '"type":"policy_reload"' "$T/o.json")" -gt "$nr" ] &&
	grep -F '"type":"policy_reload"' "$T/o.json" | tail -1 | grep -qF '"result":"ok"'; do
	i=$((i + 1))
	[ $i -lt 150 ] || fail "no ok reload after removing the handoff policy"
	sleep 0.2
done
log "the set without handoff reloads ok"

# ---- psi: the thrashing workload dies by vigil's hand, not the kernel's
t0=$(secs)
start $psi oomlat thrash /dev/ram0 100 1
tp=$PID
log "thrash pid $tp in /$psi"
# Until vigil reports acting, or the kernel's OOM killer acts (at about a
# minute: then vigil missed its chance), 90 s at most.
i=0
until grep -qF '"policy":"vm-psi"' "$T/o.json"; do
	k=$(kernel_oom_kills $psi)
	if [ "$k" != 0 ] || [ $i -ge 450 ]; then
		log "after $(($(secs) - t0)) s: memory.pressure: $(cat $cg/$psi/memory.pressure | tr '\n' ' ')"
		log "memory.current $(cat $cg/$psi/memory.current), events: $(cat $cg/$psi/memory.events | tr '\n' ' ')"
		vigil_state $vp
		cat "$T/o.err"
		kill -KILL $tp 2>/dev/null
		[ "$k" = 0 ] || fail "the kernel's OOM killer ended the thrashing workload; vigil never acted"
		fail "vigil did not act on the thrashing memcg within 90 s"
	fi
	sleep 0.2
	i=$((i + 1))
done
i=0
while ! dead $tp && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
dead $tp || { kill -KILL $tp; fail "the thrashing workload (pid $tp) is still alive after vigil's event"; }
wait $tp 2>/dev/null
log "thrash ended $(($(secs) - t0)) s after it started; memory.pressure: $(head -1 $cg/$psi/memory.pressure)"
k=$(kernel_oom_kills $psi)
[ "$k" = 0 ] || fail "the kernel's OOM killer acted in /$psi (oom_kill $k)"
log "ok: memory.events oom_kill 0 in /$psi"
expect_jq "$T/o.json" ".type == \"oom_pre_kill\" and .oom.policy == \"vm-psi\"" \
	".process.pid == $tp and .oom.detector == \"psi\"" "oom_pre_kill names the thrashing workload"
expect_jq "$T/o.json" ".type == \"oom_kill\" and .oom.policy == \"vm-psi\"" \
	".oom.source == \"vigil\" and .oom.detector == \"psi\" and .process.pid == $tp and (.oom.memcg.path | endswith(\"/$psi\")) and .oom.killed == 1 and .oom.scope == \"process\"" \
	"oom_kill: source vigil, detector psi, the workload"
grep -F '"type":"oom_kill"' "$T/o.json" | grep -F '"vm-psi"' | head -1 | jq -c '.oom | {detector, detail, value, threshold, latency_ms}'

# ---- kill: cgroup: five processes, two of them in a child cgroup
pids=""
for c in $kc $kc $kc/child $kc/child; do
	start $c sleep 1000
	pids="$pids $PID"
done
start $kc oomlat hog 48 16
hp=$PID
pids="$pids $hp"
log "cgroup /$kc: sleepers and hog $hp:$pids"
wait_for "$T/o.json" "\"policy\":\"vm-cgroup\"" 60 || {
	log "memory.current $(cat $cg/$kc/memory.current)"
	cat "$T/o.err"
	kill -KILL $pids 2>/dev/null
	fail "vigil did not act on /$kc"
}
i=0
for p in $pids; do
	while ! dead $p && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
done
alive=""
for p in $pids; do dead $p || alive="$alive $p"; done
[ -z "$alive" ] || { kill -KILL $alive; fail "still alive after kill: cgroup:$alive"; }
for p in $pids; do wait $p 2>/dev/null; done
[ -z "$(cat $cg/$kc/cgroup.procs $cg/$kc/child/cgroup.procs)" ] || fail "/$kc is not empty"
log "ok: all five processes died"
k=$(kernel_oom_kills $kc)
[ "$k" = 0 ] || fail "the kernel's OOM killer acted in /$kc (oom_kill $k)"
log "ok: memory.events oom_kill 0 in /$kc"
expect_jq "$T/o.json" ".type == \"oom_kill\" and .oom.policy == \"vm-cgroup\"" \
	".oom.source == \"vigil\" and .oom.detector == \"usage\" and .oom.scope == \"cgroup\" and .oom.killed == 5 and (.oom.memcg.path | endswith(\"/$kc\"))" \
	"oom_kill: kill cgroup, killed 5"
grep -F '"type":"oom_kill"' "$T/o.json" | grep -F '"vm-cgroup"' | head -1 | jq -c '.oom | {scope, killed, detector, value, latency_ms}'

n=$(grep -F '"type":"oom_kill"' "$T/o.json" | grep -cF '"source":"kernel"')
[ "$n" = 0 ] || fail "$n oom_kill event(s) with source kernel"
vigil_stop $vp
rmdir $cg/$kc/child $cg/$kc $cg/$psi
true
