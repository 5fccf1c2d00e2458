/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sigjudge.h - judging a user-sent signal against the signal policy tables
 * (bpf/sigtables.h).  Included by trace.bpf.c, whose signal hooks call
 * vigil_sig_judge().  The judgement must be the same whichever hook runs
 * it (LSM task_kill before the signal exists, or signal_generate after),
 * so it depends only on the two tasks, the signal and the active slot.
 *
 * Container identity is decided here, not by the agent, so a container
 * that signals the instant it starts is still judged as a container: a
 * cgroup whose name carries a 64-hex-digit id is marked as a container
 * root when it is created (cgroup_mkdir), and a task belongs to the
 * nearest marked ancestor of its cgroup.  The agent corrects the marks
 * (runtime helper cgroups like conmon's also carry ids) and adds the roots
 * that existed before it started.
 */
#ifndef VIGIL_BPF_LIB_SIGJUDGE_H
#define VIGIL_BPF_LIB_SIGJUDGE_H

#include "sigtables.h"
#include "lib/task.h"
#include "lib/ctr.h"

/* Which slot the evaluator reads; flipped by the agent after a reload. */
volatile u32 vigil_sig_slot;
/* kill(2) is judged in lsm/task_kill (deny works); set by the agent. */
const volatile bool vigil_sig_lsm = false;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, struct vigil_sig_table);
} sig_tables SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, struct vigil_sig_cls_key);
	__type(value, struct vigil_sig_cls);
} sig_cls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VIGIL_SIG_STAT__MAX);
	__type(key, u32);
	__type(value, u64);
} sig_stats SEC(".maps");

static __always_inline void vigil_sig_count(u32 stat)
{
	u64 *n = bpf_map_lookup_elem(&sig_stats, &stat);

	if (n)
		*n += 1;
}

struct vigil_sig_verdict {
	u32 gen;
	s32 rule;	/* -1: no rule matched */
	u8 action;	/* the rule's configured action */
	u8 effect;	/* what to do here: AUDIT, DENY or KILL_SENDER */
};

static __always_inline bool scope_ok(u8 scope, u64 ctr)
{
	if (scope == VIGIL_SIG_SCOPE_HOST)
		return ctr == 0;
	if (scope == VIGIL_SIG_SCOPE_CONTAINERS)
		return ctr != 0;
	return true;
}

static __always_inline u32 cls_get(u64 id, u32 slot, u32 kind, u64 *sender, u64 *target)
{
	struct vigil_sig_cls_key k = { .id = id, .slot = slot, .kind = kind };
	struct vigil_sig_cls *c = bpf_map_lookup_elem(&sig_cls, &k);

	if (!c)
		return 0;
	*sender = c->sender;
	*target = c->target;
	return 1;
}

/* Everything one rule check needs, by value: bpf_loop() passes it to judge_step. */
struct vigil_judge {
	u64 sigbit;
	u64 sc, tc;		/* container root ids, 0 = host */
	u64 s_cg, s_pr, t_cg, t_pr;	/* masks: sender/target, cgroup/process */
	u32 have;		/* VIGIL_SIG_NEED_* bits whose masks exist */
	u32 slot, n, s_pid, t_pid, self;
	u32 lsm;
	s32 rule;
	u32 effect, action;
};

/* One rule, under bpf_loop(): verified once instead of once per rule. */
static long vigil_judge_step(u32 i, void *ctx)
{
	struct vigil_judge *j = ctx;
	struct vigil_sig_table *t;
	struct vigil_sig_rule *r;
	u32 slot = j->slot, need;
	u64 bit, idx = i;
	u8 eff;

	if (i >= j->n || i >= VIGIL_SIG_MAX_RULES)
		return 1;
	t = bpf_map_lookup_elem(&sig_tables, &slot);
	if (!t)
		return 1;
	/* Bound the index where the verifier sees it; clang drops a C-level mask. */
	asm volatile("%[x] &= 63" : [x] "+r"(idx));
	r = &t->rules[idx];
	if (!(r->signals & j->sigbit))
		return 0;
	if (!scope_ok(r->sender_scope, j->sc) || !scope_ok(r->target_scope, j->tc))
		return 0;
	if ((r->flags & VIGIL_SIG_SENDER_NOT_INIT) && j->s_pid == 1)
		return 0;
	switch (r->relation) {
	case VIGIL_SIG_REL_SAME_CONTAINER:
		if (!j->sc || j->sc != j->tc)
			return 0;
		break;
	case VIGIL_SIG_REL_OTHER_CONTAINER:
		if (!j->tc || j->tc == j->sc)
			return 0;
		break;
	case VIGIL_SIG_REL_HOST:
		if (j->tc)
			return 0;
		break;
	case VIGIL_SIG_REL_OUTSIDE:
		if (j->tc == j->sc)
			return 0;
		break;
	case VIGIL_SIG_REL_SELF:
		if (j->t_pid != j->self)
			return 0;
		break;
	default:
		break;
	}
	need = r->flags & (VIGIL_SIG_NEED_SENDER_CG | VIGIL_SIG_NEED_SENDER_PROC |
			   VIGIL_SIG_NEED_TARGET_CG | VIGIL_SIG_NEED_TARGET_PROC);
	if (need) {
		if ((need & j->have) != need) {
			vigil_sig_count(VIGIL_SIG_STAT_UNCLASSIFIED);
			return 0;
		}
		bit = 1ULL << (i & 63);
		if (((need & VIGIL_SIG_NEED_SENDER_CG) && !(j->s_cg & bit)) ||
		    ((need & VIGIL_SIG_NEED_SENDER_PROC) && !(j->s_pr & bit)) ||
		    ((need & VIGIL_SIG_NEED_TARGET_CG) && !(j->t_cg & bit)) ||
		    ((need & VIGIL_SIG_NEED_TARGET_PROC) && !(j->t_pr & bit)))
			return 0;
	}
	eff = r->action;
	if (eff == VIGIL_SIG_ACT_DENY && !j->lsm)
		eff = r->fallback;
	if (eff > j->effect) {
		j->effect = eff;
		j->action = r->action;
		j->rule = i;
	}
	return 0;
}

/*
 * Judge one user-sent signal.  Every matching rule is considered and the
 * most severe effect wins (kill-sender > deny > audit), so the order of
 * policy files can never let an audit rule shadow a deny.  `lsm` says
 * whether a deny can actually be enforced from the calling hook.
 * Returns true if some rule matched.
 */
static __always_inline bool vigil_sig_judge(struct task_struct *snd, struct task_struct *tgt,
					    int sig, bool lsm, struct vigil_sig_verdict *v)
{
	struct vigil_judge j = {};
	struct vigil_sig_table *t;
	u64 unused;

	v->rule = -1;
	v->action = VIGIL_SIG_ACT_NONE;
	v->effect = VIGIL_SIG_ACT_NONE;
	if (sig < 1 || sig > 64)
		return false;
	j.slot = vigil_sig_slot & 1;
	t = bpf_map_lookup_elem(&sig_tables, &j.slot);
	if (!t || !t->n_rules)
		return false;
	v->gen = t->gen;
	j.n = t->n_rules;
	j.self = t->self_tgid;
	j.lsm = lsm;
	j.rule = -1;
	j.sigbit = 1ULL << ((sig - 1) & 63);
	j.sc = vigil_task_container(snd);
	j.tc = vigil_task_container(tgt);
	j.s_pid = BPF_CORE_READ(snd, tgid);
	j.t_pid = BPF_CORE_READ(tgt, tgid);
	if (cls_get(vigil_task_cgroup_id(snd), j.slot, VIGIL_SIG_CLS_CGROUP, &j.s_cg, &unused))
		j.have |= VIGIL_SIG_NEED_SENDER_CG;
	if (cls_get(j.s_pid, j.slot, VIGIL_SIG_CLS_PROC, &j.s_pr, &unused))
		j.have |= VIGIL_SIG_NEED_SENDER_PROC;
	if (cls_get(vigil_task_cgroup_id(tgt), j.slot, VIGIL_SIG_CLS_CGROUP, &unused, &j.t_cg))
		j.have |= VIGIL_SIG_NEED_TARGET_CG;
	if (cls_get(j.t_pid, j.slot, VIGIL_SIG_CLS_PROC, &unused, &j.t_pr))
		j.have |= VIGIL_SIG_NEED_TARGET_PROC;
	bpf_loop(VIGIL_SIG_MAX_RULES, vigil_judge_step, &j, 0);
	if (j.rule < 0)
		return false;
	v->rule = j.rule;
	v->action = j.action;
	v->effect = j.effect;
	return true;
}

/*
 * Carry out the sender-side part of a verdict: SIGKILL the current task
 * (the sender: both hooks run in its context).  Returns VIGIL_SIG_OUT_*.
 */
static __always_inline u8 vigil_sig_enforce_sender(const struct vigil_sig_verdict *v)
{
	if (v->effect != VIGIL_SIG_ACT_KILL_SENDER)
		return 0;
	if (bpf_send_signal(9) == 0)
		return VIGIL_SIG_OUT_SENDER_KILLED;
	vigil_sig_count(VIGIL_SIG_STAT_KILL_FAILED);
	return VIGIL_SIG_OUT_KILL_FAILED;
}

/* Forget a process's masks in both slots (exec: new image; exit). */
static __always_inline void vigil_sig_cls_drop(u32 tgid)
{
	struct vigil_sig_cls_key k = { .id = tgid, .kind = VIGIL_SIG_CLS_PROC };

	k.slot = 0;
	bpf_map_delete_elem(&sig_cls, &k);
	k.slot = 1;
	bpf_map_delete_elem(&sig_cls, &k);
}

/* A forked child starts with its parent's image, so with its masks. */
static __always_inline void vigil_sig_cls_inherit(u32 parent, u32 child)
{
	struct vigil_sig_cls_key pk = { .id = parent, .kind = VIGIL_SIG_CLS_PROC };
	struct vigil_sig_cls_key ck = { .id = child, .kind = VIGIL_SIG_CLS_PROC };
	struct vigil_sig_cls *c;
	u32 s;

	for (s = 0; s < 2; s++) {
		pk.slot = s;
		ck.slot = s;
		c = bpf_map_lookup_elem(&sig_cls, &pk);
		if (c)
			bpf_map_update_elem(&sig_cls, &ck, c, BPF_ANY);
	}
}

#endif
