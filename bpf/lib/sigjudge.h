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

/* Container root cgroup ids (attribution hierarchy) -> 1. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, u64);
	__type(value, u8);
} ctr_roots SEC(".maps");

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

static __always_inline bool vigil_name_has_ctr_id(const char *kname)
{
	char name[VIGIL_CG_NAME_SCAN];
	int run = 0, i;

	if (bpf_probe_read_kernel_str(name, sizeof(name), kname) < 65)
		return false;
	for (i = 0; i < VIGIL_CG_NAME_SCAN; i++) {
		char c = name[i];

		if (!c)
			break;
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) {
			if (++run == 64)
				return i + 1 >= VIGIL_CG_NAME_SCAN || !name[i + 1] ||
				       !((name[i + 1] >= '0' && name[i + 1] <= '9') ||
					 (name[i + 1] >= 'a' && name[i + 1] <= 'f'));
		} else {
			run = 0;
		}
	}
	return false;
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

static __always_inline struct vigil_sig_cls *cls_lookup(u64 id, u32 slot, u32 kind)
{
	struct vigil_sig_cls_key k = { .id = id, .slot = slot, .kind = kind };

	return bpf_map_lookup_elem(&sig_cls, &k);
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
	struct vigil_sig_cls *s_cg, *s_pr, *t_cg, *t_pr;
	struct vigil_sig_table *t;
	u32 slot = vigil_sig_slot & 1, i, n;
	u64 sc, tc, bit, sigbit;
	u32 s_pid, t_pid;

	v->rule = -1;
	v->action = VIGIL_SIG_ACT_NONE;
	v->effect = VIGIL_SIG_ACT_NONE;
	if (sig < 1 || sig > 64)
		return false;
	t = bpf_map_lookup_elem(&sig_tables, &slot);
	if (!t || !t->n_rules)
		return false;
	v->gen = t->gen;
	n = t->n_rules;
	sigbit = 1ULL << (sig - 1);
	sc = vigil_task_container(snd);
	tc = vigil_task_container(tgt);
	s_pid = BPF_CORE_READ(snd, tgid);
	t_pid = BPF_CORE_READ(tgt, tgid);
	s_cg = cls_lookup(vigil_task_cgroup_id(snd), slot, VIGIL_SIG_CLS_CGROUP);
	s_pr = cls_lookup(s_pid, slot, VIGIL_SIG_CLS_PROC);
	t_cg = cls_lookup(vigil_task_cgroup_id(tgt), slot, VIGIL_SIG_CLS_CGROUP);
	t_pr = cls_lookup(t_pid, slot, VIGIL_SIG_CLS_PROC);

	for (i = 0; i < VIGIL_SIG_MAX_RULES; i++) {
		struct vigil_sig_rule *r;
		u8 eff;

		if (i >= n)
			break;
		r = &t->rules[i];
		if (!(r->signals & sigbit))
			continue;
		if (!scope_ok(r->sender_scope, sc) || !scope_ok(r->target_scope, tc))
			continue;
		if ((r->flags & VIGIL_SIG_SENDER_NOT_INIT) && s_pid == 1)
			continue;
		switch (r->relation) {
		case VIGIL_SIG_REL_SAME_CONTAINER:
			if (!sc || sc != tc)
				continue;
			break;
		case VIGIL_SIG_REL_OTHER_CONTAINER:
			if (!tc || tc == sc)
				continue;
			break;
		case VIGIL_SIG_REL_HOST:
			if (tc)
				continue;
			break;
		case VIGIL_SIG_REL_OUTSIDE:
			if (tc == sc)
				continue;
			break;
		case VIGIL_SIG_REL_SELF:
			if (t_pid != t->self_tgid)
				continue;
			break;
		default:
			break;
		}
		bit = 1ULL << i;
		if (r->flags & (VIGIL_SIG_NEED_SENDER_CG | VIGIL_SIG_NEED_SENDER_PROC |
				VIGIL_SIG_NEED_TARGET_CG | VIGIL_SIG_NEED_TARGET_PROC)) {
			if (((r->flags & VIGIL_SIG_NEED_SENDER_CG) && !s_cg) ||
			    ((r->flags & VIGIL_SIG_NEED_SENDER_PROC) && !s_pr) ||
			    ((r->flags & VIGIL_SIG_NEED_TARGET_CG) && !t_cg) ||
			    ((r->flags & VIGIL_SIG_NEED_TARGET_PROC) && !t_pr)) {
				vigil_sig_count(VIGIL_SIG_STAT_UNCLASSIFIED);
				continue;
			}
			if ((r->flags & VIGIL_SIG_NEED_SENDER_CG) && s_cg && !(s_cg->sender & bit))
				continue;
			if ((r->flags & VIGIL_SIG_NEED_SENDER_PROC) && s_pr && !(s_pr->sender & bit))
				continue;
			if ((r->flags & VIGIL_SIG_NEED_TARGET_CG) && t_cg && !(t_cg->target & bit))
				continue;
			if ((r->flags & VIGIL_SIG_NEED_TARGET_PROC) && t_pr && !(t_pr->target & bit))
				continue;
		}
		eff = r->action;
		if (eff == VIGIL_SIG_ACT_DENY && !lsm)
			eff = r->fallback;
		if (eff > v->effect) {
			v->effect = eff;
			v->action = r->action;
			v->rule = i;
		}
	}
	return v->rule >= 0;
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
