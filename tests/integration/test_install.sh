#!/usr/bin/env bash
#
# `make install DESTDIR=... PREFIX=/usr` puts every file where the unit, the
# man page and the docs say it is; the installed binary runs; the unit's
# ExecStart= names it; vigil(8) renders without a warning and mentions every
# command `vigil --help` lists and every long option of every command's
# --help (so the page fails this test when the code drifts from it); a
# second install keeps an edited config; `make uninstall` removes what
# install put under the prefix and leaves /etc/vigil alone.
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

# scdoc builds the page; groff-base and man-db render it; all are in DEPS.
for c in make scdoc groff man; do
	command -v "$c" >/dev/null || fail "$c is missing; \`make deps\` installs it"
done

root=$T_TMP/root
inst() {
	make -s -C "$T_ROOT" "$@" DESTDIR="$root" PREFIX=/usr >"$T_TMP/make.log" 2>&1 ||
		{ dump_file "$T_TMP/make.log" 40; fail "make $* DESTDIR=$root PREFIX=/usr failed"; }
}
inst install

# --- every file in its place
need() {
	local kind=$1 path=$root$2
	case $kind in
	x) [[ -f $path && -x $path ]] || fail "not installed (or not executable): $2" ;;
	f) [[ -f $path && -s $path ]] || fail "not installed (or empty): $2" ;;
	d) [[ -d $path ]] || fail "directory not installed: $2" ;;
	esac
}
need x /usr/sbin/vigil
need f /usr/lib/systemd/system/vigil.service
need f /usr/share/man/man8/vigil.8
need f /etc/vigil/vigil.yaml
need d /etc/vigil/policies.d
need f /usr/share/doc/vigil/policies/README.md
for d in "$T_ROOT"/docs/*.md; do
	need f "/usr/share/doc/vigil/$(basename "$d")"
done
n=0
for p in "$T_ROOT"/policies/*.yaml; do
	need f "/usr/share/vigil/policies/$(basename "$p")"
	cmp -s "$p" "$root/usr/share/vigil/policies/$(basename "$p")" || fail "policies/$(basename "$p") installed changed"
	n=$((n + 1))
done
((n > 0)) || fail "no example policies in policies/ to install"
[[ -z $(ls -A "$root/etc/vigil/policies.d") ]] || fail "/etc/vigil/policies.d is not empty after install: examples must not be active"
log "installed: binary, unit, man page, config, $n example policies, docs"

# --- the unit runs the installed binary with the installed config
exec_start=$(sed -n 's/^ExecStart=//p' "$root/usr/lib/systemd/system/vigil.service")
[[ $exec_start == "/usr/sbin/vigil run --config /etc/vigil/vigil.yaml" ]] ||
	fail "installed ExecStart= is '$exec_start', expected '/usr/sbin/vigil run --config /etc/vigil/vigil.yaml'"
diff <(grep -v '^ExecStart=' "$T_ROOT/deploy/systemd/vigil.service") \
	<(grep -v '^ExecStart=' "$root/usr/lib/systemd/system/vigil.service") >/dev/null ||
	fail "the installed unit differs from deploy/systemd/vigil.service in more than ExecStart="

# --- the installed binary runs, and is the one this tree builds
ver=$("$root/usr/sbin/vigil" version) || fail "the installed vigil does not run 'version'"
[[ $ver == "vigil $(git -C "$T_ROOT" describe --always --dirty 2>/dev/null || echo unknown) "* ]] ||
	fail "the installed vigil says '$ver', not this tree's version"
log "installed binary: $ver"

# --- the installed config is the built-in default but for where events go
diff <("$root/usr/sbin/vigil" run --print-default-config | grep -vE '^(output|output_max_bytes):') \
	<(grep -v '^#' "$root/etc/vigil/vigil.yaml" | grep -vE '^(output|output_max_bytes):') >"$T_TMP/cfg.diff" ||
	{ dump_file "$T_TMP/cfg.diff"; fail "/etc/vigil/vigil.yaml differs from the built-in default in more than output"; }
grep -q '^output: /var/log/vigil/events.jsonl' "$root/etc/vigil/vigil.yaml" ||
	fail "/etc/vigil/vigil.yaml does not send events to /var/log/vigil/events.jsonl (LogsDirectory=vigil)"

# --- the man page renders cleanly
page=$root/usr/share/man/man8/vigil.8
groff -man -ww -z "$page" 2>"$T_TMP/groff.err" || fail "groff cannot render vigil.8"
[[ ! -s $T_TMP/groff.err ]] || { dump_file "$T_TMP/groff.err"; fail "groff warns about vigil.8"; }
LC_ALL=C.UTF-8 MANWIDTH=100 man --warnings -l "$page" >"$T_TMP/man.txt" 2>"$T_TMP/man.err" ||
	fail "man -l cannot show vigil.8"
[[ ! -s $T_TMP/man.err ]] || { dump_file "$T_TMP/man.err"; fail "man --warnings complains about vigil.8"; }
grep -q '^COMMANDS' "$T_TMP/man.txt" || fail "vigil.8 has no COMMANDS section"

# --- every command and every long option of the code is in the page
cmds=$("$root/usr/sbin/vigil" --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }')
[[ -n $cmds ]] || fail "no commands found in 'vigil --help'"
commands_section=$(sed -n '/^COMMANDS/,/^OPTIONS/p' "$T_TMP/man.txt")
missing=()
for c in $cmds; do
	grep -qE "^ {7}$c( |$)" <<<"$commands_section" || missing+=("command $c")
	grep -qE "^ {7}vigil $c( |$)" "$T_TMP/man.txt" || missing+=("synopsis of $c")
done
helps=("--help")
for c in $cmds; do helps+=("$c --help"); done
helps+=("leaks --trace --help")
for h in "${helps[@]}"; do
	# shellcheck disable=SC2086 # "$h" is a command and its flags
	text=$("$root/usr/sbin/vigil" $h 2>&1) || fail "vigil $h failed"
	while read -r o; do
		grep -qF -- "$o" "$T_TMP/man.txt" || missing+=("option $o (vigil $h)")
	done < <(grep -oE -- '(^|[ ,\[])--[a-z][a-z-]+' <<<"$text" | grep -oE -- '--[a-z-]+' | sort -u)
done
if ((${#missing[@]})); then
	printf '    %s\n' "${missing[@]}" >&2
	fail "vigil.8 lacks what the code has: edit docs/man/vigil.8.scd"
fi
log "vigil.8: renders cleanly; mentions every command (${cmds//$'\n'/ }) and every long option"

# --- a second install keeps an edited config
echo '# edited by the test' >>"$root/etc/vigil/vigil.yaml"
inst install
grep -q '^# edited by the test' "$root/etc/vigil/vigil.yaml" || fail "make install overwrote an existing /etc/vigil/vigil.yaml"
[[ -f $root/etc/vigil/vigil.yaml.default ]] || fail "make install over an existing config did not leave vigil.yaml.default"

# --- uninstall
inst uninstall
for f in /usr/sbin/vigil /usr/lib/systemd/system/vigil.service /usr/share/man/man8/vigil.8 \
	/usr/share/vigil /usr/share/doc/vigil; do
	[[ ! -e $root$f ]] || fail "make uninstall left $f"
done
[[ -f $root/etc/vigil/vigil.yaml ]] || fail "make uninstall removed /etc/vigil/vigil.yaml (the admin's config)"
log "uninstall removes the prefix's files and keeps /etc/vigil"
