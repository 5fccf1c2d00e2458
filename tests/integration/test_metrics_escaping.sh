#!/usr/bin/env bash
#
# Per-container label values come from cgroup paths, which may hold any
# byte but '/' and NUL.  With two Kubernetes-looking containers whose cgroup
# paths hold a double quote, a backslash and a 0xff byte:
#   A: /kubepods/burstable/pod<uid>/<id>/<child with those bytes>, the
#      process in the child;
#   B: /<dir with those bytes>/kubepods/burstable/pod<uid>/<id>;
# and processes in them exec a binary whose name (so comm) also holds a
# newline, /metrics still passes `promtool check metrics`, is valid UTF-8,
# and has vigil_container_events_total series for both containers whose
# cgroup label is the path escaped per the text format (\" and \\) with
# 0xff as U+FFFD.  The JSON lines of the same execs carry the same path and
# the comm, newline included, as proper JSON strings.
#
# The kernel refuses '\n' in cgroup names (cgroup_mkdir: EINVAL), so label
# newline escaping cannot be reached from a live cgroup; the unit tests of
# the exporter cover it.
#
# The cgroups are made in the hierarchy vigil is told to attribute from
# (the v1 memory controller on hybrid hosts, else cgroup2) and removed by
# cleanup.
set -u -o pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

# Byte-wise string operations on names that are not UTF-8.
export LC_ALL=C

for c in promtool:prometheus curl:curl iconv:libc-bin; do
	command -v "${c%%:*}" >/dev/null 2>&1 ||
		skip "${c%%:*} is not installed: this test needs the Debian package '${c#*:}' (make deps)"
done
"$VIGIL" run --help 2>/dev/null | grep -q -- '--metrics-addr' ||
	fail "$VIGIL run has no --metrics-addr option"


attribution_hierarchy
[[ -n $cgroot ]] || skip "no cgroup v1 memory hierarchy and no cgroup2 mount"
log "attributing from the $hier hierarchy at $cgroot"

# Text-format label escaping of raw bytes, as the exporter must do it:
# \ -> \\, " -> \", newline -> \n, and here the only invalid byte, 0xff,
# -> U+FFFD.
prom_escape() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\n'/\\n}
	s=${s//$'\xff'/$'\xef\xbf\xbd'}
	printf '%s' "$s"
}

# The same path as a JSON string holds it once decoded: 0xff -> U+FFFD.
utf8_fix() { local s=$1; printf '%s' "${s//$'\xff'/$'\xef\xbf\xbd'}"; }

uid_a=$(rand_pod_uid) id_a=$(rand_container_id)
uid_b=$(rand_pod_uid) id_b=$(rand_container_id)
tag=${T_MARK#vigil-it-}
child=$'esc"quote\\back\xffend-'$tag
parent=$'vigil-it"par\\ent\xff-'$tag
cg_a=/kubepods/burstable/pod$uid_a/$id_a/$child
cg_b=/$parent/kubepods/burstable/pod$uid_b/$id_b

# A binary whose name (the comm of what it execs) holds all four kinds of bytes.
weird=$'c"q\\\nx\xffy'
{ mkdir -p "$T_TMP/bin" && cp /bin/true "$T_TMP/bin/$weird"; } || fail "cannot copy /bin/true to $T_TMP/bin"

port=$(free_port)
out=$T_TMP/events.json
cat >"$T_TMP/vigil.yaml" <<EOF
# vigil integration test ($T_MARK): metrics with hostile cgroup names
cgroup_hierarchy: $hier
metrics_addr: "127.0.0.1:$port"
EOF
vigil_start "$T_TMP/vigil.out" "$T_TMP/vigil.err" run --config "$T_TMP/vigil.yaml" --output "$out"

# Containers start after the agent, as they do on a node.
mkcg "$cg_a"
mkcg "$cg_b"

# run_in CGROUP: a subshell joins CGROUP, then forks and execs the weird
# binary three times (fork, exec and exit events inside the container).
run_in() {
	(
		echo "$BASHPID" >"$cgroot$1/cgroup.procs" || exit 97
		for i in 1 2 3; do
			"$T_TMP/bin/$weird" "$T_MARK" "$i" || exit 98
		done
	)
}
run_in "$cg_a" || fail "could not run processes in cgroup $cgroot$cg_a (status $?)"
run_in "$cg_b" || fail "could not run processes in cgroup $cgroot$cg_b (status $?)"

# --- JSON lines: the execs, with the path and the comm as proper strings
wait_jq "$out" "has_arg(\"$T_MARK\") and .container.id == \"$id_b\"" 10 ||
	{ dump_file "$T_TMP/vigil.err"; fail "no exec event from container B ($id_b) in $out within 10 s"; }
wait_jq "$out" "has_arg(\"$T_MARK\") and .container.id == \"$id_a\"" 5 ||
	{ dump_file "$T_TMP/vigil.err"; fail "no exec event from container A ($id_a) in $out"; }
assert_json_lines "$out"
for pair in "$id_a:$cg_a" "$id_b:$cg_b"; do
	id=${pair%%:*} cg=${pair#*:}
	ev=$(jq_lines "$out" "has_arg(\"$T_MARK\") and .type == \"exec\" and .container.id == \"$id\"" | head -n 1)
	log "exec in ${id:0:12}: $ev"
	assert_event "$ev" 'common and .container.runtime == "kubepods" and .container.qos == "burstable"' \
		"the exec is attributed to a burstable kubepods container"
	assert_event "$ev" '.process.comm == "c\"q\\\nx\ufffdy"' \
		"comm in JSON is the binary's name with the newline escaped and 0xff as U+FFFD"
	jq -e --arg cg "$(utf8_fix "$cg")" '.container.cgroup == $cg' <<<"$ev" >/dev/null ||
		fail "JSON container.cgroup of the exec in ${id:0:12} is not the cgroup path $(printf '%q' "$cg") (0xff as U+FFFD)"
done

# --- /metrics
scrape=$T_TMP/scrape.txt
deadline=$((SECONDS + 10))
while :; do
	curl -sS --max-time 5 -o "$scrape" "http://127.0.0.1:$port/metrics" 2>"$T_TMP/curl.err" ||
		{ dump_file "$T_TMP/curl.err"; fail "cannot GET /metrics"; }
	grep -q "^vigil_container_events_total{.*container=\"$id_a\"" "$scrape" &&
		grep -q "^vigil_container_events_total{.*container=\"$id_b\"" "$scrape" && break
	if ((SECONDS >= deadline)); then
		grep '^vigil_container' "$scrape" | cat -v | head -n 20 | sed 's/^/    /' >&2
		fail "no vigil_container_events_total series for containers A (${id_a:0:12}) and B (${id_b:0:12}) within 10 s"
	fi
	sleep 0.5
done

rc=0
promtool check metrics <"$scrape" >"$T_TMP/promtool.out" 2>&1 || rc=$?
if ((rc != 0)) || [[ -s $T_TMP/promtool.out ]]; then
	dump_file "$T_TMP/promtool.out"
	grep '^vigil_container' "$scrape" | cat -v | head -n 20 | sed 's/^/    /' >&2
	fail "promtool check metrics found problems in a scrape with hostile cgroup names (exit $rc)"
fi
iconv -f UTF-8 -t UTF-8 "$scrape" >/dev/null 2>"$T_TMP/iconv.err" ||
	{ dump_file "$T_TMP/iconv.err"; grep -n $'\xff' "$scrape" | cat -v | head -n 5 >&2; fail "/metrics is not valid UTF-8"; }

# check_series NAME ID CGROUP...: container ID has an exec series of at
# least 3 whose cgroup label is one of the escaped CGROUPs.
check_series() {
	local name=$1 id=$2 lines cg esc hit=
	shift 2
	lines=$(grep "^vigil_container_events_total{.*container=\"$id\"" "$scrape")
	for cg in "$@"; do
		esc=$(prom_escape "$cg")
		if grep -qF "cgroup=\"$esc\"" <<<"$lines"; then
			hit=$cg
			break
		fi
	done
	if [[ -z $hit ]]; then
		log "series of container $name:"
		cat -v <<<"$lines" | sed 's/^/    /' >&2
		log "expected a cgroup label of:"
		for cg in "$@"; do printf '    cgroup="%s"\n' "$(prom_escape "$cg")" | cat -v >&2; done
		fail "container $name: the cgroup label is not its cgroup path escaped per the text format"
	fi
	grep -F 'type="exec"' <<<"$lines" | awk '{ exit !($NF >= 3) }' || {
		cat -v <<<"$lines" | sed 's/^/    /' >&2
		fail "container $name: no type=\"exec\" series counting its 3 execs"
	}
	grep -qF "pod_uid=\"${pod_of[$name]}\"" <<<"$lines" || fail "container $name: pod_uid label is not ${pod_of[$name]}"
	grep -qF 'runtime="kubepods"' <<<"$lines" || fail "container $name: runtime label is not kubepods"
	log "container $name: $(grep -F 'type="exec"' <<<"$lines" | head -n 1 | cat -v)"
	CHECK_HIT=$hit
}
declare -A pod_of=([A]=$uid_a [B]=$uid_b)

check_series B "$id_b" "$cg_b"
# A's events all come from its child cgroup; the label may name that
# cgroup or the container's own, but either must be escaped right.
check_series A "$id_a" "$cg_a" "${cg_a%/*}"
[[ $CHECK_HIT == "$cg_a" ]] ||
	log "note: container A is labelled with its own cgroup, not the child its processes ran in"

rc=0
vigil_stop INT || rc=$?
[[ $rc == 0 ]] || { dump_file "$T_TMP/vigil.err"; fail "vigil run exited $rc after SIGINT"; }
log "ok"
