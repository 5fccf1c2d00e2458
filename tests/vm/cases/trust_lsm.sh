# Trusted-binary enforcement where BPF LSM works (stock 6.1), scoped by a
# TrustPolicy to one container (a docker-layout cgroup this case makes):
#   - an untrusted exec fails with EPERM, and its event carries the path,
#     the file's sha256 and reason "untrusted";
#   - a binary put in place by `vigil trust install` runs at once (no
#     agent restart), and stops running once changed: appended to, chmod,
#     touch each fail with EPERM and reason "tainted";
#   - LD_PRELOAD of an untrusted library is refused by ld.so (the
#     executable mmap fails); once trusted, it loads;
#   - finit_module of an untrusted copy of a module fails with EPERM; the
#     trusted module loads;
#   - the same untrusted binary run by the host (out of scope) runs.
. /lib/vmtest.sh

vigil features --json | jq -e '.modules[] | select(.module == "exec-enforcement") | .mode == "lsm"' >/dev/null ||
	fail "features does not report lsm exec-enforcement: $(vigil features --json | jq -c '.modules[] | select(.module == "exec-enforcement")')"

id=$(rand_container_id)
cg=docker/$id
S=/tmp/trust
mkdir -p /tmp/tpol
cat >/tmp/tpol/t.yaml <<EOF
apiVersion: vigil.dev/v1alpha1
kind: TrustPolicy
metadata:
  name: vm-trust
spec:
  rules:
    - name: one-container
      selector:
        containerIds: ["$id"]
      mode: enforce
      libraries: true
      modules: true
EOF
printf 'metrics_addr: "off"\ntrust:\n  store_dir: %s\n' "$S" >/tmp/tvigil.yaml

# What the container may run: busybox, jq and every library in the image.
vigil trust --dir "$S" add /bin/busybox /bin/jq $(find /lib /lib64 -type f -name '*.so*') >"$T/add.out" 2>&1 ||
	{ cat "$T/add.out"; fail "vigil trust add failed"; }
[ -f /lib/modules/dummy.ko ] || fail "the initramfs has no /lib/modules/dummy.ko (tests/vm/run.sh copies it)"
vigil trust --dir "$S" add /lib/modules/dummy.ko >/dev/null 2>&1 || fail "trusting dummy.ko failed"

vigil_start "$T/r.json" "$T/r.err" run --config /tmp/tvigil.yaml --policy-dir /tmp/tpol
vp=$VIGIL_PID
wait_for "$T/r.json" '"type":"policy_reload"' 30 || { cat "$T/r.err"; fail "no policy_reload event"; }
grep -F '"type":"policy_reload"' "$T/r.json" | head -1 | jq -e '.result == "ok"' >/dev/null ||
	{ cat "$T/r.err"; fail "policy load: $(grep -F policy_reload "$T/r.json" | head -1)"; }

# Copies are named busybox (in their own directories) so busybox runs argv[1].
mkdir -p /tmp/u && cp /bin/busybox /tmp/u/busybox
mkdir -p /sys/fs/cgroup/$cg
# The container's mode is written when the agent learns the cgroup: wait for it.
wait_refused "$cg" /tmp/u/busybox "$T/e0" ||
	{ cat "$T/r.err"; fail "the untrusted binary still runs in the container after 30 s"; }
log "first refusal after $TRIES tries: $(cat "$T/e0")"
rc=0
in_cgroup "$cg" /tmp/u/busybox true 2>"$T/e1" || rc=$?
[ $rc -ne 0 ] || { cat "$T/r.err"; grep trust_violation "$T/r.json"; vigil trust status; fail "untrusted exec succeeded"; }
grep -qi 'not permitted' "$T/e1" || { cat "$T/e1"; fail "untrusted exec failed, but not with EPERM"; }
log "untrusted exec refused: $(cat "$T/e1")"
/tmp/u/busybox true || fail "the host (out of scope) could not run the untrusted binary"
sum=$(sha256sum /tmp/u/busybox | cut -d' ' -f1)
wait_for "$T/r.json" '"path":"/tmp/u/busybox"' 30 || fail "no trust_violation event for /tmp/u/busybox"
expect_jq "$T/r.json" '.type == "trust_violation" and .trust.path == "/tmp/u/busybox"' \
	".trust.reason == \"untrusted\" and .trust.action == \"denied\" and .trust.hook == \"exec\" and .trust.enforcement == \"lsm\" and .trust.sha256 == \"$sum\" and .trust.policy == \"vm-trust\" and .trust.rule == \"one-container\" and .container.id == \"$id\"" \
	"untrusted exec event"

# --- the approved install path: runs at once
mkdir -p /tmp/tb
vigil trust --dir "$S" install /bin/busybox /tmp/tb/busybox --mode 755 >"$T/inst.out" 2>&1 || { cat "$T/inst.out"; fail "vigil trust install failed"; }
in_cgroup "$cg" /tmp/tb/busybox true || fail "a binary installed with vigil trust install does not run"
log "installed binary runs"

# --- any change taints: append, chmod, touch
taint() {
	mkdir -p /tmp/t-$1
	f=/tmp/t-$1/busybox
	vigil trust --dir "$S" install /bin/busybox "$f" --mode 755 >/dev/null 2>&1 || fail "install $f failed"
	in_cgroup "$cg" "$f" true || fail "$f does not run before the change"
	case $1 in
	append) printf 'x' >>"$f" ;;
	chmod) chmod 755 "$f" ;;
	touch) sleep 0.01; touch "$f" ;;
	esac
	rc=0
	in_cgroup "$cg" "$f" true 2>"$T/e-$1" || rc=$?
	[ $rc -ne 0 ] || fail "$f still runs after $1"
	grep -qi 'not permitted' "$T/e-$1" || { cat "$T/e-$1"; fail "$f after $1: not EPERM"; }
	wait_for "$T/r.json" "\"path\":\"$f\"" 30 || fail "no event for $f"
	expect_jq "$T/r.json" ".type == \"trust_violation\" and .trust.path == \"$f\"" \
		'.trust.reason == "tainted" and .trust.action == "denied" and .trust.recorded.path != null' "tainted by $1"
}
taint append
taint chmod
taint touch

# --- LD_PRELOAD
lib=$(find /lib /usr/lib -type f -name 'libonig*.so*' | head -1)
[ -n "$lib" ] || lib=$(find /lib -type f -name 'libjq*.so*' | head -1)
[ -n "$lib" ] || fail "no library to copy for the LD_PRELOAD case"
cp "$lib" /tmp/evil.so
in_cgroup "$cg" env LD_PRELOAD=/tmp/evil.so /bin/jq -n 1 >/dev/null 2>"$T/pre1"
grep -q 'cannot be preloaded' "$T/pre1" || { cat "$T/pre1"; fail "ld.so preloaded an untrusted library"; }
wait_for "$T/r.json" '"path":"/tmp/evil.so"' 30 || fail "no event for the preloaded library"
expect_jq "$T/r.json" '.type == "trust_violation" and .trust.path == "/tmp/evil.so"' \
	'.trust.hook == "mmap" and .trust.action == "denied"' "untrusted LD_PRELOAD"
vigil trust --dir "$S" add /tmp/evil.so >/dev/null 2>&1 || fail "trusting evil.so failed"
in_cgroup "$cg" env LD_PRELOAD=/tmp/evil.so /bin/jq -n 1 >/dev/null 2>"$T/pre2"
grep -q 'cannot be preloaded' "$T/pre2" && { cat "$T/pre2"; fail "a trusted preload was refused"; }
log "trusted LD_PRELOAD loads"

# --- kernel modules
cp /lib/modules/dummy.ko /tmp/untrusted.ko
rc=0
in_cgroup "$cg" insmod /tmp/untrusted.ko 2>"$T/mod1" || rc=$?
[ $rc -ne 0 ] || fail "an untrusted module loaded"
grep -qi 'not permitted' "$T/mod1" || { cat "$T/mod1"; fail "untrusted module: not EPERM"; }
wait_for "$T/r.json" '"hook":"module"' 30 || fail "no module event"
in_cgroup "$cg" insmod /lib/modules/dummy.ko 2>"$T/mod2" || { cat "$T/mod2"; fail "the trusted module did not load"; }
grep -q '^dummy ' /proc/modules || fail "dummy is not in /proc/modules after a successful insmod"
rmmod dummy 2>/dev/null
log "modules: untrusted refused, trusted loaded"

vigil_stop $vp
# on_agent_loss: closed (the default): enforcement stays pinned after a clean stop too.
rc=0
in_cgroup "$cg" /tmp/u/busybox true 2>/dev/null || rc=$?
[ $rc -ne 0 ] || fail "enforcement ended with the agent (on_agent_loss: closed)"
vigil trust off >/dev/null 2>&1 || fail "vigil trust off failed"
in_cgroup "$cg" /tmp/u/busybox true || fail "vigil trust off did not stop enforcement"
log "vigil trust off switches enforcement off"
rm -rf /sys/fs/bpf/vigil/trust
