/*
 * leakscore.c - the memory growth-pattern score of agent/leakscore.h.
 *
 * Pure arithmetic on one process's samples: no I/O, no allocation, no
 * global state, so the engine can call it for every process on every tick
 * and a unit test can pin every branch down.
 *
 * Cost for a window of m samples: two O(m) passes for the change point,
 * O(m) for the fits and the consistency count, and Theil-Sen over at most
 * TS_MAX_PAIRS pairwise slopes (quickselect, expected linear).  So a call
 * is O(m + TS_MAX_PAIRS) time and the scratch the caller provides is
 * 2 * window + min(window * (window - 1) / 2, TS_MAX_PAIRS) doubles.
 *
 * Numerics: bytes reach ~1e12 and their squares ~1e24, so nothing here
 * sums raw squares.  The window is first rebased on its first sample (an
 * exact integer difference), and every fit accumulates centred moments,
 * either two-pass (mean first) or with Welford's running update, which
 * stays accurate when the mean is large next to the spread.  Every output
 * is checked to be finite and clamped into its documented range.
 */
#include <errno.h>
#include <math.h>

#include "leakscore.h"

/* Theil-Sen pairs computed at most; beyond this an even subsample is used. */
#define TS_MAX_PAIRS 8192

/*
 * Change-point acceptance (leakscore.h): one line fits worse than this...
 * (0.999 rather than a looser bound: a ramp of L samples that stopped p
 * samples ago keeps R^2 >= 0.95 until p ~ 0.4 L, so a cache that filled
 * for a long time would keep scoring as a leak long after it stopped; at
 * 0.999, p ~ 0.07 L.  The error ratio below is what tells a real break
 * from noise, which one line leaves evenly on both sides.)
 */
#define CP_MAX_R2 0.999
/* ...and two lines leave less than this share of one line's squared error. */
#define CP_MAX_SSE_RATIO 0.25

/* g at which the growth term reaches 1 - 1/e. */
#define GROWTH_SCALE 0.1

#define W_TREND 0.4
#define W_CONSISTENCY 0.35
#define W_GROWTH 0.25

static size_t clamp_window(size_t window)
{
	if (window < LEAK_MIN_SEGMENT)
		return LEAK_MIN_SEGMENT;
	if (window > LEAK_MAX_WINDOW)
		return LEAK_MAX_WINDOW;
	return window;
}

static size_t pair_cap(size_t w)
{
	size_t pairs = w * (w - 1) / 2;

	return pairs < TS_MAX_PAIRS ? pairs : TS_MAX_PAIRS;
}

size_t leak_score_scratch_len(size_t window)
{
	size_t w = clamp_window(window);

	return 2 * w + pair_cap(w);
}

double leak_time_to_exhaustion(double slope, uint64_t headroom)
{
	if (!(slope > 0) || !isfinite(slope) || headroom == 0)
		return -1;
	return (double)headroom / slope;
}

static void swap(double *a, double *b)
{
	double t = *a;

	*a = *b;
	*b = t;
}

/*
 * The k-th smallest of v[0..n-1] (0-based), partially ordering v so that
 * v[0..k-1] <= v[k].  Hoare partitioning around a median of three: runs of
 * equal values split evenly, so many ties (a flat series) stay linear.
 */
static double select_kth(double *v, size_t n, size_t k)
{
	ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;

	while (hi > lo) {
		ptrdiff_t mid = lo + (hi - lo) / 2, i = lo, j = hi;
		double pivot;

		if (v[mid] < v[lo])
			swap(&v[mid], &v[lo]);
		if (v[hi] < v[lo])
			swap(&v[hi], &v[lo]);
		if (v[hi] < v[mid])
			swap(&v[hi], &v[mid]);
		pivot = v[mid];
		/* v[lo] <= pivot <= v[hi] bound both scans inside [lo, hi]. */
		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				swap(&v[i], &v[j]);
				i++;
				j--;
			}
		}
		/* Now v[lo..j] <= pivot <= v[i..hi], and anything between equals it. */
		if (kk <= j)
			hi = j;
		else if (kk >= i)
			lo = i;
		else
			break;
	}
	return v[kk];
}

double leak_median(double *v, size_t n)
{
	size_t k = n / 2;
	double upper, lower;

	if (!v || n == 0)
		return 0;
	upper = select_kth(v, n, k);
	if (n % 2)
		return upper;
	/* v[0..k-1] now hold the k smallest: the lower middle is their maximum. */
	lower = v[0];
	for (size_t i = 1; i < k; i++)
		if (v[i] > lower)
			lower = v[i];
	return lower + (upper - lower) / 2;
}

double leak_theil_sen(const double *y, size_t n, double *scratch, size_t scratch_len)
{
	size_t total, take, q, r, row = 0, row_start = 0;

	if (!y || n < 2 || !scratch || scratch_len == 0)
		return 0;
	total = n * (n - 1) / 2;
	if (total <= scratch_len) {
		size_t p = 0;

		for (size_t i = 0; i + 1 < n; i++)
			for (size_t j = i + 1; j < n; j++)
				scratch[p++] = (y[j] - y[i]) / (double)(j - i);
		return leak_median(scratch, total);
	}
	/*
	 * Pairs are numbered row by row (i = 0: j = 1..n-1, then i = 1, ...).
	 * Take the ones numbered floor(t * total / take): evenly spread over
	 * the numbering, so every row (and every lag) keeps its share, and the
	 * same series always yields the same subsample.  The numbers rise with
	 * t, so one cursor walks the rows once.  (t * total is split into
	 * t * q + t * r / take so it cannot overflow.)
	 */
	take = scratch_len;
	q = total / take;
	r = total % take;
	for (size_t t = 0; t < take; t++) {
		size_t idx = t * q + t * r / take;
		size_t i, j;

		while (idx >= row_start + (n - 1 - row)) {
			row_start += n - 1 - row;
			row++;
		}
		i = row;
		j = row + 1 + (idx - row_start);
		scratch[t] = (y[j] - y[i]) / (double)(j - i);
	}
	return leak_median(scratch, take);
}

/* Least-squares line over y[a..b-1] at x = a..b-1, from centred sums. */
struct line {
	double slope, icept;	/* y = icept + slope * x, x as the window index */
	double sse, sst;	/* residual and total sums of squares */
};

static struct line fit_line(const double *y, size_t a, size_t b)
{
	struct line l = { 0 };
	double n = (double)(b - a), mx = (double)(a + b - 1) / 2, my = 0, sxx = 0, sxy = 0, syy = 0;

	for (size_t i = a; i < b; i++)
		my += y[i];
	my /= n;
	for (size_t i = a; i < b; i++) {
		double dx = (double)i - mx, dy = y[i] - my;

		sxx += dx * dx;
		sxy += dx * dy;
		syy += dy * dy;
	}
	l.slope = sxx > 0 ? sxy / sxx : 0;
	l.icept = my - l.slope * mx;
	l.sst = syy;
	l.sse = syy - l.slope * sxy;
	if (!(l.sse > 0))
		l.sse = 0;
	return l;
}

static double r_squared(const struct line *l)
{
	double r2;

	if (!(l->sst > 0))
		return 0;
	r2 = 1 - l->sse / l->sst;
	return r2 < 0 ? 0 : r2 > 1 ? 1 : r2;
}

/* Welford's running moments for a line fit, one point at a time. */
struct moments {
	double n, mx, my, cxx, cxy, cyy;
};

static void moments_add(struct moments *m, double x, double y)
{
	double dx = x - m->mx, dy = y - m->my;

	m->n += 1;
	m->mx += dx / m->n;
	m->my += dy / m->n;
	m->cxx += dx * (x - m->mx);
	m->cxy += dx * (y - m->my);
	m->cyy += dy * (y - m->my);
}

static double moments_sse(const struct moments *m)
{
	double sse = m->cxx > 0 ? m->cyy - m->cxy * m->cxy / m->cxx : m->cyy;

	return sse > 0 ? sse : 0;
}

/*
 * The split k (each side >= LEAK_MIN_SEGMENT) minimising the two-line
 * squared error, or 0 when none is accepted.  One forward pass records the
 * left side's error for every k in aux[]; one backward pass adds the right
 * side's.
 */
static size_t change_point(const double *y, size_t m, double *aux)
{
	struct moments left = { 0 }, right = { 0 };
	struct line one;
	double best = INFINITY;
	size_t best_k = 0;

	if (m < 2 * LEAK_MIN_SEGMENT)
		return 0;
	one = fit_line(y, 0, m);
	if (!(r_squared(&one) < CP_MAX_R2) || !(one.sse > 0))
		return 0;
	for (size_t k = 0; k + LEAK_MIN_SEGMENT <= m; k++) {
		/* aux[k] = error of the left side y[0..k-1] */
		if (k >= LEAK_MIN_SEGMENT)
			aux[k] = moments_sse(&left);
		moments_add(&left, (double)k, y[k]);
	}
	for (size_t k = m; k-- > LEAK_MIN_SEGMENT;) {
		double total;

		moments_add(&right, (double)k, y[k]);
		if (m - k < LEAK_MIN_SEGMENT)
			continue;
		total = aux[k] + moments_sse(&right);
		if (total < best) {
			best = total;
			best_k = k;
		}
	}
	if (best_k && best < CP_MAX_SSE_RATIO * one.sse)
		return best_k;
	return 0;
}

/*
 * Bytes back from a double, rounded and saturating: above 2^53 the window's
 * rebased values are rounded, so s0 + level may land a hair outside
 * [0, UINT64_MAX].
 */
static uint64_t to_u64(double v)
{
	if (!(v >= 0))
		return 0;
	if (v >= 18446744073709551616.0)	/* 2^64 */
		return UINT64_MAX;
	return (uint64_t)(v + 0.5);	/* v <= 2^64 - 2048: v + 0.5 rounds to v */
}

static uint64_t level_at(uint64_t s0, double off)
{
	uint64_t d = to_u64(off < 0 ? -off : off);

	if (off < 0)
		return d > s0 ? 0 : s0 - d;
	return d > UINT64_MAX - s0 ? UINT64_MAX : s0 + d;
}

static double clamp01(double v)
{
	return v > 0 ? (v < 1 ? v : 1) : 0;	/* NaN -> 0 */
}

int leak_score_compute(const uint64_t *samples, size_t n, double interval_s, size_t window,
		       uint64_t baseline, double *scratch, struct leak_score *out)
{
	size_t w, m, c, s, rises = 0, pcap;
	uint64_t s0;
	double *y, *aux, *pairs, slope, g, lvl;
	struct line seg;

	if (!samples || !scratch || !out || !(interval_s > 0) || !isfinite(interval_s))
		return -EINVAL;
	*out = (struct leak_score){ 0 };
	if (n == 0)
		return 0;
	out->current = samples[n - 1];
	w = clamp_window(window);
	m = n < w ? n : w;
	if (m < LEAK_MIN_SEGMENT)
		return 0;

	y = scratch;
	aux = scratch + w;
	pairs = scratch + 2 * w;
	pcap = pair_cap(w);
	samples += n - m;
	s0 = samples[0];
	for (size_t i = 0; i < m; i++)
		y[i] = samples[i] >= s0 ? (double)(samples[i] - s0) : -(double)(s0 - samples[i]);

	c = change_point(y, m, aux);
	s = m - c;
	out->change_point = c > 0;
	out->change_at = c;
	out->segment = s;	/* >= LEAK_MIN_SEGMENT: change_point() never splits closer */

	slope = leak_theil_sen(y + c, s, pairs, pcap);
	seg = fit_line(y, c, m);
	out->slope = isfinite(slope) ? slope / interval_s : 0;
	out->fit = r_squared(&seg);
	out->trend = out->slope > 0 ? out->fit : 0;
	for (size_t i = c + 1; i < m; i++)
		rises += y[i] > y[i - 1];
	out->consistency = clamp01((double)rises / (double)(s - 1));

	if (baseline > 0) {
		g = out->current >= baseline ? (double)(out->current - baseline) / (double)baseline
					     : -(double)(baseline - out->current) / (double)baseline;
		out->growth_pct = g * 100;
		out->growth = g > 0 ? clamp01(1 - exp(-g / GROWTH_SCALE)) : 0;
	}

	if (c > 0) {
		/*
		 * A step or a stop: growth before the split that slowed to under
		 * a quarter (only a rise can stop), or an upward jump across the
		 * split, as the two fitted lines have it, larger than the
		 * segment's own fitted rise.  Against a falling segment the jump
		 * must beat the fall's size, so a noise-sized "jump" onto a fall
		 * is not a step.
		 */
		struct line before = fit_line(y, 0, c);
		double sb = leak_theil_sen(y, c, pairs, pcap);
		double jump = (seg.icept + seg.slope * (double)c) -
			      (before.icept + before.slope * (double)(c - 1));
		double rise = seg.slope * (double)(s - 1);

		out->step = (sb > 0 && slope < sb / 4) || jump > fabs(rise);
	}

	for (size_t i = 0; i < s; i++)
		aux[i] = y[c + i];
	lvl = leak_median(aux, s);
	out->segment_level = level_at(s0, lvl);

	out->score = clamp01(pow(clamp01(out->trend), W_TREND) *
			     pow(out->consistency, W_CONSISTENCY) * pow(out->growth, W_GROWTH));
	out->trend = clamp01(out->trend);
	return 0;
}
