# shellcheck shell=bash
#
# lib.sh - helpers shared by the host integration tests (tests/integration/
# test_*.sh).  A test sources this file first; sourcing it checks that the
# test can run here (root, runc, jq, busybox-static) and exits 77 (skip) with
# the reason if it cannot, makes a private temp dir, and installs an EXIT trap
# that tears down everything the test created.
#
# Everything a test creates is registered here so cleanup can find it:
# background processes (spawn, vigil_start), runc containers (run_container*,
# kept under a private `runc --root` so other users' containers are never
# touched) and the cgroup directories runc makes for them in every v1
# hierarchy and in cgroup2.  Cleanup only ever signals pids it started and
# that are still its own children, and only removes cgroup directories that
# did not exist before the test made them.
#
# Events come from other processes on the machine too, so tests must select
# their events by the pids, container ids or marker strings they created.
#
# Environment:
#   VIGIL=path      binary under test (default: build/vigil in this repo)
#   KEEP_TMP=1      keep the temp dir even when the test passes

set -u -o pipefail

T_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VIGIL=${VIGIL:-$T_ROOT/build/vigil}
T_HELPERS=$T_ROOT/build/test-helpers
T_NAME=$(basename "$0" .sh)
T_TMP=
T_RUNC_ROOT=
T_PIDS=()		# background processes started by this test
T_CONTAINERS=()		# runc container ids (private runc root)
T_CG_CREATED=()		# absolute cgroup dirs that did not exist before us
VIGIL_PID=
SPAWN_PID=

# ---------------------------------------------------------------- messages

log() { printf '[%s] %s\n' "$T_NAME" "$*" >&2; }

fail() {
	printf '[%s] FAIL: %s\n' "$T_NAME" "$*" >&2
	exit 1
}

# Cannot run here (not a failure of vigil): exit 77, loudly.
skip() {
	printf '[%s] SKIP: %s\n' "$T_NAME" "$*" >&2
	exit 77
}

# Print at most $2 (default 40) lines of a file, indented, to stderr.
dump_file() {
	local f=$1 max=${2:-40} n
	if [[ ! -s $f ]]; then
		printf '    (%s is empty)\n' "$f" >&2
		return
	fi
	n=$(wc -l <"$f")
	printf '    --- %s (%s lines%s) ---\n' "$f" "$n" \
		"$( ((n > max)) && printf ', last %s shown' "$max")" >&2
	tail -n "$max" "$f" | sed 's/^/    /' >&2
}

# ---------------------------------------------------------------- random ids

rand_hex() { od -An -N"$(($1 / 2))" -tx1 /dev/urandom | tr -d ' \n'; }

# Kubernetes pod UID, dashed form (8-4-4-4-12).
rand_pod_uid() {
	local h
	h=$(rand_hex 32)
	printf '%s-%s-%s-%s-%s\n' "${h:0:8}" "${h:8:4}" "${h:12:4}" "${h:16:4}" "${h:20:12}"
}

rand_container_id() { rand_hex 64; }

# ---------------------------------------------------------------- processes

# Our own child that is still alive?  Guards every signal cleanup sends, so
# a recycled pid can never make us signal someone else's process.
is_our_child() {
	local pid=$1 stat ppid
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	stat=${stat##*) }	# drop "pid (comm) ", comm may hold spaces
	ppid=$(awk '{print $2}' <<<"$stat")
	[[ $ppid == "$$" ]]
}

_forget_pid() {
	local p keep=()
	for p in "${T_PIDS[@]}"; do
		[[ $p == "$1" ]] || keep+=("$p")
	done
	T_PIDS=("${keep[@]}")
}

# spawn CMD ARGS...: start a background process; its pid is in SPAWN_PID.
# stdin is /dev/null; stdout/stderr are inherited unless the caller redirects
# them (e.g. `spawn sleep 60 >/dev/null`).
spawn() {
	"$@" </dev/null &
	SPAWN_PID=$!
	T_PIDS+=("$SPAWN_PID")
}

# reap PID: wait for a spawned process; returns its exit status.
reap() {
	local rc=0
	wait "$1" || rc=$?
	_forget_pid "$1"
	return "$rc"
}

# ---------------------------------------------------------------- vigil

# vigil_start OUTFILE ERRFILE ARGS...
# Start build/vigil ARGS in the background and wait (20 s) for its
# "vigil: tracing" / "vigil: running" line on stderr.  Sets VIGIL_PID.
vigil_start() {
	local out=$1 err=$2 rc deadline
	shift 2
	[[ -x $VIGIL ]] || fail "vigil binary not found at $VIGIL (run make)"
	# A non-interactive shell starts background jobs with SIGINT ignored;
	# give vigil the dispositions it would get from a terminal.
	env --default-signal "$VIGIL" "$@" >"$out" 2>"$err" </dev/null &
	VIGIL_PID=$!
	T_PIDS+=("$VIGIL_PID")
	deadline=$((SECONDS + 20))
	while :; do
		if grep -qE '^vigil: (tracing|running)' "$err" 2>/dev/null; then
			log "vigil $* attached (pid $VIGIL_PID)"
			return 0
		fi
		if ! kill -0 "$VIGIL_PID" 2>/dev/null; then
			rc=0
			wait "$VIGIL_PID" || rc=$?
			_forget_pid "$VIGIL_PID"
			log "vigil $* exited with status $rc before attaching"
			dump_file "$err"
			fail "vigil did not start"
		fi
		if ((SECONDS >= deadline)); then
			log "no 'vigil: tracing|running' line on stderr within 20 s: vigil $*"
			dump_file "$err"
			fail "vigil did not attach in time"
		fi
		sleep 0.1
	done
}

# vigil_stop [SIGNAL]: signal VIGIL_PID (default INT), wait up to 15 s for it
# to exit and return its exit status.  Fails the test if it hangs.
vigil_stop() {
	local sig=${1:-INT} pid=$VIGIL_PID rc=0 deadline
	[[ -n $pid ]] || fail "vigil_stop: no vigil running"
	kill -s "$sig" "$pid" 2>/dev/null
	deadline=$((SECONDS + 15))
	while kill -0 "$pid" 2>/dev/null; do
		# A zombie is done; wait will collect it.
		[[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]] && break
		if ((SECONDS >= deadline)); then
			kill -s KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			_forget_pid "$pid"
			fail "vigil (pid $pid) still running 15 s after SIG$sig; killed it"
		fi
		sleep 0.1
	done
	wait "$pid" || rc=$?
	_forget_pid "$pid"
	return "$rc"
}

# The "vigil trace: N events, M lost" summary numbers from a stderr file, as
# "N M"; returns 1 (and prints nothing) if there is no summary line.
vigil_summary() {
	local line
	line=$(grep -E '^vigil trace: [0-9]+ events, [0-9]+ lost' "$1" | tail -n 1)
	[[ -n $line ]] || return 1
	sed -E 's/^vigil trace: ([0-9]+) events, ([0-9]+) lost.*/\1 \2/' <<<"$line"
}

# ---------------------------------------------------------------- JSON events

# jq definitions every predicate may use:
#   common  - the fields every event carries, with the right types; time is
#             RFC 3339 UTC with nanoseconds and within 10 minutes of now
#   proc    - shape of a "process" object
#   ctr     - shape of a "container" object
# shellcheck disable=SC2016 # jq's $vars, not the shell's
T_JQ_DEFS='
def proc: type == "object"
	and (.pid | type == "number" and . > 0)
	and (.ppid | type == "number")
	and (.uid | type == "number")
	and (.comm | type == "string")
	and (.binary | type == "string")
	and (.args | type == "array" and all(.[]; type == "string"));
def ctr: type == "object"
	and (.id | type == "string")
	and (.runtime | IN("host","kubepods","docker","containerd","crio","podman","unknown"))
	and (.pod_uid | type == "string")
	and (.qos | type == "string")
	and (.cgroup | type == "string");
def common: (.time | type == "string"
		and test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}Z$")
		and ((sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) - now | fabs) < 600)
	and (.type | type == "string")
	and (.node | type == "string" and length > 0)
	and (.process | proc)
	and (.container | ctr);
def has_arg($s): (.process.args // []) | any(.[]; contains($s));
'

# jq_lines FILE PRED: the JSON lines of FILE for which PRED is true, compact.
# Lines that are not JSON are skipped (assert_json_lines catches them).
jq_lines() {
	jq -cR "$T_JQ_DEFS fromjson? | select($2)" "$1"
}

# count_jq FILE PRED: how many lines match.
count_jq() { jq_lines "$1" "$2" | wc -l; }

# Every non-empty line of FILE is a JSON object with a string "type".
assert_json_lines() {
	local bad
	bad=$(jq -R 'select(length > 0) | (try (fromjson | if type == "object" and (.type | type == "string") then empty else "not an event object" end) catch "not JSON") as $e | "\($e): \(.)"' "$1" | head -n 5)
	[[ -z $bad ]] || { printf '%s\n' "$bad" | sed 's/^/    /' >&2; fail "$1: lines that are not JSON event objects"; }
}

# assert_jq FILE PRED MESSAGE [CONTEXT_PRED]
# Passes if at least one JSON line of FILE satisfies PRED.  On failure prints
# MESSAGE and the lines matching CONTEXT_PRED (default: the last 20 lines).
assert_jq() {
	local file=$1 pred=$2 msg=$3 ctx=${4:-}
	if [[ -n $(jq_lines "$file" "$pred" | head -n 1) ]]; then
		return 0
	fi
	log "assertion failed: $msg"
	log "  no line of $file satisfies: $pred"
	if [[ -n $ctx ]]; then
		log "  lines matching $ctx:"
		jq_lines "$file" "$ctx" | head -n 20 | sed 's/^/    /' >&2
	else
		dump_file "$file" 20
	fi
	fail "$msg"
}

# assert_jq_none FILE PRED MESSAGE: no line satisfies PRED.
assert_jq_none() {
	local file=$1 pred=$2 msg=$3 hits
	hits=$(jq_lines "$file" "$pred" | head -n 10)
	[[ -z $hits ]] && return 0
	log "assertion failed: $msg"
	log "  lines of $file satisfying $pred:"
	printf '%s\n' "$hits" | sed 's/^/    /' >&2
	fail "$msg"
}

# assert_event EVENT_JSON PRED MESSAGE: one event (a JSON string) satisfies PRED.
assert_event() {
	local ev=$1 pred=$2 msg=$3 ok
	ok=$(jq -r "$T_JQ_DEFS ($pred) == true" <<<"$ev" 2>&1)
	[[ $ok == true ]] && return 0
	log "assertion failed: $msg"
	log "  predicate: $pred"
	[[ $ok == false ]] || log "  jq: $ok"
	log "  event: $ev"
	fail "$msg"
}

# wait_jq FILE PRED TIMEOUT_S: poll until a line satisfies PRED.  Returns 1
# on timeout without failing (output may only be flushed at exit; the
# assertions after vigil_stop decide).
wait_jq() {
	local deadline=$((SECONDS + $3))
	while ((SECONDS < deadline)); do
		[[ -n $(jq_lines "$1" "$2" | head -n 1) ]] && return 0
		sleep 0.2
	done
	return 1
}

assert_eq() {
	[[ $1 == "$2" ]] || fail "$3: got '$1', expected '$2'"
}

# assert_grep FILE ERE MESSAGE
assert_grep() {
	grep -qE -- "$2" "$1" && return 0
	log "assertion failed: $3 (no line of $1 matches /$2/)"
	dump_file "$1" 20
	fail "$3"
}

# ---------------------------------------------------------------- helpers (C)

# need_helper NAME: build build/test-helpers/NAME from tests/integration/NAME.c
# if missing or stale; prints the binary's path.
need_helper() {
	local name=$1 src=$T_ROOT/tests/integration/$1.c bin=$T_HELPERS/$1
	if [[ ! -x $bin || $src -nt $bin ]]; then
		mkdir -p "$T_HELPERS" || fail "cannot create $T_HELPERS"
		cc -O2 -Wall -Wextra -o "$bin.tmp.$$" "$src" ||
			fail "cannot build helper $name from $src"
		mv -f "$bin.tmp.$$" "$bin"
	fi
	printf '%s\n' "$bin"
}

# need_workload NAME: build tests/workloads/NAME.c (the leak evaluation
# programs) with frame pointers and debug info; print the binary's path.
need_workload() {
	local name=$1 src=$T_ROOT/tests/workloads/$1.c bin=$T_HELPERS/workloads/$1
	if [[ ! -x $bin || $src -nt $bin || $T_ROOT/tests/workloads/workload.h -nt $bin ]]; then
		mkdir -p "$T_HELPERS/workloads" || fail "cannot create $T_HELPERS/workloads"
		cc -O1 -g -fno-omit-frame-pointer -Wall -Wextra -o "$bin.tmp.$$" "$src" ||
			fail "cannot build workload $name from $src"
		mv -f "$bin.tmp.$$" "$bin"
	fi
	printf '%s\n' "$bin"
}

# ---------------------------------------------------------------- cgroups

# Mount points of every cgroup hierarchy (each v1 controller mount and cgroup2).
cgroup_mounts() {
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break
	       if ($(i+1) == "cgroup" || $(i+1) == "cgroup2") print $5 }' /proc/self/mountinfo
}

# Remember which directories of cgroup path $1 (and its ancestors) do not
# exist yet in any hierarchy, so cleanup removes exactly those.
_note_cgroup_dirs() {
	local cg=${1#/} m p acc
	for m in $(cgroup_mounts); do
		acc=$m
		IFS=/ read -ra parts <<<"$cg"
		for p in "${parts[@]}"; do
			acc=$acc/$p
			[[ -d $acc ]] || T_CG_CREATED+=("$acc")
		done
	done
}

# kubepods_cgroup UID ID QOS: the cgroupfs-driver path the kubelet uses.
kubepods_cgroup() {
	if [[ $3 == guaranteed ]]; then
		printf '/kubepods/pod%s/%s\n' "$1" "$2"
	else
		printf '/kubepods/%s/pod%s/%s\n' "$3" "$1" "$2"
	fi
}

# ---------------------------------------------------------------- containers

t_runc() { runc --root "$T_RUNC_ROOT" "$@"; }

# make_rootfs DIR: busybox-static rootfs with an applet symlink per command.
make_rootfs() {
	local dir=$1 a
	mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,proc,dev,sys,tmp,etc,root} || return 1
	cp /bin/busybox "$dir/bin/busybox" || return 1
	for a in $(/bin/busybox --list); do
		[[ $a == busybox || -e $dir/bin/$a ]] || ln -s busybox "$dir/bin/$a"
	done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/etc/passwd"
	echo 'root:x:0:' >"$dir/etc/group"
	chmod 1777 "$dir/tmp"
}

# make_bundle [--host-pid] DIR ID CGROUPS_PATH ARGS...
# An OCI bundle in DIR running ARGS, with its own rootfs, no terminal, a
# writable root, the given cgroupsPath and (with --host-pid) the host's pid
# namespace.  The container id is kept in DIR/id.
make_bundle() {
	local hostpid=false
	if [[ $1 == --host-pid ]]; then
		hostpid=true
		shift
	fi
	local dir=$1 id=$2 cg=$3 args a
	shift 3
	mkdir -p "$dir" || fail "mkdir $dir"
	make_rootfs "$dir/rootfs" || fail "cannot make rootfs in $dir"
	rm -f "$dir/config.json"
	runc spec --bundle "$dir" || fail "runc spec failed"
	# One --arg per word: jq 1.6 would take a "-c" among --args as its own
	# option, and -R stops at NUL bytes.
	args='[]'
	for a in "$@"; do
		args=$(jq -c --arg a "$a" '. + [$a]' <<<"$args") || fail "jq: bad argument '$a'"
	done
	jq --argjson args "$args" --arg cg "$cg" --argjson hostpid "$hostpid" '
		.process.args = $args
		| .process.terminal = false
		| .root.readonly = false
		| .hostname = "vigil-it"
		| .linux.cgroupsPath = $cg
		| if $hostpid then .linux.namespaces |= map(select(.type != "pid")) else . end
	' "$dir/config.json" >"$dir/config.json.new" || fail "jq on $dir/config.json failed"
	mv "$dir/config.json.new" "$dir/config.json"
	printf '%s\n' "$id" >"$dir/id"
}

# Register a bundle's container id and cgroup dirs for cleanup, before
# runc creates them.
_register_container() {
	local dir=$1
	CONTAINER_ID=$(cat "$dir/id")
	T_CONTAINERS+=("$CONTAINER_ID")
	_note_cgroup_dirs "$(jq -r '.linux.cgroupsPath' "$dir/config.json")"
}

# run_container DIR: start the bundle detached (`runc run -d`); the
# container's stdout+stderr go to DIR/out.log.  Sets CONTAINER_PID to the
# host pid of its init process.
run_container() {
	local dir=$1 id
	_register_container "$dir"
	id=$CONTAINER_ID
	if ! t_runc run -d --bundle "$dir" --pid-file "$dir/pid" "$id" \
		</dev/null >"$dir/out.log" 2>&1; then
		dump_file "$dir/out.log"
		fail "runc run -d $id failed"
	fi
	CONTAINER_PID=$(cat "$dir/pid")
	[[ $CONTAINER_PID =~ ^[0-9]+$ ]] || fail "no pid file from runc for $id"
	log "container ${id:0:12} running, host pid $CONTAINER_PID"
}

# run_container_fg DIR: run the bundle in the foreground until its process
# exits (runc removes the container afterwards); returns its exit status.
# Output goes to DIR/out.log.
run_container_fg() {
	local dir=$1 rc=0
	_register_container "$dir"
	t_runc run --bundle "$dir" "$CONTAINER_ID" </dev/null >"$dir/out.log" 2>&1 || rc=$?
	return "$rc"
}

# container_exec ID ARGS...: run ARGS inside a running container.
container_exec() {
	local id=$1
	shift
	t_runc exec "$id" "$@" </dev/null
}

# ---------------------------------------------------------------- lifecycle

cleanup() {
	local rc=$? p id d
	trap - EXIT INT TERM
	set +e
	# Commands a test registered to undo what cleanup cannot know about.
	for c in "${T_ON_EXIT[@]}"; do
		eval "$c"
	done
	for p in "${T_PIDS[@]}"; do
		if is_our_child "$p"; then
			kill -s TERM "$p" 2>/dev/null
		fi
	done
	for p in "${T_PIDS[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			is_our_child "$p" || break
			[[ $(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) == Z ]] && break
			sleep 0.1
		done
		is_our_child "$p" && kill -s KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [[ -n $T_RUNC_ROOT ]]; then
		for id in "${T_CONTAINERS[@]}"; do
			if t_runc state "$id" >/dev/null 2>&1; then
				t_runc delete -f "$id" >/dev/null 2>&1 ||
					log "cleanup: runc delete -f $id failed"
			fi
		done
	fi
	# Deepest first; rmdir only succeeds on empty cgroups, which is the
	# point: /kubepods and its QoS dirs may meanwhile hold other users' pods.
	# A parent's rmdir can briefly fail with EBUSY while its just-removed
	# child is still going offline, so our own pod/container dirs get retries.
	if ((${#T_CG_CREATED[@]})); then
		while read -r d; do
			[[ -d $d ]] || continue
			if [[ ${d##*/} == pod* || ${d##*/} =~ ^[0-9a-f]{64}$ ]]; then
				for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
					rmdir "$d" 2>/dev/null && break
					sleep 0.1
				done
				[[ -d $d ]] && log "cleanup: could not remove cgroup $d"
			else
				rmdir "$d" 2>/dev/null || sleep 0.2
				rmdir "$d" 2>/dev/null
			fi
		done < <(printf '%s\n' "${T_CG_CREATED[@]}" | sort -u | awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2-)
	fi
	if [[ -n $T_TMP && -d $T_TMP ]]; then
		if [[ $rc -ne 0 && $rc -ne 77 ]] || [[ ${KEEP_TMP:-0} == 1 ]]; then
			log "kept $T_TMP for inspection"
		else
			rm -rf "$T_TMP"
		fi
	fi
	exit "$rc"
}

t_require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c is not installed (make deps)"
	done
}

t_init() {
	[[ $(id -u) == 0 ]] || skip "needs root (real BPF programs and runc containers)"
	t_require_cmd runc jq cc od awk
	/bin/busybox --list >/dev/null 2>&1 ||
		skip "/bin/busybox (busybox-static) is missing (make deps)"
	[[ -d /sys/fs/cgroup ]] || skip "no /sys/fs/cgroup"
	T_TMP=$(mktemp -d "/tmp/vigil-it.$T_NAME.XXXXXX") || fail "mktemp failed"
	T_RUNC_ROOT=$T_TMP/runc
	T_ON_EXIT=()
	mkdir -p "$T_RUNC_ROOT"
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	T_MARK=vigil-it-$(rand_hex 12)
	log "temp dir $T_TMP, marker $T_MARK"
}

t_init

# ---------------------------------------------------------------- shared by the metrics tests

# free_port [EXCLUDE...]: a TCP port nothing listens on, below the ephemeral
# range so no outgoing connection takes it between this check and the bind.
free_port() {
	local p
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 12000))
		[[ " $* " == *" $p "* ]] && continue
		[[ -z $(ss -Htan "sport = :$p" 2>/dev/null) ]] && { echo "$p"; return 0; }
	done
	fail "no free TCP port found between 20000 and 32000"
}

# attribution_hierarchy: sets hier/cgroot to the hierarchy vigil attributes
# from: the v1 memory hierarchy if there is one (hybrid hosts), else cgroup2.
attribution_hierarchy() {
	local mnt fstype opts
	hier='' cgroot=''
	while read -r mnt fstype opts; do
		if [[ $fstype == cgroup && ,$opts, == *,memory,* ]]; then
			hier=memory cgroot=$mnt
			return 0
		fi
		[[ $fstype == cgroup2 && -z $cgroot ]] && hier=v2 cgroot=$mnt
	done < <(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break; print $5, $(i+1), $(i+3) }' /proc/self/mountinfo)
	return 0
}

# memory_hierarchy: sets memroot/memv to the memory controller's hierarchy
# (the v1 memory mount, memv=1, else cgroup2, memv=2); skips the test if
# there is none, or if cgroup2 does not delegate memory to children.
memory_hierarchy() {
	local mnt fstype opts
	memroot='' memv=''
	while read -r mnt fstype opts; do
		if [[ $fstype == cgroup && ,$opts, == *,memory,* ]]; then
			memroot=$mnt memv=1
			break
		fi
		[[ $fstype == cgroup2 && -z $memroot ]] && memroot=$mnt memv=2
	done < <(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break; print $5, $(i+1), $(i+3) }' /proc/self/mountinfo)
	[[ -n $memroot ]] || skip "no memory cgroup hierarchy mounted"
	if [[ $memv == 2 ]] && ! grep -qw memory "$memroot/cgroup.subtree_control" 2>/dev/null; then
		skip "cgroup2 at $memroot does not delegate the memory controller to children"
	fi
	return 0
}

# scrape FILE: GET /metrics from the agent on 127.0.0.1:$port into FILE.
scrape() {
	curl -fsS --max-time 5 -o "$1" "http://127.0.0.1:$port/metrics" 2>"$T_TMP/curl.err" ||
		{ dump_file "$T_TMP/curl.err"; fail "cannot GET /metrics from 127.0.0.1:$port"; }
}

# mkcg PATH: make a cgroup (relative path) and its missing parents in
# $cgroot only (see attribution_hierarchy), each registered for cleanup before it is made.
mkcg() {
	local acc=$cgroot p
	IFS=/ read -ra parts <<<"${1#/}"
	for p in "${parts[@]}"; do
		acc=$acc/$p
		[[ -d $acc ]] && continue
		T_CG_CREATED+=("$acc")
		mkdir "$acc" || fail "cannot create cgroup $acc"
	done
}
