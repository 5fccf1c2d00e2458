/*
 * cgroup.h - cgroup layout discovery, cgroup id -> path resolution, and
 * container attribution from a cgroup path.
 *
 * Attribution is a pure function of the path string so it can be tested with
 * tables of the real layouts each runtime produces; nothing here talks to a
 * container runtime.
 */
#ifndef VIGIL_CGROUP_H
#define VIGIL_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vigil_runtime {
	VIGIL_RT_HOST = 0,	/* not in a container */
	VIGIL_RT_DOCKER,
	VIGIL_RT_CONTAINERD,	/* containerd / CRI (cri-containerd-*) */
	VIGIL_RT_CRIO,
	VIGIL_RT_PODMAN,	/* libpod-* */
	VIGIL_RT_KUBEPODS,	/* under kubepods, runtime not identifiable from the path */
	VIGIL_RT_UNKNOWN,	/* looks like a container, runtime unknown */
};

enum vigil_qos {
	VIGIL_QOS_NONE = 0,	/* not a Kubernetes pod */
	VIGIL_QOS_GUARANTEED,
	VIGIL_QOS_BURSTABLE,
	VIGIL_QOS_BESTEFFORT,
};

#define VIGIL_CONTAINER_ID_LEN 64
#define VIGIL_POD_UID_LEN 36

struct vigil_container {
	enum vigil_runtime runtime;
	enum vigil_qos qos;
	char id[VIGIL_CONTAINER_ID_LEN + 1];	/* lower-case hex, "" for host / pod-level cgroups */
	char pod_uid[VIGIL_POD_UID_LEN + 1];	/* dashed form, "" when not a pod */
};

/*
 * Classify a cgroup path (as in /proc/PID/cgroup, relative to the hierarchy
 * root, starting with '/').  Always fills *out; host is the fallback.
 * Returns true if the path belongs to a container or pod.
 */
bool cgroup_parse_path(const char *path, struct vigil_container *out);

const char *cgroup_runtime_name(enum vigil_runtime rt);	/* "host", "docker", ... */
const char *cgroup_qos_name(enum vigil_qos qos);	/* "", "guaranteed", ... */

enum vigil_cgroup_mode {
	VIGIL_CGROUP_NONE = 0,
	VIGIL_CGROUP_V1,	/* only v1 hierarchies */
	VIGIL_CGROUP_V2,	/* unified only */
	VIGIL_CGROUP_HYBRID,	/* v1 controllers + a v2 hierarchy */
};

#define VIGIL_CG_MAX_V1 16

struct vigil_cgroup_layout {
	enum vigil_cgroup_mode mode;
	char v2_mount[256];		/* "" if no cgroup2 mount */
	char v2_controllers[256];	/* space separated, from cgroup.controllers */
	int n_v1;
	struct {
		char controllers[64];	/* comma separated, e.g. "cpu,cpuacct" or "name=systemd" */
		char mount[256];
	} v1[VIGIL_CG_MAX_V1];
};

/* Parse mountinfo text (tests pass fixtures; the agent passes /proc/self/mountinfo). */
int cgroup_layout_parse(const char *mountinfo, struct vigil_cgroup_layout *out);
/* Read /proc/self/mountinfo and each v2 root's cgroup.controllers. 0 or -errno. */
int cgroup_layout_detect(struct vigil_cgroup_layout *out);
const char *cgroup_mode_name(enum vigil_cgroup_mode mode);
/* Mount point of the v1 hierarchy carrying `controller` ("memory"), or NULL. */
const char *cgroup_layout_v1_mount(const struct vigil_cgroup_layout *l, const char *controller);

/*
 * Hierarchy id of the v1 hierarchy carrying `controller`, from the text of
 * /proc/cgroups ("#subsys_name hierarchy num_cgroups enabled").  The v2
 * hierarchy's id is 0.  Returns the id (>0), or -ENOENT.
 */
int cgroup_v1_hierarchy_id_parse(const char *proc_cgroups, const char *controller);
int cgroup_v1_hierarchy_id(const char *controller);	/* reads /proc/cgroups */

/*
 * Resolve a cgroup's kernfs id (what bpf_get_current_cgroup_id() returns, and
 * the inode number of the cgroup directory) to its path relative to the
 * hierarchy mounted at `mount`, e.g. "/kubepods/burstable/pod.../abc".
 * Uses open_by_handle_at(2) (needs CAP_DAC_READ_SEARCH). 0 or -errno.
 */
int cgroup_path_from_id(const char *mount, uint64_t id, char *buf, size_t len);

#endif
