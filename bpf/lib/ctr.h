/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * ctr.h - which container a task belongs to, decided in the kernel.
 *
 * ctr_roots holds the container root cgroup ids of the attribution
 * hierarchy (marked at cgroup_mkdir by trace.bpf.c, corrected and
 * completed by the agent).  A task belongs to the nearest marked ancestor
 * of its cgroup.  Shared by the signal judge and the trust hooks; the trust
 * object reuses the trace object's map (the agent passes the fd).
 */
#ifndef VIGIL_BPF_LIB_CTR_H
#define VIGIL_BPF_LIB_CTR_H

#include "lib/task.h"

/* Container root cgroup ids (attribution hierarchy) -> 1. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, u64);
	__type(value, u8);
} ctr_roots SEC(".maps");

/* Deepest ancestors checked for a container root. */
#define VIGIL_CTR_DEPTH 16

/* The container root cgroup id of task t, or 0 for a host process. */
static __always_inline u64 vigil_task_container(struct task_struct *t)
{
	struct cgroup *cg = vigil_task_cgroup(t), *anc;
	int level, i;
	u64 id;

	if (!cg)
		return 0;
	level = BPF_CORE_READ(cg, level);
	for (i = 0; i < VIGIL_CTR_DEPTH; i++) {
		if (level - i < 1)
			break;
		anc = NULL;
		bpf_core_read(&anc, sizeof(anc), &cg->ancestors[(level - i) & 63]);
		if (!anc)
			break;
		id = BPF_CORE_READ(anc, kn, id);
		if (bpf_map_lookup_elem(&ctr_roots, &id))
			return id;
	}
	return 0;
}

#endif
