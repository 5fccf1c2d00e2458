#!/usr/bin/env bash
#
# vigil run's HTTP endpoints and the inputs around them:
#   - /healthz answers 200 "ok", /readyz 200 once running, other paths 404;
#   - clients that connect and never read (pipelined /metrics requests into
#     a minimal receive buffer) or never finish a request do not stall the
#     agent: while they hang on, a marker exec every 100 ms for 5 s all reach
#     the --output file promptly, and /healthz keeps answering another
#     client; afterwards the agent still serves and stops cleanly;
#   - --metrics-addr off serves nothing; without the flag vigil listens on
#     127.0.0.1:9867 (checked only when that port is free); the config key
#     metrics_addr works, and a bad one names FILE:LINE:COL;
#   - a malformed --metrics-addr exits 2 naming the address, a port already
#     in use exits 1 saying so, and an --output path that cannot be opened
#     exits 1 at start-up naming the path.
set -u -o pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null 2>&1 || skip "curl is not installed: this test needs the Debian package 'curl' (make deps)"
t_require_cmd ss
"$VIGIL" run --help 2>/dev/null | grep -q -- '--metrics-addr' ||
	fail "$VIGIL run has no --metrics-addr option"
stall=$(need_helper httpstall)


# get URL BODYFILE: prints "HTTP_CODE SECONDS"; status 1 if no answer in 3 s.
get() { curl -sS --max-time 3 -o "$2" -w '%{http_code} %{time_total}' "$1" 2>>"$T_TMP/curl.err"; }

# TCP ports a pid listens on, one per line.
listen_ports() {
	ss -Htlnp 2>/dev/null | awk -v pid="pid=$1," 'index($0, pid) { n = split($4, a, ":"); print a[n] }' | sort -u
}

# v OUT ERR ARGS...: vigil with a 20 s limit; returns its exit status.
v() {
	local out=$1 err=$2 rc=0
	shift 2
	timeout -k 5 20 "$VIGIL" "$@" >"$out" 2>"$err" </dev/null || rc=$?
	((rc == 124 || rc == 137)) && { dump_file "$err"; fail "vigil $* was still running after 20 s (expected it to refuse to start)"; }
	return "$rc"
}

deferred=()	# failures reported at the end, after the checks that do not depend on them
port=$(free_port)
base=http://127.0.0.1:$port
out=$T_TMP/events.json

# ---------------------------------------------------------------- endpoints
vigil_start "$out" "$T_TMP/vigil.err" run --metrics-addr "127.0.0.1:$port" --output "$out"
agent=$VIGIL_PID

r=$(get "$base/healthz" "$T_TMP/body") || fail "no answer from GET /healthz on 127.0.0.1:$port"
assert_eq "${r%% *}" 200 "GET /healthz status"
assert_eq "$(tr -d '\r\n' <"$T_TMP/body")" ok "GET /healthz body"
r=$(get "$base/readyz" "$T_TMP/body") || fail "no answer from GET /readyz"
assert_eq "${r%% *}" 200 "GET /readyz status after 'vigil: running'"
for path in /nope /metrics/extra /healthzz /; do
	r=$(get "$base$path" "$T_TMP/body") || fail "no answer from GET $path"
	assert_eq "${r%% *}" 404 "GET $path status"
done
r=$(get "$base/metrics" "$T_TMP/body") || fail "no answer from GET /metrics"
assert_eq "${r%% *}" 200 "GET /metrics status"
log "endpoints: /healthz and /readyz 200, unknown paths 404, /metrics 200"

# ---------------------------------------------------------------- clients that never read
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
rss0=$(rss_kib "$agent")
rss_max=$rss0
stallers=()
for i in 1 2 3 4; do
	spawn "$stall" stall 127.0.0.1 "$port" /metrics >"$T_TMP/stall$i.out" 2>&1
	stallers+=("$SPAWN_PID")
done
spawn "$stall" partial 127.0.0.1 "$port" >"$T_TMP/partial.out" 2>&1
stallers+=("$SPAWN_PID")
stall_start=$SECONDS
sleep 0.5
# Each staller is still sending (or blocked) and not yet dropped?
connected=$(ss -Htn state established "( sport = :$port )" 2>/dev/null | wc -l)
log "$connected client connections to the agent as the markers start"

# Markers every 100 ms for 5 s while the clients hang on, and /healthz from
# another client meanwhile; the agent's RSS is sampled as it goes.
nmark=50
slow=()
for ((i = 1; i <= nmark; i++)); do
	/bin/true "$T_MARK-m$i" || fail "/bin/true failed"
	if ((i % 10 == 0)); then
		r=$(get "$base/healthz" "$T_TMP/body") || fail "/healthz did not answer within 3 s while clients stalled (marker $i)"
		[[ ${r%% *} == 200 ]] || { dump_file "$T_TMP/body"; fail "/healthz answered ${r%% *} while clients stalled"; }
		awk -v t="${r#* }" 'BEGIN { exit !(t > 1) }' && slow+=("${r#* }s")
		log "/healthz during the stall: 200 in ${r#* } s"
	fi
	r=$(rss_kib "$agent") && ((r > rss_max)) && rss_max=$r
	sleep 0.1
done
((${#slow[@]} == 0)) || fail "/healthz took more than 1 s while clients stalled: ${slow[*]}"
kill -0 "$agent" 2>/dev/null || { dump_file "$T_TMP/vigil.err"; fail "vigil died while clients stalled"; }

# All markers in the output file, promptly (the agent drains every 100 ms).
deadline=$((SECONDS + 5))
while :; do
	# Exact "MARK-mN" args: the jq below carries MARK-m in its own argv.
	seen=$(jq -rR --arg m "$T_MARK-m" 'fromjson? | select(.type == "exec") | .process.args[]? | select(startswith($m) and (.[($m | length):] | test("^[0-9]+$")))' "$out" | sort -u | wc -l)
	((seen == nmark)) && break
	if ((SECONDS >= deadline)); then
		dump_file "$T_TMP/vigil.err"
		fail "only $seen of $nmark marker execs reached $out within 5 s of the last one while clients stalled"
	fi
	sleep 0.2
done
log "all $nmark marker execs were written while 4 non-reading and 1 half-request clients hung on"

# What became of the non-readers: blocked (the agent stopped reading them),
# dropped by the agent, or still being read after 20 s.
deadline=$((stall_start + 25))
for i in 1 2 3 4; do
	until [[ -s $T_TMP/stall$i.out ]]; do
		((SECONDS < deadline)) || fail "stalled client $i reported nothing within 25 s"
		sleep 0.1
	done
	log "stalled client $i: $(cat "$T_TMP/stall$i.out") (blocked = the agent stopped reading it; closed = it dropped it)"
done
[[ -s $T_TMP/partial.out ]] || fail "the partial-request client never connected"

# Memory: what the agent holds for clients that never read must be bounded
# (a fixed buffer per connection), not grow with what they send.
growth=$(((rss_max - rss0) / 1024))
log "agent RSS ${rss0} KiB before the non-readers, peak $rss_max KiB while they hung on (+$growth MiB)"
# Reported at the end, so one run also checks everything below.
((growth < 32)) ||
	deferred+=("the agent's RSS grew by $growth MiB (from $((rss0 / 1024)) MiB) in the ~5 s that 4 clients sent pipelined requests and read nothing: it buffers what a client sends without a bound")

for p in "${stallers[@]}"; do
	kill -s TERM "$p" 2>/dev/null
	reap "$p" >/dev/null 2>&1
done
r=$(get "$base/healthz" "$T_TMP/body") || fail "no answer from /healthz after the stalled clients left"
assert_eq "${r%% *}" 200 "GET /healthz after the stalled clients left"
r=$(get "$base/metrics" "$T_TMP/body") || fail "no answer from /metrics after the stalled clients left"
assert_eq "${r%% *}" 200 "GET /metrics after the stalled clients left"
rc=0
vigil_stop INT || rc=$?
[[ $rc == 0 ]] || { dump_file "$T_TMP/vigil.err"; fail "vigil run exited $rc after SIGINT"; }
assert_json_lines "$out"

# ---------------------------------------------------------------- off, default, config key
vigil_start "$T_TMP/off.out" "$T_TMP/off.err" run --metrics-addr off --output /dev/null
ports=$(listen_ports "$VIGIL_PID")
[[ -z $ports ]] || fail "vigil run --metrics-addr off listens on TCP port(s): $ports"
rc=0
vigil_stop INT || rc=$?
[[ $rc == 0 ]] || { dump_file "$T_TMP/off.err"; fail "vigil run --metrics-addr off exited $rc after SIGINT"; }
log "--metrics-addr off: no listening socket"

if [[ -z $(ss -Htln "sport = :9867" 2>/dev/null) ]]; then
	vigil_start "$T_TMP/def.out" "$T_TMP/def.err" run --output /dev/null
	ports=$(listen_ports "$VIGIL_PID")
	r=$(get "http://127.0.0.1:9867/healthz" "$T_TMP/body") || r="none"
	rc=0
	vigil_stop INT || rc=$?
	[[ $rc == 0 ]] || fail "vigil run (default address) exited $rc after SIGINT"
	[[ ${r%% *} == 200 ]] || fail "vigil run without --metrics-addr: GET 127.0.0.1:9867/healthz gave '$r' (listening on: ${ports:-nothing})"
	log "default address: 127.0.0.1:9867 answers"
else
	log "port 9867 is in use on this machine; default-address check not run"
fi

cport=$(free_port "$port")
cat >"$T_TMP/metrics.yaml" <<EOF
# vigil integration test: metrics address from the config file
metrics_addr: "127.0.0.1:$cport"
EOF
vigil_start "$T_TMP/cfg.out" "$T_TMP/cfg.err" run --config "$T_TMP/metrics.yaml" --output /dev/null
r=$(get "http://127.0.0.1:$cport/healthz" "$T_TMP/body") || r=none
rc=0
vigil_stop INT || rc=$?
[[ ${r%% *} == 200 ]] || { dump_file "$T_TMP/cfg.err"; fail "config metrics_addr: 127.0.0.1:$cport: GET /healthz gave '$r'"; }
log "config key metrics_addr: served on 127.0.0.1:$cport"

cat >"$T_TMP/badaddr.yaml" <<'EOF'
# vigil integration test: line 3 holds a malformed metrics address
node_name: it-node
metrics_addr: "abc:xyz"
EOF
rc=0
v "$T_TMP/o" "$T_TMP/e" run --config "$T_TMP/badaddr.yaml" --output /dev/null || rc=$?
[[ $rc == 1 ]] || { dump_file "$T_TMP/e"; fail "config metrics_addr: \"abc:xyz\": exit $rc, expected 1 (a config error)"; }
grep -qE "^$T_TMP/badaddr.yaml:3:[0-9]+: " "$T_TMP/e" ||
	{ dump_file "$T_TMP/e"; fail "config error for metrics_addr does not name $T_TMP/badaddr.yaml:3:COL"; }
log "bad config metrics_addr: $(head -n 1 "$T_TMP/e")"

# ---------------------------------------------------------------- bad input
for addr in 127.0.0.1 abc:xyz 1.2.3.4:99999 127.0.0.1: :0 "127.0.0.1:-1" "localhost:80x" "[::1:9867"; do
	rc=0
	v "$T_TMP/o" "$T_TMP/e" run --metrics-addr "$addr" --output /dev/null || rc=$?
	[[ $rc == 2 ]] || { dump_file "$T_TMP/e"; fail "--metrics-addr '$addr': exit $rc, expected 2 (usage error)"; }
	grep -qF -- "$addr" "$T_TMP/e" || { dump_file "$T_TMP/e"; fail "--metrics-addr '$addr': the error does not name the address"; }
	grep -q '^vigil: running' "$T_TMP/e" && fail "--metrics-addr '$addr': vigil started running before rejecting it"
done
log "malformed --metrics-addr: exit 2, e.g. $(head -n 1 "$T_TMP/e")"

spawn "$stall" listen 127.0.0.1 >"$T_TMP/listen.out" 2>&1
listener=$SPAWN_PID
deadline=$((SECONDS + 5))
until grep -q '^port ' "$T_TMP/listen.out"; do
	((SECONDS < deadline)) || { dump_file "$T_TMP/listen.out"; fail "the listening helper did not report its port"; }
	sleep 0.1
done
busy=$(awk '/^port / {print $2}' "$T_TMP/listen.out")
rc=0
v "$T_TMP/o" "$T_TMP/e" run --metrics-addr "127.0.0.1:$busy" --output /dev/null || rc=$?
[[ $rc == 1 ]] || { dump_file "$T_TMP/e"; fail "--metrics-addr on a port in use: exit $rc, expected 1"; }
grep -qF "127.0.0.1:$busy" "$T_TMP/e" || { dump_file "$T_TMP/e"; fail "port in use: the error does not name 127.0.0.1:$busy"; }
grep -qiE 'in use|EADDRINUSE' "$T_TMP/e" || { dump_file "$T_TMP/e"; fail "port in use: the error does not say the address is in use"; }
log "port in use: exit 1: $(grep -F "127.0.0.1:$busy" "$T_TMP/e" | head -n 1)"
kill -s TERM "$listener" 2>/dev/null
reap "$listener" >/dev/null 2>&1

: >"$T_TMP/a-file"
for path in /proc/vigil-nope/x "$T_TMP/a-file/x" "$T_TMP/no-such-dir/x"; do
	rc=0
	v "$T_TMP/o" "$T_TMP/e" run --metrics-addr off --output "$path" || rc=$?
	[[ $rc == 1 ]] || { dump_file "$T_TMP/e"; fail "--output $path: exit $rc, expected 1"; }
	grep -qF -- "$path" "$T_TMP/e" || { dump_file "$T_TMP/e"; fail "--output $path: the error does not name the path"; }
	grep -q '^vigil: running' "$T_TMP/e" && log "note: --output $path: vigil printed 'running' before failing"
done
log "unwritable --output: exit 1, e.g. $(head -n 1 "$T_TMP/e")"

((${#deferred[@]} == 0)) || fail "${deferred[*]}"
log "ok"
