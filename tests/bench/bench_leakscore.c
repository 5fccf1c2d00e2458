/*
 * bench_leakscore.c - how long one leak_score_compute() takes
 * (tests/bench/micro.sh builds and runs it; agent/leakscore.h).
 *
 *   bench_leakscore [CALLS]     default: 5000 timed calls per case
 *
 * Cases: windows of 60 samples (the default 10 min at 10 s), 360 (1 h at
 * 10 s) and 4096 (LEAK_MAX_WINDOW), each on two shapes of series:
 *
 *   leak   a steady leak with page-sized noise: one line explains it, no
 *          change point, one Theil-Sen;
 *   step   a flat series with a one-off step two thirds of the way in:
 *          the change point is accepted, so the step test runs Theil-Sen a
 *          second time over the samples before it (the costlier path).
 *
 * Each call is timed on its own with CLOCK_MONOTONIC (about 20 ns of
 * clock overhead is included) after 200 untimed warm-up calls, on the same
 * series and the same scratch every time, as the engine reuses one scratch
 * for every process.  Windows above 128 samples have more pairwise slopes
 * than the pair cap, so they take the subsampled Theil-Sen path.
 *
 * stdout: one line per case, key=value pairs, for micro.sh:
 *   bench_leakscore window=N shape=S calls=N scratch_bytes=N median_ns=X p90_ns=X min_ns=X
 * Exit status: 0, or 1 if a call fails or the score is not what the shape
 * should give (a leak must score high, a settled step must be a step); it
 * never judges the timings.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "leakscore.h"

#define WARMUP 200
#define MiB (1024.0 * 1024.0)

static void die(const char *what)
{
	fprintf(stderr, "bench_leakscore: %s\n", what);
	exit(1);
}

static uint64_t rng_state = 1;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double noise(void)
{
	return (double)((int)(rng() % 7) - 3) * 4096.0;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void run(size_t window, int step, size_t calls)
{
	uint64_t *v = malloc(window * sizeof(*v));
	size_t len = leak_score_scratch_len(window);
	double *scratch = malloc(len * sizeof(*scratch));
	double *ns = malloc(calls * sizeof(*ns));
	uint64_t baseline;
	struct leak_score r;

	if (!v || !scratch || !ns)
		die("out of memory");
	for (size_t i = 0; i < window; i++) {
		double level = step ? 200 * MiB + (i >= window * 2 / 3 ? 64 * MiB : 0)
				    : 200 * MiB + 0.25 * MiB * (double)i;

		v[i] = (uint64_t)(level + noise());
	}
	baseline = v[0];

	for (size_t i = 0; i < WARMUP; i++)
		if (leak_score_compute(v, window, 10.0, window, baseline, scratch, &r))
			die("leak_score_compute failed");
	if (step ? !(r.change_point && r.step) : !(r.score >= 0.8 && !r.change_point))
		die(step ? "the step series was not scored as a step"
			 : "the leak series was not scored as a leak");

	for (size_t i = 0; i < calls; i++) {
		double t0 = now_ns();

		leak_score_compute(v, window, 10.0, window, baseline, scratch, &r);
		ns[i] = now_ns() - t0;
	}
	qsort(ns, calls, sizeof(*ns), cmp_double);
	printf("bench_leakscore window=%zu shape=%s calls=%zu scratch_bytes=%zu median_ns=%.0f "
	       "p90_ns=%.0f min_ns=%.0f\n",
	       window, step ? "step" : "leak", calls, len * sizeof(double), ns[calls / 2],
	       ns[calls * 9 / 10], ns[0]);
	free(ns);
	free(scratch);
	free(v);
}

int main(int argc, char **argv)
{
	static const size_t windows[] = { 60, 360, LEAK_MAX_WINDOW };
	long calls = argc > 1 ? strtol(argv[1], NULL, 10) : 5000;

	if (calls < 1)
		die("CALLS must be a positive number");
	for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
		run(windows[i], 0, (size_t)calls);
		run(windows[i], 1, (size_t)calls);
	}
	return 0;
}
