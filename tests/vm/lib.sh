# lib.sh - helpers for VM cases (busybox sh, inside the guest).
# A case sources it (`. /lib/vmtest.sh`), exits 0 to pass, 77 to skip
# (after printing "SKIP: reason"), anything else to fail.

T=$(mktemp -d /tmp/case.XXXXXX)
VIGIL_PIDS=""

log() { echo "[$(basename "$0" .sh)] $*"; }
fail() {
	log "FAIL: $*"
	exit 1
}
skip() {
	echo "SKIP: $*"
	exit 77
}

cleanup() {
	for p in $VIGIL_PIDS; do kill -INT "$p" 2>/dev/null; done
}
trap cleanup EXIT

rand_hex() { head -c "$(($1 / 2))" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
rand_pod_uid() {
	h=$(rand_hex 32)
	echo "$(echo "$h" | cut -c1-8)-$(echo "$h" | cut -c9-12)-$(echo "$h" | cut -c13-16)-$(echo "$h" | cut -c17-20)-$(echo "$h" | cut -c21-32)"
}
rand_container_id() { rand_hex 64; }

# vigil_start OUT ERR ARGS...: start vigil, wait up to 60 s (TCG is slow) for
# its "vigil: tracing"/"vigil: running" line.  Sets VIGIL_PID.
vigil_start() {
	out=$1 err=$2
	shift 2
	vigil "$@" >"$out" 2>"$err" </dev/null &
	VIGIL_PID=$!
	VIGIL_PIDS="$VIGIL_PIDS $VIGIL_PID"
	i=0
	while [ $i -lt 600 ]; do
		grep -qE '^vigil: (tracing|running)' "$err" 2>/dev/null && {
			log "vigil $* attached (pid $VIGIL_PID)"
			return 0
		}
		kill -0 "$VIGIL_PID" 2>/dev/null || { cat "$err"; fail "vigil $* exited before attaching"; }
		sleep 0.1
		i=$((i + 1))
	done
	cat "$err"
	fail "vigil $* did not attach within 60 s"
}

# vigil_stop PID: SIGINT, wait; fails the case on a non-zero exit.
vigil_stop() {
	kill -INT "$1"
	wait "$1"
	rc=$?
	[ $rc -eq 0 ] || fail "vigil (pid $1) exited with $rc"
}

# vigil_state PID: what vigil is doing, for a case that timed out waiting.
vigil_state() {
	log "vigil $1: $(grep -E '^(State|VmRSS)' /proc/$1/status 2>/dev/null | tr '\n\t' '  ')" \
	    "utime=$(cut -d' ' -f14 /proc/$1/stat 2>/dev/null) syscall=$(cat /proc/$1/syscall 2>/dev/null | cut -d' ' -f1)"
}

# wait_for FILE STRING SECS: until FILE has a line containing STRING.  A
# fixed-string grep, not jq: every process spawned here is slow under TCG.
wait_for() {
	i=0
	while [ $i -lt $(($3 * 5)) ]; do
		grep -qF -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.2
		i=$((i + 1))
	done
	log "timed out after $3 s waiting for '$2' in $1 ($(wc -l < "$1") lines)"
	for p in $VIGIL_PIDS; do vigil_state "$p"; done
	return 1
}

# expect_jq FILE SELECT PREDICATE MESSAGE: the first event matching SELECT
# must satisfy PREDICATE.
expect_jq() {
	ev=$(jq -c "select($2)" "$1" | head -1)
	[ -n "$ev" ] || fail "$4: no event matches: $2"
	echo "$ev" | jq -e "$3" >/dev/null || {
		log "event: $ev"
		fail "$4: $3"
	}
	log "ok: $4"
}

# in_cgroup REL CMD...: run CMD inside /sys/fs/cgroup/REL (created if needed).
# (A local: callers keep their own $cg.)
in_cgroup() {
	local _cg=/sys/fs/cgroup/$1
	shift
	mkdir -p "$_cg"
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$_cg" "$@"
}

# wait_refused CG FILE ERRFILE: until running FILE in cgroup CG fails (the
# agent wrote the container's trust mode), 30 s at most; FILE's stderr goes
# to ERRFILE.  Sets TRIES to the failed attempts before the refusal.
wait_refused() {
	TRIES=0
	until ! in_cgroup "$1" "$2" true 2>"$3"; do
		TRIES=$((TRIES + 1))
		[ $TRIES -lt 60 ] || return 1
		sleep 0.5
	done
}
