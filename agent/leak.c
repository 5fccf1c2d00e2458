/*
 * leak.c - the leak scorer: history rings, scores, confirmation, events.
 * The contract is in leak.h; the score's formula in leakscore.h and
 * docs/LEAKS.md.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "clock.h"
#include "containers.h"
#include "jsonw.h"
#include "leak.h"
#include "memsample.h"
#include "oomproc.h"
#include "selector.h"

#define KIB_SHIFT 10
#define BASELINE_SAMPLES 3	/* the baseline is the median of this many samples */
#define SPARK_POINTS 48		/* history points per process in the JSON */
#define FLAT_BYTES (64u << 10)	/* a window within this range is flat: score 0 */

struct leak_proc {
	uint32_t pid, ppid, uid;	/* ppid, uid: from the process table, 0 if absent */
	struct vigil_mem_sample s;	/* the last sample */
	uint64_t first_ns;		/* CLOCK_MONOTONIC: first sample */
	uint64_t seen_tick;
	uint32_t count;			/* samples in the ring (<= history) */
	uint32_t head;			/* next slot to write */
	uint64_t baseline;		/* bytes; valid with have_baseline */
	bool have_baseline;
	bool suspected;
	bool scored;
	uint32_t streak;		/* consecutive evaluations at or above the threshold */
	uint32_t calm;			/* consecutive evaluations below it, while suspected */
	uint32_t pol;			/* index into e->pols */
	uint32_t pol_gen;		/* e->gen when pol was chosen; 0 = never */
	struct leak_score sc;
	uint32_t ring[];		/* footprint in KiB */
};

static double interval_s(const struct vigil_leak_engine *e)
{
	return (double)e->s.interval_ms / 1000.0;
}

static uint64_t footprint(const struct vigil_mem_sample *s)
{
	return s->rss_anon + s->rss_shmem + s->swap;
}

/* Sample i of p's ring, oldest first (0 <= i < count), in bytes. */
static uint64_t ring_at(const struct vigil_leak_engine *e, const struct leak_proc *p, uint32_t i)
{
	uint32_t h = e->s.history;
	uint32_t idx = (p->head + h - p->count + i) % h;

	return (uint64_t)p->ring[idx] << KIB_SHIFT;
}

static uint32_t window_samples(const struct vigil_leak_engine *e, const struct leak_policy *p)
{
	uint64_t w = p->window_ms / (e->s.interval_ms ? e->s.interval_ms : 1);

	if (w < LEAK_MIN_SEGMENT)
		w = LEAK_MIN_SEGMENT;
	if (w > e->window_cap)
		w = e->window_cap;
	return (uint32_t)w;
}

/* ---------------------------------------------------------------- policies */

static const struct leak_pol *pol_of(const struct vigil_leak_engine *e, const struct leak_proc *p)
{
	return &e->pols[p->pol < e->n_pols ? p->pol : 0];
}

static void match_policy(struct vigil_leak_engine *e, struct leak_proc *p)
{
	const struct vigil_proc *vp = proc_lookup(&e->en->procs, p->pid);
	const struct vigil_ctr *c = ctr_lookup(&e->en->ctrs, p->s.cgroup_id);
	struct sel_subject x;

	ctr_subject(c, &x);
	x.binary = vp && vp->start_ns == p->s.start_ns && vp->binary ? vp->binary : "";
	x.comm = p->s.comm;
	p->pol = 0;
	for (size_t i = 1; i < e->n_pols; i++) {
		const struct leak_policy *lp = e->pols[i].p;

		if (lp->all || selector_match(&lp->scope, &x)) {
			p->pol = (uint32_t)i;
			break;
		}
	}
	p->pol_gen = e->gen;
}

static int add_pol(struct vigil_leak_engine *e, const struct leak_policy *p, const char *name)
{
	struct leak_pol *n = realloc(e->pols, (e->n_pols + 1) * sizeof(*n));
	struct leak_pol *lp;

	if (!n)
		return -ENOMEM;
	e->pols = n;
	lp = &e->pols[e->n_pols++];
	lp->p = p;
	lp->name = name;
	lp->suspected = metrics_series(e->f_suspected, (const char *[]){ name });
	lp->cleared_stopped = metrics_series(e->f_cleared, (const char *[]){ name, "growth stopped" });
	lp->cleared_exited = metrics_series(e->f_cleared, (const char *[]){ name, "exited" });
	return 0;
}

void leak_engine_apply(struct vigil_leak_engine *e, const struct policy_set *set)
{
	e->n_pols = 0;
	add_pol(e, &e->defaults, "default");
	for (size_t i = 0; set && i < set->n_docs; i++) {
		const struct policy_doc *d = &set->docs[i];

		if (d->kind == POLICY_KIND_LEAK && d->leak)
			add_pol(e, d->leak, d->name);
	}
	e->gen++;
	if (!e->gen)
		e->gen = 1;
}

/* ---------------------------------------------------------------- events */

static void fill_info(const struct vigil_leak_engine *e, const struct leak_proc *p,
		      const char *reason, struct vigil_leak_info *li)
{
	bool cg = p->s.memcg_limit != UINT64_MAX && p->s.memcg_limit && p->s.memcg_limit < e->node_total;
	uint64_t headroom;

	memset(li, 0, sizeof(*li));
	li->policy = pol_of(e, p)->name;
	li->reason = reason;
	li->score = p->sc.score;
	li->slope = p->sc.slope;
	li->baseline = p->baseline;
	li->current = p->sc.current;
	li->growth_pct = p->sc.growth_pct;
	if (cg) {
		li->limit = p->s.memcg_limit;
		li->limit_scope = "cgroup";
		headroom = p->s.memcg_limit > p->s.memcg_usage ? p->s.memcg_limit - p->s.memcg_usage : 0;
	} else {
		li->limit = e->node_total;
		li->limit_scope = "node";
		headroom = e->node_avail;
	}
	li->tte_s = leak_time_to_exhaustion(p->sc.slope, headroom);
	li->evaluations = p->streak;
	li->observed_s = (double)(e->now - p->first_ns) / 1e9;
	li->rss_anon = p->s.rss_anon;
	li->rss_file = p->s.rss_file;
	li->rss_shmem = p->s.rss_shmem;
	li->swap = p->s.swap;
}

static void emit(struct vigil_leak_engine *e, const struct leak_proc *p, uint32_t type,
		 const char *reason)
{
	struct vigil_leak_event raw;
	struct vigil_leak_info li;
	struct vigil_event_view v;

	memset(&raw, 0, sizeof(raw));
	raw.hdr.type = type;
	raw.hdr.ts_ns = clock_ns(CLOCK_MONOTONIC);
	raw.task.pid = p->pid;
	raw.task.tid = p->pid;
	raw.task.ppid = p->ppid;
	raw.task.uid = p->uid;
	raw.task.cgroup_id = p->s.cgroup_id;
	raw.task.start_ns = p->s.start_ns;
	memcpy(raw.task.comm, p->s.comm, sizeof(raw.task.comm));
	fill_info(e, p, reason, &li);
	if (enrich_leak(e->en, type, &raw, &li, &v) == 0 && e->emit)
		e->emit(e->emit_ctx, &v);
}

static void clear_leak(struct vigil_leak_engine *e, struct leak_proc *p, const char *reason)
{
	const struct leak_pol *lp = pol_of(e, p);

	p->suspected = false;
	p->calm = 0;
	if (e->suspects)
		e->suspects--;
	metrics_add(strcmp(reason, "exited") ? lp->cleared_stopped : lp->cleared_exited, 1);
	emit(e, p, VIGIL_EV_LEAK_CLEARED, reason);
}

/* ---------------------------------------------------------------- sampling */

static void forget(struct vigil_leak_engine *e, struct leak_proc *p)
{
	if (p->suspected)
		clear_leak(e, p, "exited");
	idmap_del(&e->procs, p->pid);
	e->n_procs--;
	free(p);
}

static struct leak_proc *proc_new(struct vigil_leak_engine *e, const struct vigil_mem_sample *s)
{
	struct leak_proc *p = calloc(1, sizeof(*p) + (size_t)e->s.history * sizeof(uint32_t));

	if (!p)
		return NULL;
	p->pid = s->pid;
	p->first_ns = e->now;
	if (idmap_put(&e->procs, p->pid, p) < 0) {
		free(p);
		return NULL;
	}
	e->n_procs++;
	return p;
}

/* A new image (exec) or a reused pid: the history no longer describes it. */
static void proc_restart(struct vigil_leak_engine *e, struct leak_proc *p,
			 const struct vigil_mem_sample *s)
{
	if (p->suspected)
		clear_leak(e, p, "exited");
	p->first_ns = e->now;
	p->count = p->head = 0;
	p->have_baseline = p->scored = false;
	p->streak = p->calm = 0;
	p->pol_gen = 0;
	memset(&p->sc, 0, sizeof(p->sc));
}

static int on_sample(const struct vigil_mem_sample *s, void *ctx)
{
	struct vigil_leak_engine *e = ctx;
	struct leak_proc *p = idmap_get(&e->procs, s->pid);
	const struct vigil_proc *vp;
	uint64_t kib;

	if (p && (p->s.start_ns != s->start_ns ||
		  strncmp(p->s.comm, s->comm, sizeof(p->s.comm)) != 0))
		proc_restart(e, p, s);
	if (!p) {
		if (e->n_procs >= e->s.max_processes) {
			e->untracked++;
			return 0;
		}
		p = proc_new(e, s);
		if (!p) {
			e->untracked++;
			return 0;
		}
	}
	/*
	 * Parent and uid are not in a sample (the sampler skips those two
	 * pointer chases per task): the enricher's process table has them.
	 */
	vp = e->en ? proc_lookup(&e->en->procs, s->pid) : NULL;
	if (vp && vp->start_ns == s->start_ns) {
		p->ppid = vp->ppid;
		p->uid = vp->uid;
	} else {
		p->ppid = p->uid = 0;
	}
	if (p->s.cgroup_id != s->cgroup_id)
		p->pol_gen = 0;	/* moved: the scope may differ */
	p->s = *s;
	p->s.comm[sizeof(p->s.comm) - 1] = 0;
	p->seen_tick = e->tick;
	kib = footprint(s) >> KIB_SHIFT;
	p->ring[p->head] = kib > UINT32_MAX ? UINT32_MAX : (uint32_t)kib;
	p->head = (p->head + 1) % e->s.history;
	if (p->count < e->s.history)
		p->count++;
	metrics_add(e->c_samples, 1);
	return 0;
}

/* The node's memory, for processes without a cgroup limit; kept when unreadable. */
static void read_meminfo(struct vigil_leak_engine *e)
{
	struct oom_meminfo m;

	if (oom_meminfo_read(&m) == 0) {
		e->node_total = m.total;
		e->node_avail = m.available;
	}
}

/* ---------------------------------------------------------------- scoring */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void evaluate(struct vigil_leak_engine *e, struct leak_proc *p, uint64_t now)
{
	const struct leak_pol *lp;
	const struct leak_policy *pol;
	uint32_t w, m, i;
	double observed, growth;
	uint64_t tail[BASELINE_SAMPLES], lo, hi;

	if (p->pol_gen != e->gen)
		match_policy(e, p);
	lp = pol_of(e, p);
	pol = lp->p;
	observed = (double)(now - p->first_ns) / 1e6;	/* ms */
	if (!p->have_baseline && observed >= (double)pol->warmup_ms &&
	    p->count >= BASELINE_SAMPLES) {
		for (i = 0; i < BASELINE_SAMPLES; i++)
			tail[i] = ring_at(e, p, p->count - BASELINE_SAMPLES + i);
		qsort(tail, BASELINE_SAMPLES, sizeof(tail[0]), cmp_u64);
		p->baseline = tail[BASELINE_SAMPLES / 2];
		p->have_baseline = true;
	}
	w = window_samples(e, pol);
	m = p->count < w ? p->count : w;
	lo = UINT64_MAX;
	hi = 0;
	for (i = 0; i < m; i++) {
		e->series[i] = ring_at(e, p, p->count - m + i);
		lo = e->series[i] < lo ? e->series[i] : lo;
		hi = e->series[i] > hi ? e->series[i] : hi;
	}
	/*
	 * Most processes do not move: a window that stayed within FLAT_BYTES
	 * scores 0 without the O(window^2) slope.
	 */
	if (m && hi - lo <= FLAT_BYTES && !p->suspected) {
		memset(&p->sc, 0, sizeof(p->sc));
		p->sc.current = e->series[m - 1];
		p->sc.segment = m;
		if (p->have_baseline && p->baseline)
			p->sc.growth_pct = ((double)p->sc.current - (double)p->baseline) * 100.0 /
					   (double)p->baseline;
		p->scored = true;
		p->streak = 0;
		return;
	}
	if (leak_score_compute(e->series, m, interval_s(e), w,
			       p->have_baseline ? p->baseline : 0, e->scratch, &p->sc) < 0)
		return;
	p->scored = true;
	/*
	 * A one-off step or a cache that stopped at its cap: what it reached
	 * is the new normal, so later growth is measured from there.
	 */
	if (p->have_baseline && !p->suspected && p->sc.change_point && p->sc.step &&
	    p->sc.segment_level > p->baseline) {
		p->baseline = p->sc.segment_level;
		p->sc.growth_pct = p->baseline ?
			((double)p->sc.current - (double)p->baseline) * 100.0 / (double)p->baseline : 0;
	}
	if (p->sc.score >= pol->threshold)
		p->streak++;
	else
		p->streak = 0;
	growth = p->have_baseline ? (double)p->sc.current - (double)p->baseline : 0;
	if (!p->suspected) {
		if (p->have_baseline && p->streak >= pol->consecutive &&
		    p->sc.growth_pct >= pol->min_growth_pct &&
		    growth >= pol->min_growth_mib * 1048576.0) {
			p->suspected = true;
			p->calm = 0;
			e->suspects++;
			metrics_add(lp->suspected, 1);
			emit(e, p, VIGIL_EV_LEAK_SUSPECTED, NULL);
		}
	} else if (p->sc.score < pol->threshold) {
		if (++p->calm >= pol->consecutive)
			clear_leak(e, p, "growth stopped");
	} else {
		p->calm = 0;
	}
}

struct sweep {
	struct vigil_leak_engine *e;
	struct leak_proc **gone;
	size_t n, cap;
	uint64_t now;
};

static void sweep_one(uint64_t key, void *val, void *ctx)
{
	struct sweep *w = ctx;
	struct leak_proc *p = val;
	struct leak_proc **g;

	(void)key;
	if (p->seen_tick != w->e->tick) {
		if (w->n == w->cap) {
			w->cap = w->cap ? w->cap * 2 : 64;
			g = realloc(w->gone, w->cap * sizeof(*g));
			if (!g) {
				w->cap = w->n;
				return;	/* forgotten at a later tick */
			}
			w->gone = g;
		}
		w->gone[w->n++] = p;
		return;
	}
	evaluate(w->e, p, w->now);
}

/* Per-container totals, rebuilt each tick (bounded by the family's cap). */
struct ctr_total {
	const struct vigil_ctr *c;
	uint64_t v[4];
};

static void ctr_totals_one(uint64_t key, void *val, void *ctx)
{
	struct vigil_leak_engine *e = ctx;
	struct leak_proc *p = val;
	const struct vigil_ctr *c = ctr_lookup(&e->en->ctrs, p->s.cgroup_id);
	const char *rt;

	(void)key;
	if (!c || !c->info.id[0])
		return;
	rt = cgroup_runtime_name(c->info.runtime);
	metrics_add(metrics_series(e->f_ctr_mem, (const char *[]){ c->info.id, c->info.pod_uid, rt, "anon" }),
		    (double)p->s.rss_anon);
	metrics_add(metrics_series(e->f_ctr_mem, (const char *[]){ c->info.id, c->info.pod_uid, rt, "file" }),
		    (double)p->s.rss_file);
	metrics_add(metrics_series(e->f_ctr_mem, (const char *[]){ c->info.id, c->info.pod_uid, rt, "shmem" }),
		    (double)p->s.rss_shmem);
	metrics_add(metrics_series(e->f_ctr_mem, (const char *[]){ c->info.id, c->info.pod_uid, rt, "swap" }),
		    (double)p->s.swap);
}

/* After the samples are in: drop the exited, score the rest, update gauges. */
static void tick_finish(struct vigil_leak_engine *e, uint64_t t0, uint64_t now)
{
	struct sweep w = { .e = e, .now = now };

	idmap_each(&e->procs, sweep_one, &w);
	for (size_t i = 0; i < w.n; i++)
		forget(e, w.gone[i]);
	free(w.gone);
	metrics_family_clear(e->f_ctr_mem);
	idmap_each(&e->procs, ctr_totals_one, e);
	e->last_tick_s = (double)(clock_ns(CLOCK_MONOTONIC) - t0) / 1e9;
	metrics_set(e->g_tracked, (double)e->n_procs);
	metrics_set(e->g_untracked, (double)e->untracked);
	metrics_set(e->g_suspects, (double)e->suspects);
	metrics_set(e->g_tick, e->last_tick_s);
}

void leak_engine_tick(struct vigil_leak_engine *e)
{
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
	long n;

	if (!e->ms)
		return;
	e->tick++;
	e->now = t0;
	e->untracked = 0;
	read_meminfo(e);
	n = memsampler_read(e->ms, on_sample, e);
	if (n < 0) {
		metrics_add(e->c_errors, 1);
		if (!e->sampler_failed_logged)
			fprintf(stderr, "vigil: leak scorer: reading the memory sampler failed: %s "
				"(counted in vigil_leak_sampler_errors_total; retried every tick)\n",
				strerror((int)-n));
		e->sampler_failed_logged = true;
		return;	/* keep every process: a failed read says nothing about exits */
	}
	tick_finish(e, t0, t0);
}

void leak_engine_feed(struct vigil_leak_engine *e, const struct vigil_mem_sample *s, size_t n,
		      uint64_t now_ns)
{
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC);

	e->tick++;
	e->now = now_ns;
	e->untracked = 0;
	if (!e->node_total)
		read_meminfo(e);
	for (size_t i = 0; i < n; i++)
		on_sample(&s[i], e);
	tick_finish(e, t0, now_ns);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	leak_engine_tick(arg);
}

/* ---------------------------------------------------------------- lifecycle */

int leak_engine_init(struct vigil_leak_engine *e, struct event_base *base,
		     struct vigil_enricher *en, struct vigil_metrics *m,
		     const struct vigil_leak_settings *s, vigil_leak_emit_fn emit_fn, void *emit_ctx,
		     char *why, size_t whylen)
{
	static const char *const pol_label[] = { "policy", NULL };
	static const char *const clr_labels[] = { "policy", "reason", NULL };
	static const char *const ctr_labels[] = { "container", "pod_uid", "runtime", "type", NULL };
	struct timeval tv;
	int err;

	memset(e, 0, sizeof(*e));
	e->s = *s;
	if (e->s.history < LEAK_MIN_SEGMENT || !e->s.interval_ms || !e->s.max_processes) {
		snprintf(why, whylen, "leak scorer: bad settings (history %u, interval %u ms)",
			 e->s.history, e->s.interval_ms);
		return -EINVAL;
	}
	e->base = base;
	e->en = en;
	e->emit = emit_fn;
	e->emit_ctx = emit_ctx;
	e->m = m;
	e->window_cap = e->s.history < LEAK_MAX_WINDOW ? e->s.history : LEAK_MAX_WINDOW;
	leak_policy_defaults(&e->defaults);
	if (!s->no_sampler) {
		err = memsampler_open(&e->ms, s->cg_source, s->cg_hierarchy_id, why, whylen);
		if (err)
			return err;
	}
	e->series = calloc(e->window_cap, sizeof(*e->series));
	e->scratch = calloc(leak_score_scratch_len(e->window_cap), sizeof(*e->scratch));
	if (!e->series || !e->scratch || idmap_init(&e->procs, 1024) < 0) {
		snprintf(why, whylen, "leak scorer: out of memory");
		leak_engine_close(e);
		return -ENOMEM;
	}
	e->f_suspected = metrics_family(m, "vigil_leak_suspected_total",
					"Leaks confirmed (leak_suspected events), by LeakPolicy",
					VIGIL_METRIC_COUNTER, pol_label, 0);
	e->f_cleared = metrics_family(m, "vigil_leak_cleared_total",
				      "Confirmed leaks that ended (leak_cleared events), by LeakPolicy "
				      "and reason",
				      VIGIL_METRIC_COUNTER, clr_labels, 0);
	e->f_ctr_mem = metrics_family(m, "vigil_container_memory_bytes",
				      "Memory of each container's processes now, by type (anon, file, "
				      "shmem, swap), from the leak scorer's last sample",
				      VIGIL_METRIC_GAUGE, ctr_labels, 4 * s->max_containers);
	e->g_tracked = metrics_single(m, "vigil_leak_processes_tracked",
				      "Processes the leak scorer keeps a history for", VIGIL_METRIC_GAUGE);
	e->g_untracked = metrics_single(m, "vigil_leak_processes_untracked",
					"Processes seen at the last sample but not tracked "
					"(leak.max_processes reached)", VIGIL_METRIC_GAUGE);
	e->g_suspects = metrics_single(m, "vigil_leak_suspected_processes",
				       "Processes with a confirmed leak now", VIGIL_METRIC_GAUGE);
	e->g_tick = metrics_single(m, "vigil_leak_sample_duration_seconds",
				   "Time the last leak-scorer tick took (sampling and scoring)",
				   VIGIL_METRIC_GAUGE);
	e->c_samples = metrics_single(m, "vigil_leak_samples_total",
				      "Per-process memory samples taken", VIGIL_METRIC_COUNTER);
	e->c_errors = metrics_single(m, "vigil_leak_sampler_errors_total",
				     "Leak-scorer ticks whose sampler read failed", VIGIL_METRIC_COUNTER);
	leak_engine_apply(e, NULL);
	if (base && e->ms) {
		e->ev_tick = event_new(base, -1, EV_PERSIST, on_tick, e);
		tv.tv_sec = e->s.interval_ms / 1000;
		tv.tv_usec = (e->s.interval_ms % 1000) * 1000;
		if (!e->ev_tick || event_add(e->ev_tick, &tv) < 0) {
			snprintf(why, whylen, "leak scorer: cannot start its timer");
			leak_engine_close(e);
			return -ENOMEM;
		}
	}
	return 0;
}

static void free_one(uint64_t key, void *val, void *ctx)
{
	(void)key;
	(void)ctx;
	free(val);
}

void leak_engine_close(struct vigil_leak_engine *e)
{
	if (e->ev_tick)
		event_free(e->ev_tick);
	e->ev_tick = NULL;
	if (e->procs.slots) {
		idmap_each(&e->procs, free_one, NULL);
		idmap_free(&e->procs);
	}
	if (e->ms)
		memsampler_close(e->ms);
	e->ms = NULL;
	free(e->series);
	free(e->scratch);
	free(e->pols);
	e->series = NULL;
	e->scratch = NULL;
	e->pols = NULL;
	e->n_pols = 0;
	e->n_procs = 0;
}

bool leak_engine_slope(const struct vigil_leak_engine *e, uint32_t pid, double *slope)
{
	const struct leak_proc *p = e->procs.slots ? idmap_get(&e->procs, pid) : NULL;

	if (!p || !p->scored || p->sc.segment < LEAK_MIN_SEGMENT)
		return false;
	*slope = p->sc.slope;
	return true;
}

/* ---------------------------------------------------------------- JSON */

struct collect {
	struct leak_proc **v;
	size_t n;
};

static void collect_one(uint64_t key, void *val, void *ctx)
{
	struct collect *c = ctx;

	(void)key;
	c->v[c->n++] = val;
}

static double growth_of(const struct leak_proc *p)
{
	return p->have_baseline ? p->sc.growth_pct : -INFINITY;
}

static uint64_t usage_of(const struct leak_proc *p)
{
	return p->s.rss_anon + p->s.rss_shmem + p->s.swap;
}

/* Larger first; ties by pid for a stable order. */
static int by_score(const void *a, const void *b)
{
	const struct leak_proc *x = *(struct leak_proc *const *)a, *y = *(struct leak_proc *const *)b;

	if (x->sc.score != y->sc.score)
		return x->sc.score < y->sc.score ? 1 : -1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int by_usage(const void *a, const void *b)
{
	const struct leak_proc *x = *(struct leak_proc *const *)a, *y = *(struct leak_proc *const *)b;

	if (usage_of(x) != usage_of(y))
		return usage_of(x) < usage_of(y) ? 1 : -1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int by_growth(const void *a, const void *b)
{
	const struct leak_proc *x = *(struct leak_proc *const *)a, *y = *(struct leak_proc *const *)b;

	if (growth_of(x) != growth_of(y))
		return growth_of(x) < growth_of(y) ? 1 : -1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static void put_proc(struct vigil_leak_engine *e, struct jsonw *w, const struct leak_proc *p)
{
	const struct vigil_proc *vp = proc_lookup(&e->en->procs, p->pid);
	const struct vigil_ctr *c = ctr_lookup(&e->en->ctrs, p->s.cgroup_id);
	struct vigil_leak_info li;
	uint32_t points, i, j, from, to;
	uint64_t sum;

	fill_info(e, p, NULL, &li);
	jsonw_object_begin(w, NULL);
	jsonw_uint(w, "pid", p->pid);
	jsonw_uint(w, "ppid", p->ppid);
	jsonw_string(w, "comm", p->s.comm);
	jsonw_string(w, "binary", vp && vp->start_ns == p->s.start_ns && vp->binary ? vp->binary : "");
	jsonw_string(w, "container", c && c->info.id[0] ? c->info.id : "");
	jsonw_string(w, "cgroup", c ? c->cgroup : "");
	jsonw_string(w, "policy", li.policy);
	jsonw_double(w, "score", p->sc.score);
	jsonw_double(w, "slope_bytes_per_second", p->sc.slope);
	if (p->have_baseline)
		jsonw_uint(w, "baseline_bytes", p->baseline);
	else
		jsonw_null(w, "baseline_bytes");
	jsonw_uint(w, "current_bytes", usage_of(p));
	if (p->have_baseline)
		jsonw_double(w, "growth_percent", p->sc.growth_pct);
	else
		jsonw_null(w, "growth_percent");
	if (li.tte_s >= 0 && p->sc.score > 0)
		jsonw_double(w, "time_to_exhaustion_seconds", li.tte_s);
	else
		jsonw_null(w, "time_to_exhaustion_seconds");
	jsonw_uint(w, "limit_bytes", li.limit);
	jsonw_string(w, "limit_scope", li.limit_scope);
	jsonw_bool(w, "suspected", p->suspected);
	jsonw_uint(w, "evaluations", p->streak);
	jsonw_double(w, "observed_seconds", li.observed_s);
	jsonw_object_begin(w, "memory");
	jsonw_uint(w, "rss_anon", p->s.rss_anon);
	jsonw_uint(w, "rss_file", p->s.rss_file);
	jsonw_uint(w, "rss_shmem", p->s.rss_shmem);
	jsonw_uint(w, "swap", p->s.swap);
	jsonw_object_end(w);
	/* The history, averaged down to at most SPARK_POINTS points. */
	points = p->count < SPARK_POINTS ? p->count : SPARK_POINTS;
	jsonw_double(w, "history_seconds", (double)p->count * interval_s(e));
	jsonw_array_begin(w, "history_bytes");
	for (i = 0; i < points; i++) {
		from = (uint32_t)((uint64_t)i * p->count / points);
		to = (uint32_t)((uint64_t)(i + 1) * p->count / points);
		sum = 0;
		for (j = from; j < to; j++)
			sum += ring_at(e, p, j);
		jsonw_uint(w, NULL, to > from ? sum / (to - from) : 0);
	}
	jsonw_array_end(w);
	jsonw_object_end(w);
}

static void put_list(struct vigil_leak_engine *e, struct jsonw *w, const char *key,
		     struct leak_proc **v, size_t n, unsigned top,
		     int (*cmp)(const void *, const void *))
{
	qsort(v, n, sizeof(*v), cmp);
	jsonw_array_begin(w, key);
	for (size_t i = 0; i < n && i < top; i++)
		put_proc(e, w, v[i]);
	jsonw_array_end(w);
}

/* Containers' totals from the processes, grouped by container id. */
static void put_containers(struct vigil_leak_engine *e, struct jsonw *w, struct leak_proc **v,
			   size_t n)
{
	struct ctr_total *t = calloc(n ? n : 1, sizeof(*t));
	size_t nt = 0, i, k;

	jsonw_array_begin(w, "containers");
	for (i = 0; t && i < n; i++) {
		const struct vigil_ctr *c = ctr_lookup(&e->en->ctrs, v[i]->s.cgroup_id);

		if (!c || !c->info.id[0])
			continue;
		for (k = 0; k < nt && strcmp(t[k].c->info.id, c->info.id); k++)
			;
		if (k == nt)
			t[nt++].c = c;
		t[k].v[0] += v[i]->s.rss_anon;
		t[k].v[1] += v[i]->s.rss_file;
		t[k].v[2] += v[i]->s.rss_shmem;
		t[k].v[3] += v[i]->s.swap;
	}
	for (k = 0; k < nt; k++) {
		jsonw_object_begin(w, NULL);
		jsonw_string(w, "id", t[k].c->info.id);
		jsonw_string(w, "pod_uid", t[k].c->info.pod_uid);
		jsonw_string(w, "runtime", cgroup_runtime_name(t[k].c->info.runtime));
		jsonw_string(w, "cgroup", t[k].c->cgroup);
		jsonw_uint(w, "rss_anon", t[k].v[0]);
		jsonw_uint(w, "rss_file", t[k].v[1]);
		jsonw_uint(w, "rss_shmem", t[k].v[2]);
		jsonw_uint(w, "swap", t[k].v[3]);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	free(t);
}

int leak_engine_json(struct vigil_leak_engine *e, unsigned top, char **buf, size_t *len)
{
	struct collect c = { .v = calloc(e->n_procs ? e->n_procs : 1, sizeof(*c.v)) };
	struct jsonw w;
	const char *text;
	int err = 0;

	if (!c.v)
		return -ENOMEM;
	idmap_each(&e->procs, collect_one, &c);
	jsonw_init(&w);
	jsonw_object_begin(&w, NULL);
	jsonw_double(&w, "interval_seconds", interval_s(e));
	jsonw_uint(&w, "history", e->s.history);
	jsonw_uint(&w, "tracked", e->n_procs);
	jsonw_uint(&w, "untracked", e->untracked);
	jsonw_uint(&w, "suspected", e->suspects);
	jsonw_uint(&w, "ticks", e->tick);
	jsonw_double(&w, "last_tick_seconds", e->last_tick_s);
	jsonw_array_begin(&w, "policies");
	for (size_t i = 0; i < e->n_pols; i++)
		jsonw_string(&w, NULL, e->pols[i].name);
	jsonw_array_end(&w);
	put_list(e, &w, "by_score", c.v, c.n, top, by_score);
	put_list(e, &w, "by_usage", c.v, c.n, top, by_usage);
	put_list(e, &w, "by_growth", c.v, c.n, top, by_growth);
	put_containers(e, &w, c.v, c.n);
	jsonw_object_end(&w);
	free(c.v);
	text = jsonw_text(&w, len);
	if (!jsonw_ok(&w) || !(*buf = malloc(*len + 1))) {
		err = -ENOMEM;
	} else {
		memcpy(*buf, text, *len);
		(*buf)[*len] = 0;
	}
	jsonw_free(&w);
	return err;
}
