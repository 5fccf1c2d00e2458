/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sigtables.h - the signal policy tables, shared by bpf/lib/sigjudge.h (the
 * kernel-side evaluator) and agent/sigpolicy.c (the compiler).
 *
 * Two generations ("slots") of every table exist at once.  The agent fills
 * the inactive slot completely, then flips vigil_sig_slot in one store; a
 * signal is always judged by one complete slot, so a reload never opens a
 * window in which a deny rule is off.
 */
#ifndef VIGIL_BPF_SIGTABLES_H
#define VIGIL_BPF_SIGTABLES_H

#include "trace.h"

/* Rules per slot: policy rules plus up to two built-in rules. */
#define VIGIL_SIG_MAX_RULES 64

enum vigil_sig_act {
	VIGIL_SIG_ACT_NONE = 0,
	VIGIL_SIG_ACT_AUDIT = 1,
	VIGIL_SIG_ACT_DENY = 2,
	VIGIL_SIG_ACT_KILL_SENDER = 3,	/* deny where possible, and SIGKILL the sender */
};

enum vigil_sig_scope {
	VIGIL_SIG_SCOPE_ANY = 0,
	VIGIL_SIG_SCOPE_HOST = 1,
	VIGIL_SIG_SCOPE_CONTAINERS = 2,
};

enum vigil_sig_rel {
	VIGIL_SIG_REL_NONE = 0,
	VIGIL_SIG_REL_SAME_CONTAINER = 1,
	VIGIL_SIG_REL_OTHER_CONTAINER = 2,
	VIGIL_SIG_REL_HOST = 3,
	VIGIL_SIG_REL_SELF = 4,		/* target is the agent itself (built-in rule) */
	VIGIL_SIG_REL_OUTSIDE = 5,	/* target is not in the sender's container (built-in rule) */
};

/* vigil_sig_rule.flags: which agent-computed masks a rule needs. */
#define VIGIL_SIG_NEED_SENDER_CG (1u << 0)
#define VIGIL_SIG_NEED_SENDER_PROC (1u << 1)
#define VIGIL_SIG_NEED_TARGET_CG (1u << 2)
#define VIGIL_SIG_NEED_TARGET_PROC (1u << 3)
#define VIGIL_SIG_SENDER_NOT_INIT (1u << 4)	/* pid 1 is exempt (built-in rule) */

struct vigil_sig_rule {
	u64 signals;		/* bit (sig - 1) */
	u8 action;		/* enum vigil_sig_act */
	u8 fallback;		/* deny without BPF LSM: AUDIT or KILL_SENDER */
	u8 sender_scope;	/* enum vigil_sig_scope */
	u8 target_scope;
	u8 relation;		/* enum vigil_sig_rel */
	u8 flags;		/* VIGIL_SIG_NEED_*, VIGIL_SIG_SENDER_NOT_INIT */
	u8 _pad[2];
};

struct vigil_sig_table {
	u32 gen;		/* generation number, stamped into events */
	u32 n_rules;
	u32 self_tgid;		/* the agent, for VIGIL_SIG_REL_SELF */
	u32 _pad;
	struct vigil_sig_rule rules[VIGIL_SIG_MAX_RULES];
};

/* Agent-computed match masks: bit i = rule i's selector fields match. */
enum vigil_sig_cls_kind {
	VIGIL_SIG_CLS_CGROUP = 0,	/* id = cgroup id: containerIds, podUIDs, pods, cgroups */
	VIGIL_SIG_CLS_PROC = 1,		/* id = tgid: binaries, comms */
};

struct vigil_sig_cls_key {
	u64 id;
	u32 slot;
	u32 kind;		/* enum vigil_sig_cls_kind */
};

struct vigil_sig_cls {
	u64 sender;		/* bit i: rule i's sender selector fields match */
	u64 target;		/* bit i: rule i's target selector fields match */
};

/* Per-CPU counters in the sig_stats map. */
enum vigil_sig_stat {
	VIGIL_SIG_STAT_UNCLASSIFIED = 0,	/* a rule needed a mask the agent had not written yet */
	VIGIL_SIG_STAT_KILL_FAILED = 1,		/* bpf_send_signal() to a sender failed */
	VIGIL_SIG_STAT__MAX = 4,
};

#endif
