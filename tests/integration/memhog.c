/*
 * memhog - allocate and touch memory at a steady rate, for OOM tests.
 *
 * Usage: memhog TOTAL_MIB [RATE_MIB_PER_S] [--hold]
 *
 *   TOTAL_MIB       how much to allocate, in MiB (1 MiB steps), > 0
 *   RATE_MIB_PER_S  MiB per second, a decimal number (0.5 is fine);
 *                   0 or absent = as fast as possible
 *   --hold          once TOTAL_MIB is allocated, keep it and sleep until
 *                   killed (without it, exit 0 at once)
 *
 * Each step maps 1 MiB of private anonymous memory (huge pages off, so the
 * memcg is charged page by page) and writes to every 4 KiB page of it, so
 * it is resident and charged to the caller's memory cgroup, not just
 * reserved.  Pacing is against the start time, so a slow step does not
 * lower the average rate.
 *
 * Output, line-buffered on stdout, so a test can follow it in a file:
 *   memhog: pid PID total TOTAL_MIB MiB rate RATE MiB/s
 *   memhog: allocated N MiB           (after each step)
 *   memhog: done N MiB                (all allocated)
 *   memhog: holding                   (with --hold)
 * Exit status: 0 done, 1 allocation failed (mmap error on stderr), 2 usage.
 * In a memory cgroup too small for TOTAL_MIB it normally dies of SIGKILL
 * from the OOM killer (or from vigil's OOM policy).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024ul * 1024ul)
#define PAGE 4096ul

static void usage(void)
{
	fprintf(stderr, "usage: memhog TOTAL_MIB [RATE_MIB_PER_S] [--hold]\n");
	exit(2);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
	for (;;) {
		double left = t - now();
		struct timespec ts;

		if (left <= 0)
			return;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		if (nanosleep(&ts, NULL) == 0)
			return;
	}
}

int main(int argc, char **argv)
{
	unsigned long total = 0, i;
	double rate = 0, start;
	int hold = 0, npos = 0;
	char *end;

	for (int a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--hold")) {
			hold = 1;
			continue;
		}
		errno = 0;
		if (npos == 0) {
			total = strtoul(argv[a], &end, 10);
			if (errno || *end || !total || argv[a][0] == '-')
				usage();
		} else if (npos == 1) {
			rate = strtod(argv[a], &end);
			if (errno || *end || rate < 0)
				usage();
		} else {
			usage();
		}
		npos++;
	}
	if (npos < 1)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("memhog: pid %d total %lu MiB rate %g MiB/s\n", (int)getpid(), total, rate);

	start = now();
	for (i = 0; i < total; i++) {
		unsigned char *p;

		if (rate > 0)
			sleep_until(start + i / rate);
		p = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			fprintf(stderr, "memhog: mmap of MiB %lu: %s\n", i + 1, strerror(errno));
			return 1;
		}
#ifdef MADV_NOHUGEPAGE
		madvise(p, MIB, MADV_NOHUGEPAGE);
#endif
		/* Distinct non-zero bytes: no zero page, nothing to merge. */
		for (unsigned long off = 0; off < MIB; off += PAGE)
			p[off] = (unsigned char)(i + off / PAGE + 1);
		printf("memhog: allocated %lu MiB\n", i + 1);
	}
	printf("memhog: done %lu MiB\n", total);
	if (!hold)
		return 0;
	printf("memhog: holding\n");
	for (;;)
		pause();
}
