/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * oom.h - one VIGIL_EV_OOM_KILL record per kernel OOM kill.
 *
 * The event is emitted from tp_btf/mark_victim, which every OOM kill passes
 * through.  Its arguments changed: 6.8+ (and distribution backports, e.g.
 * Debian's 6.1.0-5x) pass (struct task_struct *, uid_t); older kernels only
 * the victim's tid.  The agent probes the kernel BTF and loads the matching
 * program (agent/loader.c).
 *
 * Where kprobes work, kprobe/oom_kill_process stashes what only struct
 * oom_control knows - the OOM-ing memcg (NULL for a global OOM), the
 * victim's badness and the OOM's size - keyed by the OOM-ing task's tid;
 * mark_victim, called later by the same task, merges it (VIGIL_OOM_MEMCG_EXACT
 * | VIGIL_OOM_FROM_KPROBE).  Without it the OOM-ing memcg is inferred: the
 * first memcg, walking up from the trigger's, whose usage is within a
 * charge's size of its limit; none means a global OOM.
 *
 * mark_victim also fires where nobody is killed: the OOM killer marks a task
 * that is already exiting (the allocating task itself, or the chosen
 * victim) so it may use memory reserves, and counts no oom_kill.  No event
 * is sent for such a mark (it is counted in vigil_oom_marks_not_killed).
 * Two ways to tell, each in its own programs since the first needs a
 * kernel symbol that is not always resolvable:
 *  - counter (exact): a real kill raises the kernel's OOM_KILL vm event
 *    counter just before it marks its victim, and every OOM runs under the
 *    global oom_lock, so a mark that finds the counter where the last one
 *    left it killed nobody.  Needs vm_event_states, a per-CPU variable,
 *    in kallsyms (CONFIG_KALLSYMS_ALL).
 *  - signal state: a real kill has just sent SIGKILL to the victim's
 *    thread group, so its signal_struct says SIGNAL_GROUP_EXIT with exit
 *    code SIGKILL.  A task exiting for another reason does not (exit(2),
 *    another signal), but one already dying of an earlier SIGKILL looks
 *    the same: it is reported as killed.  With only a pid (old
 *    tracepoint, no kprobe) nothing can be read, and every mark counts.
 */
#ifndef VIGIL_BPF_LIB_OOM_H
#define VIGIL_BPF_LIB_OOM_H

#include "trace.h"
#include "lib/ringbuf.h"
#include "lib/task.h"
#include "lib/mm.h"

/* memcg levels walked up from the trigger when inferring the OOM-ing memcg. */
#define VIGIL_OOM_MEMCG_DEPTH 12
/*
 * "At its limit": usage within this many pages of max.  A charge that
 * fails is at most a huge page (512) or the per-CPU charge batch (64);
 * the rest is slack for memory freed meanwhile.
 */
#define VIGIL_OOM_MARGIN_PAGES 1024
/* A stash older than this is not the current OOM's (ns). */
#define VIGIL_OOM_STASH_NS 2000000000ull
/* Upper bound of the CPU loop that sums the OOM_KILL counter. */
#define VIGIL_OOM_MAX_CPUS 1024

/* Possible CPUs (the agent sets it): how many per-CPU counters to sum. */
const volatile u32 vigil_oom_ncpus = 1;
/*
 * The kernel's OOM_KILL count when the last victim was marked.  The agent
 * sets it from /proc/vmstat before attaching.
 */
u64 vigil_oom_kills_seen = 0;
/* Marks of already-exiting tasks: no kill, no event. */
u64 vigil_oom_marks_not_killed = 0;

extern struct vm_event_state vm_event_states __ksym __weak;

/* What kprobe/oom_kill_process learnt, for the same task's mark_victim. */
struct vigil_oom_stash {
	struct vigil_oom_event ev;
	u64 chosen;	/* struct task_struct *: oc->chosen */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, u32);
	__type(value, struct vigil_oom_stash);
} oom_stash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct vigil_oom_stash);
} oom_scratch SEC(".maps");

/*
 * Has the kernel counted an OOM kill since the last mark?  Sums OOM_KILL
 * over the CPUs (as /proc/vmstat does).  Without the counters (no
 * CONFIG_VM_EVENT_COUNTERS) every mark is taken for a kill.
 */
static __always_inline bool vigil_oom_counted(void)
{
	u64 sum = 0, v;
	u32 idx;

	if (!&vm_event_states || !bpf_core_enum_value_exists(enum vm_event_item, OOM_KILL))
		return true;
	idx = bpf_core_enum_value(enum vm_event_item, OOM_KILL);
	for (u32 cpu = 0; cpu < VIGIL_OOM_MAX_CPUS; cpu++) {
		struct vm_event_state *s;

		if (cpu >= vigil_oom_ncpus)
			break;
		s = bpf_per_cpu_ptr(&vm_event_states, cpu);
		if (!s)
			break;
		v = 0;
		bpf_probe_read_kernel(&v, sizeof(v), &s->event[idx]);
		sum += v;
	}
	if (sum == vigil_oom_kills_seen)
		return false;
	vigil_oom_kills_seen = sum;
	return true;
}

/*
 * Is memcg m at its limit?  The memory counter first; on cgroup v1 also
 * memory+swap (memsw), whose limit makes an OOM of its own.  On v2 the
 * union's other member is the swap counter, which never OOMs.  Fills
 * usage/limit in bytes from the counter at its limit, else from memory.
 */
static __always_inline bool vigil_memcg_at_limit(struct mem_cgroup *m, u64 *usage, u64 *limit)
{
	s64 use = BPF_CORE_READ(m, memory.usage.counter);
	u64 max = BPF_CORE_READ(m, memory.max);
	u64 u = use > 0 ? (u64)use : 0;

	*usage = u << VIGIL_PAGE_SHIFT;
	*limit = max << VIGIL_PAGE_SHIFT;
	if (u + VIGIL_OOM_MARGIN_PAGES >= max)
		return true;
	if (bpf_core_field_exists(m->memsw) &&
	    BPF_CORE_READ(m, css.cgroup, root, hierarchy_id) != 0) {
		s64 suse = BPF_CORE_READ(m, memsw.usage.counter);
		u64 smax = BPF_CORE_READ(m, memsw.max);
		u64 su = suse > 0 ? (u64)suse : 0;

		if (su + VIGIL_OOM_MARGIN_PAGES >= smax) {
			*usage = su << VIGIL_PAGE_SHIFT;
			*limit = smax << VIGIL_PAGE_SHIFT;
			return true;
		}
	}
	return false;
}

/* Without oom_control: the nearest memcg at its limit, from the trigger up. */
static __always_inline void vigil_oom_infer_memcg(struct vigil_oom_event *e,
						  struct task_struct *trigger)
{
	struct mem_cgroup *m = vigil_task_memcg(trigger);
	u64 usage, limit;
	bool found = false;

	/* No early exit, so clang can unroll it: no loop for the verifier. */
#pragma unroll
	for (int i = 0; i < VIGIL_OOM_MEMCG_DEPTH; i++) {
		if (found || !m)
			continue;
		if (vigil_memcg_at_limit(m, &usage, &limit)) {
			e->memcg_id = vigil_memcg_id(m);
			e->memcg_usage = usage;
			e->memcg_limit = limit;
			found = true;
		} else {
			m = (struct mem_cgroup *)BPF_CORE_READ(m, css.parent);
		}
	}
	if (!found)
		e->flags |= VIGIL_OOM_GLOBAL;
}

/* Victim identity, memory and oom_score_adj. */
static __always_inline void vigil_oom_fill_victim(struct vigil_oom_event *e, struct task_struct *v)
{
	struct mm_struct *mm;
	bool old;

	vigil_fill_task(&e->victim, v);
	e->oom_score_adj = BPF_CORE_READ(v, signal, oom_score_adj);
	e->victim_memcg_id = vigil_memcg_id(vigil_task_memcg(v));
	mm = BPF_CORE_READ(v, mm);
	if (!mm) {
		e->rss_anon = e->rss_file = e->rss_shmem = e->swap = e->total_vm = 0;
		e->flags |= VIGIL_OOM_NO_MM;
		return;
	}
	old = VIGIL_MM_RSS_OLD(mm);
	e->rss_anon = VIGIL_RSS(mm, old, VIGIL_MM_ANONPAGES);
	e->rss_file = VIGIL_RSS(mm, old, VIGIL_MM_FILEPAGES);
	e->rss_shmem = VIGIL_RSS(mm, old, VIGIL_MM_SHMEMPAGES);
	e->swap = VIGIL_RSS(mm, old, VIGIL_MM_SWAPENTS);
	e->total_vm = (u64)BPF_CORE_READ(mm, total_vm) << VIGIL_PAGE_SHIFT;
}

/*
 * kprobe/oom_kill_process: oom_control is exact.  Stash the whole event as
 * far as it is known now; mark_victim finishes and sends it.
 */
static __always_inline void vigil_oom_stash_oc(struct oom_control *oc)
{
	struct task_struct *chosen = BPF_CORE_READ(oc, chosen);
	struct mem_cgroup *m = BPF_CORE_READ(oc, memcg);
	u32 zero = 0, tid = (u32)bpf_get_current_pid_tgid();
	struct vigil_oom_stash *st;
	struct vigil_oom_event *s;
	long points;

	st = bpf_map_lookup_elem(&oom_scratch, &zero);
	if (!st || !chosen)
		return;
	__builtin_memset(st, 0, sizeof(*st));
	st->chosen = (u64)chosen;
	s = &st->ev;
	s->hdr.ts_ns = bpf_ktime_get_ns();
	s->flags = VIGIL_OOM_MEMCG_EXACT | VIGIL_OOM_FROM_KPROBE;
	vigil_oom_fill_victim(s, chosen);
	if (m) {
		s->memcg_id = vigil_memcg_id(m);
		vigil_memcg_at_limit(m, &s->memcg_usage, &s->memcg_limit);
	} else {
		s->flags |= VIGIL_OOM_GLOBAL;
	}
	points = BPF_CORE_READ(oc, chosen_points);
	s->points = points > 0 ? (u64)points : 0;
	s->totalpages = BPF_CORE_READ(oc, totalpages);
	bpf_map_update_elem(&oom_stash, &tid, st, BPF_ANY);
}

#define VIGIL_SIGNAL_GROUP_EXIT 0x00000004	/* include/linux/sched/signal.h */
#define VIGIL_SIGKILL 9

/* Was t's thread group just sent SIGKILL (see above)? */
static __always_inline bool vigil_oom_sigkilled(struct task_struct *t)
{
	struct signal_struct *sig = BPF_CORE_READ(t, signal);

	return (BPF_CORE_READ(sig, flags) & VIGIL_SIGNAL_GROUP_EXIT) &&
	       BPF_CORE_READ(sig, group_exit_code) == VIGIL_SIGKILL;
}

/*
 * mark_victim.  victim is the task (new tracepoint), or NULL with only its
 * tid in victim_tid (old tracepoint).  by_counter: tell kills from marks of
 * exiting tasks by the OOM_KILL counter, else by the signal state.
 */
static __always_inline void vigil_oom_emit(struct task_struct *victim, u32 victim_tid,
					   bool by_counter)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct vigil_oom_stash *st;
	struct vigil_oom_event *e, *s = NULL;
	bool fresh, killed;

	st = bpf_map_lookup_elem(&oom_stash, &tid);
	fresh = st && bpf_ktime_get_ns() - st->ev.hdr.ts_ns < VIGIL_OOM_STASH_NS;
	if (st)
		s = &st->ev;
	if (by_counter)
		killed = vigil_oom_counted();
	else if (victim)
		killed = vigil_oom_sigkilled(victim);
	else if (fresh)
		killed = vigil_oom_sigkilled((struct task_struct *)st->chosen);
	else
		killed = true;
	if (!killed) {
		__sync_fetch_and_add(&vigil_oom_marks_not_killed, 1);
		goto out;
	}
	e = vigil_reserve(sizeof(*e), VIGIL_EV_OOM_KILL);
	if (!e)
		goto out;
	if (victim) {
		__builtin_memset(e, 0, sizeof(*e));
		vigil_oom_fill_victim(e, victim);
		if (fresh && s && s->victim.pid == e->victim.pid) {
			e->flags |= s->flags & (VIGIL_OOM_MEMCG_EXACT | VIGIL_OOM_FROM_KPROBE |
						VIGIL_OOM_GLOBAL);
			e->memcg_id = s->memcg_id;
			e->memcg_usage = s->memcg_usage;
			e->memcg_limit = s->memcg_limit;
			e->points = s->points;
			e->totalpages = s->totalpages;
		} else {
			vigil_oom_infer_memcg(e, cur);
		}
	} else if (fresh && s) {
		/* The kill may have moved on to another thread of the chosen process. */
		__builtin_memcpy(e, s, sizeof(*e));
		e->victim.tid = victim_tid;
	} else {
		__builtin_memset(e, 0, sizeof(*e));
		e->victim.pid = e->victim.tid = victim_tid;
		e->flags = VIGIL_OOM_VICTIM_PID_ONLY;
		vigil_oom_infer_memcg(e, cur);
	}
	vigil_fill_hdr(&e->hdr, VIGIL_EV_OOM_KILL);
	vigil_fill_task(&e->trigger, cur);
	vigil_submit_now(e);
out:
	if (st)
		bpf_map_delete_elem(&oom_stash, &tid);
}

#endif
