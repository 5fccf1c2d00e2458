# On a stock distro kernel every richer hook is usable, and `vigil features`
# says so: BPF LSM loads and attaches, kprobes and fentry work, cgroup v2
# carries the memory controller, and enforcement would run in lsm mode.
. /lib/vmtest.sh

vigil features --json > "$T/f.json" 2>"$T/f.err" || { cat "$T/f.err"; fail "vigil features exited $?"; }
vigil features > "$T/f.txt"
cat "$T/f.txt"
f=$T/f.json
jq -e . "$f" >/dev/null || fail "features --json is not JSON"
for k in btf ringbuf tp_btf iter_task fentry kprobes send_signal lsm_listed lsm psi; do
	jq -e ".features.$k.ok == true" "$f" >/dev/null || fail "feature $k not ok: $(jq -c ".features.$k" "$f")"
done
jq -e '.features.cgroups.mode == "v2"' "$f" >/dev/null || fail "cgroups not pure v2: $(jq -c .features.cgroups "$f")"
jq -e '.features.cgroups.v2_controllers | index("memory")' "$f" >/dev/null ||
	fail "memory controller missing: $(jq -c .features.cgroups "$f")"
jq -e '.features.lockdown == "none"' "$f" >/dev/null || fail "lockdown: $(jq -c .features.lockdown "$f")"
jq -e '.modules[] | select(.module == "exec-enforcement") | .mode == "lsm"' "$f" >/dev/null ||
	fail "exec-enforcement mode: $(jq -c '.modules[] | select(.module == "exec-enforcement")' "$f")"
jq -e '.modules[] | select(.module == "trace") | .mode | startswith("tp_btf")' "$f" >/dev/null ||
	fail "trace mode: $(jq -c '.modules[] | select(.module == "trace")' "$f")"
# The memory sampler's own object (iter/task, 6.1's atomic mm counters) loads and reads a pass.
jq -e '.modules[] | select(.module == "leak-sampling") | .mode == "iter/task"' "$f" >/dev/null ||
	fail "leak-sampling mode: $(jq -c '.modules[] | select(.module == "leak-sampling")' "$f")"
log "features as expected on $(uname -r)"
