#!/usr/bin/env bash
#
# run.sh - the stock-kernel VM test tier (`make vmtest`).
#
# Boots Debian's linux-image-cloud-amd64 kernel under qemu (TCG: KVM does
# not work on these machines) with an initramfs holding busybox-static,
# build/vigil-static, jq, a static memhog (tests/integration/memhog.c) and
# the cases in tests/vm/cases/, and reads the results the guest prints on
# the serial console.  The kernel package is
# fetched with `apt-get download` and unpacked with `dpkg -x` into a cache
# under build/vm/; it is never installed on the host.
#
#   tests/vm/run.sh [-t SECONDS] [CASE...]
#
# Exits non-zero on: any failed case, a timeout, a boot that never reaches
# /init, "Kernel panic", or a BPF verifier failure on the console.  The last
# line is "N passed, N failed, N skipped".
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
vmdir=$root/build/vm
timeout_s=${VIGIL_VM_TIMEOUT:-900}
mem=${VIGIL_VM_MEM:-1536}
console=$vmdir/console.log

while getopts 't:h' opt; do
	case $opt in
	t) timeout_s=$OPTARG ;;
	h) sed -n '3,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))

die() { echo "vmtest: $*" >&2; echo "0 passed, 1 failed, 0 skipped"; exit 1; }

for tool in qemu-system-x86_64 cpio gzip dpkg apt-get jq; do
	command -v "$tool" >/dev/null || die "$tool not found (run make deps)"
done
[[ -x $root/build/vigil-static ]] || die "build/vigil-static missing (run make static)"

# ---------------------------------------------------------------- kernel
# The meta package names the current versioned image; resolve it so the
# cache is keyed by the real version.
kernel_pkg() {
	apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}
pkg=$(kernel_pkg)
if [[ -z $pkg ]]; then
	apt-get update -qq >/dev/null 2>&1 || true
	pkg=$(kernel_pkg)
fi
[[ -n $pkg ]] || die "cannot resolve linux-image-cloud-amd64 to a versioned package (apt-cache depends)"
kdir=$vmdir/kernel/$pkg
if ! ls "$kdir"/boot/vmlinuz-* >/dev/null 2>&1; then
	mkdir -p "$vmdir/kernel/dl"
	rm -f "$vmdir/kernel/dl/"*.deb
	(cd "$vmdir/kernel/dl" && apt-get download "$pkg" >/dev/null 2>&1) ||
		die "apt-get download $pkg failed"
	rm -rf "$kdir.tmp"
	dpkg -x "$vmdir/kernel/dl/$pkg"_*.deb "$kdir.tmp" || die "dpkg -x failed"
	mv "$kdir.tmp" "$kdir"
	rm -f "$vmdir/kernel/dl/"*.deb
fi
vmlinuz=$(ls "$kdir"/boot/vmlinuz-* | head -1)

# ---------------------------------------------------------------- initramfs
ir=$vmdir/initramfs
rm -rf "$ir"
mkdir -p "$ir"/{bin,sbin,lib,lib64,proc,sys,dev,tmp,run,cases,usr/bin}
cp /bin/busybox "$ir/bin/busybox"
cp "$root/build/vigil-static" "$ir/bin/vigil"
cp "$here/init.sh" "$ir/init"
cp "$here/lib.sh" "$ir/lib/vmtest.sh"
chmod 0755 "$ir/init"
# The host tests' memory hog, static (the guest has no libc): OOM cases.
cc -static -O2 -Wall -Wextra -o "$ir/bin/memhog" "$root/tests/integration/memhog.c" ||
	die "cannot build a static memhog from tests/integration/memhog.c"

# One real module of this kernel, for the trust cases' module loads.
ko=$(find "$kdir/lib/modules" -name dummy.ko 2>/dev/null | head -1)
[[ -n $ko ]] || die "no dummy.ko in $pkg"
mkdir -p "$ir/lib/modules"
cp "$ko" "$ir/lib/modules/dummy.ko"

# The oom_policy case: its memory hogs (oomlat, static: the guest has no
# libc of its own) and a RAM disk module (brd) whose page cache it thrashes,
# the guest having no disk.
cc -static -O2 -Wall -Wextra -o "$vmdir/oomlat" "$root/tests/bench/oomlat.c" -lm ||
	die "cannot build tests/bench/oomlat.c statically"
cp "$vmdir/oomlat" "$ir/bin/oomlat"
brd=$(find "$kdir/lib/modules" -name brd.ko 2>/dev/null | head -1)
[[ -n $brd ]] || die "no brd.ko in $pkg"
cp "$brd" "$ir/lib/modules/brd.ko"

# jq is dynamically linked: bring it with the libraries ldd names.
cp "$(command -v jq)" "$ir/bin/jq"
ldd "$(command -v jq)" | awk '/=>/ { print $3 } /^\t\/lib64/ { print $1 }' |
	while read -r lib; do
		[[ -n $lib && -e $lib ]] || continue
		mkdir -p "$ir$(dirname "$lib")"
		cp -L "$lib" "$ir$lib"
	done

# Cases: all of tests/vm/cases/, or those named.
if (($#)); then
	for c in "$@"; do
		c=${c##*/}
		c=${c%.sh}
		[[ -f $here/cases/$c.sh ]] || die "no such case: $here/cases/$c.sh"
		cp "$here/cases/$c.sh" "$ir/cases/"
	done
else
	cp "$here"/cases/*.sh "$ir/cases/"
fi
ncases=$(ls "$ir/cases" | wc -l)
(cd "$ir" && find . | cpio -o -H newc --quiet | gzip -1) > "$vmdir/initramfs.cpio.gz" ||
	die "building the initramfs failed"

# ---------------------------------------------------------------- boot
# `lsm=` lists bpf explicitly: Debian's default LSM order leaves it out.
append="console=ttyS0 lsm=lockdown,capability,landlock,yama,apparmor,bpf panic=-1 oops=panic quiet loglevel=4"
echo "vmtest: booting $(basename "$vmlinuz") (TCG, ${mem} MiB) with $ncases case(s); console: $console"
start=$SECONDS
timeout -k 10 "$timeout_s" qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m "$mem" \
	-nographic -no-reboot -monitor none -serial stdio \
	-kernel "$vmlinuz" -initrd "$vmdir/initramfs.cpio.gz" -append "$append" \
	</dev/null >"$console" 2>&1
qrc=$?
elapsed=$((SECONDS - start))
# Serial output carries CRs; strip them once for every check below.
sed -i 's/\r$//' "$console"

# ---------------------------------------------------------------- verdict
show() { echo "---- console: $1 ----"; grep -E "$2" "$console" | head -n "${3:-40}" | sed 's/^/    /'; }
problems=()
if ! grep -q 'VMTEST-INIT-START' "$console"; then
	problems+=("the guest never reached /init")
fi
if grep -q 'Kernel panic' "$console"; then
	problems+=("kernel panic")
	show "panic" 'Kernel panic|BUG:|Oops|RIP:|Call Trace' 40
fi
if grep -qE 'BEGIN PROG LOAD LOG|failed to load BPF|verifier' "$console"; then
	problems+=("a BPF program failed verification")
	show "verifier" 'PROG LOAD LOG|failed to load|verifier|processed [0-9]+ insns|^[0-9]+: \(' 60
fi
if ((qrc == 124 || qrc == 137)); then
	problems+=("timed out after ${timeout_s}s")
elif ((qrc != 0)); then
	problems+=("qemu exited with status $qrc")
fi

passed=0 failed=0 skipped=0
while read -r _ name verdict reason; do
	case $verdict in
	PASS) passed=$((passed + 1)); echo "PASS vm:$name" ;;
	SKIP) skipped=$((skipped + 1)); echo "SKIP vm:$name: $reason" ;;
	*)
		failed=$((failed + 1))
		echo "FAIL vm:$name ${reason:-}"
		# The case's own output: lines between its start and result markers.
		sed -n "/^VMTEST-CASE-START $name\$/,/^VMTEST-RESULT $name /p" "$console" |
			tail -n 60 | sed 's/^/    | /'
		;;
	esac
done < <(grep '^VMTEST-RESULT ' "$console")

reported=$((passed + failed + skipped))
if ((reported < ncases)); then
	problems+=("only $reported of $ncases case(s) reported a result")
fi
if ((${#problems[@]})); then
	for p in "${problems[@]}"; do echo "vmtest: $p" >&2; done
	echo "---- console: last lines ----"
	tail -n 30 "$console" | sed 's/^/    /'
	failed=$((failed + ncases - reported))
	((failed > 0)) || failed=1
fi
echo "vmtest: ${elapsed}s in the guest"
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
