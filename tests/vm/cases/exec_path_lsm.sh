# The agent picks its richer exec-path hook by probe: with BPF LSM usable,
# exec paths come from bpf_d_path in lsm.s/bprm_check_security, so a binary
# 70 directories deep (past the tp_btf dentry walk's 64 levels) is reported
# whole and not flagged truncated; `vigil features` names the choice.
. /lib/vmtest.sh

vigil features --json | jq -e '.modules[] | select(.module == "trace") | .mode == "tp_btf+lsm"' >/dev/null ||
	fail "features does not report the lsm exec-path hook: $(vigil features --json | jq -c '.modules[0]')"

d=/tmp/deep
i=0
while [ $i -lt 70 ]; do d=$d/a; i=$((i + 1)); done
mkdir -p "$d"
cp /bin/busybox "$d/deeptrue"
m=vm-$(rand_hex 12)

vigil_start "$T/t.json" "$T/t.err" trace exec --json -v
vp=$VIGIL_PID
grep -q 'exec paths: bpf_d_path' "$T/t.err" || { cat "$T/t.err"; fail "agent did not choose the lsm exec-path hook"; }
"$d/deeptrue" true "$m"
wait_for "$T/t.json" "\"$m\"" 30
vigil_stop $vp

expect_jq "$T/t.json" ".process.args[2] == \"$m\"" \
	".process.binary == \"$d/deeptrue\" and .binary_truncated == false" \
	"a 70-level path is reported whole"
