#!/usr/bin/env bash
#
# `vigil policy check` behaves as policies/README.md says: the example
# policies are valid; every problem of a broken set is reported at once, as
# FILE:LINE:COLUMN: message with the exact position (unknown key with a
# suggestion, bad enum value, a selector that can never match, a duplicate
# policy name across two files, a YAML syntax error, bad UTF-8, tabs);
# warnings do not fail the check; exit 1 for problems and missing paths,
# 2 for usage errors, and --help has examples.  Needs no BPF; it runs as
# root only because every integration test does (lib.sh).
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

[[ -x $VIGIL ]] || fail "vigil binary not found at $VIGIL (run make)"

o=$T_TMP/o e=$T_TMP/e

# check WANT_RC ARGS...: run `vigil policy ARGS` (15 s limit) into $o/$e and
# fail unless it exits WANT_RC.
check() {
	local want=$1 rc=0
	shift
	timeout -k 5 15 "$VIGIL" policy "$@" >"$o" 2>"$e" </dev/null || rc=$?
	((rc == 124 || rc == 137)) && fail "vigil policy $* did not finish within 15 s"
	if [[ $rc != "$want" ]]; then
		dump_file "$o"
		dump_file "$e"
		fail "vigil policy $*: exit $rc, expected $want"
	fi
}

# has_diag FILE:LINE:COL TEXT...: stderr has a line starting with
# "FILE:LINE:COL: " that contains every TEXT (fixed strings).
has_diag() {
	local pos=$1 line t ok
	shift
	while IFS= read -r line; do
		[[ $line == "$pos: "* ]] || continue
		ok=1
		for t in "$@"; do
			[[ $line == *"$t"* ]] || ok=0
		done
		((ok)) && return 0
	done <"$e"
	log "stderr has no line '$pos: ...' containing: $*"
	dump_file "$e"
	fail "expected diagnostic at $pos"
}

# --- the examples in policies/ are valid, with a summary on stdout
check 0 check "$T_ROOT/policies"
n_yaml=$(find "$T_ROOT/policies" -maxdepth 1 -type f \( -name '*.yaml' -o -name '*.yml' \) | wc -l)
((n_yaml >= 3)) || fail "only $n_yaml example policies in $T_ROOT/policies"
assert_grep "$o" "^policy check: [0-9]+ documents? \\([0-9]+ SignalPolicy, [0-9]+ rules?; [0-9]+ TrustPolicy, [0-9]+ rules?(; [0-9]+ OomPolicy)?(; [0-9]+ LeakPolicy)?\\) in $n_yaml files?: ok\$" \
	"the summary counts each kind and the $n_yaml example files, and ends in ok"
[[ ! -s $e ]] || { dump_file "$e"; fail "checking the examples printed diagnostics"; }
log "examples: $(cat "$o")"

# --- a broken set: every error, each at its exact position
bad=$T_TMP/bad
mkdir -p "$bad"
cat >"$bad/a-broken.yaml" <<'EOF'
apiVersion: vigil.dev/v1alpha1
kind: SignalPolicy
metadata:
  name: broken
spec:
  rules:
    - name: typo
      sender:
        scope: containers
        comm: [sh]
      action: audit
    - name: dead
      sender:
        binaries: []
      target:
        relation: host
      action: audit
---
apiVersion: vigil.dev/v1alpha1
kind: SignalPolicy
metadata:
  name: broken-too
spec:
  rules:
    - action: deny-all
    - sender:
        scope: host
        containerIds: ["4f2a9c0d1e3b"]
      action: audit
EOF
# Two valid policies with the same name, in two files: the second one is
# the error, at its document's first line, and names the first.
cat >"$bad/b-shared.yaml" <<'EOF'
apiVersion: vigil.dev/v1alpha1
kind: SignalPolicy
metadata:
  name: shared-name
spec:
  rules:
    - action: audit
EOF
cat >"$bad/c-shared.yaml" <<'EOF'
# the same name as b-shared.yaml
# (the error points at the document, line 3)
apiVersion: vigil.dev/v1alpha1
kind: SignalPolicy
metadata:
  name: shared-name
spec:
  rules:
    - action: deny
EOF
# Not policy files: skipped, so their errors must not show up.
printf 'not: [valid\n' >"$bad/.hidden.yaml"
printf 'not: [valid\n' >"$bad/a-broken.yaml~"
printf 'not: [valid\n' >"$bad/notes.txt"

check 1 check "$bad"
has_diag "$bad/a-broken.yaml:10:9" 'spec.rules[0].sender' 'unknown key "comm"' 'did you mean "comms"?'
has_diag "$bad/a-broken.yaml:14:19" 'spec.rules[1].sender.binaries' 'never match'
has_diag "$bad/a-broken.yaml:25:15" 'spec.rules[0].action' 'audit, deny, kill-sender' '"deny-all"'
has_diag "$bad/a-broken.yaml:28:9" 'containerIds' 'scope host'
has_diag "$bad/c-shared.yaml:3:1" 'duplicate SignalPolicy "shared-name"' "(first defined at $bad/b-shared.yaml:1)"
assert_grep "$e" '^policy check: 5 errors in 3 files$' "the summary counts 5 errors in the 3 policy files"
n=$(wc -l <"$e")
[[ $n == 6 ]] || { dump_file "$e"; fail "expected 5 diagnostics and a summary on stderr, got $n lines"; }
! grep -qE '\.hidden\.yaml|~:|notes\.txt' "$e" || { dump_file "$e"; fail "skipped files were read"; }
[[ ! -s $o ]] || { dump_file "$o"; fail "a failed check printed to stdout"; }
# Within a file, top to bottom.
lines=$(grep -F "$bad/a-broken.yaml:" "$e" | cut -d: -f2 | tr '\n' ' ')
[[ $lines == "10 14 25 28 " ]] || fail "diagnostics of a-broken.yaml not in line order: $lines"

# --- one file named directly, among good ones: the set fails as a whole
check 1 check "$T_ROOT/policies" "$bad/a-broken.yaml"
has_diag "$bad/a-broken.yaml:10:9" 'unknown key "comm"'

# --- YAML syntax errors have a position too
syn=$T_TMP/syntax.yaml
cat >"$syn" <<'EOF'
apiVersion: vigil.dev/v1alpha1
kind: SignalPolicy
metadata:
  name: syntax
spec:
  rules: [
    {action: audit
EOF
check 1 check "$syn"
has_diag "$syn:8:1" 'syntax error' 'line 7, column 5'

tabs=$T_TMP/tabs.yaml
printf 'apiVersion: vigil.dev/v1alpha1\nkind: SignalPolicy\nmetadata:\n\tname: tabs\nspec:\n  rules: [{action: audit}]\n' >"$tabs"
check 1 check "$tabs"
has_diag "$tabs:4:1" 'syntax error' 'spaces, not tabs'

utf=$T_TMP/utf8.yaml
printf 'apiVersion: vigil.dev/v1alpha1\nkind: SignalPolicy\nmetadata:\n  name: caf\xc3\xa9-\xff\nspec:\n  rules: [{action: audit}]\n' >"$utf"
check 1 check "$utf"
has_diag "$utf:4:14" 'UTF-8'	# columns count characters: the é is one

# --- warnings are shown but do not fail the check
warn=$T_TMP/warn.yaml
cat >"$warn" <<'EOF'
apiVersion: vigil.dev/v1alpha1
kind: SignalPolicy
metadata: {name: warn}
spec:
  rules:
    - signals: [KILL, 9]
      action: audit
EOF
check 0 check "$warn"
has_diag "$warn:6:23" 'warning: ' 'signal 9 is already in the list'
assert_grep "$o" '^policy check: 1 document .* ok, 1 warning$' "the ok summary counts the warning"

# --- missing paths and empty directories are errors for the checker
check 1 check "$T_TMP/no-such-dir"
assert_grep "$e" "^$T_TMP/no-such-dir: no such file or directory\$" "a missing path is named"
check 1 check "$T_ROOT/policies" "$T_TMP/no-such.yaml"
assert_grep "$e" "^$T_TMP/no-such.yaml: no such file or directory\$" "a missing file among good ones is named"
mkdir -p "$T_TMP/empty"
touch "$T_TMP/empty/README.md"
check 1 check "$T_TMP/empty"
assert_grep "$e" "^$T_TMP/empty: no policy files" "an empty directory is an error"

# --- usage errors exit 2 and say what was wrong
usage() {
	check 2 "$@"
	[[ -s $e ]] || fail "vigil policy $*: nothing on stderr"
	grep -q 'Usage: vigil policy' "$e" || { dump_file "$e"; fail "vigil policy $*: no usage line"; }
}
usage
usage no-such-command
usage check --no-such-flag
usage --no-such-flag

# --- help, on stdout, with examples
for args in "--help" "check --help" "check -h"; do
	# shellcheck disable=SC2086 # one or two words
	check 0 $args
	grep -q 'Examples:' "$o" || { dump_file "$o"; fail "vigil policy $args has no Examples"; }
	grep -q 'vigil policy check' "$o" || fail "vigil policy $args shows no example command"
done
check 0 --help
[[ ! -s $e ]] || fail "vigil policy --help wrote to stderr"

# --- `vigil --help` lists the command
rc=0
"$VIGIL" --help >"$o" 2>"$e" || rc=$?
[[ $rc == 0 ]] || fail "vigil --help exited $rc"
grep -qE '^ +policy ' "$o" || { dump_file "$o"; fail "vigil --help does not list the policy command"; }

log "ok"
