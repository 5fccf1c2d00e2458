/*
 * test_cgroup.c - container attribution from real runtimes' cgroup paths,
 * mountinfo parsing from real machines' layouts, and cgroup id -> path
 * resolution against this machine's live cgroupfs (skipped, loudly, when
 * not root or when the hierarchy is absent).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"

/* Real-looking ids: 64 lower-case hex, and a v4 pod UID. */
#define CID	"97c3a7b1b1526c2c23f3f2f38251e57daf8c7f5041a869b5fa2ae2c9ac89736f"
#define CID2	"2d04790776b9513f7c77faddfc80736c4a8281f7440a0fbdddd7d48056bcc551"
#define PODID	"8162fb51c998b22c550d90bac4351af7b92814285aacfafaf66e8ce2a8b3cf06"
#define UID	"17e6e95c-d075-470c-998c-7ec555c01cac"
#define UID_	"17e6e95c_d075_470c_998c_7ec555c01cac"	/* systemd slice spelling */
#define STATIC_UID "6d5e3c0dd3a7a4cbc7e0b1c7ed7e3c6a"	/* static pod: manifest hash */

/* A parser that loops forever must fail the run, not hang it. */
TestSuite(cgroup_path, .timeout = 10);
TestSuite(cgroup_names, .timeout = 10);
TestSuite(cgroup_layout, .timeout = 10);
TestSuite(cgroup_live, .timeout = 30);

#define RT(x)	VIGIL_RT_##x
#define QOS(x)	VIGIL_QOS_##x

struct pcase {
	const char *path;
	enum vigil_runtime rt;
	enum vigil_qos qos;
	const char *id;
	const char *pod;
};

/* Every field is checked, on a struct poisoned first, so stale data shows. */
static void check_paths(const struct pcase *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct vigil_container v;
		bool want = c[i].rt != VIGIL_RT_HOST, got;

		memset(&v, 0x5a, sizeof(v));
		got = cgroup_parse_path(c[i].path, &v);
		cr_expect_eq(got, want, "%s: returned %d, want %d", c[i].path, got, want);
		cr_expect_eq(v.runtime, c[i].rt, "%s: runtime %s, want %s", c[i].path,
			     cgroup_runtime_name(v.runtime), cgroup_runtime_name(c[i].rt));
		cr_expect_eq(v.qos, c[i].qos, "%s: qos '%s', want '%s'", c[i].path,
			     cgroup_qos_name(v.qos), cgroup_qos_name(c[i].qos));
		cr_expect(memchr(v.id, '\0', sizeof(v.id)) && memchr(v.pod_uid, '\0', sizeof(v.pod_uid)),
			  "%s: unterminated id or pod_uid", c[i].path);
		if (!memchr(v.id, '\0', sizeof(v.id)) || !memchr(v.pod_uid, '\0', sizeof(v.pod_uid)))
			continue;
		cr_expect_str_eq(v.id, c[i].id ? c[i].id : "", "%s: id '%s'", c[i].path, v.id);
		cr_expect_str_eq(v.pod_uid, c[i].pod ? c[i].pod : "", "%s: pod '%s'",
				 c[i].path, v.pod_uid);
	}
}

#define CHECK(table) check_paths(table, sizeof(table) / sizeof(table[0]))

/* ---- attribution ---------------------------------------------------------- */

Test(cgroup_path, docker_containers_are_found_under_the_cgroupfs_and_systemd_drivers)
{
	static const struct pcase t[] = {
		{ "/docker/" CID, RT(DOCKER), 0, CID, NULL },
		{ "/system.slice/docker-" CID ".scope", RT(DOCKER), 0, CID, NULL },
		/* rootless docker under the user's systemd instance */
		{ "/user.slice/user-1000.slice/user@1000.service/user.slice/docker-" CID ".scope",
		  RT(DOCKER), 0, CID, NULL },
		/* --cgroup-parent with the systemd driver */
		{ "/ci.slice/docker-" CID ".scope", RT(DOCKER), 0, CID, NULL },
	};
	CHECK(t);
}

Test(cgroup_path, containerd_containers_in_systemd_pods_carry_the_pod_uid_and_qos)
{
	static const struct pcase t[] = {
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice/cri-containerd-" CID ".scope",
		  RT(CONTAINERD), QOS(BURSTABLE), CID, UID },
		{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_ ".slice/cri-containerd-" CID ".scope",
		  RT(CONTAINERD), QOS(BESTEFFORT), CID, UID },
		{ "/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" CID ".scope",
		  RT(CONTAINERD), QOS(GUARANTEED), CID, UID },
		/* kubelet --cgroup-root=/kubelet.slice (kind, some distros) */
		{ "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" UID_ ".slice/cri-containerd-" CID ".scope",
		  RT(CONTAINERD), QOS(BESTEFFORT), CID, UID },
	};
	CHECK(t);
}

Test(cgroup_path, bare_ids_in_cgroupfs_pods_are_kubepods_containers_with_pod_and_qos)
{
	static const struct pcase t[] = {
		{ "/kubepods/burstable/pod" UID "/" CID, RT(KUBEPODS), QOS(BURSTABLE), CID, UID },
		{ "/kubepods/besteffort/pod" UID "/" CID, RT(KUBEPODS), QOS(BESTEFFORT), CID, UID },
		{ "/kubepods/pod" UID "/" CID, RT(KUBEPODS), QOS(GUARANTEED), CID, UID },
	};
	CHECK(t);
}

Test(cgroup_path, crio_containers_are_found_with_and_without_the_scope_suffix)
{
	static const struct pcase t[] = {
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice/crio-" CID ".scope",
		  RT(CRIO), QOS(BURSTABLE), CID, UID },
		{ "/kubepods.slice/kubepods-pod" UID_ ".slice/crio-" CID ".scope",
		  RT(CRIO), QOS(GUARANTEED), CID, UID },
		{ "/kubepods/besteffort/pod" UID "/crio-" CID, RT(CRIO), QOS(BESTEFFORT), CID, UID },
		/* CRI-O runs systemd-in-container workloads one level deeper */
		{ "/kubepods.slice/kubepods-pod" UID_ ".slice/crio-" CID ".scope/container",
		  RT(CRIO), QOS(GUARANTEED), CID, UID },
	};
	CHECK(t);
}

Test(cgroup_path, crio_conmon_is_attributed_to_its_pod_but_is_not_a_container)
{
	static const struct pcase t[] = {
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice/crio-conmon-" CID ".scope",
		  RT(CRIO), QOS(BURSTABLE), "", UID },
		{ "/kubepods/burstable/pod" UID "/crio-conmon-" CID, RT(CRIO), QOS(BURSTABLE), "", UID },
	};
	CHECK(t);
}

Test(cgroup_path, podman_containers_are_found_in_machine_user_and_cgroupfs_parents)
{
	static const struct pcase t[] = {
		{ "/machine.slice/libpod-" CID ".scope", RT(PODMAN), 0, CID, NULL },
		{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" CID ".scope",
		  RT(PODMAN), 0, CID, NULL },
		{ "/libpod_parent/libpod-" CID, RT(PODMAN), 0, CID, NULL },
		/* podman pods: a slice per pod, named after the 64-hex pod id */
		{ "/machine.slice/machine-libpod_pod_" PODID ".slice/libpod-" CID ".scope",
		  RT(PODMAN), 0, CID, NULL },
		/* ...and with cgroupfs the pod id is a bare 64-hex directory */
		{ "/libpod_parent/" PODID "/libpod-" CID, RT(PODMAN), 0, CID, NULL },
		/* --systemd=always: systemd inside the container */
		{ "/machine.slice/libpod-" CID ".scope/container", RT(PODMAN), 0, CID, NULL },
	};
	CHECK(t);
}

Test(cgroup_path, podman_conmon_is_podman_machinery_without_a_container_id)
{
	static const struct pcase t[] = {
		{ "/machine.slice/libpod-conmon-" CID ".scope", RT(PODMAN), 0, "", NULL },
		{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-conmon-" CID ".scope",
		  RT(PODMAN), 0, "", NULL },
	};
	CHECK(t);
}

Test(cgroup_path, pod_level_cgroups_have_a_pod_uid_and_qos_but_no_container_id)
{
	static const struct pcase t[] = {
		{ "/kubepods/burstable/pod" UID, RT(KUBEPODS), QOS(BURSTABLE), "", UID },
		{ "/kubepods/pod" UID, RT(KUBEPODS), QOS(GUARANTEED), "", UID },
		{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_ ".slice",
		  RT(KUBEPODS), QOS(BESTEFFORT), "", UID },
		{ "/kubepods.slice/kubepods-pod" UID_ ".slice", RT(KUBEPODS), QOS(GUARANTEED), "", UID },
		/* a leaf we do not recognise still belongs to the pod */
		{ "/kubepods/burstable/pod" UID "/not-a-container", RT(KUBEPODS), QOS(BURSTABLE), "", UID },
	};
	CHECK(t);
}

Test(cgroup_path, static_pod_uids_made_of_32_hex_digits_are_pods)
{
	static const struct pcase t[] = {
		{ "/kubepods/burstable/pod" STATIC_UID "/" CID, RT(KUBEPODS), QOS(BURSTABLE), CID, STATIC_UID },
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" STATIC_UID ".slice/cri-containerd-" CID ".scope",
		  RT(CONTAINERD), QOS(BURSTABLE), CID, STATIC_UID },
	};
	CHECK(t);
}

Test(cgroup_path, docker_in_a_pod_keeps_the_pod_attribution)
{
	static const struct pcase t[] = {
		/* cri-dockerd with the systemd driver */
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice/docker-" CID ".scope",
		  RT(DOCKER), QOS(BURSTABLE), CID, UID },
	};
	CHECK(t);
}

Test(cgroup_path, anything_nested_below_a_container_belongs_to_the_outermost_container)
{
	static const struct pcase t[] = {
		{ "/docker/" CID "/init.scope", RT(DOCKER), 0, CID, NULL },
		{ "/system.slice/docker-" CID ".scope/init.scope", RT(DOCKER), 0, CID, NULL },
		{ "/system.slice/docker-" CID ".scope/system.slice/sshd.service", RT(DOCKER), 0, CID, NULL },
		/* docker-in-docker: the node agent owns the outer container */
		{ "/docker/" CID "/docker/" CID2, RT(DOCKER), 0, CID, NULL },
		/* kind: a whole kubelet inside one docker container */
		{ "/system.slice/docker-" CID ".scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod" UID_ ".slice/cri-containerd-" CID2 ".scope",
		  RT(DOCKER), 0, CID, NULL },
		{ "/kubepods/burstable/pod" UID "/" CID "/sub", RT(KUBEPODS), QOS(BURSTABLE), CID, UID },
	};
	CHECK(t);
}

Test(cgroup_path, host_paths_are_attributed_to_the_host)
{
	static const struct pcase t[] = {
		{ "/", RT(HOST), 0, "", NULL },
		{ "", RT(HOST), 0, "", NULL },
		{ "/init.scope", RT(HOST), 0, "", NULL },
		{ "/system.slice/sshd.service", RT(HOST), 0, "", NULL },
		{ "/system.slice/docker.service", RT(HOST), 0, "", NULL },
		{ "/system.slice/containerd.service", RT(HOST), 0, "", NULL },
		{ "/system.slice/docker.socket", RT(HOST), 0, "", NULL },
		{ "/user.slice/user-1000.slice/session-3.scope", RT(HOST), 0, "", NULL },
		{ "/user.slice/user-1000.slice/user@1000.service/app.slice/dbus.service",
		  RT(HOST), 0, "", NULL },
		/* QoS-level cgroups are kubelet machinery, not pods */
		{ "/kubepods", RT(HOST), 0, "", NULL },
		{ "/kubepods/burstable", RT(HOST), 0, "", NULL },
		{ "/kubepods.slice/kubepods-besteffort.slice", RT(HOST), 0, "", NULL },
		{ "/docker", RT(HOST), 0, "", NULL },
	};
	CHECK(t);
}

Test(cgroup_path, a_null_path_is_the_host)
{
	struct vigil_container v;

	memset(&v, 0x5a, sizeof(v));
	cr_assert_not(cgroup_parse_path(NULL, &v));
	cr_expect_eq(v.runtime, VIGIL_RT_HOST);
	cr_expect_str_eq(v.id, "");
	cr_expect_str_eq(v.pod_uid, "");
}

Test(cgroup_path, ids_that_are_not_exactly_64_lower_case_hex_digits_are_rejected)
{
	/* 63 and 65 digits, upper case, a non-hex letter */
	static const struct pcase t[] = {
		{ "/docker/" CID "0", RT(HOST), 0, "", NULL },
		{ "/docker/" "7c3a7b1b1526c2c23f3f2f38251e57daf8c7f5041a869b5fa2ae2c9ac89736f", RT(HOST), 0, "", NULL },
		{ "/docker/97C3A7B1B1526C2C23F3F2F38251E57DAF8C7F5041A869B5FA2AE2C9AC89736F", RT(HOST), 0, "", NULL },
		{ "/docker/g7c3a7b1b1526c2c23f3f2f38251e57daf8c7f5041a869b5fa2ae2c9ac89736f", RT(HOST), 0, "", NULL },
		{ "/system.slice/docker-" CID "0.scope", RT(HOST), 0, "", NULL },
		{ "/system.slice/docker-97C3A7B1B1526C2C23F3F2F38251E57DAF8C7F5041A869B5FA2AE2C9AC89736F.scope",
		  RT(HOST), 0, "", NULL },
		{ "/machine.slice/libpod-conmon-1234.scope", RT(HOST), 0, "", NULL },
		{ "/kubepods/burstable/pod" UID "/" CID "0", RT(KUBEPODS), QOS(BURSTABLE), "", UID },
		/* only systemd makes cri-containerd- and docker- names, always as scopes */
		{ "/system.slice/docker-" CID, RT(HOST), 0, "", NULL },
		{ "/system.slice/cri-containerd-" CID, RT(HOST), 0, "", NULL },
		/* a prefix that merely starts like a runtime's */
		{ "/system.slice/dockerd-" CID "x.scope", RT(HOST), 0, "", NULL },
	};
	CHECK(t);
}

Test(cgroup_path, pod_segments_that_are_not_uuids_do_not_make_a_pod)
{
	static const struct pcase t[] = {
		{ "/kubepods/burstable/podfoo", RT(HOST), 0, "", NULL },
		{ "/kubepods/burstable/pod" UID "0", RT(HOST), 0, "", NULL },
		{ "/kubepods/burstable/pod17E6E95C-D075-470C-998C-7EC555C01CAC", RT(HOST), 0, "", NULL },
		/* dashes where systemd would have underscores, and the reverse */
		{ "/kubepods.slice/kubepods-pod" UID ".slice", RT(HOST), 0, "", NULL },
		{ "/kubepods/pod" UID_, RT(HOST), 0, "", NULL },
		/* a dash in the wrong place */
		{ "/kubepods/pod17e6e95cd-075-470c-998c-7ec555c01cac", RT(HOST), 0, "", NULL },
		/* "pod<uuid>" outside any kubepods tree is just a directory */
		{ "/system.slice/pod" UID, RT(HOST), 0, "", NULL },
		/* the container id survives, but nothing claims a pod for it */
		{ "/kubepods/burstable/podfoo/" CID, RT(UNKNOWN), 0, CID, NULL },
	};
	CHECK(t);
}

Test(cgroup_path, container_ids_from_unnamed_runtimes_are_reported_as_unknown)
{
	static const struct pcase t[] = {
		/* nerdctl with the cgroupfs driver uses the namespace name */
		{ "/default/" CID, RT(UNKNOWN), 0, CID, NULL },
		/* nerdctl with the systemd driver */
		{ "/system.slice/nerdctl-" CID ".scope", RT(UNKNOWN), 0, CID, NULL },
		/* Amazon ECS: task id, then container id */
		{ "/ecs/8f2c1d5e6a7b4c3d9e0f1a2b3c4d5e6f/" CID, RT(UNKNOWN), 0, CID, NULL },
	};
	CHECK(t);
}

Test(cgroup_path, a_reused_struct_is_fully_overwritten)
{
	struct vigil_container v;

	cr_assert(cgroup_parse_path("/kubepods/burstable/pod" UID "/" CID, &v));
	cr_assert_not(cgroup_parse_path("/init.scope", &v));
	cr_expect_eq(v.runtime, VIGIL_RT_HOST);
	cr_expect_eq(v.qos, VIGIL_QOS_NONE);
	cr_expect_str_eq(v.id, "");
	cr_expect_str_eq(v.pod_uid, "");
}

Test(cgroup_names, runtime_qos_and_mode_names_are_the_json_vocabulary)
{
	static const char *const rt[] = { "host", "docker", "containerd", "crio",
					  "podman", "kubepods", "unknown" };
	static const char *const qos[] = { "", "guaranteed", "burstable", "besteffort" };
	static const char *const mode[] = { "none", "v1", "v2", "hybrid" };

	for (int i = 0; i <= VIGIL_RT_UNKNOWN; i++)
		cr_expect_str_eq(cgroup_runtime_name(i), rt[i]);
	for (int i = 0; i <= VIGIL_QOS_BESTEFFORT; i++)
		cr_expect_str_eq(cgroup_qos_name(i), qos[i]);
	for (int i = 0; i <= VIGIL_CGROUP_HYBRID; i++)
		cr_expect_str_eq(cgroup_mode_name(i), mode[i]);
}

Test(cgroup_names, out_of_range_values_get_safe_names_instead_of_crashing)
{
	cr_expect_str_eq(cgroup_runtime_name((enum vigil_runtime)99), "unknown");
	cr_expect_str_eq(cgroup_runtime_name((enum vigil_runtime)-1), "unknown");
	cr_expect_str_eq(cgroup_qos_name((enum vigil_qos)99), "");
	cr_expect_str_eq(cgroup_mode_name((enum vigil_cgroup_mode)99), "unknown");
}

/* ---- mountinfo ------------------------------------------------------------ */

/* Debian 12 / Fedora: systemd's unified layout. */
static const char mi_pure_v2[] =
	"22 28 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
	"23 28 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw\n"
	"28 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro\n"
	"26 23 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
	"27 23 0:25 / /sys/fs/bpf rw,nosuid,nodev,noexec,relatime shared:5 - bpf bpf rw,mode=700\n";

/* CentOS 7: v1 only, co-mounted controllers, systemd's named hierarchy. */
static const char mi_pure_v1[] =
	"18 62 0:17 / /sys rw,nosuid,nodev,noexec,relatime shared:6 - sysfs sysfs rw\n"
	"24 18 0:20 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:7 - tmpfs tmpfs ro,mode=755\n"
	"25 24 0:21 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:8 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd\n"
	"28 24 0:24 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,cpuacct,cpu\n"
	"29 24 0:25 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,net_prio,net_cls\n"
	"30 24 0:26 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,memory\n"
	"31 24 0:27 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpuset\n"
	"32 24 0:28 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,pids\n";

/* This development host, verbatim: v1 controllers plus cgroup2 at unified. */
static const char mi_this_host[] =
	"22 27 0:21 / /proc rw,relatime - proc proc rw\n"
	"23 27 0:22 / /sys rw,relatime - sysfs sysfs rw\n"
	"24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334464k,nr_inodes=3083616,mode=755\n"
	"25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24683656k\n"
	"26 24 0:24 / /dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000\n"
	"27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534\n"
	"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	"33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
	"34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
	"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	"36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
	"37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
	"38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
	"39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
	"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
	"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
	"42 23 0:7 / /sys/kernel/security rw,relatime - securityfs none rw\n";

Test(cgroup_layout, a_lone_cgroup2_mount_is_v2)
{
	struct vigil_cgroup_layout l;

	cr_assert_eq(cgroup_layout_parse(mi_pure_v2, &l), 0);
	cr_expect_eq(l.mode, VIGIL_CGROUP_V2, "mode %s", cgroup_mode_name(l.mode));
	cr_expect_str_eq(l.v2_mount, "/sys/fs/cgroup");
	cr_expect_eq(l.n_v1, 0);
	cr_expect_null(cgroup_layout_v1_mount(&l, "memory"));
}

Test(cgroup_layout, v1_only_lists_each_hierarchy_with_only_its_controllers)
{
	struct vigil_cgroup_layout l;

	cr_assert_eq(cgroup_layout_parse(mi_pure_v1, &l), 0);
	cr_expect_eq(l.mode, VIGIL_CGROUP_V1, "mode %s", cgroup_mode_name(l.mode));
	cr_expect_str_eq(l.v2_mount, "");
	cr_assert_eq(l.n_v1, 6);
	/* rw, xattr and release_agent= are hierarchy flags, not controllers */
	cr_expect_str_eq(l.v1[0].controllers, "name=systemd");
	cr_expect_str_eq(l.v1[0].mount, "/sys/fs/cgroup/systemd");
	cr_expect_str_eq(l.v1[1].controllers, "cpuacct,cpu");
	cr_expect_str_eq(cgroup_layout_v1_mount(&l, "cpu"), "/sys/fs/cgroup/cpu,cpuacct");
	cr_expect_str_eq(cgroup_layout_v1_mount(&l, "cpuacct"), "/sys/fs/cgroup/cpu,cpuacct");
	cr_expect_str_eq(cgroup_layout_v1_mount(&l, "net_cls"), "/sys/fs/cgroup/net_cls,net_prio");
	cr_expect_str_eq(cgroup_layout_v1_mount(&l, "memory"), "/sys/fs/cgroup/memory");
	cr_expect_str_eq(cgroup_layout_v1_mount(&l, "name=systemd"), "/sys/fs/cgroup/systemd");
	cr_expect_null(cgroup_layout_v1_mount(&l, "hugetlb"));
}

Test(cgroup_layout, this_hosts_v1_plus_unified_layout_is_hybrid)
{
	struct vigil_cgroup_layout l;

	cr_assert_eq(cgroup_layout_parse(mi_this_host, &l), 0);
	cr_expect_eq(l.mode, VIGIL_CGROUP_HYBRID, "mode %s", cgroup_mode_name(l.mode));
	cr_expect_str_eq(l.v2_mount, "/sys/fs/cgroup/unified");
	cr_expect_eq(l.n_v1, 9);
	cr_expect_str_eq(cgroup_layout_v1_mount(&l, "memory"), "/sys/fs/cgroup/memory");
	cr_expect_str_eq(cgroup_layout_v1_mount(&l, "pids"), "/sys/fs/cgroup/pids");
	cr_expect_str_eq(cgroup_layout_v1_mount(&l, "name=systemd"), "/sys/fs/cgroup/systemd");
	/* the tmpfs holding the hierarchies is not a cgroup mount */
	for (int i = 0; i < l.n_v1; i++)
		cr_expect_str_neq(l.v1[i].mount, "/sys/fs/cgroup");
}

Test(cgroup_layout, v1_lookup_matches_whole_controller_names_only)
{
	struct vigil_cgroup_layout l;

	cr_assert_eq(cgroup_layout_parse(mi_pure_v1, &l), 0);
	cr_expect_null(cgroup_layout_v1_mount(&l, "cpu,cpuacct"));
	cr_expect_null(cgroup_layout_v1_mount(&l, "acct"));
	cr_expect_null(cgroup_layout_v1_mount(&l, "mem"));
	cr_expect_null(cgroup_layout_v1_mount(&l, "systemd"));
	cr_expect_null(cgroup_layout_v1_mount(&l, ""));
	cr_expect_null(cgroup_layout_v1_mount(&l, "rw"));
}

Test(cgroup_layout, octal_escapes_in_mount_points_are_decoded)
{
	static const char mi[] =
		"50 23 0:40 / /mnt/my\\040cgroups\\011x\\134y rw,relatime - cgroup2 none rw\n"
		"51 23 0:41 / /mnt/v1\\040mem rw,relatime - cgroup none rw,memory\n";
	struct vigil_cgroup_layout l;

	cr_assert_eq(cgroup_layout_parse(mi, &l), 0);
	cr_expect_eq(l.mode, VIGIL_CGROUP_HYBRID);
	cr_expect_str_eq(l.v2_mount, "/mnt/my cgroups\tx\\y");
	cr_expect_str_eq(cgroup_layout_v1_mount(&l, "memory"), "/mnt/v1 mem");
}

Test(cgroup_layout, sys_fs_cgroup_beats_unified_which_beats_any_other_cgroup2_mount)
{
	static const char a[] =
		"60 23 0:50 / /run/extra rw - cgroup2 cgroup2 rw\n"
		"61 23 0:50 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
		"62 23 0:50 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
		"63 23 0:50 / /run/later rw - cgroup2 cgroup2 rw\n";
	static const char b[] =
		"60 23 0:50 / /run/extra rw - cgroup2 cgroup2 rw\n"
		"61 23 0:50 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n";
	static const char c[] =
		"60 23 0:50 / /run/first rw - cgroup2 cgroup2 rw\n"
		"61 23 0:50 / /run/second rw - cgroup2 cgroup2 rw\n";
	struct vigil_cgroup_layout l;

	cr_assert_eq(cgroup_layout_parse(a, &l), 0);
	cr_expect_str_eq(l.v2_mount, "/sys/fs/cgroup");
	cr_assert_eq(cgroup_layout_parse(b, &l), 0);
	cr_expect_str_eq(l.v2_mount, "/sys/fs/cgroup/unified");
	cr_assert_eq(cgroup_layout_parse(c, &l), 0);
	cr_expect_str_eq(l.v2_mount, "/run/first");
}

Test(cgroup_layout, optional_fields_before_the_separator_are_skipped)
{
	/* several propagation tags, and a mount point that is literally "-x" */
	static const char mi[] =
		"70 23 0:60 / /sys/fs/cgroup/memory rw,nosuid shared:7 master:3 propagate_from:2 - cgroup cgroup rw,memory\n"
		"71 23 0:61 / /- rw - cgroup cgroup rw,pids\n";
	struct vigil_cgroup_layout l;

	cr_assert_eq(cgroup_layout_parse(mi, &l), 0);
	cr_expect_str_eq(cgroup_layout_v1_mount(&l, "memory"), "/sys/fs/cgroup/memory");
	cr_expect_str_eq(cgroup_layout_v1_mount(&l, "pids"), "/-");
}

Test(cgroup_layout, a_hierarchy_mounted_twice_keeps_its_first_mount)
{
	static const char mi[] =
		"80 23 0:70 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
		"81 23 0:70 / /var/lib/kubelet/memory rw - cgroup cgroup rw,memory\n";
	struct vigil_cgroup_layout l;

	cr_assert_eq(cgroup_layout_parse(mi, &l), 0);
	cr_expect_eq(l.n_v1, 1);
	cr_expect_str_eq(cgroup_layout_v1_mount(&l, "memory"), "/sys/fs/cgroup/memory");
}

Test(cgroup_layout, malformed_lines_are_skipped_without_losing_the_rest)
{
	static const char mi[] =
		"garbage\n"
		"\n"
		"90 23 0:80 / /sys/fs/cgroup rw - cgroup2\n"		/* no source or options */
		"91 23 0:81 / /a rw cgroup2 cgroup2 rw\n"		/* no separator */
		"92 23 0:82 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory";	/* no final newline */
	struct vigil_cgroup_layout l;

	cr_assert_eq(cgroup_layout_parse(mi, &l), 0);
	cr_expect_eq(l.mode, VIGIL_CGROUP_V1, "mode %s", cgroup_mode_name(l.mode));
	cr_expect_str_eq(l.v2_mount, "");
	cr_expect_str_eq(cgroup_layout_v1_mount(&l, "memory"), "/sys/fs/cgroup/memory");
}

Test(cgroup_layout, no_cgroup_mounts_is_mode_none_and_null_text_is_einval)
{
	static const char mi[] =
		"22 28 0:21 / /proc rw - proc proc rw\n"
		"28 1 254:1 / / rw - ext4 /dev/vda1 rw\n";
	struct vigil_cgroup_layout l;

	cr_assert_eq(cgroup_layout_parse(mi, &l), 0);
	cr_expect_eq(l.mode, VIGIL_CGROUP_NONE);
	cr_expect_eq(l.n_v1, 0);
	cr_expect_eq(cgroup_layout_parse("", &l), 0);
	cr_expect_eq(l.mode, VIGIL_CGROUP_NONE);
	cr_expect_eq(cgroup_layout_parse(NULL, &l), -EINVAL);
}

Test(cgroup_layout, more_hierarchies_than_fit_keeps_the_first_ones)
{
	char mi[VIGIL_CG_MAX_V1 * 2 * 128] = "", line[128];
	struct vigil_cgroup_layout l;

	for (unsigned i = 0; i < VIGIL_CG_MAX_V1 * 2; i++) {
		snprintf(line, sizeof(line), "%u 23 0:%u / /cg/h%u rw - cgroup cgroup rw,name=h%u\n",
			 100 + i, 100 + i, i, i);
		strcat(mi, line);
	}
	cr_assert_eq(cgroup_layout_parse(mi, &l), 0);
	cr_expect_eq(l.n_v1, VIGIL_CG_MAX_V1);
	cr_expect_str_eq(cgroup_layout_v1_mount(&l, "name=h0"), "/cg/h0");
	cr_expect_null(cgroup_layout_v1_mount(&l, "name=h20"));
}

/* ---- live system ---------------------------------------------------------- */

/*
 * Criterion only lists skips with --verbose and leaves them out of its
 * summary, so say it on stderr too: an untested path must not look green.
 */
#define LOUD_SKIP(msg) do {						\
		fprintf(stderr, "[SKIP] %s::%s: %s\n",			\
			criterion_current_test->category,		\
			criterion_current_test->name, msg);		\
		cr_skip_test("%s", msg);				\
	} while (0)

static void need_root(void)
{
	if (geteuid() != 0)
		LOUD_SKIP("not root - cgroup id resolution needs root (mkdir in "
			  "cgroupfs, CAP_DAC_READ_SEARCH); run the unit tests as root");
}

static bool is_cgroupfs(const char *path, long magic)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && sf.f_type == magic;
}

Test(cgroup_live, layout_detect_finds_mounts_that_really_are_cgroupfs)
{
	struct vigil_cgroup_layout l;
	int err = cgroup_layout_detect(&l);

	cr_assert_eq(err, 0, "cgroup_layout_detect: %s", strerror(-err));
	if (l.mode == VIGIL_CGROUP_NONE)
		LOUD_SKIP("no cgroup mounts visible in /proc/self/mountinfo");
	if (l.v2_mount[0])
		cr_expect(is_cgroupfs(l.v2_mount, CGROUP2_SUPER_MAGIC), "%s is not cgroup2", l.v2_mount);
	for (int i = 0; i < l.n_v1; i++)
		cr_expect(is_cgroupfs(l.v1[i].mount, CGROUP_SUPER_MAGIC), "%s (%s) is not cgroup v1",
			  l.v1[i].mount, l.v1[i].controllers);
	cr_expect_eq(!!l.v2_mount[0] + 2 * !!l.n_v1,
		     l.mode == VIGIL_CGROUP_V2 ? 1 : l.mode == VIGIL_CGROUP_V1 ? 2 : 3);
	cr_expect_null(strchr(l.v2_controllers, '\n'), "controllers not trimmed: '%s'", l.v2_controllers);
}

/*
 * Make a child cgroup of `mount` (mkdtemp names it), resolve its id, remove
 * it.  Expectations are non-fatal so the rmdir always runs.
 */
static void resolve_fresh_cgroup(const char *mount)
{
	char dir[256], want[512], got[512];
	struct stat st;
	int err;

	snprintf(dir, sizeof(dir), "%s/vigil-test-XXXXXX", mount);
	cr_assert_not_null(mkdtemp(dir), "mkdir in %s: %s", mount, strerror(errno));
	snprintf(want, sizeof(want), "%s/nested", dir);
	if (mkdir(want, 0755)) {
		cr_expect_fail("mkdir %s: %s", want, strerror(errno));
		rmdir(dir);
		return;
	}
	cr_expect_eq(stat(want, &st), 0);

	err = cgroup_path_from_id(mount, st.st_ino, got, sizeof(got));
	cr_expect_eq(err, 0, "resolve %s (id %llu): %s", want,
		     (unsigned long long)st.st_ino, strerror(-err));
	if (!err)
		cr_expect_str_eq(got, want + strlen(mount), "resolved to %s", got);

	/* One byte too few for the path and its NUL. */
	err = cgroup_path_from_id(mount, st.st_ino, got, strlen(want + strlen(mount)));
	cr_expect_eq(err, -ENAMETOOLONG, "short buffer: %d", err);

	rmdir(want);
	rmdir(dir);
	err = cgroup_path_from_id(mount, st.st_ino, got, sizeof(got));
	cr_expect_eq(err, -ENOENT, "a removed cgroup gave %d (%s)", err, strerror(-err));
}

static void resolve_root(const char *mount)
{
	struct stat st;
	char got[64];
	int err;

	cr_assert_eq(stat(mount, &st), 0);
	err = cgroup_path_from_id(mount, st.st_ino, got, sizeof(got));
	cr_expect_eq(err, 0, "root of %s: %s", mount, strerror(-err));
	if (!err)
		cr_expect_str_eq(got, "/");
}

Test(cgroup_live, a_v2_cgroup_id_resolves_to_its_path_below_the_mount)
{
	struct vigil_cgroup_layout l;

	need_root();
	cr_assert_eq(cgroup_layout_detect(&l), 0);
	if (!l.v2_mount[0])
		LOUD_SKIP("no cgroup2 mount on this machine; v2 resolution untested");
	resolve_root(l.v2_mount);
	resolve_fresh_cgroup(l.v2_mount);
}

Test(cgroup_live, a_v1_memory_cgroup_id_resolves_to_its_path_below_the_mount)
{
	struct vigil_cgroup_layout l;
	const char *mem;

	need_root();
	cr_assert_eq(cgroup_layout_detect(&l), 0);
	mem = cgroup_layout_v1_mount(&l, "memory");
	if (!mem)
		LOUD_SKIP("no v1 memory hierarchy on this machine; v1 resolution untested");
	resolve_root(mem);
	resolve_fresh_cgroup(mem);
}

static int set_effective_cap(int cap, bool on)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -errno;
	if (on)
		d[cap / 32].effective |= 1u << (cap % 32);
	else
		d[cap / 32].effective &= ~(1u << (cap % 32));
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

Test(cgroup_live, without_cap_dac_read_search_a_directory_walk_still_resolves)
{
	struct vigil_cgroup_layout l;
	const char *mount;
	struct stat st;
	int fd;

	need_root();
	cr_assert_eq(cgroup_layout_detect(&l), 0);
	mount = l.v2_mount[0] ? l.v2_mount : cgroup_layout_v1_mount(&l, "memory");
	if (!mount)
		LOUD_SKIP("neither cgroup2 nor a v1 memory hierarchy is mounted");
	cr_assert_eq(set_effective_cap(CAP_DAC_READ_SEARCH, false), 0);

	/* Prove the fast path is really refused, or this would test nothing. */
	cr_assert_eq(stat(mount, &st), 0);
	fd = open(mount, O_RDONLY | O_DIRECTORY);
	cr_assert_geq(fd, 0);
	{
		union {
			struct file_handle fh;
			char raw[sizeof(struct file_handle) + 8];
		} h = { .fh = { .handle_bytes = 8, .handle_type = 0xfe } };
		uint64_t id = st.st_ino;
		int hfd;

		memcpy(h.fh.f_handle, &id, 8);
		hfd = open_by_handle_at(fd, &h.fh, O_PATH);
		close(fd);
		if (hfd >= 0) {
			close(hfd);
			LOUD_SKIP("open_by_handle_at works without CAP_DAC_READ_SEARCH "
				     "on this kernel; the walk fallback is untested");
		}
		cr_assert_eq(errno, EPERM, "open_by_handle_at: %s", strerror(errno));
	}
	resolve_root(mount);
	resolve_fresh_cgroup(mount);
	set_effective_cap(CAP_DAC_READ_SEARCH, true);
}

Test(cgroup_live, a_missing_mount_is_an_error_not_a_path)
{
	char got[64];

	cr_expect_eq(cgroup_path_from_id("/nonexistent/vigil-cgroup", 1, got, sizeof(got)), -ENOENT);
	cr_expect_eq(cgroup_path_from_id(NULL, 1, got, sizeof(got)), -EINVAL);
}
