/*
 * leak_bench - one leak-sampling tick three ways, side by side, for
 * tests/bench/leak_bench.sh:
 *
 *   sampler  memsampler_read() (bpf/mem.bpf.c's task-list walk or iter/task) copying
 *            every record into an array, as the leak scorer's tick does;
 *   statm    opendir("/proc"), and for every numeric entry open
 *            "/proc/PID/statm", read, close, and parse its seven numbers
 *            into an array: the /proc scan the goal is stated against;
 *   statmat  the same with openat() on the /proc directory's fd, which
 *            spares a path walk per process: the cheapest /proc scan there
 *            is.  Both still know less than a sample (no anon/file/shmem
 *            split, no memcg).
 *
 * Usage: leak_bench ROUNDS [CGROUP_ID]
 *
 * One untimed pass of each first, then ROUNDS rounds of one pass each, the
 * order rotating from round to round so drift in the machine's state hits
 * all alike.  Each pass is timed twice: wall clock (CLOCK_MONOTONIC), the
 * headline, and this thread's CPU time (CLOCK_THREAD_CPUTIME_ID, which
 * includes the kernel's work in its syscalls: the iterator runs inside
 * read()), which other load on the machine disturbs less.  CGROUP_ID (the
 * bench cgroup's inode in the attribution hierarchy) makes it count the
 * sampler's records in that cgroup, to show the sleepers were all seen.
 * Prints one line of key=value pairs; for each method M (sampler, statm,
 * statmat): M_median_ms M_p90_ms M_cpu_median_ms M_records; then ratio and
 * cpu_ratio (statm over sampler, medians), ratio_at and cpu_ratio_at
 * (statmat over sampler), rounds, in_cgroup, record_bytes.
 *
 * Exit 1 if the sampler cannot open or a pass fails, 2 on usage errors.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "cgroup.h"
#include "memsample.h"

struct samples {
	struct vigil_mem_sample *v;
	size_t n, cap;
	uint64_t cgroup_id;
	size_t in_cgroup;
};

struct statm {
	uint32_t pid;
	uint64_t v[7];	/* size resident shared text lib data dt, in pages */
};

static double clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int keep(const struct vigil_mem_sample *s, void *ctx)
{
	struct samples *a = ctx;

	if (a->n == a->cap) {
		size_t cap = a->cap * 2;
		struct vigil_mem_sample *v = realloc(a->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = *s;
	if (s->cgroup_id == a->cgroup_id)
		a->in_cgroup++;
	return 0;
}

static long sampler_pass(struct vigil_memsampler *m, struct samples *a)
{
	a->n = a->in_cgroup = 0;
	return memsampler_read(m, keep, a);
}

static long statm_pass(struct statm **out, size_t *cap, bool at)
{
	char buf[256], path[sizeof(((struct dirent *)0)->d_name) + 16], *p, *end;
	struct dirent *e;
	long n = 0;
	int pfd, fd;
	ssize_t k;
	DIR *d;

	d = opendir("/proc");
	if (!d)
		return -errno;
	pfd = dirfd(d);
	while ((e = readdir(d))) {
		struct statm *s;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		if (at) {
			snprintf(path, sizeof(path), "%s/statm", e->d_name);
			fd = openat(pfd, path, O_RDONLY | O_CLOEXEC);
		} else {
			snprintf(path, sizeof(path), "/proc/%s/statm", e->d_name);
			fd = open(path, O_RDONLY | O_CLOEXEC);
		}
		if (fd < 0)
			continue;	/* exited meanwhile */
		k = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (k <= 0)
			continue;
		buf[k] = '\0';
		if ((size_t)n == *cap) {
			struct statm *v = realloc(*out, *cap * 2 * sizeof(*v));

			if (!v) {
				closedir(d);
				return -ENOMEM;
			}
			*out = v;
			*cap *= 2;
		}
		s = &(*out)[n];
		s->pid = (uint32_t)strtoul(e->d_name, NULL, 10);
		p = buf;
		for (int i = 0; i < 7; i++) {
			s->v[i] = strtoull(p, &end, 10);
			p = end;
		}
		n++;
	}
	closedir(d);
	return n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static double pct(const double *v, int n, double p)
{
	int i = (int)(p * n + 0.999999) - 1;

	return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

static uint32_t sampler_src, sampler_hid;

static int open_sampler(struct vigil_memsampler **m)
{
	struct vigil_cgroup_layout layout;
	enum vigil_cgroup_source src;
	char mount[256], why[512] = "";
	static const char *const names[] = {
		[VIGIL_CG_V1_MEMORY] = "memory",
		[VIGIL_CG_V1_PIDS] = "pids",
		[VIGIL_CG_V1_CPU] = "cpu",
	};
	int hid = 0, err;

	err = cgroup_layout_detect(&layout);
	if (err) {
		fprintf(stderr, "leak_bench: reading the cgroup layout: %s\n", strerror(-err));
		return 1;
	}
	if (agent_pick_cgroup(&layout, "auto", &src, mount, sizeof(mount), why, sizeof(why))) {
		fprintf(stderr, "leak_bench: %s\n", why);
		return 1;
	}
	if (src != VIGIL_CG_V2) {
		hid = cgroup_v1_hierarchy_id(names[src]);
		if (hid < 0) {
			fprintf(stderr, "leak_bench: the %s hierarchy's id: %s\n", names[src],
				strerror(-hid));
			return 1;
		}
	}
	sampler_src = src;
	sampler_hid = (uint32_t)hid;
	if (memsampler_open(m, src, (uint32_t)hid, why, sizeof(why))) {
		fprintf(stderr, "leak_bench: %s\n", why);
		return 1;
	}
	return 0;
}

/*
 * The whole leak-scorer tick as `vigil run` does it (sampling, history,
 * scoring, gauges), with the defaults (history 360), and the heap it holds
 * per tracked process (mallinfo2 before the engine and after its ticks).
 */
static int engine_phase(long rounds, uint32_t src, uint32_t hid)
{
	struct vigil_leak_settings s = {
		.interval_ms = 10000, .history = 360, .max_processes = 32768,
		.cg_source = src, .cg_hierarchy_id = hid,
	};
	struct vigil_enricher en;
	struct vigil_metrics mx;
	struct vigil_leak_engine e;
	struct mallinfo2 m0, m1;
	double *cpu = calloc(rounds, sizeof(double)), c0;
	char why[512];
	long i;

	if (!cpu)
		return 1;
	metrics_init(&mx);
	if (enricher_init(&en, "")) {
		fprintf(stderr, "leak_bench: enricher: out of memory\n");
		return 1;
	}
	m0 = mallinfo2();
	if (leak_engine_init(&e, NULL, &en, &mx, &s, NULL, NULL, why, sizeof(why))) {
		fprintf(stderr, "leak_bench: leak engine: %s\n", why);
		return 1;
	}
	leak_engine_tick(&e);	/* untimed: every process is new */
	for (i = 0; i < rounds; i++) {
		c0 = clock_ms(CLOCK_THREAD_CPUTIME_ID);
		leak_engine_tick(&e);
		cpu[i] = clock_ms(CLOCK_THREAD_CPUTIME_ID) - c0;
	}
	m1 = mallinfo2();
	qsort(cpu, rounds, sizeof(double), cmp_double);
	printf("engine_cpu_median_ms=%.3f engine_cpu_p90_ms=%.3f engine_tracked=%zu "
	       "engine_bytes_per_process=%.0f\n",
	       pct(cpu, rounds, 0.5), pct(cpu, rounds, 0.9), e.n_procs,
	       e.n_procs ? (double)((m1.uordblks + m1.hblkhd) - (m0.uordblks + m0.hblkhd)) /
				   (double)e.n_procs : 0.0);
	leak_engine_close(&e);
	enricher_free(&en);
	metrics_free(&mx);
	free(cpu);
	return 0;
}

enum { SAMPLER, STATM, STATMAT, NMETHODS };
static const char *const method_name[NMETHODS] = { "sampler", "statm", "statmat" };

int main(int argc, char **argv)
{
	struct samples a = { 0 };
	struct vigil_memsampler *m;
	struct statm *st;
	size_t st_cap = 16384;
	double *wall[NMETHODS], *cpu[NMETHODS], t0, c0;
	double med[NMETHODS], cmed[NMETHODS];
	long rounds, got[NMETHODS] = { 0 };
	char *end;
	int i, k;

	if (argc < 2 || argc > 3)
		goto usage;
	rounds = strtol(argv[1], &end, 10);
	if (*end || rounds < 1 || rounds > 100000)
		goto usage;
	if (argc == 3) {
		a.cgroup_id = strtoull(argv[2], &end, 10);
		if (*end)
			goto usage;
	}
	if (open_sampler(&m))
		return 1;
	a.cap = 16384;
	a.v = malloc(a.cap * sizeof(*a.v));
	st = malloc(st_cap * sizeof(*st));
	if (!a.v || !st) {
		fprintf(stderr, "leak_bench: out of memory\n");
		return 1;
	}
	for (k = 0; k < NMETHODS; k++) {
		wall[k] = calloc(rounds, sizeof(double));
		cpu[k] = calloc(rounds, sizeof(double));
		if (!wall[k] || !cpu[k]) {
			fprintf(stderr, "leak_bench: out of memory\n");
			return 1;
		}
	}
	/* Warm-up: caches, the arrays' final size, the iterator's first-pass setup. */
	if (sampler_pass(m, &a) < 0 || statm_pass(&st, &st_cap, false) < 0 ||
	    statm_pass(&st, &st_cap, true) < 0) {
		fprintf(stderr, "leak_bench: the untimed pass failed\n");
		return 1;
	}
	for (i = 0; i < rounds; i++) {
		for (int j = 0; j < NMETHODS; j++) {
			long n;

			k = (i + j) % NMETHODS;
			t0 = clock_ms(CLOCK_MONOTONIC);
			c0 = clock_ms(CLOCK_THREAD_CPUTIME_ID);
			n = k == SAMPLER ? sampler_pass(m, &a) : statm_pass(&st, &st_cap, k == STATMAT);
			cpu[k][i] = clock_ms(CLOCK_THREAD_CPUTIME_ID) - c0;
			wall[k][i] = clock_ms(CLOCK_MONOTONIC) - t0;
			if (n < 0) {
				fprintf(stderr, "leak_bench: %s pass: %s\n", method_name[k],
					strerror((int)-n));
				return 1;
			}
			got[k] = n;
		}
	}
	memsampler_close(m);
	for (k = 0; k < NMETHODS; k++) {
		qsort(wall[k], rounds, sizeof(double), cmp_double);
		qsort(cpu[k], rounds, sizeof(double), cmp_double);
		med[k] = pct(wall[k], rounds, 0.5);
		cmed[k] = pct(cpu[k], rounds, 0.5);
		printf("%s_median_ms=%.3f %s_p90_ms=%.3f %s_cpu_median_ms=%.3f %s_records=%ld ",
		       method_name[k], med[k], method_name[k], pct(wall[k], rounds, 0.9),
		       method_name[k], cmed[k], method_name[k], got[k]);
	}
	printf("ratio=%.1f cpu_ratio=%.1f ratio_at=%.1f cpu_ratio_at=%.1f rounds=%ld in_cgroup=%zu "
	       "record_bytes=%zu walk=%s\n",
	       med[STATM] / med[SAMPLER], cmed[STATM] / cmed[SAMPLER], med[STATMAT] / med[SAMPLER],
	       cmed[STATMAT] / cmed[SAMPLER], rounds, a.in_cgroup, sizeof(struct vigil_mem_sample),
	       memsampler_walk(m));
	for (k = 0; k < NMETHODS; k++) {
		free(wall[k]);
		free(cpu[k]);
	}
	free(a.v);
	free(st);
	fflush(stdout);
	return engine_phase(rounds, sampler_src, sampler_hid);
usage:
	fprintf(stderr, "usage: leak_bench ROUNDS [CGROUP_ID]\n");
	return 2;
}
