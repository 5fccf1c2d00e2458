/*
 * leakscore.h - the memory growth-pattern score (pure math, no I/O).
 *
 * Input: one process's samples of "footprint" bytes (anon + shmem + swap),
 * oldest first, taken every interval_s seconds.  Output: a score in [0, 1]
 * and the numbers behind it.  docs/LEAKS.md documents the formula; this
 * header is the contract:
 *
 *   window    the last min(n, window) samples are analysed.
 *   change    one change point is searched in the window: the split that
 *             minimises the summed squared error of two separate line fits
 *             (each side at least LEAK_MIN_SEGMENT samples).  It is accepted
 *             when one line does not explain the window almost perfectly
 *             (R^2 < 0.999) and the two-line fit's error is under a quarter
 *             of the one-line fit's.
 *             Then only the samples after it form the segment (so a change
 *             is seen LEAK_MIN_SEGMENT samples after it happened, at the
 *             earliest; until then the whole window is scored).
 *   slope     Theil-Sen (median of pairwise slopes) over the segment, bytes/s.
 *   fit       R^2 of the least-squares line over the segment (0 when the
 *             segment is constant).
 *   trend     fit when slope > 0, else 0.
 *   consistency  share of the segment's intervals that rose (delta > 0).
 *   growth    1 - exp(-g / 0.1) where g = (current - baseline) / baseline
 *             (0 when current <= baseline or there is no baseline yet).
 *   score     trend^0.4 * consistency^0.35 * growth^0.25, in [0, 1].
 *
 * A flat, falling, sawtooth or bounded-burst series has trend near 0, so its
 * score is near 0 whatever its consistency; a one-off step or a cache that
 * reached its cap is cut off by the change point and reported as a step, and
 * the caller then takes segment_level as the baseline, so its growth term
 * (and score) falls to about 0.
 */
#ifndef VIGIL_LEAKSCORE_H
#define VIGIL_LEAKSCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LEAK_MIN_SEGMENT 5	/* samples: shortest segment that is scored */
#define LEAK_MAX_WINDOW 4096	/* samples analysed at most */

struct leak_score {
	double score;		/* [0, 1] */
	double trend;		/* [0, 1] */
	double fit;		/* R^2 of the segment, [0, 1] */
	double consistency;	/* [0, 1] */
	double growth;		/* the growth term, [0, 1] */
	double slope;		/* Theil-Sen, bytes per second (may be negative) */
	uint64_t current;	/* the last sample, bytes */
	double growth_pct;	/* (current - baseline) / baseline * 100; 0 without a baseline */
	size_t segment;		/* samples scored (after a change point, if any) */
	bool change_point;	/* a change point cut the window */
	size_t change_at;	/* index into the window where the segment starts (if change_point) */
	bool step;		/* the change point was a step or a stop: the segment's slope is
				 * under a quarter of a rising slope before it, or the upward
				 * jump across the split is larger than the segment's own rise
				 * (or fall) */
	uint64_t segment_level;	/* median of the segment: a new baseline after a step */
};

/*
 * Score samples[0..n-1] (bytes, oldest first, one every interval_s > 0).
 * window: samples to analyse (clamped to [LEAK_MIN_SEGMENT, LEAK_MAX_WINDOW]).
 * baseline: bytes (0 = none yet).  scratch must hold at least
 * leak_score_scratch_len(window) doubles (no allocation inside).
 * 0, or -EINVAL on bad arguments.  With n < LEAK_MIN_SEGMENT everything is 0
 * but current.
 */
int leak_score_compute(const uint64_t *samples, size_t n, double interval_s, size_t window,
		       uint64_t baseline, double *scratch, struct leak_score *out);
size_t leak_score_scratch_len(size_t window);

/*
 * Seconds until headroom bytes are used up at slope bytes/s; a negative
 * value when slope <= 0 or headroom is 0 ("never" / "already").
 */
double leak_time_to_exhaustion(double slope, uint64_t headroom);

/* Median of v[0..n-1] (reorders v).  n > 0. */
double leak_median(double *v, size_t n);

/*
 * Theil-Sen slope of y[0..n-1] at unit spacing (per sample), using
 * scratch[0..n*(n-1)/2 - 1] when n*(n-1)/2 <= scratch_len, else a
 * deterministic even subsample of the pairs that fits.  n >= 2.
 */
double leak_theil_sen(const double *y, size_t n, double *scratch, size_t scratch_len);

#endif
