#!/usr/bin/env bash
#
# The command line behaves as documented: help with examples on every
# command, exit 2 for usage errors, a version, a features report in JSON,
# config errors that name FILE:LINE:COL, `vigil trace --duration`, and
# `vigil run` writing JSON lines to --output (honouring the config file).
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

[[ -x $VIGIL ]] || fail "vigil binary not found at $VIGIL (run make)"

# v OUT ERR ARGS...: run vigil with a 15 s limit; returns its exit status.
v() {
	local out=$1 err=$2 rc=0
	shift 2
	timeout -k 5 15 "$VIGIL" "$@" >"$out" 2>"$err" </dev/null || rc=$?
	((rc == 124 || rc == 137)) && fail "vigil $* did not finish within 15 s"
	return "$rc"
}

o=$T_TMP/o e=$T_TMP/e

# --- help
for cmd in "" trace run features version leaks; do
	rc=0
	# shellcheck disable=SC2086 # $cmd is one word or none
	v "$o" "$e" $cmd --help || rc=$?
	[[ $rc == 0 ]] || { dump_file "$e"; fail "vigil $cmd --help exited $rc"; }
	if ! grep -q 'Examples:' "$o"; then
		grep -q 'Examples:' "$e" && fail "vigil $cmd --help prints its help on stderr; it belongs on stdout"
		dump_file "$o"
		fail "vigil $cmd --help has no 'Examples:' section"
	fi
done

# --- usage errors
usage_error() {
	local what=$1 rc=0
	shift
	v "$o" "$e" "$@" || rc=$?
	[[ $rc == 2 ]] || { dump_file "$e"; fail "$what (vigil $*): exit $rc, expected 2"; }
	[[ -s $e ]] || fail "$what (vigil $*): nothing on stderr to say what was wrong"
}
usage_error "unknown command" no-such-command
usage_error "unknown flag" trace --no-such-flag
usage_error "unknown flag" run --no-such-flag
usage_error "unknown event type" trace no-such-type
usage_error "an event type only vigil run makes" trace leak_suspected
grep -q "vigil run" "$e" || fail "vigil trace leak_suspected does not point at vigil run"
usage_error "vigil leaks --top 0" leaks --top 0
usage_error "non-numeric --duration" trace --duration soon
usage_error "--container and --host together" trace --container abc --host

# --- version
rc=0
v "$o" "$e" version || rc=$?
[[ $rc == 0 ]] || fail "vigil version exited $rc"
[[ -n $(tr -d '[:space:]' <"$o") ]] || fail "vigil version printed nothing on stdout"
log "version: $(head -n 1 "$o")"

# --- features
rc=0
v "$o" "$e" features --json || rc=$?
[[ $rc == 0 ]] || { dump_file "$e"; fail "vigil features --json exited $rc"; }
jq -e . "$o" >/dev/null || { dump_file "$o"; fail "vigil features --json is not JSON"; }
jq -e '.features.btf.ok == true' "$o" >/dev/null ||
	{ dump_file "$o"; fail "features --json: .features.btf.ok is not true (this host has BTF)"; }
rc=0
v "$o" "$e" features || rc=$?
[[ $rc == 0 && -s $o ]] || fail "vigil features (text) exited $rc or printed nothing"

# --- bad config: unknown key on line 3
bad=$T_TMP/bad.yaml
cat >"$bad" <<'EOF'
# vigil integration test: line 3 holds a key vigil does not know
node_name: it-node
no_such_knob: 1
EOF
rc=0
v "$o" "$e" run --config "$bad" --output "$T_TMP/bad-out.json" || rc=$?
[[ $rc == 1 ]] || { dump_file "$e"; fail "vigil run with an unknown config key exited $rc, expected 1"; }
if ! grep -F "$bad:3:" "$e" | grep -qE ":3:[0-9]+: "; then
	dump_file "$e"
	fail "config error does not name $bad:3:COL:"
fi
log "config error: $(grep -F "$bad:3:" "$e" | head -n 1)"

# --- trace --duration ends by itself
rc=0
start=$SECONDS
v "$o" "$e" trace exec --json --duration 2 || rc=$?
[[ $rc == 0 ]] || { dump_file "$e"; fail "vigil trace --duration 2 exited $rc"; }
assert_grep "$e" '^vigil: tracing' "trace --duration prints the tracing line"
assert_grep "$e" '^vigil trace: [0-9]+ events, [0-9]+ lost' "trace --duration prints the summary"
((SECONDS - start >= 2)) || fail "vigil trace --duration 2 returned after $((SECONDS - start)) s"

# --- trace stops cleanly on SIGTERM too
vigil_start "$T_TMP/term.json" "$T_TMP/term.err" trace exec --json
rc=0
vigil_stop TERM || rc=$?
[[ $rc == 0 ]] || { dump_file "$T_TMP/term.err"; fail "vigil trace exited $rc after SIGTERM"; }
assert_grep "$T_TMP/term.err" '^vigil trace: [0-9]+ events, [0-9]+ lost' "trace prints the summary on SIGTERM"

# --- run --output FILE with a config (node name; exec events only)
node=it-node-${T_MARK#vigil-it-}
cfg=$T_TMP/good.yaml
cat >"$cfg" <<EOF
node_name: $node
observe:
  fork: false
  exec: true
  exit: false
  signal: false
EOF
rout=$T_TMP/run.json
vigil_start "$T_TMP/run.stdout" "$T_TMP/run.err" run --config "$cfg" --output "$rout"
sleep 0.2
/bin/true "$T_MARK" || fail "/bin/true failed"
if ! wait_jq "$rout" "has_arg(\"$T_MARK\")" 5; then
	log "WARN: the exec line was not in $rout 5 s after the exec (output not flushed while running?)"
fi
rc=0
vigil_stop TERM || rc=$?
[[ $rc == 0 ]] || { dump_file "$T_TMP/run.err"; fail "vigil run exited $rc after SIGTERM"; }
[[ -f $rout ]] || fail "vigil run did not create $rout"
assert_json_lines "$rout"
assert_jq "$rout" "has_arg(\"$T_MARK\")" "vigil run --output has the marker exec"
ev=$(jq_lines "$rout" "has_arg(\"$T_MARK\")" | head -n 1)
assert_event "$ev" 'common and .type == "exec"' "run output uses the trace event schema"
assert_event "$ev" ".node == \"$node\"" "node is the config's node_name"
assert_jq_none "$rout" '.type | IN("exec", "events_lost", "policy_reload") | not' "observe: only exec -> only exec events (plus the agent's own loss and policy-load reports)"
[[ ! -s $T_TMP/run.stdout ]] || { dump_file "$T_TMP/run.stdout"; fail "vigil run --output FILE also wrote to stdout"; }

log "ok"
