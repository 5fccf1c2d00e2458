/*
 * allocloop - an allocation-heavy loop for tests/bench/trace_bench.sh.
 *
 *   allocloop [PAIRS]     (default 2000000)
 *
 * Prints "allocloop: pid N", then waits for SIGUSR1 (so a tracer can attach
 * first), then does PAIRS malloc/free pairs and prints
 *   "pairs N elapsed_s S ns_per_pair X cpu_ns_per_pair C"
 * and exits.  X is wall-clock time; C is the CPU time this process used
 * (user + system: uprobe handling and the BPF programs run in the traced
 * process and are charged to it), which other load on the machine
 * disturbs far less.  Each step mallocs a block of 16..1039 bytes (a fixed
 * pseudo-random sequence, the same every run), writes its first byte, and
 * frees the block allocated 64 steps earlier, so blocks are reused the way
 * a busy program reuses them and malloc's fast paths are what is measured.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define LIVE 64

static double now_s(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* noinline: a real call site, with a frame of its own, for the stack walk. */
__attribute__((noinline)) static void *alloc_step(size_t n)
{
	char *p = malloc(n);

	if (!p) {
		perror("malloc");
		exit(1);
	}
	p[0] = (char)n;
	return p;
}

int main(int argc, char **argv)
{
	long pairs = argc > 1 ? atol(argv[1]) : 2000000;
	void *live[LIVE] = { 0 };
	uint32_t x = 2463534242u;
	sigset_t set;
	double t0, c0, t, c;
	int sig;
	long i;

	if (pairs <= 0) {
		fprintf(stderr, "usage: allocloop [PAIRS > 0]\n");
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("allocloop: pid %d\n", (int)getpid());
	fflush(stdout);
	if (sigwait(&set, &sig))
		return 1;

	t0 = now_s(CLOCK_MONOTONIC);
	c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
	for (i = 0; i < pairs; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		free(live[i % LIVE]);
		live[i % LIVE] = alloc_step(16 + (x & 1023));
	}
	t = now_s(CLOCK_MONOTONIC) - t0;
	c = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	for (i = 0; i < LIVE; i++)
		free(live[i]);
	printf("pairs %ld elapsed_s %.6f ns_per_pair %.1f cpu_ns_per_pair %.1f\n", pairs, t,
	       t * 1e9 / (double)pairs, c * 1e9 / (double)pairs);
	return 0;
}
