/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * mm.h - a task's memory as the kernel counts it: its mm's RSS counters and
 * its memory cgroup.  Shared by the OOM capture (lib/oom.h) and the memory
 * sampler (mem.bpf.c), so both read the same counters the same way.
 *
 * The RSS counters changed layout in 6.2: 6.1 keeps an array of atomics in
 * struct mm_rss_stat, later kernels an array of percpu_counters.  Both are
 * read with CO-RE; which one a kernel has is asked of its BTF
 * (bpf_core_field_exists), never of its version.  This file declares no
 * maps, so including it costs an object nothing.
 */
#ifndef VIGIL_BPF_LIB_MM_H
#define VIGIL_BPF_LIB_MM_H

/* Page size of the targets (x86-64, and arm64's default). */
#define VIGIL_PAGE_SHIFT 12

/*
 * The kernel's PAGE_COUNTER_MAX on 64-bit (LONG_MAX / PAGE_SIZE): a memcg
 * counter's max when no limit is set ("max" on v2, -1 on v1).
 */
#define VIGIL_PAGE_COUNTER_MAX (0x7fffffffffffffffull >> VIGIL_PAGE_SHIFT)

/* The kernel's enum mm_counter_type. */
#define VIGIL_MM_FILEPAGES 0
#define VIGIL_MM_ANONPAGES 1
#define VIGIL_MM_SWAPENTS 2
#define VIGIL_MM_SHMEMPAGES 3

/* 6.1's mm->rss_stat: an array of atomics in a struct (6.2+: percpu_counters). */
struct mm_rss_stat___old {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___old {
	struct mm_rss_stat___old rss_stat;
} __attribute__((preserve_access_index));

/* Does this kernel keep the 6.1 layout (atomics) rather than percpu_counters? */
#define VIGIL_MM_RSS_OLD(mm) bpf_core_field_exists(((struct mm_struct___old *)(mm))->rss_stat)

/*
 * One counter in bytes, as get_mm_counter() reads it: on 6.2+ that is the
 * percpu_counter's central count only, which lags the truth by up to the
 * counter batch per CPU.  Good enough for an OOM victim's report; the
 * sampler sums the per-CPU parts as well (mem.bpf.c).
 */
#define VIGIL_RSS_OLD(mm, i)                                                   \
	BPF_CORE_READ((struct mm_struct___old *)(mm), rss_stat.count[i].counter)
#define VIGIL_RSS_NEW(mm, i) BPF_CORE_READ((mm), rss_stat[i].count)
#define VIGIL_RSS(mm, old, i)                                                  \
	({                                                                     \
		s64 __v = (old) ? VIGIL_RSS_OLD(mm, i) : VIGIL_RSS_NEW(mm, i); \
		__v > 0 ? (u64)__v << VIGIL_PAGE_SHIFT : 0;                    \
	})

/* The task's memcg (the memory controller's css is the mem_cgroup's first member). */
static __always_inline struct mem_cgroup *vigil_task_memcg(struct task_struct *t)
{
	int idx;

	if (!t || !bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id))
		return NULL;
	idx = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	if (idx < 0 || idx >= 16)
		return NULL;
	return (struct mem_cgroup *)BPF_CORE_READ(t, cgroups, subsys[idx]);
}

static __always_inline u64 vigil_memcg_id(struct mem_cgroup *m)
{
	return m ? BPF_CORE_READ(m, css.cgroup, kn, id) : 0;
}

#endif
