# The host's signal assertions, on the stock 6.1 kernel: a process in one
# container sends SIGUSR1 to a process in another container and to a host
# process; both signal events name both ends' containers, and delivery to
# the trapping target runs a user handler.
. /lib/vmtest.sh

podA=$(rand_pod_uid) idA=$(rand_container_id)
podB=$(rand_pod_uid) idB=$(rand_container_id)
cgA=kubepods/burstable/pod$podA/$idA
cgB=kubepods/besteffort/pod$podB/$idB

mkdir -p /sys/fs/cgroup/$cgB
# Not via in_cgroup: a backgrounded function's $! is its subshell, not the target.
sh -c 'echo $$ > "$0/cgroup.procs" && exec sh -c "$1"' /sys/fs/cgroup/$cgB \
	'trap "echo got-usr1" USR1; while :; do sleep 1; done' &
tb=$!
sh -c 'trap "" USR1; while :; do sleep 1; done' &
th=$!
sleep 0.5

vigil_start "$T/t.json" "$T/t.err" trace signal --json
vp=$VIGIL_PID
in_cgroup "$cgA" sh -c "kill -USR1 $tb; kill -USR1 $th"
wait_for "$T/t.json" "\"type\":\"signal_deliver\",\"node\":\"vigil-vm\",\"process\":{\"pid\":$tb," 30
vigil_stop $vp
kill -KILL $tb $th

expect_jq "$T/t.json" ".type == \"signal\" and .signal == 10 and .target.process.pid == $tb" \
	".container.id == \"$idA\" and .target.container.id == \"$idB\" and .target.container.pod_uid == \"$podB\" and .signal_name == \"SIGUSR1\" and .result == \"delivered\"" \
	"container A -> container B"
expect_jq "$T/t.json" ".type == \"signal\" and .signal == 10 and .target.process.pid == $th" \
	".container.id == \"$idA\" and .target.container.runtime == \"host\" and .result == \"ignored\"" \
	"container A -> host (ignored)"
expect_jq "$T/t.json" ".type == \"signal_deliver\" and .process.pid == $tb and .signal == 10" \
	".handler == \"user\" and .container.id == \"$idB\"" "delivery runs B's handler"
sleep 0.2
rmdir /sys/fs/cgroup/$cgA /sys/fs/cgroup/$cgB 2>/dev/null
true
