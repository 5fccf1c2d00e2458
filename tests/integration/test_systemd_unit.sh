#!/usr/bin/env bash
#
# deploy/systemd/vigil.service, as far as it can be checked without a
# running systemd:
#  1. `make install` into a private prefix, and `systemd-analyze verify` on
#     the installed unit (its ExecStart= binary, /bin/kill, the man page);
#  2. `systemd-analyze security --offline=true`: the exposure score stays
#     at or below VIGIL_MAX_EXPOSURE (default 4.0), so a hardening option
#     dropped by mistake shows;
#  3. the unit's ExecStart= run under setpriv with exactly the unit's
#     CapabilityBoundingSet= and NoNewPrivileges=, in a mount namespace
#     where everything is read-only but what the unit makes writable
#     (ProtectSystem=strict, ReadOnlyPaths=/sys /proc/sys, ReadWritePaths=),
#     with the installed config: the agent must start and report a host
#     exec the test makes.
# The syscall filter, PrivateDevices= and the rest need systemd itself.
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

# systemd (systemd-analyze) and util-linux (setpriv, unshare) are in DEPS.
for c in systemd-analyze setpriv unshare make; do
	command -v "$c" >/dev/null || fail "$c is missing; \`make deps\` installs it"
done

unit_src=$T_ROOT/deploy/systemd/vigil.service
prefix=$T_TMP/prefix
etc=$T_TMP/etc

# --- 1. install into a prefix of our own (no DESTDIR: ExecStart= must name
# a binary that exists for verify), and verify
make -s -C "$T_ROOT" install PREFIX="$prefix" SYSCONFDIR="$etc" >"$T_TMP/install.log" 2>&1 ||
	{ dump_file "$T_TMP/install.log" 40; fail "make install PREFIX=$prefix failed"; }
unit=$prefix/lib/systemd/system/vigil.service
[[ -f $unit ]] || fail "make install did not install $unit"
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
[[ $exec_start == "$prefix/sbin/vigil run "* ]] ||
	fail "installed ExecStart= is '$exec_start', expected $prefix/sbin/vigil run ..."

rc=0
MANPATH=$prefix/share/man systemd-analyze verify "$unit" >"$T_TMP/verify.log" 2>&1 || rc=$?
if ((rc != 0)) || [[ -s $T_TMP/verify.log ]]; then
	dump_file "$T_TMP/verify.log"
	fail "systemd-analyze verify on the installed unit: exit $rc, or complaints"
fi
log "systemd-analyze verify: clean"

# --- 2. exposure
systemd-analyze security --offline=true "$unit" >"$T_TMP/security.log" 2>&1 ||
	{ dump_file "$T_TMP/security.log"; fail "systemd-analyze security --offline=true failed"; }
exposure=$(sed -n 's/.*Overall exposure level for vigil.service: \([0-9.]*\).*/\1/p' "$T_TMP/security.log")
[[ -n $exposure ]] || { dump_file "$T_TMP/security.log"; fail "no exposure level in systemd-analyze security's output"; }
max=${VIGIL_MAX_EXPOSURE:-4.0}
log "systemd-analyze security: exposure $exposure (at most $max allowed)"
awk -v e="$exposure" -v m="$max" 'BEGIN { exit !(e <= m) }' ||
	{ grep '✗' "$T_TMP/security.log" | head -n 40 >&2; fail "exposure $exposure is above $max: hardening was lost"; }

# --- 3. the unit's capabilities, no_new_privs and read-only file system
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit_src")
[[ -n $caps && $(grep -c '^CapabilityBoundingSet=' "$unit_src") == 1 ]] ||
	fail "$unit_src: expected one CapabilityBoundingSet= line"
grep -qx 'NoNewPrivileges=yes' "$unit_src" || fail "$unit_src: NoNewPrivileges=yes is missing"
setpriv_caps=-all
host_bnd=$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)
for c in $caps; do
	name=${c#CAP_}
	name=${name,,}
	num=$(setpriv --list-caps | grep -nx "$name" | cut -d: -f1)
	[[ -n $num ]] || fail "$unit_src names $c, which setpriv does not know"
	if (((0x$host_bnd >> (num - 1)) & 1)); then
		setpriv_caps+=",+$name"
	else
		# Nothing on this host can have it (PID 1 dropped it); the run
		# below shows vigil works without it, which it must anyway.
		log "NOTE: $c is not in this host's bounding set; testing without it"
	fi
done
log "capabilities: $setpriv_caps"

# The read-only view: every mount read-only, except /proc and /dev (the
# unit leaves them to ProtectKernelTunables-like ReadOnlyPaths= and
# PrivateDevices=), /sys/fs/bpf and /sys/fs/cgroup (ReadWritePaths=), and
# one directory of ours for the events, which the installed config would
# write to /var/log/vigil (LogsDirectory=, writable under systemd).
rw=$T_TMP/rw
mkdir -p "$rw"
cat >"$T_TMP/ro-exec.sh" <<'EOF'
#!/bin/bash
# ro-exec.sh RWDIR CMD...: run CMD with every mount read-only but RWDIR,
# /sys/fs/bpf, /sys/fs/cgroup, /proc (less /proc/sys) and /dev.
set -u
rw=$1
shift
mount --bind "$rw" "$rw" || exit 90
mount --bind /proc/sys /proc/sys || exit 90
awk '{ print $5 }' /proc/self/mountinfo | sort -u | while read -r mp; do
	mp=$(printf '%b' "$mp")
	case $mp in
	"$rw" | "$rw"/* | /sys/fs/bpf | /sys/fs/bpf/* | /sys/fs/cgroup | /sys/fs/cgroup/*) continue ;;
	/proc/sys | /proc/sys/*) ;;
	/proc | /proc/* | /dev | /dev/*) continue ;;
	esac
	mount -o remount,bind,ro "$mp" 2>/dev/null
done
# The view must really be read-only where it matters, or this proves nothing.
for probe in /etc /usr /var/lib /sys/kernel /proc/sys/kernel; do
	if : 2>/dev/null >"$probe/.vigil-ro-probe"; then
		rm -f "$probe/.vigil-ro-probe"
		echo "ro-exec: $probe is still writable" >&2
		exit 91
	fi
done
exec "$@"
EOF
chmod +x "$T_TMP/ro-exec.sh"

read -ra argv <<<"$exec_start"
args=()
for ((i = 1; i < ${#argv[@]}; i++)); do
	# The installed config, not the host's /etc/vigil/vigil.yaml.
	[[ ${argv[i]} == /etc/vigil/vigil.yaml ]] && argv[i]=$etc/vigil/vigil.yaml
	args+=("${argv[i]}")
done
[[ -f $etc/vigil/vigil.yaml ]] || fail "make install did not install $etc/vigil/vigil.yaml"
port=$(free_port)
out=$rw/events.jsonl

# vigil_start runs $VIGIL ARGS: here unshare, which execs ro-exec.sh (it
# needs root's capabilities to remount), which execs setpriv, which drops
# them and execs the installed vigil: one pid throughout.
VIGIL=$(command -v unshare)
vigil_start "$T_TMP/run.stdout" "$T_TMP/run.err" \
	--mount --propagation slave -- "$T_TMP/ro-exec.sh" "$rw" \
	"$(command -v setpriv)" --no-new-privs --inh-caps=-all --bounding-set="$setpriv_caps" -- \
	"${argv[0]}" "${args[@]}" --output "$out" --metrics-addr "127.0.0.1:$port"
grep -q '^CapBnd:' "/proc/$VIGIL_PID/status" || fail "vigil (pid $VIGIL_PID) has no status"
want=0
for c in ${setpriv_caps//,/ }; do
	[[ $c == +* ]] || continue
	num=$(setpriv --list-caps | grep -nx "${c#+}" | cut -d: -f1)
	want=$((want | (1 << (num - 1))))
done
got=$(awk '/^CapEff:/ { print $2 }' "/proc/$VIGIL_PID/status")
((0x$got == want)) || fail "vigil's effective capabilities are $got, expected $(printf '%016x' "$want")"
[[ $(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$VIGIL_PID/status") == 1 ]] ||
	fail "vigil runs without no_new_privs"

sh -c ": $T_MARK"
if ! wait_jq "$out" "(.type == \"exec\") and has_arg(\"$T_MARK\")" 10; then
	log "no exec event for the marker within 10 s under the unit's restrictions"
fi
rc=0
vigil_stop TERM || rc=$?
[[ $rc == 0 ]] || { dump_file "$T_TMP/run.err"; fail "vigil exited $rc on SIGTERM under the unit's restrictions"; }
assert_json_lines "$out"
assert_jq "$out" "(.type == \"exec\") and has_arg(\"$T_MARK\") and .container.id == \"\"" \
	"no host exec event from vigil run with the unit's capabilities and a read-only file system"
if grep -qiE 'read-only|permission denied|operation not permitted' "$T_TMP/run.err"; then
	dump_file "$T_TMP/run.err"
	fail "vigil complained about permissions under the unit's restrictions"
fi
log "vigil run under the unit's capabilities ($setpriv_caps), no_new_privs and a read-only view: ok"
