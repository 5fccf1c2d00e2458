# Container attribution on pure cgroup v2: kubepods trees made by the test,
# in the cgroupfs and the systemd layouts, attribute execs to the right
# container id, pod UID and QoS class; cgroups created after vigil started
# are learnt from cgroup_mkdir, and one created before it is resolved by id.
. /lib/vmtest.sh

pod1=$(rand_pod_uid) id1=$(rand_container_id)
pod2=$(rand_pod_uid) id2=$(rand_container_id)
pod3=$(rand_pod_uid) id3=$(rand_container_id)
cg1=kubepods/burstable/pod$pod1/$id1
pod2u=$(echo "$pod2" | tr - _)
cg2=kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod$pod2u.slice/cri-containerd-$id2.scope
cg3=kubepods/pod$pod3/$id3
mkdir -p /sys/fs/cgroup/$cg3	# exists before vigil starts
m=vm-$(rand_hex 12)

vigil_start "$T/t.json" "$T/t.err" trace exec --json
vp=$VIGIL_PID
in_cgroup "$cg1" /bin/true "$m-1"
in_cgroup "$cg2" /bin/true "$m-2"
in_cgroup "$cg3" /bin/true "$m-3"
wait_for "$T/t.json" "\"$m-3\"" 30
vigil_stop $vp

expect_jq "$T/t.json" ".process.args == [\"/bin/true\", \"$m-1\"]" \
	".container.id == \"$id1\" and .container.pod_uid == \"$pod1\" and .container.qos == \"burstable\" and .container.runtime == \"kubepods\" and .container.cgroup == \"/$cg1\"" \
	"cgroupfs burstable container"
expect_jq "$T/t.json" ".process.args == [\"/bin/true\", \"$m-2\"]" \
	".container.id == \"$id2\" and .container.pod_uid == \"$pod2\" and .container.qos == \"besteffort\" and .container.runtime == \"containerd\"" \
	"systemd-style containerd container"
expect_jq "$T/t.json" ".process.args == [\"/bin/true\", \"$m-3\"]" \
	".container.id == \"$id3\" and .container.pod_uid == \"$pod3\" and .container.qos == \"guaranteed\"" \
	"guaranteed container whose cgroup predates vigil"
for c in $cg1 $cg3; do rmdir /sys/fs/cgroup/$c; done
rmdir /sys/fs/cgroup/$cg2
