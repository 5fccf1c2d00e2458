/*
 * workload.h - shared pacing for the leak-scoring evaluation workloads.
 *
 * Every workload:
 *   - prints "NAME: pid PID" on stdout (line-buffered) when it starts;
 *   - runs until killed, or for --duration SECONDS;
 *   - takes --scale F (default 1): multiplies its allocation sizes, so a
 *     test can make the same pattern bigger or smaller;
 *   - allocates with malloc in chunks of at least 64 KiB and writes every
 *     page, so the memory is resident (anon) the moment it is allocated.
 *     mallopt(M_MMAP_THRESHOLD, 64 KiB) keeps glibc from raising its mmap
 *     threshold dynamically, so what is freed goes back to the kernel and
 *     a pattern that frees memory shows as falling RSS.
 * Built with -O1 -g -fno-omit-frame-pointer (tests/integration/lib.sh
 * need_workload), so `vigil leaks --trace` can walk the stacks.
 */
#ifndef VIGIL_WORKLOAD_H
#define VIGIL_WORKLOAD_H

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WL_KIB 1024ul
#define WL_MIB (1024ul * 1024ul)
#define WL_CHUNK (64ul * 1024ul)

static double wl_duration;	/* 0 = until killed */
static double wl_scale = 1.0;
static double wl_t0;

static inline double wl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sleep until wl_t0 + t seconds; exit 0 once past --duration. */
static inline void wl_at(double t)
{
	double left;
	struct timespec ts;

	if (wl_duration > 0 && t >= wl_duration)
		exit(0);
	while ((left = wl_t0 + t - wl_now()) > 0) {
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
	}
}

/* Write one byte per page so the allocation is resident. */
static inline void wl_touch(void *p, size_t n)
{
	volatile char *c = p;
	size_t i;

	for (i = 0; i < n; i += 4096)
		c[i] = (char)(i | 1);
}

/* malloc + touch; exits 1 when malloc fails (a test reads that as a fault). */
static inline void *wl_alloc(size_t n)
{
	void *p = malloc(n);

	if (!p) {
		perror("malloc");
		exit(1);
	}
	wl_touch(p, n);
	return p;
}

/* Scaled size in bytes, at least one chunk. */
static inline size_t wl_bytes(double bytes)
{
	double b = bytes * wl_scale;

	return b < (double)WL_CHUNK ? WL_CHUNK : (size_t)b;
}

static inline void wl_init(int argc, char **argv, const char *name)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--duration") && i + 1 < argc) {
			wl_duration = atof(argv[++i]);
		} else if (!strcmp(argv[i], "--scale") && i + 1 < argc) {
			wl_scale = atof(argv[++i]);
			if (wl_scale <= 0) {
				fprintf(stderr, "%s: --scale must be > 0\n", name);
				exit(2);
			}
		} else {
			fprintf(stderr, "usage: %s [--duration SECONDS] [--scale F]\n", name);
			exit(2);
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	mallopt(M_MMAP_THRESHOLD, (int)WL_CHUNK);
	wl_t0 = wl_now();
	printf("%s: pid %d\n", name, (int)getpid());
}

#endif
