#!/usr/bin/env bash
#
# `vigil trust` behaves as docs/TRUST.md says, on real files: install puts
# a file in place atomically and records it; add records files (a symlink:
# both names), list and list --json show every field, verify finds content,
# mode and time changes and deleted files, remove forgets; bad input
# (directories, fifos, missing files, /proc, overlayfs over two filesystems)
# is refused with the path named, and one bad path leaves the store
# byte-for-byte unchanged; import dpkg trusts what matches a package's
# md5sums and lists what does not; a damaged store falls back to its spare
# with a warning, two damaged generations are refused; 20 parallel adds all
# land (the lock); a pinned trust map is updated after a save.
#
# Uses its own --dir under $T_TMP and its own --bpffs, so it never touches a
# real agent's store or kernel map.
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

[[ -x $VIGIL ]] || fail "vigil binary not found at $VIGIL (run make)"
t_require_cmd sha256sum md5sum stat cmp

S=$T_TMP/store
B=$T_TMP/no-bpffs	# nothing pinned here: no kernel sync
o=$T_TMP/o e=$T_TMP/e
F=$T_TMP/files
mkdir -p "$F"
PIN='' OVL=''

# Our own teardown first (pins, mounts), then lib.sh's, with the test's status.
trap 'rc=$?; [[ -n $OVL ]] && { umount "$OVL/m" 2>/dev/null; umount "$OVL/lower" 2>/dev/null; }; [[ -n $PIN ]] && rm -rf "$PIN"; (exit $rc); cleanup' EXIT

# vt WANT_RC ARGS...: run `vigil trust --dir $S --bpffs $B ARGS` (30 s limit)
# into $o/$e and fail unless it exits WANT_RC.
vt() {
	local want=$1 rc=0
	shift
	timeout -k 5 30 "$VIGIL" trust --dir "$S" --bpffs "$B" "$@" >"$o" 2>"$e" </dev/null || rc=$?
	((rc == 124 || rc == 137)) && fail "vigil trust $* did not finish within 30 s"
	if [[ $rc != "$want" ]]; then
		dump_file "$o"
		dump_file "$e"
		fail "vigil trust $*: exit $rc, expected $want"
	fi
}

# has FILE TEXT MESSAGE: FILE contains the fixed string TEXT.
has() {
	grep -qF -- "$2" "$1" && return 0
	log "assertion failed: $3 (no '$2' in $1)"
	dump_file "$1" 20
	fail "$3"
}

# hasnt FILE TEXT MESSAGE
hasnt() {
	grep -qF -- "$2" "$1" || return 0
	log "assertion failed: $3 ('$2' is in $1)"
	dump_file "$1" 20
	fail "$3"
}

sha() { sha256sum <"$1" | cut -d' ' -f1; }
nrec() { vt 0 list --json; jq length "$o"; }
# The kernel's encoding of a file's device: major << 20 | minor.
kdev() { local mm; mm=$(stat -c '%Hd %Ld' "$1"); echo $(((${mm% *} << 20) | ${mm#* })); }

# --- an empty store
vt 0 list
[[ ! -s $o ]] || fail "an empty store listed something"
has "$e" "no trusted files" "an empty list says so on stderr"
vt 0 verify
has "$o" "verify: 0 records: 0 ok" "verify of an empty store"
[[ $(nrec) == 0 ]] || fail "list --json of an empty store is not []"

# --- install: atomic copy, mode, record
mkdir -p "$F/src" "$F/bin"
printf '#!/bin/sh\necho tool v1\n' >"$F/src/tool"
chmod 0750 "$F/src/tool"
vt 0 install "$F/src/tool" "$F/bin/tool" --mode 0755
cmp -s "$F/src/tool" "$F/bin/tool" || fail "install: DEST differs from SRC"
[[ $(stat -c %a "$F/bin/tool") == 755 ]] || fail "install --mode 0755 gave mode $(stat -c %a "$F/bin/tool")"
has "$o" "installed $F/bin/tool (mode 0755, sha256 $(sha "$F/src/tool"))" "install reports what it did"
vt 0 list --json
jq -e --arg p "$F/bin/tool" --arg h "$(sha "$F/src/tool")" \
	'.[] | select(.path == $p) | .sha256 == $h and .source == "install" and .mode == "100755"' "$o" >/dev/null ||
	{ dump_file "$o"; fail "install: the record does not match the installed file"; }
# Again, new content, SRC's mode: the record is replaced, not doubled.
printf '#!/bin/sh\necho tool v2\n' >"$F/src/tool"
vt 0 install "$F/src/tool" "$F/bin/tool"
[[ $(stat -c %a "$F/bin/tool") == 750 ]] || fail "install without --mode did not take SRC's mode"
vt 0 list --json
[[ $(jq --arg p "$F/bin/tool" '[.[] | select(.path == $p)] | length' "$o") == 1 ]] || fail "reinstall doubled the record"
jq -e --arg p "$F/bin/tool" --arg h "$(sha "$F/src/tool")" '.[] | select(.path == $p) | .sha256 == $h' "$o" >/dev/null ||
	fail "reinstall did not update the hash"
[[ -z $(find "$F/bin" -name '.tool.vigil-*') ]] || fail "install left a temporary file behind"
vt 1 install "$F/src/tool" "$F/bin"
has "$e" "$F/bin: a directory exists there" "install onto a directory is refused"
vt 1 install "$F/src/nope" "$F/bin/nope"
has "$e" "$F/src/nope: No such file or directory" "install of a missing SRC names it"
[[ ! -e $F/bin/nope ]] || fail "a failed install created DEST"
vt 2 install "$F/src/tool" "$F/bin/x" --mode u+x
vt 0 verify

# --- add: plain, spaces, newline, symlink (both names)
printf 'abc' >"$F/a"
printf 'space' >"$F/with space"
nl=$F/$'new\nline'
printf 'newline' >"$nl"
ln -s "with space" "$F/link"
vt 0 add "$F/a" "$F/with space" "$nl" "$F/link"
has "$o" "trusted $F/link -> $F/with space" "add of a symlink records the name and its target"
vt 0 list
has "$o" "$(sha "$F/a")          3 add $F/a" "list shows sha256, size, source, path"
has "$o" " add $F/with space" "a path with a space is listed as is"
has "$o" " add $F/new\\nline" "a newline in a path is listed escaped, on one line"
has "$o" " add $F/link -> $F/with space" "the symlink name is listed with its target"
[[ $(wc -l <"$o") == 5 ]] || { dump_file "$o"; fail "list: expected 5 lines (tool, a, space, newline, link)"; }
vt 0 list --json
jq -e 'type == "array" and length == 5 and all(.[]; has("path") and has("link_target") and has("sha256")
	and has("size") and has("mode") and has("uid") and has("gid") and has("dev") and has("ino")
	and has("ctime_ns") and has("mtime_ns") and has("added_ns") and has("source"))' "$o" >/dev/null ||
	{ dump_file "$o"; fail "list --json: not an array of 5 records with every field"; }
jq -e --arg p "$nl" 'any(.[]; .path == $p)' "$o" >/dev/null || fail "list --json lost the newline path"
jq -e --arg p "$F/a" --argjson ino "$(stat -c %i "$F/a")" --argjson dev "$(kdev "$F/a")" \
	--argjson uid "$(stat -c %u "$F/a")" \
	'.[] | select(.path == $p) | .ino == $ino and .dev == $dev and .uid == $uid and .size == 3
	 and .sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"' "$o" >/dev/null ||
	{ dump_file "$o"; fail "list --json: the record of $F/a does not match stat and sha256"; }
jq -e --arg l "$F/link" --arg t "$F/with space" \
	'(.[] | select(.path == $l) | .link_target == $t) and (.[] | select(.path == $t) | .link_target == null)' \
	"$o" >/dev/null || fail "list --json: the symlink and target records are wrong"
# A relative path is taken from the current directory.
printf 'rel' >"$F/rel"
(cd "$F" && timeout 30 "$VIGIL" trust --dir "$S" --bpffs "$B" add rel >"$o" 2>"$e") || { dump_file "$e"; fail "add of a relative path failed"; }
has "$o" "trusted $F/rel " "a relative path is recorded as an absolute one"

# --- verify: tainted and missing
vt 0 verify
has "$o" "verify: 6 records: 6 ok, 0 tainted, 0 missing" "verify of an untouched store"
echo more >>"$F/a"
vt 1 verify
has "$o" "tainted $F/a: content, size, ctime, mtime" "verify names what an append changed"
vt 0 add "$F/a"
chmod 0600 "$F/with space"
vt 1 verify
has "$o" "tainted $F/with space: mode, ctime" "verify names a chmod"
has "$o" "tainted $F/link: mode, ctime" "the symlink name follows its target"
vt 0 add "$F/with space"
vt 0 verify
sleep 0.01
touch "$F/rel"
vt 1 verify
has "$o" "tainted $F/rel: ctime, mtime" "verify names a touch"
vt 0 add "$F/rel"
rm "$nl"
vt 1 verify
has "$o" "missing $F/new\\nline" "verify finds a deleted file"
vt 1 verify --json
jq -e --arg p "$nl" '.missing == 1 and .tainted == 0 and .records == 6 and
	(.results[] | select(.path == $p) | .status == "missing") and
	([.results[] | select(.status == "ok")] | length == 5)' "$o" >/dev/null ||
	{ dump_file "$o"; fail "verify --json does not report the deleted file"; }
vt 0 remove "$nl"
vt 0 verify

# --- bad input: refused, named, nothing saved
mkdir -p "$F/dir"
mkfifo "$F/fifo"
vt 1 add "$F/dir"
has "$e" "$F/dir: a directory, not a regular file" "a directory is refused"
vt 1 add "$F/fifo"
has "$e" "$F/fifo: a fifo, not a regular file" "a fifo is refused (and does not hang)"
vt 1 add "$F/missing"
has "$e" "$F/missing: no such file" "a missing file is named"
vt 1 add /proc/self/status
has "$e" "/proc/self/status: on a proc filesystem" "a /proc file is refused"
ln -s nowhere "$F/dangling"
vt 1 add "$F/dangling"
has "$e" "$F/dangling: symlink to a missing file" "a dangling symlink is refused"

# --- all or nothing
before=$(sha "$S/store")
printf 'good' >"$F/good"
vt 1 add "$F/good" "$F/missing" "$F/dir"
has "$e" "$F/missing: no such file" "every error is printed (1)"
has "$e" "$F/dir: a directory" "every error is printed (2)"
has "$e" "2 of 3 paths failed; the trust store is unchanged" "the summary says nothing changed"
[[ $(sha "$S/store") == "$before" ]] || fail "a failed add changed the store"
vt 0 list
hasnt "$o" "$F/good" "the good path of a failed add was recorded"
vt 1 remove "$F/a" "$F/never"
has "$e" "$F/never: not in the trust store" "remove of an unknown path is named"
[[ $(sha "$S/store") == "$before" ]] || fail "a failed remove changed the store"
# Removing a target removes the names that lead to it.
vt 0 remove "$F/with space"
has "$o" "removed $F/link (symlink to it)" "remove of a target removes its symlink record"

# --- overlayfs over two filesystems: stat's device is not the kernel's
OVL=$T_TMP/ovl
mkdir -p "$OVL"/{lower,upper,work,m}
if mount -t tmpfs vigil-it "$OVL/lower" 2>/dev/null; then
	echo x >"$OVL/lower/f"
	if mount -t overlay vigil-it -o "lowerdir=$OVL/lower,upperdir=$OVL/upper,workdir=$OVL/work,xino=off" "$OVL/m" 2>/dev/null; then
		vt 1 add "$OVL/m/f"
		has "$e" "$OVL/m/f: stat reports device" "a file whose device stat misreports is refused"
		umount "$OVL/m"
	else
		log "overlayfs cannot be mounted here: that case is not run"
	fi
	umount "$OVL/lower"
else
	log "tmpfs cannot be mounted here: the overlayfs case is not run"
fi
OVL=

# --- import dpkg from a fake database
A=$T_TMP/dpkg
mkdir -p "$A/info" "$F/pkg/sub dir"
printf 'one' >"$F/pkg/one"
printf 'two' >"$F/pkg/sub dir/two"
printf 'changed' >"$F/pkg/changed"
mkdir -p "$F/pkg/nowadir"
printf 'other' >"$F/pkg/other"
md5() { md5sum <"$1" | cut -d' ' -f1; }
rel=${F#/}
{
	echo "$(md5 "$F/pkg/one")  $rel/pkg/one"
	echo "$(md5 "$F/pkg/sub dir/two")  $rel/pkg/sub dir/two"
	echo "$(printf 'original' | md5sum | cut -d' ' -f1)  $rel/pkg/changed"
	echo "$(printf 'gone' | md5sum | cut -d' ' -f1)  $rel/pkg/gone"
	echo "$(printf 'dir' | md5sum | cut -d' ' -f1)  $rel/pkg/nowadir"
} >"$A/info/pkg.md5sums"
echo "$(md5 "$F/pkg/other")  $rel/pkg/other" >"$A/info/otherpkg:amd64.md5sums"
echo "not a package list" >"$A/info/pkg.list"
vt 0 import dpkg --admindir "$A"
has "$o" "mismatch $F/pkg/changed (pkg)" "import lists a file whose content differs"
has "$o" "missing $F/pkg/gone (pkg)" "import lists a missing file"
has "$o" "import dpkg: 2 packages: trusted 3, mismatched 1, missing 1, skipped 1 (not regular files)" "import summary"
vt 0 list
has "$o" " dpkg:pkg $F/pkg/one" "an imported file's source is its package"
has "$o" " dpkg:pkg $F/pkg/sub dir/two" "a packaged path with a space is imported"
has "$o" " dpkg:otherpkg $F/pkg/other" "the :arch suffix is not part of the package name"
hasnt "$o" "$F/pkg/changed" "a mismatching file was trusted"
vt 0 verify
# A malformed md5sums line is a hard error: nothing is imported.
before=$(sha "$S/store")
echo "zzzz  $rel/pkg/one" >"$A/info/broken.md5sums"
vt 1 import dpkg --admindir "$A"
has "$e" "$A/info/broken.md5sums:1: not an \"md5sum  path\" line" "a malformed md5sums line is named"
[[ $(sha "$S/store") == "$before" ]] || fail "a failed import changed the store"
rm "$A/info/broken.md5sums"
vt 1 import dpkg --admindir "$T_TMP/no-such-dpkg"
has "$e" "$T_TMP/no-such-dpkg/info" "a missing dpkg database is named"

# --- the pinned kernel map is synced after a save
if command -v bpftool >/dev/null && [[ $(stat -f -c %T /sys/fs/bpf 2>/dev/null) == bpf_fs ]]; then
	PIN=/sys/fs/bpf/$T_MARK
	mkdir -p "$PIN/trust"
	if bpftool map create "$PIN/trust/trust_inodes" type hash key 16 value 16 entries 4096 \
		name trust_inodes 2>"$T_TMP/bpftool.err"; then
		timeout 30 "$VIGIL" trust --dir "$S" --bpffs "$PIN" add "$F/good" >"$o" 2>"$e" ||
			{ dump_file "$e"; fail "add with a pinned map failed"; }
		assert_grep "$e" '^kernel: [0-9]+ trusted inodes$' "a save reports the kernel map's size"
		# The key is (dev, ino): two little-endian u64s.
		le64() { local i; for i in 0 1 2 3 4 5 6 7; do printf '%02x ' $((($1 >> (8 * i)) & 255)); done; }
		key="$(le64 "$(kdev "$F/good")")$(le64 "$(stat -c %i "$F/good")")"
		# shellcheck disable=SC2086 # one word per byte
		bpftool map lookup pinned "$PIN/trust/trust_inodes" key hex $key >/dev/null 2>&1 ||
			fail "the kernel map has no entry for $F/good after the add"
		vt 0 remove "$F/good"	# (no --bpffs sync here: $B)
	else
		log "bpftool cannot create a map here ($(head -c 200 "$T_TMP/bpftool.err")): sync case not run"
	fi
	rm -rf "$PIN"
	PIN=
else
	log "no bpffs at /sys/fs/bpf: the kernel sync case is not run"
fi
# Something that is not a map where the map should be: saved, with a warning.
mkdir -p "$T_TMP/fakebpf/trust"
: >"$T_TMP/fakebpf/trust/trust_inodes"
timeout 30 "$VIGIL" trust --dir "$S" --bpffs "$T_TMP/fakebpf" add "$F/good" >"$o" 2>"$e" ||
	{ dump_file "$e"; fail "add failed when the kernel map could not be opened"; }
has "$e" "warning: the store is saved" "a failed kernel sync is a warning"
vt 0 list
has "$o" "$F/good" "the store was saved despite the failed sync"

# --- a damaged primary: the spare is used, with a warning
cp "$S/store" "$T_TMP/store.good"
printf 'X' | dd of="$S/store" bs=1 seek=40 conv=notrunc 2>/dev/null
vt 0 list
has "$e" "warning: $S/store is unusable (checksum mismatch" "a damaged primary is reported"
has "$e" "using the previous generation" "the spare is named"
[[ -s $o ]] || fail "list showed nothing from the spare"
vt 0 add "$F/a"
has "$e" "this change rewrites store from it" "a change on the spare says it rewrites the store"
vt 0 list
[[ ! -s $e ]] || { dump_file "$e"; fail "after a change the store still loads from the spare"; }

# --- both damaged: refused, with a way out
printf 'X' | dd of="$S/store" bs=1 seek=40 conv=notrunc 2>/dev/null
printf 'X' | dd of="$S/store.prev" bs=1 seek=40 conv=notrunc 2>/dev/null
before=$(sha "$S/store")
vt 1 add "$F/good"
has "$e" "both generations are unusable" "two damaged generations are refused"
has "$e" "store.prev aside" "the refusal tells how to recover"
[[ $(sha "$S/store") == "$before" ]] || fail "a refused change wrote the store"
vt 1 list
vt 1 verify

# --- 20 writers at once: the lock serializes them, none is lost
S2=$T_TMP/store2
mkdir -p "$F/par"
pids=()
for i in $(seq 1 20); do
	printf 'file %s' "$i" >"$F/par/f$i"
done
for i in $(seq 1 20); do
	"$VIGIL" trust --dir "$S2" --bpffs "$B" add "$F/par/f$i" >"$T_TMP/par$i.out" 2>"$T_TMP/par$i.err" </dev/null &
	pids+=($!)
done
bad=0
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || { bad=1; dump_file "$T_TMP/par$((i + 1)).err"; }
done
((bad == 0)) || fail "a parallel add failed"
n=$(timeout 30 "$VIGIL" trust --dir "$S2" --bpffs "$B" list --json | jq length)
[[ $n == 20 ]] || fail "20 parallel adds left $n records"
g=$(sed -n 2p "$S2/store")
[[ $g == "generation 20" ]] || fail "20 saves should give generation 20, the store says '$g'"

# --- usage and help
vt 2
vt 2 frobnicate
has "$e" "unknown command 'frobnicate'" "an unknown command is named"
vt 2 add
vt 2 list --mode 0755
vt 0 --help
has "$o" "Examples:" "help has examples"
rc=0
"$VIGIL" --help >"$o" 2>"$e" || rc=$?
[[ $rc == 0 ]] || fail "vigil --help exited $rc"
grep -qE '^ +trust ' "$o" || { dump_file "$o"; fail "vigil --help does not list the trust command"; }

log "ok"
