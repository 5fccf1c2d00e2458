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

#define VIGIL_CG_NAME_MAX 128	/* longer names are not read whole: not a container */
#define VIGIL_CG_NAME_MASK (VIGIL_CG_NAME_MAX - 1)

static __always_inline bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* name[st .. st + 63] are hex digits.  Offsets are masked for the verifier. */
static __always_inline bool hex64_at(const char *name, u32 st)
{
#pragma unroll
	for (int k = 0; k < 64; k++)
		if (!is_hex(name[(st + k) & VIGIL_CG_NAME_MASK]))
			return false;
	return true;
}

/*
 * Does the cgroup's name carry a container id: exactly 64 hex digits that
 * are the whole name ("<id>" under /docker or a kubepods pod) or end it
 * before ".scope" ("docker-<id>.scope", "cri-containerd-<id>.scope"),
 * after a runtime prefix that ends in a non-hex character?
 *
 * Fixed positions, not a scan under bpf_loop(): before 6.7 the verifier
 * explores a bpf_loop() callback for one iteration only, so it proved a
 * scan's "found 64 digits" branch unreachable and removed it as dead code
 * (no container was ever marked on 6.1).
 */
static __always_inline bool vigil_name_has_ctr_id(const char *kname)
{
	static const char scope[] = ".scope";
	char name[VIGIL_CG_NAME_MAX];
	long n = bpf_probe_read_kernel_str(name, sizeof(name), kname);
	u32 len, end, st;
	bool dot_scope = true;

	if (n < 65)
		return false;
	len = (u32)n - 1;
	if (len >= 70) {
#pragma unroll
		for (int k = 0; k < 6; k++)
			if (name[(len - 6 + k) & VIGIL_CG_NAME_MASK] != scope[k])
				dot_scope = false;
	} else {
		dot_scope = false;
	}
	end = dot_scope ? len - 6 : len;
	st = end - 64;
	if (!hex64_at(name, st))
		return false;
	/* Not the tail of a longer hex run: the name starts here, or a non-hex byte precedes. */
	return st == 0 || !is_hex(name[(st - 1) & VIGIL_CG_NAME_MASK]);
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
