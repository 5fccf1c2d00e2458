/*
 * sigpolicy.h - the signal policy engine: compiles SignalPolicy documents
 * and the built-in rules into the kernel's tables (bpf/sigtables.h), keeps
 * the agent-evaluated selector masks current, swaps generations without a
 * gap, and turns the kernel's verdicts back into names and metrics.
 *
 * The compile and classify steps are pure and unit-tested; sigpolicy_*
 * functions that take a struct vigil_sigpolicy talk to BPF maps.
 */
#ifndef VIGIL_SIGPOLICY_H
#define VIGIL_SIGPOLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "events.h"
#include "metrics.h"
#include "policy.h"
#include "sigtables.h"

/* Built-in rules, from the agent config (signal_guard.*). */
struct sig_guard {
	enum sig_action container_escape;	/* 0 = off */
	bool protect_self;
};

#define SIGPOLICY_BUILTIN "builtin"

/* What a compiled rule index stands for. */
struct sigpolicy_ref {
	char policy[POLICY_NAME_MAX + 1];
	char rule[POLICY_NAME_MAX + 1];
	const struct selector *sender;	/* NULL: no agent-evaluated fields */
	const struct selector *target;
};

struct sigpolicy_compiled {
	struct vigil_sig_table table;
	struct sigpolicy_ref refs[VIGIL_SIG_MAX_RULES];
	bool need_cgroup;	/* some rule needs per-cgroup masks */
	bool need_proc;		/* some rule needs per-process masks */
};

/*
 * Compile a policy set plus built-ins.  Selector pointers in refs point
 * into *set, which must outlive the result.  0, or -E2BIG (why filled).
 */
int sigpolicy_compile(const struct policy_set *set, const struct sig_guard *g,
		      uint32_t self_tgid, uint32_t gen, struct sigpolicy_compiled *out,
		      char *why, size_t whylen);

/* Masks for one subject: cgroup-level fields (kind CGROUP) or process-level (PROC). */
void sigpolicy_classify(const struct sigpolicy_compiled *c, const struct sel_subject *x,
			enum vigil_sig_cls_kind kind, struct vigil_sig_cls *out);

/* Effect of a verdict in words, from the kernel's outcome bits. */
const char *sigpolicy_effect_name(uint8_t action, uint8_t outcome);

struct vigil_enricher;

struct vigil_bpf;

struct vigil_sigpolicy {
	const struct vigil_bpf *bpf;
	int tables_fd, cls_fd, roots_fd, stats_fd;
	volatile uint32_t *slot;	/* the BPF side's vigil_sig_slot (mmaped .bss) */
	bool lsm;			/* deny is enforced by lsm/task_kill */
	uint32_t self_tgid;
	struct sig_guard guard;
	struct vigil_enricher *en;
	unsigned active;		/* slot the kernel reads */
	uint32_t gen;			/* generation number of the active slot */
	struct {
		uint32_t gen;
		struct policy_set set;	/* owned; the compiled refs point into it */
		struct sigpolicy_compiled c;
	} slots[2];
	struct vigil_verdict verdict;	/* the last resolved verdict (view points here) */
	/* metrics */
	struct vigil_metric_family *decisions;
	struct vigil_metric_series *unclassified, *kill_failed, *map_errors, *roots;
	uint64_t map_update_errors;	/* failed sig_cls / ctr_roots writes */
};

/*
 * Bind to the loaded BPF object, register metrics, mark the container
 * roots that already exist, and install an empty generation (built-ins
 * only).  Hooks itself into the enricher's cgroup cache.  0 or -errno.
 */
int sigpolicy_init(struct vigil_sigpolicy *sp, struct vigil_bpf *b, struct vigil_enricher *en,
		   struct vigil_metrics *m, const struct sig_guard *g, const char *cgroup_mount,
		   char *why, size_t whylen);

/*
 * Make *set the active policy (ownership moves in; *set is zeroed): compile
 * into the inactive slot, write every mask for the processes and cgroups the
 * agent knows, then flip.  On error nothing changes and *set is still the
 * caller's.  0, -E2BIG (too many rules), or -errno from the maps.
 */
int sigpolicy_apply(struct vigil_sigpolicy *sp, struct policy_set *set, char *why, size_t whylen);

/* Per event, before the sinks: keeps per-process masks current and resolves verdicts. */
void sigpolicy_event(struct vigil_sigpolicy *sp, struct vigil_event_view *v);

/* Rules in the active generation, built-ins included. */
unsigned sigpolicy_rules(const struct vigil_sigpolicy *sp);

void sigpolicy_free(struct vigil_sigpolicy *sp);

#endif
