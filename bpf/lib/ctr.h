/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * ctr.h - which container a task belongs to, decided in the kernel.
 *
 * ctr_roots holds the container root cgroup ids of the attribution
 * hierarchy (marked at cgroup_mkdir by trace.bpf.c, corrected and
 * completed by the agent).  A task belongs to the nearest marked ancestor
 * of its cgroup.  Shared by the signal judge and the trust hooks; the trust
 * object reuses the trace object's map (the agent passes the fd), and marks
 * new roots itself too, so containers made while no agent runs are still
 * told apart from the host by the pinned trust hooks.
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

/* Does the cgroup's name carry a container id (64 hex digits in a row)? */
#define VIGIL_CG_NAME_SCAN 128

struct vigil_name_scan {
	char name[VIGIL_CG_NAME_SCAN];
	u32 run;	/* hex digits in a row so far */
	u32 found;
};

static __always_inline bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Under bpf_loop(): the verifier checks one step, not 128 unrolled ones. */
static long vigil_name_step(u32 i, void *ctx)
{
	struct vigil_name_scan *s = ctx;
	char c;

	if (i >= VIGIL_CG_NAME_SCAN)
		return 1;
	c = s->name[i];
	if (!c) {
		if (s->run == 64)
			s->found = 1;
		return 1;
	}
	if (is_hex(c)) {
		s->run++;
		return 0;
	}
	if (s->run == 64)
		s->found = 1;	/* exactly 64, not part of a longer run */
	s->run = 0;
	return s->found ? 1 : 0;
}

static __always_inline bool vigil_name_has_ctr_id(const char *kname)
{
	struct vigil_name_scan s = {};

	if (bpf_probe_read_kernel_str(s.name, sizeof(s.name), kname) < 65)
		return false;
	bpf_loop(VIGIL_CG_NAME_SCAN, vigil_name_step, &s, 0);
	return s.found;
}

static __always_inline void vigil_mark_ctr_root(struct cgroup *cgrp)
{
	u64 id;
	u8 one = 1;

	if (!vigil_name_has_ctr_id(BPF_CORE_READ(cgrp, kn, name)))
		return;
	id = BPF_CORE_READ(cgrp, kn, id);
	bpf_map_update_elem(&ctr_roots, &id, &one, BPF_ANY);
}

#endif
