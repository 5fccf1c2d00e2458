# Trust enforcement outlives the agent (stock 6.1, BPF LSM):
#   - kill -9 of the agent leaves untrusted execs blocked (pinned links and
#     maps), and `vigil trust install` still reaches the kernel;
#   - a restarted agent adopts the pinned maps with no gap: a loop exec'ing
#     a trusted binary the whole time never fails, and untrusted execs stay
#     refused throughout;
#   - a container made while no agent runs is judged as a container (the
#     pinned cgroup_mkdir hook marks it);
#   - on_agent_loss: open: after kill -9 and the grace period, untrusted
#     execs run again (reported with fail_open).
. /lib/vmtest.sh

rm -rf /sys/fs/bpf/vigil/trust
id=$(rand_container_id)
cg=docker/$id
S=/tmp/trustp
mkdir -p /tmp/ppol
cat >/tmp/ppol/t.yaml <<EOF2
apiVersion: vigil.dev/v1alpha1
kind: TrustPolicy
metadata:
  name: vm-pinned
spec:
  rules:
    - selector:
        containerIds: ["$id"]
      mode: enforce
      libraries: false
EOF2
printf 'metrics_addr: "off"\ntrust:\n  store_dir: %s\n' "$S" >/tmp/pvigil.yaml
vigil trust --dir "$S" add /bin/busybox >/dev/null 2>&1 || fail "vigil trust add failed"
mkdir -p /tmp/up /tmp/tpn
cp /bin/busybox /tmp/up/busybox
mkdir -p /sys/fs/cgroup/$cg

vigil_start "$T/a.json" "$T/a.err" run --config /tmp/pvigil.yaml --policy-dir /tmp/ppol
vp=$VIGIL_PID
wait_refused "$cg" /tmp/up/busybox /dev/null || fail "enforcement did not start within 30 s"
kill -9 $vp
wait $vp 2>/dev/null
log "agent killed with SIGKILL"
rc=0
in_cgroup "$cg" /tmp/up/busybox true 2>/dev/null || rc=$?
[ $rc -ne 0 ] || fail "untrusted exec ran after kill -9 of the agent"
vigil trust --dir "$S" install /bin/busybox /tmp/tpn/busybox --mode 755 >/dev/null 2>&1 || fail "install without an agent failed"
in_cgroup "$cg" /tmp/tpn/busybox true || fail "a binary installed while the agent was down does not run"
log "after kill -9: untrusted still refused, install still reaches the kernel"

# --- restart: no gap.  A loop in the container runs the trusted binary
# and the untrusted one back to back until told to stop.
rm -f /tmp/gap.bad /tmp/gap.stop
in_cgroup "$cg" sh -c 'n=0; while [ ! -e /tmp/gap.stop ]; do
	/tmp/tpn/busybox true || echo "trusted failed at $n" >>/tmp/gap.bad
	/tmp/up/busybox true 2>/dev/null && echo "untrusted ran at $n" >>/tmp/gap.bad
	n=$((n + 1)); done; echo $n >/tmp/gap.count' &
loop=$!
sleep 1
vigil_start "$T/b.json" "$T/b.err" run --config /tmp/pvigil.yaml --policy-dir /tmp/ppol
vp=$VIGIL_PID
wait_for "$T/b.json" '"type":"policy_reload"' 30 || { cat "$T/b.err"; fail "restarted agent: no policy_reload"; }
sleep 2
touch /tmp/gap.stop
wait $loop
[ ! -s /tmp/gap.bad ] || { cat /tmp/gap.bad; fail "enforcement had a gap across the restart"; }
log "restart adopted the pinned state; $(cat /tmp/gap.count) loop rounds, no gap"
vigil_stop $vp

# --- a container made while no agent runs is still judged as a container
rm -rf /sys/fs/bpf/vigil/trust
mkdir -p /tmp/ppol2
cat >/tmp/ppol2/t.yaml <<EOF2
apiVersion: vigil.dev/v1alpha1
kind: TrustPolicy
metadata:
  name: vm-all-containers
spec:
  rules:
    - selector: {scope: containers}
      mode: enforce
      libraries: false
EOF2
vigil_start "$T/d.json" "$T/d.err" run --config /tmp/pvigil.yaml --policy-dir /tmp/ppol2
vp=$VIGIL_PID
wait_for "$T/d.json" '"type":"policy_reload"' 30 || { cat "$T/d.err"; fail "no policy_reload (all containers)"; }
kill -9 $vp
wait $vp 2>/dev/null
id3=$(rand_container_id)
rc=0
in_cgroup "docker/$id3" /tmp/up/busybox true 2>/dev/null || rc=$?
[ $rc -ne 0 ] || fail "a container made after kill -9 of the agent was judged as the host"
in_cgroup "docker/$id3" /bin/busybox true || fail "the trusted busybox is refused in the new container"
log "a container made while no agent ran is judged as a container"

# --- fail open
rm -rf /sys/fs/bpf/vigil/trust
printf 'metrics_addr: "off"\ntrust:\n  store_dir: %s\n  on_agent_loss: open\n  fail_open_after_ms: 2000\n' "$S" >/tmp/pvigil-open.yaml
vigil_start "$T/c.json" "$T/c.err" run --config /tmp/pvigil-open.yaml --policy-dir /tmp/ppol
vp=$VIGIL_PID
wait_refused "$cg" /tmp/up/busybox /dev/null || fail "enforcement (open) did not start within 30 s"
kill -9 $vp
wait $vp 2>/dev/null
sleep 4
in_cgroup "$cg" /tmp/up/busybox true || fail "on_agent_loss: open, but untrusted execs are still refused 4 s after the agent died"
log "fail-open after the grace period"
rm -rf /sys/fs/bpf/vigil/trust
