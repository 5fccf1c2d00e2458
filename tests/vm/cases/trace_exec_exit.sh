# The host's exec and exit assertions, on the stock 6.1 kernel: an exec
# names its binary and argv, `exit 3` gives exit_code 3, SIGKILL gives
# signal 9, and host processes are attributed to the host.
. /lib/vmtest.sh

marker=vm-$(rand_hex 12)
vigil_start "$T/t.json" "$T/t.err" trace exec exit --json
vp=$VIGIL_PID

/bin/sh -c "exit 3" "$marker-exit"
sh -c "/bin/true $marker"
sleep 300 &
kp=$!
sleep 1.2
kill -KILL $kp
wait $kp 2>/dev/null

wait_for "$T/t.json" "\"type\":\"exit\",\"node\":\"vigil-vm\",\"process\":{\"pid\":$kp," 30
vigil_stop $vp
grep -q '0 lost' "$T/t.err" || { cat "$T/t.err"; fail "events were lost"; }

expect_jq "$T/t.json" ".type == \"exec\" and (.process.args | index(\"$marker\"))" \
	".process.binary == \"/bin/busybox\" and .process.args == [\"/bin/true\", \"$marker\"] and .container.runtime == \"host\" and .container.id == \"\"" \
	"exec names binary, argv and host"
expect_jq "$T/t.json" ".type == \"exit\" and .exit_code == 3 and (.process.args | index(\"$marker-exit\"))" \
	'.signal == 0 and .signal_name == ""' "exit 3 is a normal exit"
expect_jq "$T/t.json" ".type == \"exit\" and .process.pid == $kp" \
	'.signal == 9 and .signal_name == "SIGKILL" and .lifetime_seconds >= 1' "SIGKILL exit"
