/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * task.h - reading a task's identity, cgroup and executable path with CO-RE.
 * Shared by every module that reports processes, so all of them agree on
 * what "pid", "cgroup id" and "binary" mean.
 */
#ifndef VIGIL_BPF_LIB_TASK_H
#define VIGIL_BPF_LIB_TASK_H

#include "trace.h"

/* Which hierarchy cgroup ids come from (enum vigil_cgroup_source); set by the agent. */
const volatile u32 vigil_cg_source = VIGIL_CG_V2;
/* The same hierarchy's id (0 for v2), for filtering cgroup mkdir/rmdir. */
const volatile u32 vigil_cg_hierarchy_id = 0;

/*
 * The cgroup_subsys_id of the controller whose v1 hierarchy attributes
 * cgroups (vigil_cg_source), or -1 for the default (v2) hierarchy; callers
 * take anything outside css_set.subsys[] for -1 too.  A constant to the
 * verifier, as the rodata it switches on is.
 */
static __always_inline int vigil_cg_subsys_idx(void)
{
	int idx = -1;

	switch (vigil_cg_source) {
	case VIGIL_CG_V1_MEMORY:
		if (bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id))
			idx = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
		break;
	case VIGIL_CG_V1_PIDS:
		if (bpf_core_enum_value_exists(enum cgroup_subsys_id, pids_cgrp_id))
			idx = bpf_core_enum_value(enum cgroup_subsys_id, pids_cgrp_id);
		break;
	case VIGIL_CG_V1_CPU:
		if (bpf_core_enum_value_exists(enum cgroup_subsys_id, cpu_cgrp_id))
			idx = bpf_core_enum_value(enum cgroup_subsys_id, cpu_cgrp_id);
		break;
	default:
		break;
	}
	return idx;
}

/* The task's cgroup in the attribution hierarchy (vigil_cg_source). */
static __always_inline struct cgroup *vigil_task_cgroup(struct task_struct *t)
{
	struct cgroup_subsys_state *css;
	int idx = vigil_cg_subsys_idx();

	if (idx < 0 || idx >= 12)
		return BPF_CORE_READ(t, cgroups, dfl_cgrp);
	css = BPF_CORE_READ(t, cgroups, subsys[idx]);
	return BPF_CORE_READ(css, cgroup);
}

static __always_inline u64 vigil_task_cgroup_id(struct task_struct *t)
{
	return BPF_CORE_READ(vigil_task_cgroup(t), kn, id);
}

static __always_inline void vigil_fill_task(struct vigil_task *out, struct task_struct *t)
{
	out->pid = BPF_CORE_READ(t, tgid);
	out->tid = BPF_CORE_READ(t, pid);
	out->ppid = BPF_CORE_READ(t, real_parent, tgid);
	out->uid = BPF_CORE_READ(t, real_cred, uid.val);
	out->gid = BPF_CORE_READ(t, real_cred, gid.val);
	out->_pad = 0;
	out->cgroup_id = vigil_task_cgroup_id(t);
	out->start_ns = BPF_CORE_READ(t, group_leader, start_time);
	BPF_CORE_READ_STR_INTO(&out->comm, t, group_leader, comm);
}

/*
 * Path resolution.  bpf_d_path() is only allowed from fentry/LSM, which this
 * project must work without, so walk the dentry chain ourselves: components
 * are written right-to-left into a per-CPU scratch buffer, crossing mount
 * points via struct mount, and stopping at the task's root (so a container's
 * binary reads "/bin/sh", as the container sees it).  The buffer is twice the
 * path limit so that masked offsets keep every access in bounds for the
 * verifier.
 */
#define VIGIL_PATH_DEPTH 64

struct vigil_path_scratch {
	char buf[VIGIL_PATH_LEN * 2];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct vigil_path_scratch);
} vigil_path_scratch SEC(".maps");

struct vigil_path_walk {
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	struct dentry *root_dentry;
	struct vfsmount *root_mnt;
	u32 off;	/* scratch index of the leftmost byte written so far */
	u32 done;	/* reached the root */
};

/*
 * One step of the walk, run under bpf_loop() so the verifier checks it once
 * instead of once per depth level.  Returns 1 to stop.
 */
static long vigil_path_step(u32 i, void *ctx)
{
	const u32 mask = VIGIL_PATH_LEN - 1;
	struct vigil_path_walk *w = ctx;
	/* Locals, so CO-RE relocates kernel types only, never our ctx struct. */
	struct dentry *dentry = w->dentry;
	struct vfsmount *vfsmnt = w->vfsmnt;
	struct mount *mnt = w->mnt;
	struct vigil_path_scratch *s;
	struct dentry *parent;
	struct mount *mnt_parent;
	u32 zero = 0, len, off;

	if (dentry == w->root_dentry && vfsmnt == w->root_mnt) {
		w->done = 1;
		return 1;
	}
	if (dentry == BPF_CORE_READ(vfsmnt, mnt_root)) {
		mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
		if (mnt_parent == mnt) {
			w->done = 1;
			return 1;
		}
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = mnt_parent;
		w->vfsmnt = &mnt_parent->mnt;
		return 0;
	}
	parent = BPF_CORE_READ(dentry, d_parent);
	if (parent == dentry) {
		w->done = 1;
		return 1;
	}
	s = bpf_map_lookup_elem(&vigil_path_scratch, &zero);
	if (!s)
		return 1;
	len = BPF_CORE_READ(dentry, d_name.len);
	off = w->off;
	if (len + 1 > off || off > mask)
		return 1;	/* does not fit: truncated */
	off -= len;
	bpf_probe_read_kernel(&s->buf[off & mask], len & mask,
			      BPF_CORE_READ(dentry, d_name.name));
	off -= 1;
	s->buf[off & mask] = '/';
	w->off = off;
	w->dentry = parent;
	return 0;
}

/* Returns the length written to out (NUL excluded), or -1. */
static __always_inline int vigil_path_of(struct task_struct *task, const struct path *p,
					 char *out, u32 *flags)
{
	const u32 mask = VIGIL_PATH_LEN - 1;
	struct vigil_path_scratch *s;
	struct vigil_path_walk w = {};
	u32 zero = 0, len;

	s = bpf_map_lookup_elem(&vigil_path_scratch, &zero);
	if (!s)
		return -1;
	w.dentry = BPF_CORE_READ(p, dentry);
	w.vfsmnt = BPF_CORE_READ(p, mnt);
	if (!w.dentry || !w.vfsmnt)
		return -1;
	w.mnt = container_of(w.vfsmnt, struct mount, mnt);
	w.root_dentry = BPF_CORE_READ(task, fs, root.dentry);
	w.root_mnt = BPF_CORE_READ(task, fs, root.mnt);
	w.off = mask;

	bpf_loop(VIGIL_PATH_DEPTH, vigil_path_step, &w, 0);
	if (!w.done)
		*flags |= VIGIL_EXEC_PATH_TRUNCATED;
	if (w.off >= mask) {
		out[0] = '/';
		out[1] = 0;
		return 1;
	}
	len = mask - w.off;
	bpf_probe_read_kernel(out, len & mask, &s->buf[w.off & mask]);
	out[len & mask] = 0;
	return len & mask;
}

#endif
