#!/usr/bin/env bash
#
# Trusted-binary enforcement on this host, where BPF LSM cannot load: an
# untrusted exec is killed with SIGKILL from tp_btf/sched_process_exec
# before the new image runs.  Scoped by a TrustPolicy to one runc
# container this test creates:
#   - in the container, the untrusted binary dies by SIGKILL (exit 137)
#     and never prints; a trusted one runs; the event names the path, the
#     sha256 (as sha256sum computes it), reason, action "killed";
#   - the same untrusted file run on the host (out of scope) runs;
#   - `vigil trust add` reaches the kernel at once, with no restart;
#   - with a libraries rule (after a reload), a trusted dynamic binary dies
#     at the mmap of an untrusted libc, and runs once libc is trusted; the
#     mmap syscall tracepoint is attached only while such a rule exists;
#   - kill -9 of the agent leaves the untrusted exec killed (pinned links
#     and maps), and a restarted agent adopts the pinned state;
#   - metrics count the violation;
#   - `vigil trust off` lets everything run at once, `on` restores it;
#   - with both store generations damaged the agent refuses to enforce
#     from the store and says why.
# Pins go to a bpffs directory of this test's own, removed at exit.
set -u -o pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

if "$VIGIL" features 2>/dev/null | grep -q '^ *exec-enforcement *lsm'; then
	skip "BPF LSM works on this kernel: enforcement is a real EPERM, which the VM tier tests (tests/vm/cases/trust_lsm.sh)"
fi
attribution_hierarchy
[[ -n $cgroot ]] || skip "no cgroup v1 memory hierarchy and no cgroup2 mount"
port=$(free_port)
id=$(rand_container_id)
pod=$(rand_pod_uid)
cg=$(kubepods_cgroup "$pod" "$id" burstable)
bpffs=/sys/fs/bpf/$T_MARK
store=$T_TMP/store
T_ON_EXIT+=("rm -rf '$bpffs'")

mkdir -p "$T_TMP/policies"
cat >"$T_TMP/policies/trust.yaml" <<EOF
# vigil integration test ($T_MARK)
apiVersion: vigil.dev/v1alpha1
kind: TrustPolicy
metadata:
  name: it-trust
spec:
  rules:
    - name: this-test
      selector:
        containerIds: ["$id"]
      mode: enforce
      libraries: false
EOF
cat >"$T_TMP/vigil.yaml" <<EOF
cgroup_hierarchy: $hier
metrics_addr: "127.0.0.1:$port"
trust:
  store_dir: $store
  bpffs: $bpffs
EOF

make_bundle "$T_TMP/ct" "$id" "$cg" /bin/sleep 300
root=$T_TMP/ct/rootfs
# Copies named busybox, so busybox runs argv[1] as the applet.
mkdir -p "$root/u" "$root/l"
cp "$root/bin/busybox" "$root/u/busybox"
cp "$root/bin/busybox" "$root/l/busybox"
"$VIGIL" trust --dir "$store" add "$root/bin/busybox" >"$T_TMP/add.out" 2>&1 ||
	{ dump_file "$T_TMP/add.out"; fail "vigil trust add failed"; }

out=$T_TMP/run.json err=$T_TMP/run.err
vigil_start "$out" "$err" run --config "$T_TMP/vigil.yaml" --policy-dir "$T_TMP/policies"
wait_jq "$out" '.type == "policy_reload" and .result == "ok"' 20 ||
	{ dump_file "$err"; fail "the TrustPolicy did not load"; }
run_container "$T_TMP/ct"
[[ -e $bpffs/trust/link_vigil_trust_exec_kill ]] || fail "the exec hook is not pinned under $bpffs/trust"
# No rule judges libraries: the mmap syscall tracepoint (a cost to every syscall) stays off.
[[ ! -e $bpffs/trust/link_vigil_trust_mmap_kill ]] || fail "the mmap hook is attached though no rule judges libraries"

# cexec CMD...: run CMD in the container; sets RC and OUT.
cexec() {
	RC=0
	OUT=$(container_exec "$id" "$@" 2>&1) || RC=$?
}

# The container's mode is written when the agent learns its cgroup.
deadline=$((SECONDS + 20))
while :; do
	cexec /u/busybox echo ran-untrusted
	((RC == 137)) && break
	((SECONDS < deadline)) || { dump_file "$err"; fail "the untrusted exec was not killed within 20 s (rc $RC, output: $OUT)"; }
	sleep 0.2
done
[[ $OUT != *ran-untrusted* ]] || fail "the untrusted binary ran before it was killed: $OUT"
log "untrusted exec in the container: SIGKILL (137), no output"

cexec /bin/busybox echo ran-trusted
((RC == 0)) && [[ $OUT == *ran-trusted* ]] || fail "the trusted busybox did not run in the container (rc $RC: $OUT)"
"$root/u/busybox" true || fail "the host (out of scope) could not run the untrusted file"

sum=$(sha256sum "$root/u/busybox" | cut -d' ' -f1)
wait_jq "$out" '.type == "trust_violation" and .trust.path == "/u/busybox"' 10 ||
	fail "no trust_violation event for /u/busybox"
assert_jq "$out" ".type == \"trust_violation\" and .trust.path == \"/u/busybox\" and .trust.reason == \"untrusted\" and .trust.action == \"killed\" and .trust.hook == \"exec\" and .trust.enforcement == \"sigkill\" and .trust.sha256 == \"$sum\" and .trust.policy == \"it-trust\" and .trust.rule == \"this-test\" and .container.id == \"$id\"" \
	"the violation event names path, sha256, reason, action, policy and container" '.type == "trust_violation"'

# --- a trust change reaches the kernel with no restart
cexec /l/busybox true
((RC == 137)) || fail "/l/busybox ran before it was trusted (rc $RC)"
"$VIGIL" trust --dir "$store" --bpffs "$bpffs" add "$root/l/busybox" >"$T_TMP/add2.out" 2>&1 ||
	{ dump_file "$T_TMP/add2.out"; fail "vigil trust add of /l/busybox failed"; }
cexec /l/busybox echo ran-later
((RC == 0)) && [[ $OUT == *ran-later* ]] || fail "/l/busybox does not run right after vigil trust add (rc $RC: $OUT)"
log "vigil trust add took effect at once"

# --- executable mmap: a trusted dynamic binary whose libc is not trusted
# dies at the mmap that would map libc's code (a reload turns libraries on).
mkdir -p "$root/dyn"
cp /usr/bin/true "$root/dyn/true"
while read -r lib; do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done < <(ldd /usr/bin/true | awk '/=>/ { print $3 } /^\t\// { print $1 }')
libc=$(ldd /usr/bin/true | awk '/libc\.so/ { print $3 }')
interp=$(ldd /usr/bin/true | awk '/^\t\// { print $1 }')
[[ -f $root$libc && -f $root$interp ]] || fail "could not copy /usr/bin/true's libraries into the rootfs"
"$VIGIL" trust --dir "$store" --bpffs "$bpffs" add "$root/dyn/true" "$root$interp" >/dev/null 2>&1 ||
	fail "trusting the dynamic binary failed"
sed -i 's/libraries: false/libraries: true/' "$T_TMP/policies/trust.yaml"
kill -HUP "$VIGIL_PID"
deadline=$((SECONDS + 10))
until [[ -e $bpffs/trust/link_vigil_trust_mmap_kill ]]; do
	((SECONDS < deadline)) || { dump_file "$err"; fail "a libraries rule did not attach the mmap hook"; }
	sleep 0.1
done
cexec /dyn/true
((RC == 137)) || fail "a binary mapping an untrusted libc was not killed (rc $RC: $OUT)"
wait_jq "$out" ".type == \"trust_violation\" and .trust.hook == \"mmap\" and .trust.path == \"$libc\"" 10 ||
	fail "no mmap trust_violation for $libc"
"$VIGIL" trust --dir "$store" --bpffs "$bpffs" add "$root$libc" >/dev/null 2>&1 || fail "trusting libc failed"
cexec /dyn/true
((RC == 0)) || fail "with libc trusted the dynamic binary still fails (rc $RC: $OUT)"
sed -i 's/libraries: true/libraries: false/' "$T_TMP/policies/trust.yaml"
kill -HUP "$VIGIL_PID"
deadline=$((SECONDS + 10))
while [[ -e $bpffs/trust/link_vigil_trust_mmap_kill ]]; do
	((SECONDS < deadline)) || fail "the mmap hook stayed attached after the libraries rule went"
	sleep 0.1
done
log "executable mmap of an untrusted library: SIGKILL; trusted: runs; the hook comes and goes with the rule"

scrape "$T_TMP/metrics"
m=$(cat "$T_TMP/metrics")
grep -qE '^vigil_trust_violations_total\{hook="exec",reason="untrusted",action="killed"\} [1-9]' <<<"$m" ||
	fail "vigil_trust_violations_total does not count the kill: $(grep vigil_trust_violations <<<"$m")"
grep -qE '^vigil_trust_enforcement_loaded 1' <<<"$m" || fail "vigil_trust_enforcement_loaded is not 1"

# --- the agent dies: enforcement stays
kill -KILL "$VIGIL_PID"
wait "$VIGIL_PID" 2>/dev/null
_forget_pid "$VIGIL_PID"
cexec /u/busybox echo ran-untrusted
((RC == 137)) || fail "after kill -9 of the agent the untrusted exec was not killed (rc $RC: $OUT)"
cexec /bin/busybox true
((RC == 0)) || fail "after kill -9 of the agent the trusted busybox fails (rc $RC)"
log "kill -9 of the agent: enforcement still in force"

# --- a restarted agent adopts the pins
vigil_start "$out.2" "$err.2" run --config "$T_TMP/vigil.yaml" --policy-dir "$T_TMP/policies"
wait_jq "$out.2" '.type == "policy_reload" and .result == "ok"' 20 ||
	{ dump_file "$err.2"; fail "the restarted agent did not load its policy"; }
cexec /u/busybox true
((RC == 137)) || fail "after the restart the untrusted exec was not killed (rc $RC)"
wait_jq "$out.2" '.type == "trust_violation" and .trust.path == "/u/busybox"' 10 ||
	fail "the restarted agent reports no violation"

# --- the emergency switch
"$VIGIL" trust --bpffs "$bpffs" off >/dev/null || fail "vigil trust off failed"
"$VIGIL" trust --bpffs "$bpffs" status | grep -q 'switched off' || fail "vigil trust status does not say off"
cexec /u/busybox echo ran-untrusted
((RC == 0)) && [[ $OUT == *ran-untrusted* ]] || fail "after vigil trust off the untrusted exec still fails (rc $RC)"
"$VIGIL" trust --bpffs "$bpffs" on >/dev/null || fail "vigil trust on failed"
cexec /u/busybox true
((RC == 137)) || fail "after vigil trust on the untrusted exec runs (rc $RC)"
log "vigil trust off / on switch enforcement at once"
vigil_stop || fail "the restarted agent exited with an error"

# --- both store generations damaged: the agent refuses to enforce from it
printf 'vigil-trust 1\ngarbage\n' >"$store/store"
printf 'not a store\n' >"$store/store.prev"
vigil_start "$out.3" "$err.3" run --config "$T_TMP/vigil.yaml" --policy-dir "$T_TMP/policies"
wait_jq "$out.3" '.type == "policy_reload"' 20 || { dump_file "$err.3"; fail "no policy_reload event with a damaged store"; }
assert_jq "$out.3" '.type == "policy_reload" and .result == "error" and (.errors | map(test("refusing to enforce")) | any)' \
	"a damaged store (both generations) is refused with a clear error" '.type == "policy_reload"'
vigil_stop || fail "the agent with a damaged store exited with an error"
log "both generations damaged: refused, with a clear error"
log "restarted agent adopted the pinned enforcement"
