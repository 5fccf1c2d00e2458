/*
 * test_leak.c - the leak scorer's engine: history, baseline, confirmation,
 * clearing, exits and pid reuse, the process cap, LeakPolicy choice, and
 * the /leaks JSON.  Samples are fed by hand (leak_engine_feed), one per
 * simulated second, so hours of history take milliseconds; the kernel
 * sampler itself is tested by tests/integration/test_memsample.sh.
 */
#include <criterion/criterion.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "leak.h"
#include "policy.h"

#define MIB (1024ull * 1024ull)
#define SEC 1000000000ull

struct seen {
	uint32_t type;
	uint32_t pid;
	double t;		/* simulated seconds */
	struct vigil_leak_info li;
	char policy[64];
	char reason[32];
};

static struct vigil_enricher en;
static struct vigil_metrics m;
static struct vigil_leak_engine e;
static struct seen ev[64];
static size_t n_ev;
static double now_s;

static void on_emit(void *ctx, const struct vigil_event_view *v)
{
	struct seen *s;

	(void)ctx;
	cr_assert_lt(n_ev, 64, "too many events");
	cr_assert_not_null(v->leak);
	s = &ev[n_ev++];
	s->type = v->type;
	s->pid = v->subject.proc ? v->subject.proc->pid : 0;
	s->t = now_s;
	s->li = *v->leak;
	snprintf(s->policy, sizeof(s->policy), "%s", v->leak->policy ? v->leak->policy : "");
	snprintf(s->reason, sizeof(s->reason), "%s", v->leak->reason ? v->leak->reason : "");
}

static void setup_with(uint32_t max_processes)
{
	struct vigil_leak_settings s = {
		.interval_ms = 1000, .history = 600, .max_processes = max_processes,
		.no_sampler = true,
	};
	char why[256];

	n_ev = 0;
	now_s = 0;
	metrics_init(&m);
	cr_assert_eq(enricher_init(&en, ""), 0);
	cr_assert_eq(leak_engine_init(&e, NULL, &en, &m, &s, on_emit, NULL, why, sizeof(why)), 0,
		     "%s", why);
}

static void setup(void)
{
	setup_with(1000);
}

static void teardown(void)
{
	leak_engine_close(&e);
	enricher_free(&en);
	metrics_free(&m);
}

static struct vigil_mem_sample sample(uint32_t pid, uint64_t start, const char *comm,
				      uint64_t anon)
{
	struct vigil_mem_sample s;

	memset(&s, 0, sizeof(s));
	s.pid = pid;
	s.start_ns = start;
	s.rss_anon = anon;
	s.rss_file = 3 * MIB;
	s.memcg_limit = UINT64_MAX;
	snprintf(s.comm, sizeof(s.comm), "%s", comm);
	return s;
}

/* One tick at the current simulated second, then advance it. */
static void feed(const struct vigil_mem_sample *s, size_t n)
{
	leak_engine_feed(&e, s, n, (uint64_t)(1000 + now_s) * SEC);
	now_s += 1;
}

static size_t count(uint32_t type, uint32_t pid)
{
	size_t k = 0;

	for (size_t i = 0; i < n_ev; i++)
		k += ev[i].type == type && ev[i].pid == pid;
	return k;
}

static const struct seen *first(uint32_t type, uint32_t pid)
{
	for (size_t i = 0; i < n_ev; i++)
		if (ev[i].type == type && ev[i].pid == pid)
			return &ev[i];
	return NULL;
}

/* A little deterministic noise: a few pages either way. */
static uint64_t jitter(unsigned i)
{
	return (uint64_t)((i * 2654435761u) % 8) * 4096;
}

TestSuite(leak, .init = setup, .fini = teardown);

Test(leak, a_steady_leak_is_confirmed_once_after_warmup_and_minimum_growth)
{
	/* 1 MiB/s from 50 MiB; a flat neighbour. Defaults: warmup 60 s, K 6, X 20%, Y 64 MiB. */
	for (unsigned i = 0; i < 240; i++) {
		struct vigil_mem_sample s[2] = {
			sample(100, 1, "leaky", 50 * MIB + i * MIB + jitter(i)),
			sample(200, 2, "steady", 80 * MIB + jitter(i + 3)),
		};
		feed(s, 2);
	}
	const struct seen *x = first(VIGIL_EV_LEAK_SUSPECTED, 100);

	cr_assert_not_null(x, "no leak_suspected for the leaking process");
	cr_expect_eq(count(VIGIL_EV_LEAK_SUSPECTED, 100), 1, "confirmed more than once");
	cr_expect_eq(count(VIGIL_EV_LEAK_SUSPECTED, 200), 0, "the flat process was flagged");
	/* The baseline is taken at about 60 s (~110 MiB); 64 MiB more takes ~64 s. */
	cr_expect_geq(x->t, 59 + 64, "confirmed at %.0f s, before Y MiB of growth", x->t);
	cr_expect_leq(x->t, 60 + 64 + 20, "confirmed only at %.0f s", x->t);
	cr_expect_str_eq(x->policy, "default");
	cr_expect_geq(x->li.score, LEAK_DEFAULT_THRESHOLD);
	cr_expect_leq(x->li.score, 1.0);
	cr_expect(x->li.slope > 0.9 * MIB && x->li.slope < 1.1 * MIB, "slope %.0f B/s", x->li.slope);
	cr_expect(x->li.baseline > 105 * MIB && x->li.baseline < 115 * MIB,
		  "baseline %.1f MiB", x->li.baseline / (double)MIB);
	cr_expect_geq(x->li.current - x->li.baseline, 64 * MIB);
	cr_expect_geq(x->li.evaluations, LEAK_DEFAULT_CONSECUTIVE);
	cr_expect_str_eq(x->li.limit_scope, "node");
	cr_expect_gt(x->li.tte_s, 0, "a growing process has a time to exhaustion");
	cr_expect_eq(x->li.rss_file, 3 * MIB);
	cr_expect_eq(e.suspects, 1);
}

Test(leak, a_cgroup_limit_gives_the_time_to_exhaustion)
{
	for (unsigned i = 0; i < 200; i++) {
		struct vigil_mem_sample s = sample(100, 1, "leaky", 10 * MIB + i * MIB);

		s.memcg_limit = 1024 * MIB;
		s.memcg_usage = 10 * MIB + i * MIB + 20 * MIB;
		feed(&s, 1);
	}
	const struct seen *x = first(VIGIL_EV_LEAK_SUSPECTED, 100);

	cr_assert_not_null(x);
	cr_expect_str_eq(x->li.limit_scope, "cgroup");
	cr_expect_eq(x->li.limit, 1024 * MIB);
	/* headroom = limit - usage at that tick; at 1 MiB/s that many seconds. */
	double usage = (double)x->li.current + 20.0 * MIB;
	double want = (1024.0 * MIB - usage) / x->li.slope;

	cr_expect(x->li.tte_s > want * 0.95 && x->li.tte_s < want * 1.05,
		  "tte %.1f s, want about %.1f s", x->li.tte_s, want);
}

Test(leak, a_leak_that_stops_is_cleared_after_k_calm_evaluations)
{
	unsigned i, stop = 200;

	for (i = 0; i < 400; i++) {
		uint64_t v = 20 * MIB + (i < stop ? i : stop) * MIB + jitter(i);
		struct vigil_mem_sample s = sample(100, 1, "leaky", v);

		feed(&s, 1);
	}
	const struct seen *x = first(VIGIL_EV_LEAK_SUSPECTED, 100);
	const struct seen *c = first(VIGIL_EV_LEAK_CLEARED, 100);

	cr_assert_not_null(x);
	cr_assert_not_null(c, "growth stopped at %u s but no leak_cleared", stop);
	cr_expect_str_eq(c->reason, "growth stopped");
	cr_expect_gt(c->t, stop, "cleared at %.0f s while still growing", c->t);
	cr_expect_eq(count(VIGIL_EV_LEAK_CLEARED, 100), 1);
	cr_expect_eq(e.suspects, 0);
}

Test(leak, a_suspected_process_that_exits_is_cleared_and_forgotten)
{
	unsigned i;

	for (i = 0; i < 200; i++) {
		struct vigil_mem_sample s[2] = {
			sample(100, 1, "leaky", 20 * MIB + i * MIB),
			sample(300, 3, "other", 8 * MIB),
		};
		feed(s, 2);
	}
	cr_assert_eq(count(VIGIL_EV_LEAK_SUSPECTED, 100), 1);
	cr_assert_eq(e.n_procs, 2);
	{
		struct vigil_mem_sample only = sample(300, 3, "other", 8 * MIB);

		feed(&only, 1);
	}
	const struct seen *c = first(VIGIL_EV_LEAK_CLEARED, 100);

	cr_assert_not_null(c, "no leak_cleared for the exited process");
	cr_expect_str_eq(c->reason, "exited");
	cr_expect_eq(e.n_procs, 1, "the exited process is still tracked");
	cr_expect_eq(e.suspects, 0);
}

Test(leak, a_reused_pid_or_an_exec_starts_a_new_history)
{
	unsigned i;
	char *buf;
	size_t len;
	json_object *root, *list, *p, *hist;

	for (i = 0; i < 30; i++) {
		struct vigil_mem_sample s = sample(100, 1, "first", 20 * MIB);

		feed(&s, 1);
	}
	/* Same pid, another start time: a different process. */
	for (i = 0; i < 5; i++) {
		struct vigil_mem_sample s = sample(100, 77, "second", 40 * MIB);

		feed(&s, 1);
	}
	cr_assert_eq(leak_engine_json(&e, 5, &buf, &len), 0);
	root = json_tokener_parse(buf);
	cr_assert_not_null(root, "not JSON: %s", buf);
	cr_assert(json_object_object_get_ex(root, "by_usage", &list));
	cr_assert_eq(json_object_array_length(list), 1);
	p = json_object_array_get_idx(list, 0);
	cr_assert(json_object_object_get_ex(p, "history_bytes", &hist));
	cr_expect_eq(json_object_array_length(hist), 5, "history of the old process kept");
	for (i = 0; i < 5; i++)
		cr_expect_eq(json_object_get_int64(json_object_array_get_idx(hist, i)),
			     (int64_t)(40 * MIB));
	json_object_put(root);
	free(buf);
}

static void setup_small(void)
{
	setup_with(16);
}

Test(leakcap, past_max_processes_new_ones_are_counted_not_tracked, .init = setup_small,
     .fini = teardown)
{
	struct vigil_mem_sample s[12];

	for (unsigned k = 0; k < 2; k++) {
		for (unsigned i = 0; i < 12; i++)
			s[i] = sample(1000 + i, 1, "p", MIB);
		feed(s, 12);
	}
	cr_expect_eq(e.n_procs, 12);
	cr_expect_eq(e.untracked, 0);
	{
		struct vigil_mem_sample more[20];

		for (unsigned i = 0; i < 20; i++)
			more[i] = sample(1000 + i, 1, "p", MIB);
		feed(more, 20);
	}
	cr_expect_eq(e.n_procs, 16);
	cr_expect_eq(e.untracked, 4, "untracked %lu", (unsigned long)e.untracked);
}

Test(leak, a_leakpolicy_decides_for_the_processes_it_scopes)
{
	static const char doc[] =
		"apiVersion: vigil.dev/v1alpha1\n"
		"kind: LeakPolicy\n"
		"metadata: {name: quick}\n"
		"spec:\n"
		"  scope: {comms: [quick]}\n"
		"  consecutive: 3\n"
		"  minGrowthMiB: 4\n"
		"  warmup: 5s\n"
		"  window: 30s\n"
		"---\n"
		"apiVersion: vigil.dev/v1alpha1\n"
		"kind: LeakPolicy\n"
		"metadata: {name: never}\n"
		"spec:\n"
		"  scope: {comms: [huge]}\n"
		"  minGrowthMiB: 100000\n";
	struct policy_set set = { 0 };
	struct policy_diags d = { 0 };

	cr_assert_eq(policy_load_buffer(&set, "t.yaml", doc, sizeof(doc) - 1, &d), 0);
	leak_engine_apply(&e, &set);
	for (unsigned i = 0; i < 100; i++) {
		struct vigil_mem_sample s[2] = {
			sample(100, 1, "quick", 10 * MIB + i * MIB / 4),
			sample(200, 2, "huge", 10 * MIB + i * MIB),
		};
		feed(s, 2);
	}
	const struct seen *q = first(VIGIL_EV_LEAK_SUSPECTED, 100);

	cr_assert_not_null(q, "the quick policy confirmed nothing");
	cr_expect_str_eq(q->policy, "quick");
	/* warmup 5 s, then 4 MiB at 256 KiB/s = 16 s: long before the default's 124 s. */
	cr_expect_lt(q->t, 40, "confirmed only at %.0f s", q->t);
	cr_expect_eq(count(VIGIL_EV_LEAK_SUSPECTED, 200), 0, "minGrowthMiB 100000 was ignored");
	leak_engine_apply(&e, NULL);
	policy_set_free(&set);
	policy_diags_free(&d);
}

Test(leak, a_one_off_step_is_never_confirmed_and_moves_the_baseline)
{
	char *buf;
	size_t len;
	json_object *root, *list, *p, *base;

	for (unsigned i = 0; i < 300; i++) {
		uint64_t v = (i < 120 ? 30 * MIB : 200 * MIB) + jitter(i);
		struct vigil_mem_sample s = sample(100, 1, "stepper", v);

		feed(&s, 1);
	}
	cr_expect_eq(count(VIGIL_EV_LEAK_SUSPECTED, 100), 0, "a one-off step was confirmed");
	cr_assert_eq(leak_engine_json(&e, 1, &buf, &len), 0);
	root = json_tokener_parse(buf);
	cr_assert_not_null(root);
	cr_assert(json_object_object_get_ex(root, "by_score", &list));
	p = json_object_array_get_idx(list, 0);
	cr_assert_not_null(p);
	cr_assert(json_object_object_get_ex(p, "baseline_bytes", &base));
	cr_expect_gt(json_object_get_int64(base), (int64_t)(150 * MIB),
		     "the baseline stayed before the step: %lld",
		     (long long)json_object_get_int64(base));
	json_object_put(root);
	free(buf);
}

Test(leak, the_json_ranks_three_lists_and_bounds_history)
{
	char *buf;
	size_t len;
	json_object *root, *l, *h, *x;

	for (unsigned i = 0; i < 200; i++) {
		struct vigil_mem_sample s[3] = {
			sample(100, 1, "leaky", 10 * MIB + i * MIB / 2),
			sample(200, 2, "big", 500 * MIB + jitter(i)),
			sample(300, 3, "small", 2 * MIB),
		};
		feed(s, 3);
	}
	cr_assert_eq(leak_engine_json(&e, 2, &buf, &len), 0);
	cr_assert_eq(strlen(buf), len);
	root = json_tokener_parse(buf);
	cr_assert_not_null(root, "not JSON: %s", buf);
	cr_assert(json_object_object_get_ex(root, "by_score", &l));
	cr_expect_eq(json_object_array_length(l), 2, "--top 2 gave more");
	x = json_object_object_get(json_object_array_get_idx(l, 0), "pid");
	cr_expect_eq(json_object_get_int(x), 100, "the leaking process is not first by score");
	cr_assert(json_object_object_get_ex(root, "by_usage", &l));
	x = json_object_object_get(json_object_array_get_idx(l, 0), "pid");
	cr_expect_eq(json_object_get_int(x), 200, "the biggest process is not first by usage");
	cr_assert(json_object_object_get_ex(root, "by_growth", &l));
	x = json_object_object_get(json_object_array_get_idx(l, 0), "pid");
	cr_expect_eq(json_object_get_int(x), 100, "the growing process is not first by growth");
	h = json_object_object_get(json_object_array_get_idx(l, 0), "history_bytes");
	cr_assert_not_null(h);
	cr_expect_leq(json_object_array_length(h), 48);
	cr_expect_geq(json_object_array_length(h), 10);
	x = json_object_object_get(root, "tracked");
	cr_expect_eq(json_object_get_int(x), 3);
	json_object_put(root);
	free(buf);
}
