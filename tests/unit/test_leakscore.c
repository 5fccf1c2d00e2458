/*
 * test_leakscore.c - agent/leakscore.c, the growth-pattern score.
 *
 * The patterns are the evaluation suite's eight workloads (tests/workloads/)
 * as synthetic series: footprint bytes every 0.5 s for 60 s, on a base of a
 * few MiB to tens of MiB, with page-sized noise from a seeded generator so a
 * failure reproduces.  Each pattern is scored the way the engine scores it:
 * at every tick from the first baseline on, against the baseline taken after
 * warm-up (the median of samples 4..6), which becomes the segment's level
 * whenever the score reports a step (leakscore.h: segment_level "a new
 * baseline after a step").  Leaks must score >= 0.8 once they have grown
 * for a while; non-leaks < 0.5 at every tick once their pattern is
 * established.  Both hold for 16 seeds and for a window that holds the
 * whole series as well as one that slides.
 *
 * Known answers (medians, Theil-Sen slopes, growth, time to exhaustion) are
 * worked out here by hand or with test-only reference code (a sort, a
 * least-squares fit), never taken from the code under test.  Every scratch
 * buffer is malloc'd at exactly leak_score_scratch_len(), so ASan catches
 * any write past it.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "leakscore.h"

#define KiB 1024.0
#define MiB (1024.0 * 1024.0)
#define PAGE 4096.0

#define INTERVAL 0.5	/* s between samples */
#define N 120		/* samples in a series: 60 s */
#define SEEDS 16
#define LEAK_SETTLED 40	/* leaks are judged from here: 17 s past the baseline */

/* ---- deterministic noise ------------------------------------------------- */

static uint64_t rng_state;

/* splitmix64: good bits from the first call on, whatever the seed. */
static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* -3..+3 pages: the allocator's own churn around a level. */
static double noise(void)
{
	return (double)((int)(rng() % 7) - 3) * PAGE;
}

/* ---- the eight patterns --------------------------------------------------- */

enum pattern {
	STEADY_LEAK,	/* 1 MiB/s */
	SLOW_LEAK,	/* 64 KiB/s */
	CHILD_LEAK,	/* a child's series: a small process that leaks 256 KiB/s */
	WARMUP,		/* concave growth for 8 s, then a plateau */
	SAWTOOTH,	/* +1 MiB a sample for 8 samples, then all freed */
	CACHE_CAP,	/* +256 KiB a sample up to a 10 MiB cap */
	ONE_STEP,	/* +16 MiB at once, then flat */
	BURSTY,		/* bursts of 1..12 MiB held 1..3 samples, back to base */
	NPATTERNS,
};

static const char *const pattern_name[] = {
	"steady leak", "slow leak", "child leak", "warm-up then plateau", "sawtooth",
	"cache that grows to a cap", "one-off step", "bursty but bounded",
};

struct series {
	uint64_t v[N];
	size_t settled;		/* first tick judged */
	bool leak;
	double slope;		/* true slope, bytes/s (leaks) */
	size_t brk;		/* where the growth stops (cache, step) */
};

#define CACHE_STOP 40
#define STEP_AT 30
#define WARMUP_END 16

static void make_series(enum pattern p, uint64_t seed, struct series *s)
{
	double burst = 0;
	unsigned hold = 0;

	memset(s, 0, sizeof(*s));
	rng_state = seed * 0x2545f4914f6cdd1dull + (uint64_t)p;
	s->leak = p == STEADY_LEAK || p == SLOW_LEAK || p == CHILD_LEAK;
	s->settled = LEAK_SETTLED;
	for (size_t i = 0; i < N; i++) {
		double x = (double)i, level = 0;

		switch (p) {
		case STEADY_LEAK:
			level = 20 * MiB + 512 * KiB * x;
			s->slope = 1 * MiB;
			break;
		case SLOW_LEAK:
			level = 12 * MiB + 32 * KiB * x;
			s->slope = 64 * KiB;
			break;
		case CHILD_LEAK:
			level = 2 * MiB + 128 * KiB * x;
			s->slope = 256 * KiB;
			break;
		case WARMUP: {
			/* increments 1.6, 1.5, ... 0.1 MiB: a parabola topping out */
			double t = i < WARMUP_END ? x : WARMUP_END;

			level = 6 * MiB + 0.05 * MiB * t * (2 * WARMUP_END + 1 - t);
			s->settled = WARMUP_END + LEAK_MIN_SEGMENT;
			break;
		}
		case SAWTOOTH:
			level = 16 * MiB + 1 * MiB * (double)(i % 9);
			s->settled = 3 * 9;	/* three teeth */
			break;
		case CACHE_CAP:
			level = 10 * MiB + 256 * KiB * (double)(i < CACHE_STOP ? i : CACHE_STOP);
			s->brk = CACHE_STOP;
			s->settled = CACHE_STOP + LEAK_MIN_SEGMENT;
			break;
		case ONE_STEP:
			level = 30 * MiB + (i >= STEP_AT ? 16 * MiB : 0);
			s->brk = STEP_AT;
			s->settled = STEP_AT + LEAK_MIN_SEGMENT;
			break;
		case BURSTY:
			if (hold > 0) {
				hold--;
			} else if (rng() % 2) {
				hold = (unsigned)(rng() % 3);
				burst = (double)(1 + rng() % 12) * MiB;
			} else {
				burst = 0;
			}
			level = 40 * MiB + burst;
			s->settled = 60;	/* a few dozen bursts */
			break;
		default:
			break;
		}
		s->v[i] = (uint64_t)(level + noise());
	}
}

/* ---- scoring as the engine does ------------------------------------------ */

static double *scratch_for(size_t window)
{
	double *s = malloc(leak_score_scratch_len(window) * sizeof(double));

	cr_assert_not_null(s);
	return s;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* After warm-up: the median of samples 4..6. */
static uint64_t warm_baseline(const uint64_t *v)
{
	uint64_t b[3] = { v[4], v[5], v[6] };

	qsort(b, 3, sizeof(b[0]), cmp_u64);
	return b[1];
}

/*
 * One tick over v[0..t-1].  *baseline is the engine's: once a step is
 * reported it moves to the segment's level and stays there.
 */
static void tick(const uint64_t *v, size_t t, size_t window, uint64_t *baseline, double *scratch,
		 struct leak_score *out)
{
	cr_assert_eq(leak_score_compute(v, t, INTERVAL, window, *baseline, scratch, out), 0);
	if (out->step && out->segment_level != *baseline) {
		*baseline = out->segment_level;
		cr_assert_eq(leak_score_compute(v, t, INTERVAL, window, *baseline, scratch, out), 0);
	}
}

static void expect_sane(const struct leak_score *r)
{
	const double in01[] = { r->score, r->trend, r->fit, r->consistency, r->growth };

	for (size_t i = 0; i < sizeof(in01) / sizeof(in01[0]); i++)
		cr_assert(isfinite(in01[i]) && in01[i] >= 0 && in01[i] <= 1,
			  "term %zu out of [0,1]: %g", i, in01[i]);
	cr_assert(isfinite(r->slope), "slope %g", r->slope);
	cr_assert(isfinite(r->growth_pct), "growth_pct %g", r->growth_pct);
}

/* Every tick from the first baseline to the end; judged from s->settled. */
static void run_pattern(enum pattern p, size_t window)
{
	double *scratch = scratch_for(window);
	struct series s;

	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		uint64_t baseline;

		make_series(p, seed, &s);
		baseline = warm_baseline(s.v);
		for (size_t t = 7; t <= N; t++) {
			struct leak_score r;

			tick(s.v, t, window, &baseline, scratch, &r);
			expect_sane(&r);
			if (t < s.settled)
				continue;
			if (s.leak)
				cr_assert(r.score >= 0.8,
					  "%s, seed %llu, window %zu: score %.3f at sample %zu "
					  "(fit %.3f consistency %.3f growth %.3f)",
					  pattern_name[p], (unsigned long long)seed, window, r.score,
					  t, r.fit, r.consistency, r.growth);
			else
				cr_assert(r.score < 0.5,
					  "%s, seed %llu, window %zu: score %.3f at sample %zu "
					  "(fit %.3f consistency %.3f growth %.3f change %d@%zu step %d)",
					  pattern_name[p], (unsigned long long)seed, window, r.score,
					  t, r.fit, r.consistency, r.growth, r.change_point, r.change_at,
					  r.step);
		}
	}
	free(scratch);
}

/* ---- the eight patterns, scored ------------------------------------------ */

Test(leakscore, a_steady_leak_scores_high_once_it_has_grown)
{
	run_pattern(STEADY_LEAK, N);
	run_pattern(STEADY_LEAK, 60);
}

Test(leakscore, a_slow_leak_scores_high_once_it_has_grown)
{
	run_pattern(SLOW_LEAK, N);
	run_pattern(SLOW_LEAK, 60);
}

Test(leakscore, a_leak_in_a_child_process_scores_high)
{
	run_pattern(CHILD_LEAK, N);
	run_pattern(CHILD_LEAK, 60);
}

Test(leakscore, warm_up_then_a_plateau_scores_low_once_settled)
{
	run_pattern(WARMUP, N);
	run_pattern(WARMUP, 60);
}

Test(leakscore, a_sawtooth_scores_low)
{
	run_pattern(SAWTOOTH, N);
	run_pattern(SAWTOOTH, 60);
}

Test(leakscore, a_cache_that_reached_its_cap_scores_low)
{
	run_pattern(CACHE_CAP, N);
	run_pattern(CACHE_CAP, 60);
}

Test(leakscore, a_one_off_step_scores_low)
{
	run_pattern(ONE_STEP, N);
	run_pattern(ONE_STEP, 60);
}

Test(leakscore, bursty_but_bounded_use_scores_low)
{
	run_pattern(BURSTY, N);
	run_pattern(BURSTY, 60);
}

/* The patterns really are what they claim: a leak's growth is large. */
Test(leakscore, the_synthetic_leaks_grow_and_the_plateaus_do_not)
{
	struct series s;

	for (enum pattern p = 0; p < NPATTERNS; p++) {
		double last, first;

		make_series(p, 1, &s);
		first = (double)warm_baseline(s.v);
		last = (double)s.v[N - 1];
		if (s.leak)
			cr_assert_gt(last, first * 1.2, "%s", pattern_name[p]);
		else if (p == SAWTOOTH || p == BURSTY)
			cr_assert_lt(fabs(last - first), 13 * MiB, "%s", pattern_name[p]);
	}
}

/* ---- slope, change point, step ------------------------------------------- */

Test(leakscore, the_slope_of_a_linear_leak_is_within_ten_percent)
{
	static const enum pattern leaks[] = { STEADY_LEAK, SLOW_LEAK, CHILD_LEAK };
	double *scratch = scratch_for(N);
	struct series s;

	for (size_t k = 0; k < 3; k++) {
		for (uint64_t seed = 1; seed <= SEEDS; seed++) {
			struct leak_score r;

			make_series(leaks[k], seed, &s);
			cr_assert_eq(leak_score_compute(s.v, N, INTERVAL, N, warm_baseline(s.v),
							scratch, &r), 0);
			cr_assert(fabs(r.slope - s.slope) <= 0.1 * s.slope,
				  "%s: slope %.0f B/s, true %.0f", pattern_name[leaks[k]], r.slope,
				  s.slope);
			cr_assert(!r.change_point, "%s cut at %zu", pattern_name[leaks[k]],
				  r.change_at);
			cr_assert_eq(r.segment, N);
			cr_assert_eq(r.current, s.v[N - 1]);
		}
	}
	free(scratch);
}

Test(leakscore, a_one_off_step_is_found_as_a_step_where_it_happened)
{
	double *scratch = scratch_for(N);
	struct series s;

	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		struct leak_score r;
		size_t t = STEP_AT + LEAK_MIN_SEGMENT;
		uint64_t hi = (uint64_t)(30 * MiB + 16 * MiB);

		make_series(ONE_STEP, seed, &s);
		cr_assert_eq(leak_score_compute(s.v, t, INTERVAL, N, warm_baseline(s.v), scratch, &r),
			     0);
		cr_assert(r.change_point, "seed %llu", (unsigned long long)seed);
		cr_assert(r.step, "seed %llu", (unsigned long long)seed);
		cr_assert_eq(r.change_at, STEP_AT, "seed %llu: at %zu", (unsigned long long)seed,
			     r.change_at);
		cr_assert_eq(r.segment, LEAK_MIN_SEGMENT);
		cr_assert(r.segment_level >= hi - 3 * (uint64_t)PAGE &&
			  r.segment_level <= hi + 3 * (uint64_t)PAGE,
			  "level %llu", (unsigned long long)r.segment_level);
	}
	free(scratch);
}

Test(leakscore, a_cache_that_stopped_at_its_cap_is_a_step)
{
	double *scratch = scratch_for(N);
	struct series s;

	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		struct leak_score r;
		size_t t = CACHE_STOP + LEAK_MIN_SEGMENT;

		make_series(CACHE_CAP, seed, &s);
		cr_assert_eq(leak_score_compute(s.v, t, INTERVAL, N, warm_baseline(s.v), scratch, &r),
			     0);
		cr_assert(r.change_point && r.step, "seed %llu: change %d step %d",
			  (unsigned long long)seed, r.change_point, r.step);
		cr_assert(r.change_at + 2 >= CACHE_STOP && r.change_at <= CACHE_STOP + 2,
			  "seed %llu: cut at %zu, stop at %d", (unsigned long long)seed, r.change_at,
			  CACHE_STOP);
	}
	free(scratch);
}

/* Why the engine moves the baseline: growth since the step is ~0. */
Test(leakscore, scored_against_the_level_after_a_step_growth_vanishes)
{
	double *scratch = scratch_for(N);
	struct series s;
	struct leak_score before, after;
	size_t t = STEP_AT + 10;

	make_series(ONE_STEP, 3, &s);
	cr_assert_eq(leak_score_compute(s.v, t, INTERVAL, N, warm_baseline(s.v), scratch, &before), 0);
	cr_assert(before.step);
	cr_assert_gt(before.growth, 0.99);	/* +16 MiB on 30: g ~ 0.53 */
	cr_assert_eq(leak_score_compute(s.v, t, INTERVAL, N, before.segment_level, scratch, &after),
		     0);
	cr_assert_lt(after.growth, 0.01);
	cr_assert_leq(after.score, before.score);
	cr_assert_lt(after.score, 0.5);
	free(scratch);
}

/* Falling, then flat or falling faster: nothing grew, so no "step". */
Test(leakscore, a_drop_is_not_a_step)
{
	uint64_t v[40];
	double *scratch = scratch_for(40);
	struct leak_score r;

	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		rng_state = seed;
		for (size_t i = 0; i < 40; i++)
			v[i] = (uint64_t)((i < 20 ? 60 * MiB - (double)i * MiB : 40 * MiB) + noise());
		cr_assert_eq(leak_score_compute(v, 40, INTERVAL, 40, (uint64_t)(30 * MiB), scratch,
						&r), 0);
		cr_assert(r.change_point);
		cr_assert(!r.step, "fall then flat, seed %llu", (unsigned long long)seed);

		for (size_t i = 0; i < 40; i++) {
			double x = (double)i;

			v[i] = (uint64_t)((i < 20 ? 60 * MiB - x * 128 * KiB
					   : 60 * MiB - 20 * 128 * KiB - (x - 20) * MiB) + noise());
		}
		cr_assert_eq(leak_score_compute(v, 40, INTERVAL, 40, (uint64_t)(30 * MiB), scratch,
						&r), 0);
		cr_assert(r.change_point);
		cr_assert(!r.step, "slow fall then fast fall, seed %llu", (unsigned long long)seed);
		cr_assert_eq(r.score, 0);
	}
	free(scratch);
}

/* A leak that slows to under a quarter of its rate is a "stop". */
Test(leakscore, growth_slowing_to_under_a_quarter_is_a_step)
{
	uint64_t v[60];
	double *scratch = scratch_for(60);
	struct leak_score r;

	rng_state = 11;
	for (size_t i = 0; i < 60; i++) {
		double x = (double)i;

		v[i] = (uint64_t)(8 * MiB + (i < 30 ? x * MiB : 30 * MiB + (x - 30) * 64 * KiB) +
				  noise());
	}
	cr_assert_eq(leak_score_compute(v, 60, INTERVAL, 60, (uint64_t)(8 * MiB), scratch, &r), 0);
	cr_assert(r.change_point);
	cr_assert(r.change_at >= 29 && r.change_at <= 31, "cut at %zu", r.change_at);
	cr_assert(r.step);
	/* still growing: the segment is scored on its own slope */
	cr_assert(fabs(r.slope - 128 * KiB) <= 0.1 * 128 * KiB, "slope %.0f", r.slope);
	free(scratch);
}

/* ---- growth --------------------------------------------------------------- */

Test(leakscore, growth_pct_is_measured_against_the_baseline)
{
	/* too short to split; current 150000 over a baseline of 100000: +50 % */
	uint64_t v[9] = { 100000, 110000, 120000, 130000, 140000, 150000, 160000, 170000, 150000 };
	double *scratch = scratch_for(9);
	struct leak_score r;

	cr_assert_eq(leak_score_compute(v, 9, INTERVAL, 9, 100000, scratch, &r), 0);
	cr_assert_eq(r.current, 150000);
	cr_assert_float_eq(r.growth_pct, 50.0, 1e-9);
	cr_assert_float_eq(r.growth, 1 - exp(-0.5 / 0.1), 1e-12);

	/* below the baseline: negative percent, no growth term, no score */
	cr_assert_eq(leak_score_compute(v, 9, INTERVAL, 9, 200000, scratch, &r), 0);
	cr_assert_float_eq(r.growth_pct, -25.0, 1e-9);
	cr_assert_eq(r.growth, 0);
	cr_assert_eq(r.score, 0);

	/* no baseline yet: nothing to grow over */
	cr_assert_eq(leak_score_compute(v, 9, INTERVAL, 9, 0, scratch, &r), 0);
	cr_assert_eq(r.growth_pct, 0);
	cr_assert_eq(r.growth, 0);
	cr_assert_eq(r.score, 0);
	cr_assert_gt(r.fit, 0);	/* the other terms are still there */
	free(scratch);
}

Test(leakscore, a_perfect_line_has_fit_one_and_its_exact_slope)
{
	uint64_t v[20];
	double *scratch = scratch_for(20);
	struct leak_score r;

	for (size_t i = 0; i < 20; i++)
		v[i] = 1000000 + 4096 * (uint64_t)i;	/* 4096 B per 0.5 s */
	cr_assert_eq(leak_score_compute(v, 20, INTERVAL, 20, 1000000, scratch, &r), 0);
	cr_assert_float_eq(r.slope, 8192.0, 1e-9);
	cr_assert_float_eq(r.fit, 1.0, 1e-12);
	cr_assert_eq(r.trend, r.fit);
	cr_assert_eq(r.consistency, 1.0);
	cr_assert(!r.change_point);
	/* g = 19 * 4096 / 1e6 */
	cr_assert_float_eq(r.growth, 1 - exp(-(19 * 4096 / 1e6) / 0.1), 1e-12);
	cr_assert_float_eq(r.score, pow(r.growth, 0.25), 1e-12);
	free(scratch);
}

Test(leakscore, consistency_is_the_share_of_rising_intervals)
{
	/* deltas: +, +, 0, -, +, -, +, +: 5 of 8 rose (too short to split) */
	uint64_t v[9] = { 10, 20, 30, 30, 25, 40, 35, 50, 60 };
	double *scratch = scratch_for(9);
	struct leak_score r;

	cr_assert_eq(leak_score_compute(v, 9, INTERVAL, 9, 10, scratch, &r), 0);
	cr_assert(!r.change_point);
	cr_assert_float_eq(r.consistency, 5.0 / 8.0, 1e-12);
	free(scratch);
}

/* ---- time to exhaustion --------------------------------------------------- */

Test(leakscore, time_to_exhaustion_is_headroom_over_slope)
{
	cr_assert_float_eq(leak_time_to_exhaustion(1 * MiB, (uint64_t)(100 * MiB)), 100.0, 1e-9);
	cr_assert_float_eq(leak_time_to_exhaustion(64 * KiB, 1ull << 30), 16384.0, 1e-9);
	cr_assert_float_eq(leak_time_to_exhaustion(0.5, 3), 6.0, 1e-12);
	cr_assert_lt(leak_time_to_exhaustion(0, 1ull << 30), 0);
	cr_assert_lt(leak_time_to_exhaustion(-4096, 1ull << 30), 0);
	cr_assert_lt(leak_time_to_exhaustion(4096, 0), 0);
	cr_assert_lt(leak_time_to_exhaustion(NAN, 1ull << 30), 0);
	cr_assert_lt(leak_time_to_exhaustion(INFINITY, 1ull << 30), 0);
}

/* ---- median and Theil-Sen on known inputs --------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

Test(leakscore, the_median_of_small_known_inputs)
{
	double one[] = { 7 };
	double odd[] = { 3, 1, 2 };
	double even[] = { 4, 1, 3, 2 };
	double ties[] = { 5, 5, 5, 5, 5 };
	double neg[] = { -1e12, 4, -3, 1e12, 0, 2 };	/* sorted: -1e12 -3 0 2 4 1e12 */
	double dup[] = { 2, 9, 2, 9, 2, 9, 2 };

	cr_assert_eq(leak_median(one, 1), 7);
	cr_assert_eq(leak_median(odd, 3), 2);
	cr_assert_eq(leak_median(even, 4), 2.5);
	cr_assert_eq(leak_median(ties, 5), 5);
	cr_assert_eq(leak_median(neg, 6), 1);
	cr_assert_eq(leak_median(dup, 7), 2);
}

Test(leakscore, the_median_agrees_with_sorting)
{
	static double v[1001], ref[1001];

	rng_state = 42;
	for (int round = 0; round < 200; round++) {
		size_t n = 1 + rng() % 1001;
		unsigned spread = 1 + (unsigned)(rng() % 50);	/* small spreads make ties */
		double want;

		for (size_t i = 0; i < n; i++)
			ref[i] = v[i] = (double)(rng() % spread) - spread / 2.0;
		qsort(ref, n, sizeof(ref[0]), cmp_double);
		want = n % 2 ? ref[n / 2] : (ref[n / 2 - 1] + ref[n / 2]) / 2;
		cr_assert_eq(leak_median(v, n), want, "n %zu spread %u", n, spread);
	}
}

Test(leakscore, theil_sen_of_a_small_known_input)
{
	/*
	 * Pairwise slopes of {0, 1, 2, 10}: 1, 1, 10/3, 1, 9/2, 8.
	 * Sorted 1 1 1 10/3 9/2 8: the median is (1 + 10/3) / 2 = 13/6.
	 */
	const double y[] = { 0, 1, 2, 10 };
	double scratch[6];

	cr_assert_float_eq(leak_theil_sen(y, 4, scratch, 6), 13.0 / 6.0, 1e-12);
	/* two points: their slope */
	cr_assert_float_eq(leak_theil_sen(y + 2, 2, scratch, 1), 8.0, 1e-12);
}

/* Least squares, test-only: the estimator Theil-Sen is compared with. */
static double ls_slope(const double *y, size_t n)
{
	double mx = (double)(n - 1) / 2, my = 0, sxy = 0, sxx = 0;

	for (size_t i = 0; i < n; i++)
		my += y[i];
	my /= (double)n;
	for (size_t i = 0; i < n; i++) {
		sxy += ((double)i - mx) * (y[i] - my);
		sxx += ((double)i - mx) * ((double)i - mx);
	}
	return sxy / sxx;
}

Test(leakscore, theil_sen_ignores_a_few_outliers_that_pull_least_squares)
{
	/* y = 2i, the last one wild: 36 of the 45 pairwise slopes are exactly 2. */
	double y[10], scratch[45];

	for (size_t i = 0; i < 10; i++)
		y[i] = 2.0 * (double)i;
	y[9] = 1000;
	cr_assert_eq(leak_theil_sen(y, 10, scratch, 45), 2.0);
	cr_assert_gt(ls_slope(y, 10), 20);
}

Test(leakscore, the_scored_slope_shrugs_off_transient_spikes)
{
	double *scratch = scratch_for(N), y[N];
	struct series s;
	struct leak_score r;

	make_series(STEADY_LEAK, 5, &s);
	/* four one-sample 64 MiB spikes near the end (a transient buffer) */
	for (size_t i = 100; i < N; i += 5)
		s.v[i] += (uint64_t)(64 * MiB);
	for (size_t i = 0; i < N; i++)
		y[i] = (double)s.v[i];
	cr_assert_eq(leak_score_compute(s.v, N, INTERVAL, N, warm_baseline(s.v), scratch, &r), 0);
	cr_assert(!r.change_point);
	cr_assert(fabs(r.slope - s.slope) <= 0.1 * s.slope, "Theil-Sen %.0f B/s", r.slope);
	cr_assert(fabs(ls_slope(y, N) / INTERVAL - s.slope) > 0.1 * s.slope,
		  "least squares %.0f B/s was not pulled", ls_slope(y, N) / INTERVAL);
	free(scratch);
}

Test(leakscore, theil_sen_subsamples_evenly_when_pairs_outnumber_scratch)
{
	enum { n = 400 };	/* 79,800 pairs */
	double y[n], small[1000], again[1000];
	double got, want = 3000;

	rng_state = 99;
	for (size_t i = 0; i < n; i++)
		y[i] = want * (double)i + (double)((int)(rng() % 20001) - 10000);
	got = leak_theil_sen(y, n, small, 1000);
	cr_assert(fabs(got - want) <= 0.02 * want, "subsampled slope %g", got);
	/* deterministic: the same pairs every time */
	cr_assert_eq(leak_theil_sen(y, n, again, 1000), got);
	/*
	 * Even, not first-come: the first three rows of pairs (1,194 of them,
	 * more than the scratch) all touch a wild value; spread evenly, under
	 * 2 % of the pairs taken do.
	 */
	y[0] = y[1] = y[2] = 1e12;
	got = leak_theil_sen(y, n, small, 1000);
	cr_assert(fabs(got - want) <= 0.05 * want, "subsampled slope %g with 3 wild values", got);
}

Test(leakscore, a_window_larger_than_the_pair_cap_still_gets_the_slope)
{
	enum { n = 2000 };	/* ~2 million pairs, scratch for a few thousand */
	size_t len = leak_score_scratch_len(n);
	double *scratch = scratch_for(n);
	uint64_t *v = malloc(n * sizeof(*v));
	struct leak_score r;

	cr_assert_not_null(v);
	cr_assert_lt(len, (size_t)n * (n - 1) / 2, "the pair cap is not in force");
	rng_state = 3;
	for (size_t i = 0; i < n; i++)
		v[i] = (uint64_t)(200 * MiB + 4 * KiB * (double)i + 40 * noise());
	cr_assert_eq(leak_score_compute(v, n, INTERVAL, n, v[0], scratch, &r), 0);
	cr_assert_eq(r.segment, n);
	cr_assert(fabs(r.slope - 8 * KiB) <= 0.1 * 8 * KiB, "slope %.0f B/s", r.slope);
	free(v);
	free(scratch);
}

/* ---- edges ---------------------------------------------------------------- */

Test(leakscore, too_few_samples_give_zeros_but_current)
{
	uint64_t v[4] = { 1, 2, 3, 4 };
	double *scratch = scratch_for(10);
	struct leak_score r;

	for (size_t n = 0; n < LEAK_MIN_SEGMENT; n++) {
		memset(&r, 0xa5, sizeof(r));
		cr_assert_eq(leak_score_compute(v, n, INTERVAL, 10, 1, scratch, &r), 0);
		cr_assert_eq(r.current, n ? v[n - 1] : 0);
		cr_assert_eq(r.score, 0);
		cr_assert_eq(r.slope, 0);
		cr_assert_eq(r.fit, 0);
		cr_assert_eq(r.segment, 0);
		cr_assert(!r.change_point && !r.step);
	}
	free(scratch);
}

Test(leakscore, a_constant_series_has_fit_zero_and_scores_zero)
{
	uint64_t v[50];
	double *scratch = scratch_for(50);
	struct leak_score r;

	for (size_t i = 0; i < 50; i++)
		v[i] = 123456789;
	cr_assert_eq(leak_score_compute(v, 50, INTERVAL, 50, 1000, scratch, &r), 0);
	expect_sane(&r);
	cr_assert_eq(r.fit, 0);
	cr_assert_eq(r.slope, 0);
	cr_assert_eq(r.consistency, 0);
	cr_assert_eq(r.score, 0);
	cr_assert(!r.change_point);
	cr_assert_eq(r.segment_level, 123456789);
	free(scratch);
}

Test(leakscore, a_falling_series_scores_zero)
{
	uint64_t v[60];
	double *scratch = scratch_for(60);
	struct leak_score r;

	rng_state = 17;
	for (size_t i = 0; i < 60; i++)
		v[i] = (uint64_t)(80 * MiB - 256 * KiB * (double)i + noise());
	cr_assert_eq(leak_score_compute(v, 60, INTERVAL, 60, (uint64_t)(40 * MiB), scratch, &r), 0);
	expect_sane(&r);
	cr_assert_lt(r.slope, 0);
	cr_assert_eq(r.trend, 0);
	cr_assert_eq(r.score, 0);
	cr_assert_gt(r.fit, 0.9);	/* a good fit, of a fall */
	free(scratch);
}

Test(leakscore, the_window_is_clamped_and_only_the_last_samples_count)
{
	enum { n = LEAK_MAX_WINDOW + 100 };
	uint64_t *v = malloc(n * sizeof(*v));
	double *scratch = scratch_for(n);
	struct leak_score r;

	cr_assert_not_null(v);
	cr_assert_eq(leak_score_scratch_len(0), leak_score_scratch_len(LEAK_MIN_SEGMENT));
	cr_assert_eq(leak_score_scratch_len(1u << 30), leak_score_scratch_len(LEAK_MAX_WINDOW));
	/* falling for 100 samples, then rising: only the rise is in the window */
	for (size_t i = 0; i < n; i++)
		v[i] = i < 100 ? 1000000 - 1000 * (uint64_t)i : 900000 + 10 * (uint64_t)(i - 100);
	cr_assert_eq(leak_score_compute(v, n, INTERVAL, 1u << 30, 900000, scratch, &r), 0);
	cr_assert_eq(r.segment, LEAK_MAX_WINDOW);
	cr_assert_gt(r.slope, 0);
	cr_assert_eq(r.consistency, 1);

	/* window 0 means the shortest: the last LEAK_MIN_SEGMENT samples */
	cr_assert_eq(leak_score_compute(v, n, INTERVAL, 0, 900000, scratch, &r), 0);
	cr_assert_eq(r.segment, LEAK_MIN_SEGMENT);
	cr_assert_float_eq(r.slope, 20.0, 1e-9);
	free(v);
	free(scratch);
}

Test(leakscore, huge_and_wild_inputs_never_give_nan)
{
	enum { n = 300 };
	static const uint64_t extremes[] = { 0, 1, UINT64_MAX, UINT64_MAX - 1, 1ull << 63,
					     (1ull << 53) + 1, 1ull << 40 };
	uint64_t v[n];
	size_t windows[] = { 5, 17, 60, 300 };
	double *scratch = scratch_for(n);
	struct leak_score r;

	rng_state = 2024;
	for (int round = 0; round < 400; round++) {
		size_t len = 1 + rng() % n, w = windows[rng() % 4];
		uint64_t base = extremes[rng() % 7];

		for (size_t i = 0; i < len; i++) {
			switch (round % 4) {
			case 0:	/* anywhere */
				v[i] = rng();
				break;
			case 1:	/* extremes only */
				v[i] = extremes[rng() % 7];
				break;
			case 2:	/* a ramp near the top of the range */
				v[i] = UINT64_MAX - (uint64_t)(len - i) * (rng() % 1000000);
				break;
			default:	/* a realistic size with rare zeros */
				v[i] = rng() % 10 ? (1ull << 40) + rng() % (1ull << 30) : 0;
				break;
			}
		}
		cr_assert_eq(leak_score_compute(v, len, 0.001 + (double)(rng() % 100), w, base,
						scratch, &r), 0);
		expect_sane(&r);
		cr_assert_eq(r.current, v[len - 1]);
		if (len >= LEAK_MIN_SEGMENT) {
			/* the level lies within the segment's values... */
			uint64_t lo = UINT64_MAX, hi = 0, top = 0, slack;
			size_t m = len < w ? len : w;

			for (size_t i = len - r.segment; i < len; i++) {
				lo = v[i] < lo ? v[i] : lo;
				hi = v[i] > hi ? v[i] : hi;
			}
			for (size_t i = len - m; i < len; i++)
				top = v[i] > top ? v[i] : top;
			/* ...give or take the rounding of the window's values to doubles */
			slack = (top >> 50) + 1;
			lo = lo > slack ? lo - slack : 0;
			hi = hi < UINT64_MAX - slack ? hi + slack : UINT64_MAX;
			cr_assert(r.segment >= LEAK_MIN_SEGMENT && r.segment <= m);
			cr_assert(r.segment_level >= lo && r.segment_level <= hi,
				  "level %llu outside [%llu, %llu]", (unsigned long long)r.segment_level,
				  (unsigned long long)lo, (unsigned long long)hi);
		}
	}
	free(scratch);
}

Test(leakscore, bad_arguments_are_einval)
{
	uint64_t v[10] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	double *scratch = scratch_for(10);
	struct leak_score r;

	cr_assert_eq(leak_score_compute(NULL, 10, INTERVAL, 10, 1, scratch, &r), -EINVAL);
	cr_assert_eq(leak_score_compute(v, 10, INTERVAL, 10, 1, NULL, &r), -EINVAL);
	cr_assert_eq(leak_score_compute(v, 10, INTERVAL, 10, 1, scratch, NULL), -EINVAL);
	cr_assert_eq(leak_score_compute(v, 10, 0, 10, 1, scratch, &r), -EINVAL);
	cr_assert_eq(leak_score_compute(v, 10, -1, 10, 1, scratch, &r), -EINVAL);
	cr_assert_eq(leak_score_compute(v, 10, NAN, 10, 1, scratch, &r), -EINVAL);
	cr_assert_eq(leak_score_compute(v, 10, INFINITY, 10, 1, scratch, &r), -EINVAL);
	cr_assert_eq(leak_score_compute(v, 10, INTERVAL, 10, 1, scratch, &r), 0);
	free(scratch);
}
