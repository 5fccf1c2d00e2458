// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * mem.bpf.c - per-process memory samples for the leak scorer (bpf/mem.h).
 *
 * One iter/task program: every read of an iterator fd walks all tasks and
 * writes one struct vigil_mem_sample per live thread-group leader that has
 * an mm of its own (kernel threads, other threads and zombies are skipped).
 * On 6.7+ a syscall program does the same by the process list, faster
 * (vigil_mem_walk, at the end); both fill records with vigil_mem_fill().
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
 * The first pass measures them (the agent runs one when it opens the
 * sampler, before anyone relies on the numbers).  On 6.1 the counters are
 * plain atomics and are read as they are.
 *
 * Cost.  A pass runs once per tick over every task on the node, so fields
 * are read with plain loads (the verifier turns them into faulting-safe
 * loads, no helper call) wherever the pointer's BTF type allows, and with
 * bpf_probe_read_kernel() only where it does not: mem_cgroup fields behind
 * a css pointer, and the per-CPU deltas.  The cgroup and memcg fields are
 * read once per memcg and attribution cgroup per pass (vigil_memcg_cache),
 * and the parent and uid are left to the agent's process table.  What is
 * left is mostly cache misses on each task's task_struct and mm, and the
 * per-CPU deltas.
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

/*
 * Per-CPU offsets, measured by the first pass (any pass that finds the
 * state 0; concurrent first passes store the same values).
 */
u64 vigil_pcpu_off[VIGIL_MEM_MAX_CPUS];
/* 0: not measured yet; 1: measured; 2: cannot be measured, central counts only. */
u32 vigil_pcpu_state = 0;

/*
 * Per-pass cache of the cgroup and memcg fields.  Thousands of tasks share
 * a handful of cgroups, so a pass reads each memcg's id, charge and limit
 * walk once (in its first task) rather than once per task.  A slot is keyed
 * by the memcg css's and the attribution cgroup's serial_nr, which the
 * kernel hands out from one counter and never reuses (unlike addresses and
 * ids), and tagged with the iterator session (one per iterator fd, so one
 * per pass): a new pass misses everywhere and reads fresh figures.  So
 * memcg_usage is the charge when the pass first met the memcg, not at each
 * of its tasks.  Direct-mapped: a collision only costs a re-read.  Per-CPU
 * because an iterator program runs with migration off; a slot is cleared
 * before it is refilled, so a pass that preempts another on the same CPU
 * (the agent never runs two at once) finds it invalid, not half-written.
 */
#define VIGIL_MEMCG_SLOTS 64	/* a power of two */

struct vigil_memcg_slot {
	u64 session;		/* bpf_iter_meta.session_id of the pass that filled it; 0: empty */
	u64 memcg_serial;	/* memcg css serial_nr (0: no memory controller) */
	u64 cgroup_serial;	/* attribution cgroup's serial_nr */
	u64 cgroup_id;
	u64 memcg_id;
	u64 usage;
	u64 limit;
};

struct vigil_memcg_cache {
	struct vigil_memcg_slot slot[VIGIL_MEMCG_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct vigil_memcg_cache);
} vigil_memcg_cache SEC(".maps");

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

/*
 * The four RSS counters in pages, as percpu_counter_sum_positive() gives
 * them.  Kernels that allocate the four counters' per-CPU parts in one
 * block (percpu_counter_init_many) get one read per CPU for all four;
 * otherwise one per counter and CPU.
 */
static __always_inline void vigil_rss_pages(struct mm_struct *mm, s64 v[4])
{
	u64 c[4];
	bool packed;

	for (int i = 0; i < 4; i++) {
		v[i] = mm->rss_stat[i].count;
		c[i] = (u64)mm->rss_stat[i].counters;
	}
	if (vigil_pcpu_state != 1 || !c[0] || !c[1] || !c[2] || !c[3])
		return;
	packed = c[1] == c[0] + 4 && c[2] == c[0] + 8 && c[3] == c[0] + 12;
	if (packed) {
		for (u32 cpu = 0; cpu < VIGIL_MEM_MAX_CPUS; cpu++) {
			s32 d[4] = {};

			if (cpu >= vigil_mem_ncpus)
				break;
			bpf_probe_read_kernel(d, sizeof(d), (void *)(c[0] + vigil_pcpu_off[cpu]));
			v[0] += d[0];
			v[1] += d[1];
			v[2] += d[2];
			v[3] += d[3];
		}
		return;
	}
	for (u32 cpu = 0; cpu < VIGIL_MEM_MAX_CPUS; cpu++) {
		u64 off;

		if (cpu >= vigil_mem_ncpus)
			break;
		off = vigil_pcpu_off[cpu];
		for (int i = 0; i < 4; i++) {
			s32 d = 0;

			bpf_probe_read_kernel(&d, sizeof(d), (void *)(c[i] + off));
			v[i] += d;
		}
	}
}

static __always_inline u64 vigil_bytes(s64 pages)
{
	return pages > 0 ? (u64)pages << VIGIL_PAGE_SHIFT : 0;
}

static __always_inline void vigil_mem_rss(struct vigil_mem_sample *s, struct mm_struct *mm)
{
	struct mm_struct___old *o = (void *)mm;
	s64 v[4];

	if (VIGIL_MM_RSS_OLD(mm)) {
		/*
		 * One read for the four atomics.  Not plain loads: 6.1's verifier
		 * does not follow an array of atomic_long_t (a typedef'd struct).
		 */
		if (bpf_core_read(v, sizeof(v), &o->rss_stat.count))
			__builtin_memset(v, 0, sizeof(v));
	} else {
		if (!vigil_pcpu_state)
			vigil_pcpu_state = vigil_pcpu_measure();
		vigil_rss_pages(mm, v);
	}
	s->rss_file = vigil_bytes(v[VIGIL_MM_FILEPAGES]);
	s->rss_anon = vigil_bytes(v[VIGIL_MM_ANONPAGES]);
	s->swap = vigil_bytes(v[VIGIL_MM_SWAPENTS]);
	s->rss_shmem = vigil_bytes(v[VIGIL_MM_SHMEMPAGES]);
}

/*
 * Charge and the tightest limit on the way to the root.  A parent's limit
 * binds its children (hierarchical accounting, always on since 5.x in v1
 * too), so a memcg with no limit of its own under a limited one is limited.
 * The walk goes by css.parent (a plain load); only the mem_cgroup fields
 * past the css need a probe read, as the verifier types the pointer as the
 * css it is declared as.
 */
static __always_inline void vigil_memcg_read(struct vigil_memcg_slot *m,
					     struct cgroup_subsys_state *css)
{
	u64 lim = VIGIL_PAGE_COUNTER_MAX;
	s64 use;

	m->memcg_id = 0;
	m->usage = 0;
	m->limit = ~0ull;
	if (!css)
		return;
	m->memcg_id = css->cgroup->kn->id;
	use = BPF_CORE_READ((struct mem_cgroup *)css, memory.usage.counter);
	m->usage = vigil_bytes(use);
	/* No early exit, so clang unrolls it: no loop for the verifier. */
#pragma unroll
	for (int i = 0; i < VIGIL_MEM_MEMCG_DEPTH; i++) {
		u64 max;

		/* The root's limit cannot be set: skip its read. */
		if (!css || !css->parent)
			continue;
		max = BPF_CORE_READ((struct mem_cgroup *)css, memory.max);
		if (max < lim)
			lim = max;
		css = css->parent;
	}
	if (lim < VIGIL_PAGE_COUNTER_MAX)
		m->limit = lim << VIGIL_PAGE_SHIFT;
}

/* The memory controller's css of a css_set, or NULL (no memory controller). */
static __always_inline struct cgroup_subsys_state *vigil_memcg_css(struct css_set *cs)
{
	int idx;

	if (!bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id))
		return NULL;
	idx = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	if (idx < 0 || idx >= 16)
		return NULL;
	return cs->subsys[idx];
}

/*
 * The cgroup and memcg fields of a sample, through the per-pass cache
 * (struct vigil_memcg_slot): a hit costs a few plain loads of lines that
 * every task of the cgroup shares, so they are hot; a miss reads as
 * before and fills the slot.
 */
static __always_inline void vigil_mem_cgroups(struct vigil_mem_sample *s, struct css_set *cs,
					      u64 session)
{
	struct cgroup_subsys_state *mcss = vigil_memcg_css(cs);
	int aidx = vigil_cg_subsys_idx();
	struct vigil_memcg_cache *c;
	struct vigil_memcg_slot *e;
	struct cgroup *acg;
	u64 mser, aser;
	u32 zero = 0, i;

	/* The attribution cgroup, as vigil_task_cgroup() finds it, in plain loads. */
	if (aidx < 0 || aidx >= 12)
		acg = cs->dfl_cgrp;
	else
		acg = cs->subsys[aidx]->cgroup;
	mser = mcss ? mcss->serial_nr : 0;
	aser = acg->self.serial_nr;

	c = bpf_map_lookup_elem(&vigil_memcg_cache, &zero);
	if (!c) {
		/* Cannot happen (a one-slot array); read without the cache. */
		struct vigil_memcg_slot t;

		vigil_memcg_read(&t, mcss);
		s->cgroup_id = acg->kn->id;
		s->memcg_id = t.memcg_id;
		s->memcg_usage = t.usage;
		s->memcg_limit = t.limit;
		return;
	}
	i = (u32)(mser * 31 + aser) & (VIGIL_MEMCG_SLOTS - 1);
	e = &c->slot[i];
	if (e->session != session || e->memcg_serial != mser || e->cgroup_serial != aser) {
		e->session = 0;	/* invalid while it is refilled */
		vigil_memcg_read(e, mcss);
		e->cgroup_id = acg->kn->id;
		e->memcg_serial = mser;
		e->cgroup_serial = aser;
		e->session = session;
	}
	s->cgroup_id = e->cgroup_id;
	s->memcg_id = e->memcg_id;
	s->memcg_usage = e->usage;
	s->memcg_limit = e->limit;
}

/*
 * One process's sample into *s, or false if it has none (not a leader, a
 * kernel thread, a zombie).  session tags the memcg cache's slots: any
 * value that differs from one pass to the next.
 */
static __always_inline bool vigil_mem_fill(struct vigil_mem_sample *s, struct task_struct *task,
					   u64 session)
{
	struct mm_struct *mm;

	if (task->pid != task->tgid || (task->flags & VIGIL_PF_KTHREAD))
		return false;
	mm = task->mm;
	if (!mm)
		return false;	/* a zombie, or exiting past exit_mm() */

	__builtin_memset(s, 0, sizeof(*s));
	s->pid = task->tgid;
	s->start_ns = task->start_time;
	__builtin_memcpy(s->comm, task->comm, sizeof(s->comm));
	vigil_mem_cgroups(s, task->cgroups, session);
	vigil_mem_rss(s, mm);
	return true;
}

SEC("iter/task")
int vigil_mem_sample(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct vigil_mem_sample s;

	if (!task || !vigil_mem_fill(&s, task, ctx->meta->session_id))
		return 0;
	bpf_seq_write(ctx->meta->seq, &s, sizeof(s));
	return 0;
}

/*
 * The faster walk, on kernels with the open-coded task iterator (6.7+):
 * BPF_TASK_ITER_ALL_PROCS follows the process list (for_each_process), so
 * it visits leaders only and looks no pid up, where iter/task visits every
 * thread by pid through the pid IDR.  A syscall program, run by the agent
 * with BPF_PROG_TEST_RUN once per pass, writing records into an mmap-able
 * array the agent reads in place.  The agent bumps vigil_mem_pass before
 * each run; the memcg cache's tag for it has the top bit set so it never
 * equals an iterator session id (a pass that overflows the array is re-read
 * through iter/task).  The walk covers every process on the node, not only
 * those of the reader's pid namespace as iter/task does; the agent runs in
 * the initial one, where the two are the same.
 *
 * The agent enables this program only when vmlinux BTF has the kfuncs
 * (their weak declarations let the object load without them).
 */
extern int bpf_iter_task_new(struct bpf_iter_task *it, struct task_struct *task,
			     unsigned int flags) __weak __ksym;
extern struct task_struct *bpf_iter_task_next(struct bpf_iter_task *it) __weak __ksym;
extern void bpf_iter_task_destroy(struct bpf_iter_task *it) __weak __ksym;
extern void bpf_rcu_read_lock(void) __weak __ksym;
extern void bpf_rcu_read_unlock(void) __weak __ksym;

#define VIGIL_TASK_ITER_ALL_PROCS 0	/* enum bpf_iter_task_flag */

/* Records of the last pass (the agent sizes it before load and mmaps it). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct vigil_mem_sample);
} vigil_mem_out SEC(".maps");

/* Bumped by the agent before each run of vigil_mem_walk. */
u64 vigil_mem_pass = 0;
/* Processes the last run found (records written: at most the array's size). */
u32 vigil_mem_found = 0;

SEC("syscall")
int vigil_mem_walk(void *ctx)
{
	u64 session = vigil_mem_pass | (1ull << 63);
	struct bpf_iter_task it;
	struct task_struct *task;
	u32 n = 0;

	bpf_rcu_read_lock();
	bpf_iter_task_new(&it, NULL, VIGIL_TASK_ITER_ALL_PROCS);
	while ((task = bpf_iter_task_next(&it))) {
		struct vigil_mem_sample *s;
		u32 i = n;

		s = bpf_map_lookup_elem(&vigil_mem_out, &i);
		if (!s) {
			/* Full: count on, so the agent knows to re-read. */
			if (task->pid == task->tgid && !(task->flags & VIGIL_PF_KTHREAD) &&
			    task->mm)
				n++;
			continue;
		}
		if (vigil_mem_fill(s, task, session))
			n++;
	}
	bpf_iter_task_destroy(&it);
	bpf_rcu_read_unlock();
	vigil_mem_found = n;
	return 0;
}
