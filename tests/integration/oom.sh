# oom.sh - memory cgroup helpers shared by the OOM tests (source it after
# lib.sh and attribution_hierarchy; $base is the test's own cgroup, relative
# to $cgroot).

# memcg NAME MiB: a child of $base with that memory limit (and no swap).
memcg() {
	local d=$cgroot$base/$1
	mkcg "$base/$1"
	if [[ $hier == memory ]]; then
		echo "$(($2 << 20))" >"$d/memory.limit_in_bytes" || fail "cannot limit $d"
		[[ -e $d/memory.memsw.limit_in_bytes ]] &&
			echo "$(($2 << 20))" >"$d/memory.memsw.limit_in_bytes"
	else
		echo "$(($2 << 20))" >"$d/memory.max" || fail "cannot limit $d"
		[[ -e $d/memory.swap.max ]] && echo 0 >"$d/memory.swap.max"
	fi
	return 0
}

# kernel_oom_kills NAME: the kernel's own oom_kill count for the memcg.
kernel_oom_kills() {
	local d=$cgroot$base/$1
	if [[ $hier == memory ]]; then
		awk '$1 == "oom_kill" { print $2 }' "$d/memory.oom_control"
	else
		awk '$1 == "oom_kill" { print $2 }' "$d/memory.events"
	fi
}

# dead PID: true once PID is gone (or a zombie).
dead() { ! kill -0 "$1" 2>/dev/null || [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == Z ]]; }

# wait_dead PID SECONDS: until PID is dead; 1 if it is still alive then.
wait_dead() {
	local deadline=$((SECONDS + $2))
	while ! dead "$1"; do
		((SECONDS < deadline)) || return 1
		sleep 0.05
	done
	return 0
}

# oom_config FILE PORT: the agent's config for the OOM tests: metrics on
# PORT, detectors read every 20 ms, memcgs rescanned every 200 ms.
oom_config() {
	cat >"$1" <<EOF
metrics_addr: "127.0.0.1:$2"
oom:
  interval_ms: 20
  rescan_ms: 200
EOF
}
