/*
 * bursty - bursty but bounded: every 0.5 s a burst of 0-8 MiB (x --scale)
 * is allocated, held for 0.5-1.5 s, then freed.  Sizes and hold times come
 * from a fixed seed, so every run has the same shape.  A burst that would
 * take the total over 16 MiB (x --scale) is cut to fit.  Not a leak: usage
 * jumps up and down with no trend, and everything is freed within 1.5 s.
 * Bursts are single blocks above the mmap threshold (workload.h), so RSS
 * really falls when they are freed.
 */
#include "workload.h"

#define SLOTS 4		/* bursts alive at once: at most 3 (1.5 s / 0.5 s) */

struct burst {
	void *p;
	size_t n;
	double until;	/* seconds after start to free it */
};

static unsigned int seed = 20240229;

/* Uniform in [0, 1): a small LCG, so the shape does not depend on libc's rand(). */
static double uniform(void)
{
	seed = seed * 1664525u + 1013904223u;
	return (seed >> 8) / 16777216.0;
}

int main(int argc, char **argv)
{
	struct burst b[SLOTS] = { 0 };
	double cap, t, want, hold;
	size_t live;
	long tick;
	int i;

	wl_init(argc, argv, "bursty");
	cap = 16.0 * WL_MIB * wl_scale;
	for (tick = 0;; tick++) {
		t = tick * 0.5;
		wl_at(t);
		live = 0;
		for (i = 0; i < SLOTS; i++) {
			if (b[i].p && b[i].until <= t + 1e-6) {
				free(b[i].p);
				b[i].p = NULL;
			}
			if (b[i].p)
				live += b[i].n;
		}
		want = uniform() * 8.0 * WL_MIB * wl_scale;
		if (live + want > cap)
			want = cap - live;
		/* Draw the hold time even when the burst is skipped, so the
		 * sequence of draws does not depend on the cap. */
		hold = 0.5 + 0.5 * (long)(uniform() * 3.0);	/* 0.5, 1.0 or 1.5 s */

		if (want < (double)WL_CHUNK)
			continue;
		for (i = 0; i < SLOTS && b[i].p; i++)
			;
		if (i == SLOTS)
			continue;	/* cannot happen: at most 3 are alive */
		b[i].n = (size_t)want;
		b[i].p = wl_alloc(b[i].n);
		b[i].until = t + hold;
	}
}
