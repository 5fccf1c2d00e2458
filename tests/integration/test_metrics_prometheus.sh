#!/usr/bin/env bash
#
# A real Prometheus server scrapes `vigil run --metrics-addr`: the target is
# up with no scrape error, and vigil_events_total{type="exec"} as stored by
# Prometheus rises by at least the number of execs this test made between a
# sample taken before the burst and one after it.  A live scrape passes
# `promtool check metrics` (parses, no lint problems) and carries the
# text-format 0.0.4 Content-Type.
#
# The Prometheus server is the `prometheus` binary started by this test on
# loopback with its own config and storage in the test's temp dir (never
# the Debian package's service); cleanup stops it and vigil.
set -u -o pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

for c in prometheus promtool curl; do
	command -v "$c" >/dev/null 2>&1 ||
		skip "$c is not installed: this test needs the Debian packages 'prometheus' and 'curl' (make deps)"
done
"$VIGIL" run --help 2>/dev/null | grep -q -- '--metrics-addr' ||
	fail "$VIGIL run has no --metrics-addr option"

N=200		# execs in the burst
forkexec=$(need_helper forkexec)


vport=$(free_port)
pport=$(free_port "$vport")
prom=http://127.0.0.1:$pport

# prom_value QUERY: the value of the single series QUERY returns; empty if
# there is no such series yet.  Fails if the answer is not a success.
prom_value() {
	local r
	r=$(curl -fsS --max-time 5 "$prom/api/v1/query" --data-urlencode "query=$1" 2>&1) ||
		{ log "Prometheus query '$1' failed: $r"; return 1; }
	jq -er 'if .status != "success" then error("status \(.status): \(.error)")
		elif (.data.result | length) > 1 then error("\(.data.result | length) series")
		else (.data.result[0].value[1] // "") end' <<<"$r" 2>&1 ||
		{ log "Prometheus query '$1': unexpected answer: $r"; return 1; }
}

targets() { curl -fsS --max-time 5 "$prom/api/v1/targets" 2>/dev/null | jq -c '.data.activeTargets[]? | {health, lastError, scrapeUrl}'; }

# --- vigil
vigil_start "$T_TMP/vigil.out" "$T_TMP/vigil.err" run --metrics-addr "127.0.0.1:$vport" --output /dev/null

# --- a live scrape: status, Content-Type, promtool
code=$(curl -sS --max-time 5 -D "$T_TMP/headers" -o "$T_TMP/scrape.txt" -w '%{http_code}' \
	"http://127.0.0.1:$vport/metrics") || { dump_file "$T_TMP/vigil.err"; fail "cannot GET /metrics from vigil on 127.0.0.1:$vport"; }
[[ $code == 200 ]] || { dump_file "$T_TMP/scrape.txt"; fail "GET /metrics: HTTP $code, expected 200"; }
ctype=$(grep -i '^content-type:' "$T_TMP/headers" | head -n 1 | sed 's/^[^:]*:[[:space:]]*//' | tr -d '\r')
assert_eq "$ctype" "text/plain; version=0.0.4; charset=utf-8" "Content-Type of /metrics"
rc=0
promtool check metrics <"$T_TMP/scrape.txt" >"$T_TMP/promtool.out" 2>&1 || rc=$?
if ((rc != 0)) || [[ -s $T_TMP/promtool.out ]]; then
	dump_file "$T_TMP/promtool.out"
	dump_file "$T_TMP/scrape.txt" 60
	fail "promtool check metrics found problems in a live scrape (exit $rc)"
fi
log "promtool check metrics: no problems in a $(wc -c <"$T_TMP/scrape.txt")-byte scrape"

# --- Prometheus, scraping vigil every second
mkdir -p "$T_TMP/tsdb"
cat >"$T_TMP/prometheus.yml" <<EOF
# vigil integration test ($T_MARK): scrape one vigil on loopback.
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: vigil
    static_configs:
      - targets: ['127.0.0.1:$vport']
EOF
promtool check config "$T_TMP/prometheus.yml" >"$T_TMP/promtool-config.out" 2>&1 ||
	{ dump_file "$T_TMP/promtool-config.out"; fail "the test's own Prometheus config is invalid"; }
spawn prometheus --config.file="$T_TMP/prometheus.yml" --storage.tsdb.path="$T_TMP/tsdb" \
	--web.listen-address="127.0.0.1:$pport" --log.level=warn >"$T_TMP/prometheus.log" 2>&1
prom_pid=$SPAWN_PID
log "prometheus (pid $prom_pid) on 127.0.0.1:$pport, scraping vigil on 127.0.0.1:$vport"

deadline=$((SECONDS + 30))
until [[ $(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "$prom/-/ready") == 200 ]]; do
	is_our_child "$prom_pid" || { dump_file "$T_TMP/prometheus.log"; fail "prometheus exited during start-up"; }
	((SECONDS < deadline)) || { dump_file "$T_TMP/prometheus.log"; fail "prometheus not ready within 30 s"; }
	sleep 0.2
done

deadline=$((SECONDS + 30))
until [[ $(prom_value 'up{job="vigil"}') == 1 ]]; do
	if ((SECONDS >= deadline)); then
		log "targets: $(targets)"
		dump_file "$T_TMP/prometheus.log"
		fail "up{job=\"vigil\"} did not become 1 within 30 s"
	fi
	sleep 0.5
done
log "Prometheus sees the vigil target up"

q_exec='vigil_events_total{job="vigil",type="exec"}'
deadline=$((SECONDS + 15))
until before=$(prom_value "$q_exec") && [[ -n $before ]]; do
	((SECONDS < deadline)) || { log "targets: $(targets)"; fail "Prometheus has no $q_exec series 15 s after the target came up"; }
	sleep 0.5
done

# --- the burst: N execs, all after the sample in $before was scraped
"$forkexec" "$N" >"$T_TMP/forkexec.out" || { dump_file "$T_TMP/forkexec.out"; fail "forkexec $N failed"; }
log "$N execs done; $q_exec was $before before the burst"

deadline=$((SECONDS + 20))
while :; do
	after=$(prom_value "$q_exec") || after=
	[[ -n $after ]] && awk -v a="$after" -v b="$before" -v n="$N" 'BEGIN { exit !(a - b >= n) }' && break
	if ((SECONDS >= deadline)); then
		curl -s --max-time 5 "http://127.0.0.1:$vport/metrics" | grep '^vigil_events_total' | sed 's/^/    vigil now: /' >&2
		log "targets: $(targets)"
		fail "$q_exec in Prometheus went from $before to ${after:-nothing}, not up by >= $N within 20 s of $N execs"
	fi
	sleep 0.5
done
log "$q_exec went from $before to $after (+$(awk -v a="$after" -v b="$before" 'BEGIN { print a - b }'), >= $N)"

# --- the target is healthy and its samples are what vigil serves
t=$(targets)
log "target: $t"
jq -e 'select(.scrapeUrl | contains(":'"$vport"'/")) | .health == "up" and .lastError == ""' <<<"$t" >/dev/null ||
	fail "the vigil target is not healthy in Prometheus: $t"
v=$(prom_value 'vigil_build_info{job="vigil"}') || fail "cannot query vigil_build_info"
assert_eq "$v" 1 "vigil_build_info as scraped by Prometheus"
v=$(prom_value 'scrape_samples_scraped{job="vigil"}') || fail "cannot query scrape_samples_scraped"
awk -v v="$v" 'BEGIN { exit !(v > 20) }' || fail "Prometheus scraped only ${v:-no} samples from vigil"

rc=0
vigil_stop INT || rc=$?
[[ $rc == 0 ]] || { dump_file "$T_TMP/vigil.err"; fail "vigil run exited $rc after SIGINT"; }
log "ok"
