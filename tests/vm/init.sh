#!/bin/busybox sh
# /init of the VM test tier: mount what vigil needs, run every case in
# /cases, print one machine-readable line per case and a summary, power off.
# Lines the host reads (tests/vm/run.sh):
#   VMTEST-INIT-START
#   VMTEST-CASE-START <case>
#   VMTEST-RESULT <case> PASS|FAIL|SKIP [reason]
#   VMTEST-SUMMARY N passed, N failed, N skipped
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t securityfs securityfs /sys/kernel/security
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
# Every controller for children, so cases can build kubepods-style trees
# with memory limits.
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
	echo "+$c" > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
done
hostname vigil-vm

echo VMTEST-INIT-START
echo "kernel $(uname -r); lsm: $(cat /sys/kernel/security/lsm); cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)"

passed=0 failed=0 skipped=0
for c in /cases/*.sh; do
	name=$(basename "$c" .sh)
	echo "VMTEST-CASE-START $name"
	timeout 120 sh "$c" > /tmp/case.out 2>&1
	rc=$?
	cat /tmp/case.out
	case $rc in
	0) echo "VMTEST-RESULT $name PASS"; passed=$((passed + 1)) ;;
	77) echo "VMTEST-RESULT $name SKIP $(grep '^SKIP:' /tmp/case.out | tail -1 | cut -c7-)"
	    skipped=$((skipped + 1)) ;;
	*) echo "VMTEST-RESULT $name FAIL exit $rc"; failed=$((failed + 1)) ;;
	esac
done
echo "VMTEST-SUMMARY $passed passed, $failed failed, $skipped skipped"
sync
poweroff -f
