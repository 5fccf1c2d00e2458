/*
 * sigpolicy.c - the signal policy engine (see sigpolicy.h).
 *
 * Who decides what.  The kernel judges every user-sent signal itself, at
 * the moment it is sent, from three things: the rule table of the active
 * slot, the container identity of both tasks (the nearest container-root
 * ancestor of their cgroups, marked in ctr_roots), and masks this file
 * writes into sig_cls.  A mask bit says "rule i's sender (or target)
 * selector fields match this cgroup (or this process)".  Cgroup masks are
 * written when a cgroup enters the agent's cache (its mkdir record, or
 * first sight of a cgroup older than the agent); process masks when the
 * agent reads a fork or exec.  The kernel drops a process's masks at exec
 * and exit, so a stale image's mask never applies; until the agent has
 * written the new one, a rule that needs it does not match, and the kernel
 * counts that (vigil_signal_policy_unclassified_total).
 *
 * Reload.  The inactive slot is filled completely (masks for every known
 * process and cgroup, then the table), and only then is vigil_sig_slot
 * flipped, in one store.  The previous slot's names stay resolvable, so
 * events judged just before a flip are still reported by name.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "containers.h"
#include "events.h"
#include "loader.h"
#include "sigpolicy.h"
#include "trace.skel.h"

/* Per-policy decision series; past this, "_overflow". */
#define DECISION_SERIES_MAX 256

/* The kernel's action codes are the loader's: names and values have one source. */
_Static_assert((int)VIGIL_SIG_ACT_AUDIT == (int)SIG_ACTION_AUDIT &&
	       (int)VIGIL_SIG_ACT_DENY == (int)SIG_ACTION_DENY &&
	       (int)VIGIL_SIG_ACT_KILL_SENDER == (int)SIG_ACTION_KILL_SENDER,
	       "bpf/sigtables.h and policy.h number actions alike");

static uint8_t act_of(enum sig_action a)
{
	return a == SIG_ACTION_AUDIT || a == SIG_ACTION_DENY || a == SIG_ACTION_KILL_SENDER ?
	       (uint8_t)a : VIGIL_SIG_ACT_NONE;
}

static uint8_t scope_of(enum sel_scope s)
{
	return s == SEL_SCOPE_HOST ? VIGIL_SIG_SCOPE_HOST :
	       s == SEL_SCOPE_CONTAINERS ? VIGIL_SIG_SCOPE_CONTAINERS : VIGIL_SIG_SCOPE_ANY;
}

static uint8_t relation_of(enum sig_relation r)
{
	switch (r) {
	case SIG_REL_SAME_CONTAINER: return VIGIL_SIG_REL_SAME_CONTAINER;
	case SIG_REL_OTHER_CONTAINER: return VIGIL_SIG_REL_OTHER_CONTAINER;
	case SIG_REL_HOST: return VIGIL_SIG_REL_HOST;
	case SIG_REL_NONE: break;
	}
	return VIGIL_SIG_REL_NONE;
}

int sigpolicy_compile(const struct policy_set *set, const struct sig_guard *g,
		      uint32_t self_tgid, uint32_t gen, struct sigpolicy_compiled *out,
		      char *why, size_t whylen)
{
	struct vigil_sig_table *t = &out->table;
	unsigned builtins = (g && g->container_escape) + (g && g->protect_self);
	unsigned n = 0;

	memset(out, 0, sizeof(*out));
	t->gen = gen;
	t->self_tgid = self_tgid;
	for (size_t d = 0; set && d < set->n_docs; d++) {
		const struct policy_doc *doc = &set->docs[d];

		if (doc->kind != POLICY_KIND_SIGNAL)
			continue;
		for (size_t i = 0; i < doc->n_rules; i++) {
			const struct signal_rule *sr = &doc->rules[i];
			struct vigil_sig_rule *r;
			struct sigpolicy_ref *ref;

			if (n + builtins >= VIGIL_SIG_MAX_RULES) {
				snprintf(why, whylen, "%u signal rules with the built-in ones: the kernel table holds %d",
					 n + builtins + 1, VIGIL_SIG_MAX_RULES);
				return -E2BIG;
			}
			r = &t->rules[n];
			ref = &out->refs[n];
			r->signals = sr->signals;
			r->action = act_of(sr->action);
			r->fallback = sr->action == SIG_ACTION_DENY ? act_of(sr->fallback) : r->action;
			if (!r->fallback)
				r->fallback = VIGIL_SIG_ACT_AUDIT;
			r->sender_scope = scope_of(sr->sender.scope);
			r->target_scope = scope_of(sr->target.scope);
			r->relation = relation_of(sr->relation);
			if (selector_has_cgroup_fields(&sr->sender))
				r->flags |= VIGIL_SIG_NEED_SENDER_CG;
			if (selector_has_process_fields(&sr->sender))
				r->flags |= VIGIL_SIG_NEED_SENDER_PROC;
			if (selector_has_cgroup_fields(&sr->target))
				r->flags |= VIGIL_SIG_NEED_TARGET_CG;
			if (selector_has_process_fields(&sr->target))
				r->flags |= VIGIL_SIG_NEED_TARGET_PROC;
			out->need_cgroup |= !!(r->flags & (VIGIL_SIG_NEED_SENDER_CG | VIGIL_SIG_NEED_TARGET_CG));
			out->need_proc |= !!(r->flags & (VIGIL_SIG_NEED_SENDER_PROC | VIGIL_SIG_NEED_TARGET_PROC));
			snprintf(ref->policy, sizeof(ref->policy), "%s", doc->name);
			snprintf(ref->rule, sizeof(ref->rule), "%s", sr->name);
			ref->sender = &sr->sender;
			ref->target = &sr->target;
			n++;
		}
	}
	if (g && g->container_escape) {
		struct vigil_sig_rule *r = &t->rules[n];

		r->signals = ~0ULL;
		r->action = act_of(g->container_escape);
		r->fallback = r->action == VIGIL_SIG_ACT_DENY ? VIGIL_SIG_ACT_AUDIT : r->action;
		r->sender_scope = VIGIL_SIG_SCOPE_CONTAINERS;
		r->relation = VIGIL_SIG_REL_OUTSIDE;
		snprintf(out->refs[n].policy, sizeof(out->refs[n].policy), SIGPOLICY_BUILTIN);
		snprintf(out->refs[n].rule, sizeof(out->refs[n].rule), "container-escape");
		n++;
	}
	if (g && g->protect_self) {
		struct vigil_sig_rule *r = &t->rules[n];

		r->signals = (1ULL << (9 - 1)) | (1ULL << (19 - 1));	/* SIGKILL, SIGSTOP */
		r->action = VIGIL_SIG_ACT_DENY;
		r->fallback = VIGIL_SIG_ACT_AUDIT;
		r->relation = VIGIL_SIG_REL_SELF;
		r->flags = VIGIL_SIG_SENDER_NOT_INIT;
		snprintf(out->refs[n].policy, sizeof(out->refs[n].policy), SIGPOLICY_BUILTIN);
		snprintf(out->refs[n].rule, sizeof(out->refs[n].rule), "protect-self");
		n++;
	}
	t->n_rules = n;
	return 0;
}

void sigpolicy_classify(const struct sigpolicy_compiled *c, const struct sel_subject *x,
			enum vigil_sig_cls_kind kind, struct vigil_sig_cls *out)
{
	bool (*has)(const struct selector *) = kind == VIGIL_SIG_CLS_CGROUP ?
		selector_has_cgroup_fields : selector_has_process_fields;
	bool (*match)(const struct selector *, const struct sel_subject *) =
		kind == VIGIL_SIG_CLS_CGROUP ? selector_match_cgroup : selector_match_process;

	out->sender = out->target = 0;
	for (uint32_t i = 0; i < c->table.n_rules; i++) {
		const struct sigpolicy_ref *r = &c->refs[i];

		if (r->sender && has(r->sender) && match(r->sender, x))
			out->sender |= 1ULL << i;
		if (r->target && has(r->target) && match(r->target, x))
			out->target |= 1ULL << i;
	}
}

const char *sigpolicy_effect_name(uint8_t action, uint8_t outcome)
{
	if (outcome & (VIGIL_SIG_OUT_SENDER_KILLED | VIGIL_SIG_OUT_KILL_FAILED))
		return sig_action_name(SIG_ACTION_KILL_SENDER);
	if (outcome & VIGIL_SIG_OUT_DENIED)
		return sig_action_name(SIG_ACTION_DENY);
	return sig_action_name(SIG_ACTION_AUDIT);
}

/* ---------------------------------------------------------------- maps */

static void cls_write(struct vigil_sigpolicy *sp, unsigned slot, enum vigil_sig_cls_kind kind,
		      uint64_t id, const struct sel_subject *x)
{
	struct vigil_sig_cls_key k = { .id = id, .slot = slot, .kind = kind };
	struct vigil_sig_cls v;

	sigpolicy_classify(&sp->slots[slot].c, x, kind, &v);
	if (bpf_map_update_elem(sp->cls_fd, &k, &v, BPF_ANY))
		sp->map_update_errors++;
}

static void cls_drop(struct vigil_sigpolicy *sp, enum vigil_sig_cls_kind kind, uint64_t id)
{
	struct vigil_sig_cls_key k = { .id = id, .kind = kind };

	for (k.slot = 0; k.slot < 2; k.slot++)
		bpf_map_delete_elem(sp->cls_fd, &k);
}

static void classify_cgroup(struct vigil_sigpolicy *sp, unsigned slot, const struct vigil_ctr *c)
{
	struct sel_subject x;

	if (!sp->slots[slot].c.need_cgroup || !c->resolved)
		return;
	ctr_subject(c, &x);
	cls_write(sp, slot, VIGIL_SIG_CLS_CGROUP, c->cgroup_id, &x);
}

static void classify_proc(struct vigil_sigpolicy *sp, unsigned slot, const struct vigil_proc *p)
{
	const struct vigil_ctr *c;
	struct sel_subject x;

	if (!sp->slots[slot].c.need_proc || !p)
		return;
	c = ctr_lookup(&sp->en->ctrs, p->cgroup_id);
	ctr_subject(c, &x);
	x.binary = p->binary ? p->binary : "";
	x.comm = p->comm;
	cls_write(sp, slot, VIGIL_SIG_CLS_PROC, p->pid, &x);
}

/* The cache learnt a cgroup: fix its container-root mark, write its masks. */
static void on_new_cgroup(void *ctx, const struct vigil_ctr *c)
{
	struct vigil_sigpolicy *sp = ctx;
	uint64_t id = c->cgroup_id;
	uint8_t one = 1;

	/*
	 * The kernel marked it if its name carries 64 hex digits; runtime
	 * helpers (conmon) do too without being containers.  Attribution is
	 * the authority.
	 */
	if (ctr_is_root(c)) {
		if (bpf_map_update_elem(sp->roots_fd, &id, &one, BPF_ANY))
			sp->map_update_errors++;
	} else {
		bpf_map_delete_elem(sp->roots_fd, &id);
	}
	classify_cgroup(sp, sp->active, c);
}

static void on_gone_cgroup(void *ctx, const struct vigil_ctr *c)
{
	struct vigil_sigpolicy *sp = ctx;
	uint64_t id = c->cgroup_id;

	bpf_map_delete_elem(sp->roots_fd, &id);
	cls_drop(sp, VIGIL_SIG_CLS_CGROUP, id);
}

static bool other_slot(const void *key, void *ctx)
{
	const struct vigil_sig_cls_key *k = key;

	return k->slot != *(unsigned *)ctx;
}

/* Remove every sig_cls entry of one slot. */
static int clear_slot(struct vigil_sigpolicy *sp, unsigned slot)
{
	return vigil_bpf_map_prune(sp->cls_fd, sizeof(struct vigil_sig_cls_key), other_slot, &slot);
}

struct fill_ctx {
	struct vigil_sigpolicy *sp;
	unsigned slot;
};

static void fill_cgroup(void *ctx, const struct vigil_ctr *c)
{
	struct fill_ctx *f = ctx;

	classify_cgroup(f->sp, f->slot, c);
}

/* Resolve every live process's cgroup, so cgroups older than the agent get masks too. */
static void touch_cgroup(uint64_t key, void *val, void *ctx)
{
	struct fill_ctx *f = ctx;
	const struct vigil_proc *p = val;

	ctr_lookup(&f->sp->en->ctrs, p->cgroup_id);
}

static void fill_proc(uint64_t key, void *val, void *ctx)
{
	struct fill_ctx *f = ctx;

	classify_proc(f->sp, f->slot, val);
}

int sigpolicy_apply(struct vigil_sigpolicy *sp, struct policy_set *set, char *why, size_t whylen)
{
	unsigned s = sp->active ^ 1;
	struct sigpolicy_compiled *c;
	struct fill_ctx f = { sp, s };
	int err;

	c = malloc(sizeof(*c));
	if (!c) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	err = sigpolicy_compile(set, &sp->guard, sp->self_tgid, sp->gen + 1, c, why, whylen);
	if (err) {
		free(c);
		return err;
	}
	err = clear_slot(sp, s);
	if (err) {
		free(c);
		snprintf(why, whylen, "clearing the inactive policy slot: %s", strerror(-err));
		return err;
	}
	/* The slot's old set goes now: its compiled refs point into it. */
	policy_set_free(&sp->slots[s].set);
	sp->slots[s].set = *set;
	memset(set, 0, sizeof(*set));
	sp->slots[s].c = *c;
	sp->slots[s].gen = c->table.gen;
	free(c);

	/* Masks first, then the table, then the flip: the kernel never reads a half slot. */
	if (sp->slots[s].c.need_cgroup)
		idmap_each(&sp->en->procs.map, touch_cgroup, &f);
	ctr_cache_each(&sp->en->ctrs, fill_cgroup, &f);
	idmap_each(&sp->en->procs.map, fill_proc, &f);
	if (bpf_map_update_elem(sp->tables_fd, &s, &sp->slots[s].c.table, BPF_ANY)) {
		err = -errno;
		/* The kernel still reads the other slot; the next apply rewrites this one. */
		snprintf(why, whylen, "writing the signal rule table: %s", strerror(errno));
		return err;
	}
	__atomic_store_n(sp->slot, s, __ATOMIC_SEQ_CST);
	sp->active = s;
	sp->gen = sp->slots[s].gen;
	return 0;
}

unsigned sigpolicy_rules(const struct vigil_sigpolicy *sp)
{
	return sp->slots[sp->active].c.table.n_rules;
}

/* ---------------------------------------------------------------- events */

static void resolve_verdict(struct vigil_sigpolicy *sp, struct vigil_event_view *v)
{
	const struct vigil_signal_event *s = v->raw;
	struct vigil_verdict *out = &sp->verdict;
	unsigned slot = sp->slots[0].gen == s->policy_gen ? 0 : 1;
	const char *labels[2];

	memset(out, 0, sizeof(*out));
	out->generation = s->policy_gen;
	if (sp->slots[slot].gen == s->policy_gen && s->policy_rule >= 0 &&
	    (uint32_t)s->policy_rule < sp->slots[slot].c.table.n_rules) {
		out->policy = sp->slots[slot].c.refs[s->policy_rule].policy;
		out->rule = sp->slots[slot].c.refs[s->policy_rule].rule;
	} else {
		/* Two reloads since the kernel judged it: the names are gone. */
		out->policy = "(replaced)";
		out->rule = "";
	}
	out->action = sig_action_name((enum sig_action)s->policy_action);
	out->effect = sigpolicy_effect_name(s->policy_action, s->policy_outcome);
	out->denied = s->policy_outcome & VIGIL_SIG_OUT_DENIED;
	out->sender_killed = s->policy_outcome & VIGIL_SIG_OUT_SENDER_KILLED;
	out->kill_failed = s->policy_outcome & VIGIL_SIG_OUT_KILL_FAILED;
	v->verdict = out;
	labels[0] = out->policy;
	labels[1] = out->effect;
	metrics_add(metrics_series(sp->decisions, labels), 1);
}

void sigpolicy_event(struct vigil_sigpolicy *sp, struct vigil_event_view *v)
{
	switch (v->type) {
	case VIGIL_EV_FORK:
		classify_proc(sp, sp->active, v->other.proc);
		break;
	case VIGIL_EV_EXEC:
		classify_proc(sp, sp->active, v->subject.proc);
		break;
	case VIGIL_EV_EXIT:
		if (v->subject.proc && (sp->slots[0].c.need_proc || sp->slots[1].c.need_proc))
			cls_drop(sp, VIGIL_SIG_CLS_PROC, v->subject.proc->pid);
		break;
	case VIGIL_EV_SIGNAL_GENERATE: {
		const struct vigil_signal_event *s = v->raw;

		if (s->policy_rule >= 0)
			resolve_verdict(sp, v);
		break;
	}
	}
}

/* ---------------------------------------------------------------- setup */

static void collect(void *ctx)
{
	struct vigil_sigpolicy *sp = ctx;
	uint64_t n[VIGIL_SIG_STAT__MAX];

	if (vigil_bpf_percpu_sum(sp->bpf, sp->stats_fd, VIGIL_SIG_STAT__MAX, n) == 0) {
		metrics_set(sp->unclassified, (double)n[VIGIL_SIG_STAT_UNCLASSIFIED]);
		metrics_set(sp->kill_failed, (double)n[VIGIL_SIG_STAT_KILL_FAILED]);
	}
	metrics_set(sp->map_errors, (double)sp->map_update_errors);
}

/* nftw() has no context argument; the scan runs once, single-threaded. */
static struct vigil_sigpolicy *scan_sp;
static size_t scan_prefix;

static int scan_one(const char *fpath, const struct stat *st, int flag, struct FTW *ftw)
{
	struct vigil_ctr c;
	uint64_t id = st->st_ino;
	uint8_t one = 1;

	if (flag != FTW_D)
		return 0;
	memset(&c, 0, sizeof(c));
	c.resolved = true;
	snprintf(c.cgroup, sizeof(c.cgroup), "%s", fpath[scan_prefix] ? fpath + scan_prefix : "/");
	cgroup_parse_path(c.cgroup, &c.info);
	if (ctr_is_root(&c) &&
	    bpf_map_update_elem(scan_sp->roots_fd, &id, &one, BPF_ANY))
		scan_sp->map_update_errors++;
	return 0;
}

int sigpolicy_init(struct vigil_sigpolicy *sp, struct vigil_bpf *b, struct vigil_enricher *en,
		   struct vigil_metrics *m, const struct sig_guard *g, const char *cgroup_mount,
		   char *why, size_t whylen)
{
	static const char *const labels[] = { "policy", "action", NULL };
	struct policy_set empty = { 0 };
	int err;

	memset(sp, 0, sizeof(*sp));
	sp->bpf = b;
	sp->tables_fd = bpf_map__fd(b->skel->maps.sig_tables);
	sp->cls_fd = bpf_map__fd(b->skel->maps.sig_cls);
	sp->roots_fd = bpf_map__fd(b->skel->maps.ctr_roots);
	sp->stats_fd = bpf_map__fd(b->skel->maps.sig_stats);
	sp->slot = &b->skel->bss->vigil_sig_slot;
	sp->lsm = b->signal_lsm;
	sp->self_tgid = getpid();
	sp->guard = *g;
	sp->en = en;
	sp->active = *sp->slot & 1;

	sp->decisions = metrics_family(m, "vigil_signal_policy_decisions_total",
				       "Signals a policy rule matched, by policy and by what was done "
				       "(audit, deny, kill-sender).",
				       VIGIL_METRIC_COUNTER, labels, DECISION_SERIES_MAX);
	sp->unclassified = metrics_single(m, "vigil_signal_policy_unclassified_total",
					  "Rule checks skipped because the agent had not yet written the "
					  "selector masks of a new process or cgroup.", VIGIL_METRIC_COUNTER);
	sp->kill_failed = metrics_single(m, "vigil_signal_policy_sender_kill_failures_total",
					 "kill-sender verdicts whose SIGKILL could not be queued.",
					 VIGIL_METRIC_COUNTER);
	sp->map_errors = metrics_single(m, "vigil_signal_policy_map_errors_total",
					"Failed writes of selector masks or container roots to BPF maps "
					"(a full map).", VIGIL_METRIC_COUNTER);
	if (!sp->decisions || !sp->unclassified || !sp->kill_failed || !sp->map_errors ||
	    metrics_on_collect(m, collect, sp)) {
		snprintf(why, whylen, "registering signal policy metrics: out of memory");
		return -ENOMEM;
	}

	scan_sp = sp;
	scan_prefix = strlen(cgroup_mount);
	if (cgroup_mount[0] && nftw(cgroup_mount, scan_one, 16, FTW_PHYS | FTW_MOUNT) < 0) {
		err = -errno;
		snprintf(why, whylen, "scanning %s for containers: %s", cgroup_mount, strerror(errno));
		return err;
	}
	ctr_cache_hook(&en->ctrs, on_new_cgroup, on_gone_cgroup, sp);
	/* Generation 0 holds the built-ins alone; the first policy load is 1. */
	sp->gen = UINT32_MAX;
	sp->slots[0].gen = sp->slots[1].gen = UINT32_MAX;
	return sigpolicy_apply(sp, &empty, why, whylen);
}

void sigpolicy_free(struct vigil_sigpolicy *sp)
{
	for (int i = 0; i < 2; i++)
		policy_set_free(&sp->slots[i].set);
	if (sp->en)
		ctr_cache_hook(&sp->en->ctrs, NULL, NULL, sp);
}
