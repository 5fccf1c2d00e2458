// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * mem.bpf.c - per-process memory samples for the leak scorer (bpf/mem.h).
 *
 * One iter/task program: every read of an iterator fd walks all tasks and
 * writes one struct vigil_mem_sample per live thread-group leader that has
 * an mm of its own (kernel threads, other threads and zombies are skipped).
 * Nothing is kept between passes and nothing is sent anywhere else: the
 * agent decides when to sample and what the numbers mean.
 *
 * Exact RSS on 6.2+.  The mm counters are percpu_counters there, and their
 * central count lags by up to a batch of pages per CPU.  The exact value
 * (what percpu_counter_sum() gives) adds each CPU's s32 delta, which lives
 * at counters + the CPU's per-CPU offset.  bpf_per_cpu_ptr() cannot be used
 * on it: the verifier only takes pointers it knows are per-CPU, and kernels
 * built with gcc carry no "percpu" type tags in their BTF (neither this
 * project's 6.18 host nor Debian's 6.1), while the kernel's offset table
 * (__per_cpu_offset) is neither in BTF nor, without CONFIG_KALLSYMS_ALL, in
 * kallsyms.  So the offsets are measured instead: a one-slot per-CPU array
 * map's raw per-CPU pointer (bpf_array.pptrs[0]) against what
 * bpf_map_lookup_percpu_elem() returns for each CPU.  That is
 * per_cpu_ptr()'s own arithmetic, the same for every per-CPU allocation.
 * On 6.1 the counters are plain atomics and are read as they are.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "mem.h"
#include "lib/task.h"
#include "lib/mm.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Upper bound of the per-CPU loops (the verifier needs one); ncpus is the real count. */
#define VIGIL_MEM_MAX_CPUS 1024
/* memcg levels walked up for the tightest limit: deeper than any runtime nests. */
#define VIGIL_MEM_MEMCG_DEPTH 16
#define VIGIL_PF_KTHREAD 0x00200000	/* include/linux/sched.h */

/* Possible CPUs (the agent sets it): how many per-CPU deltas each counter has. */
const volatile u32 vigil_mem_ncpus = 1;

/* Its only use is its per-CPU addresses; the value is never written. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} vigil_pcpu_ref SEC(".maps");

/* Per-CPU offsets, measured once; identical for every pass that measures them. */
u64 vigil_pcpu_off[VIGIL_MEM_MAX_CPUS];
/* 0: not measured yet; 1: measured; 2: cannot be measured, central counts only. */
u32 vigil_pcpu_state = 0;

/* A kernel pointer as a plain number, so arithmetic on it is not pointer arithmetic. */
static __always_inline u64 vigil_addr(const void *p)
{
	u64 a = 0;

	bpf_probe_read_kernel(&a, sizeof(a), &p);
	return a;
}

static __noinline int vigil_pcpu_measure(void)
{
	u64 base = 0, arr;
	u32 zero = 0;

	if (!bpf_core_field_exists(struct bpf_array, pptrs))
		return 2;
	arr = vigil_addr(&vigil_pcpu_ref);
	if (bpf_probe_read_kernel(&base, sizeof(base),
				  (void *)(arr + bpf_core_field_offset(struct bpf_array, pptrs))) ||
	    !base)
		return 2;
	for (u32 cpu = 0; cpu < VIGIL_MEM_MAX_CPUS; cpu++) {
		void *p;

		if (cpu >= vigil_mem_ncpus)
			break;
		p = bpf_map_lookup_percpu_elem(&vigil_pcpu_ref, &zero, cpu);
		if (!p)
			return 2;
		vigil_pcpu_off[cpu] = vigil_addr(p) - base;
	}
	return 1;
}

/* percpu_counter_sum(), in pages; 0 for a negative sum, as the kernel's _positive. */
static __always_inline u64 vigil_pcpu_counter_sum(struct percpu_counter *pc)
{
	s64 v = BPF_CORE_READ(pc, count);
	u64 counters = (u64)BPF_CORE_READ(pc, counters);

	if (vigil_pcpu_state == 1 && counters) {
		for (u32 cpu = 0; cpu < VIGIL_MEM_MAX_CPUS; cpu++) {
			s32 d = 0;

			if (cpu >= vigil_mem_ncpus)
				break;
			bpf_probe_read_kernel(&d, sizeof(d),
					      (void *)(counters + vigil_pcpu_off[cpu]));
			v += d;
		}
	}
	return v > 0 ? (u64)v : 0;
}

/* Bytes of one mm counter. */
static __always_inline u64 vigil_mm_counter(struct mm_struct *mm, bool old, int i)
{
	s64 v;

	if (old) {
		v = BPF_CORE_READ((struct mm_struct___old *)mm, rss_stat.count[i].counter);
		return v > 0 ? (u64)v << VIGIL_PAGE_SHIFT : 0;
	}
	return vigil_pcpu_counter_sum(&mm->rss_stat[i]) << VIGIL_PAGE_SHIFT;
}

/*
 * Charge and the tightest limit on the way to the root.  A parent's limit
 * binds its children (hierarchical accounting, always on since 5.x in v1
 * too), so a memcg with no limit of its own under a limited one is limited.
 */
static __always_inline void vigil_mem_memcg(struct vigil_mem_sample *s, struct mem_cgroup *m)
{
	u64 lim = VIGIL_PAGE_COUNTER_MAX;
	s64 use;

	s->memcg_id = vigil_memcg_id(m);
	s->memcg_usage = 0;
	s->memcg_limit = ~0ull;
	if (!m)
		return;
	use = BPF_CORE_READ(m, memory.usage.counter);
	s->memcg_usage = use > 0 ? (u64)use << VIGIL_PAGE_SHIFT : 0;
	/* No early exit, so clang unrolls it: no loop for the verifier. */
#pragma unroll
	for (int i = 0; i < VIGIL_MEM_MEMCG_DEPTH; i++) {
		u64 max;

		if (!m)
			continue;
		max = BPF_CORE_READ(m, memory.max);
		if (max < lim)
			lim = max;
		m = (struct mem_cgroup *)BPF_CORE_READ(m, css.parent);
	}
	if (lim < VIGIL_PAGE_COUNTER_MAX)
		s->memcg_limit = lim << VIGIL_PAGE_SHIFT;
}

SEC("iter/task")
int vigil_mem_sample(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct vigil_mem_sample s;
	struct mm_struct *mm;
	bool old;

	if (!task || task->pid != task->tgid || (task->flags & VIGIL_PF_KTHREAD))
		return 0;
	mm = task->mm;
	if (!mm)
		return 0;	/* a zombie, or exiting past exit_mm() */
	old = VIGIL_MM_RSS_OLD(mm);
	if (!old && !vigil_pcpu_state)
		vigil_pcpu_state = vigil_pcpu_measure();

	__builtin_memset(&s, 0, sizeof(s));
	s.pid = task->tgid;
	s.ppid = BPF_CORE_READ(task, real_parent, tgid);
	s.start_ns = task->start_time;
	s.cgroup_id = vigil_task_cgroup_id(task);
	vigil_mem_memcg(&s, vigil_task_memcg(task));
	s.rss_anon = vigil_mm_counter(mm, old, VIGIL_MM_ANONPAGES);
	s.rss_file = vigil_mm_counter(mm, old, VIGIL_MM_FILEPAGES);
	s.rss_shmem = vigil_mm_counter(mm, old, VIGIL_MM_SHMEMPAGES);
	s.swap = vigil_mm_counter(mm, old, VIGIL_MM_SWAPENTS);
	s.uid = BPF_CORE_READ(task, real_cred, uid.val);
	bpf_probe_read_kernel_str(s.comm, sizeof(s.comm), task->comm);
	bpf_seq_write(ctx->meta->seq, &s, sizeof(s));
	return 0;
}
