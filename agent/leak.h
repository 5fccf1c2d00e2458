/*
 * leak.h - the leak scorer: per-process memory history, growth-pattern
 * scores, and leak confirmation (LeakPolicy documents).
 *
 * Every `interval_ms` the engine reads one sample per process from the
 * kernel (memsample.c: a task iterator, never /proc), appends each
 * process's footprint (anon + shmem + swap) to its ring of `history`
 * samples, and scores the recent window (leakscore.c).  A leak is
 * confirmed - a leak_suspected event, a metric - when the score has stayed
 * at or above the policy's threshold for `consecutive` evaluations and the
 * process has grown by at least minGrowthPercent and minGrowthMiB over its
 * baseline (taken after the warm-up).  When the score has then stayed
 * below the threshold for `consecutive` evaluations, or the process exits,
 * a leak_cleared event follows.  See docs/LEAKS.md.
 *
 * Memory is fixed per process (a struct and the ring); exited processes
 * are dropped at the tick that no longer sees them; past max_processes,
 * new processes are counted (vigil_leak_processes_untracked), not tracked.
 */
#ifndef VIGIL_LEAK_H
#define VIGIL_LEAK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events.h"
#include "idmap.h"
#include "leakscore.h"
#include "mem.h"
#include "metrics.h"
#include "policy.h"

struct event_base;
struct event;
struct vigil_memsampler;

struct vigil_leak_settings {
	uint32_t interval_ms;		/* config leak.interval_ms */
	uint32_t history;		/* config leak.history: samples kept per process */
	uint32_t max_processes;		/* config leak.max_processes */
	uint32_t cg_source;		/* attribution hierarchy, as the trace object's */
	uint32_t cg_hierarchy_id;
	uint32_t max_containers;	/* per-container memory series cap (metrics_max_containers) */
	bool no_sampler;		/* tests: samples come from leak_engine_feed(), no BPF */
};

typedef void (*vigil_leak_emit_fn)(void *ctx, const struct vigil_event_view *v);

struct leak_proc;

/* One policy as the engine uses it: the default one has name "default". */
struct leak_pol {
	const struct leak_policy *p;
	const char *name;
	struct vigil_metric_series *suspected, *cleared_stopped, *cleared_exited;
};

struct vigil_leak_engine {
	struct vigil_leak_settings s;
	struct event_base *base;
	struct event *ev_tick;
	struct vigil_enricher *en;
	vigil_leak_emit_fn emit;
	void *emit_ctx;
	struct vigil_memsampler *ms;
	struct vigil_idmap procs;	/* pid -> struct leak_proc * */
	size_t n_procs;
	struct leak_policy defaults;
	struct leak_pol *pols;		/* [0] is the default; then the set's LeakPolicies */
	size_t n_pols;
	uint32_t gen;			/* bumped by every apply: processes re-match */
	uint64_t tick;
	uint64_t now;			/* CLOCK_MONOTONIC ns of the current tick */
	uint64_t *series;		/* one process's window, bytes */
	double *scratch;
	size_t window_cap;
	uint64_t node_total, node_avail;	/* MemTotal, MemAvailable, bytes */
	uint64_t untracked;		/* processes seen past max_processes at the last tick */
	uint64_t suspects;		/* processes with a confirmed leak */
	double last_tick_s;		/* sampling + scoring time of the last tick */
	bool sampler_failed_logged;
	/* metrics */
	struct vigil_metrics *m;
	struct vigil_metric_family *f_suspected, *f_cleared, *f_ctr_mem;
	struct vigil_metric_series *g_tracked, *g_untracked, *g_suspects, *g_tick,
		*c_samples, *c_errors;
};

/*
 * Load the sampler, register metrics, start the timer on base.  The
 * built-in default policy applies until leak_engine_apply().  0 or -errno
 * with why filled (the sampler could not load: the caller runs without).
 */
int leak_engine_init(struct vigil_leak_engine *e, struct event_base *base,
		     struct vigil_enricher *en, struct vigil_metrics *m,
		     const struct vigil_leak_settings *s, vigil_leak_emit_fn emit, void *emit_ctx,
		     char *why, size_t whylen);
/*
 * Make the set's LeakPolicies the active ones (NULL: only the default).
 * The set must outlive the next apply.  Processes keep their history and
 * confirmation state; which policy judges each is decided again.
 */
void leak_engine_apply(struct vigil_leak_engine *e, const struct policy_set *set);
/* One tick now (the timer calls it; tests and benchmarks may too). */
void leak_engine_tick(struct vigil_leak_engine *e);
/*
 * One tick on the given samples instead of the kernel's (no_sampler
 * engines; the unit tests).  now_ns is the tick's CLOCK_MONOTONIC time, so
 * tests can run hours of history in a moment.
 */
void leak_engine_feed(struct vigil_leak_engine *e, const struct vigil_mem_sample *s, size_t n,
		      uint64_t now_ns);
void leak_engine_close(struct vigil_leak_engine *e);

/*
 * The state as JSON (the /leaks endpoint, `vigil leaks --json`): three
 * lists of at most top processes each - by score, by usage, by growth over
 * baseline - with history for sparklines, and per-container totals.
 * *buf is malloc'd.  0 or -ENOMEM.
 */
int leak_engine_json(struct vigil_leak_engine *e, unsigned top, char **buf, size_t *len);

/* The RSS slope (bytes/s) the scorer last measured for pid; false if unknown. */
bool leak_engine_slope(const struct vigil_leak_engine *e, uint32_t pid, double *slope);

#endif
