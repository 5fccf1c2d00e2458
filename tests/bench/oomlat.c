/*
 * oomlat - reaction latency of an OomPolicy: how long a memory hog lives
 * after it gives the policy a reason to kill it.  The agent runs apart
 * (tests/bench/oom_bench.sh starts it); oomlat only drives hogs and times
 * their deaths.
 *
 *   oomlat usage -m MEMCG [-2 V2DIR] -t BYTES [-c CAP_MB] [-r MB_PER_S] [COMMON]
 *   oomlat psi   -m MEMCG [-2 V2DIR] -f FILE [COMMON]
 *   oomlat probe -m MEMCG [-2 V2DIR] -f FILE [-s SECONDS]
 *   oomlat hog   MB [MB_PER_S]
 *   oomlat thrash FILE [ANON_MB [MB_PER_S]]
 *   COMMON: [-n RUNS] [-g GAP_MS] [-T TIMEOUT_MS] [-l LABEL]
 *
 * Each run forks a hog that moves itself into MEMCG (cgroup.procs; and into
 * V2DIR too, the cgroup v2 twin of a v1 memcg on a hybrid node, where the
 * kernel accounts its memory pressure).  The parent holds a pidfd on the
 * hog, polls it, and takes CLOCK_MONOTONIC when it becomes readable (the
 * hog has exited, its memory torn down).  Timestamps the hog takes go to a
 * MAP_SHARED page.
 *
 * usage: the hog allocates and touches anonymous memory in 1 MiB steps at
 *   MB_PER_S (default 100), up to CAP_MB (default 56), then holds.  After
 *   each step it reads the memcg's usage (memory.usage_in_bytes on v1,
 *   memory.current on v2, the files the agent reads); the first step whose
 *   reading is >= BYTES sets the crossing time.  latency = death - crossing.
 *   The reading comes right after the step's memset, so the crossing time
 *   is late by at most one step's touch (~0.1 ms), never early.
 *
 * psi: the hog maps FILE (regular file on a disk-backed filesystem, larger
 *   than the memcg's limit: 1.5x works well) MAP_SHARED, MADV_RANDOM, and
 *   reads one byte per page over the whole mapping, pass after pass.  Once
 *   the memcg is full every fault is a refault of a page it evicted a
 *   moment ago: reclaim and refaults of workingset pages, which the kernel
 *   counts as memory stall.  A PSI detector has no threshold crossing to
 *   time, so: latency = death - start of the thrash (the first touch; the
 *   parent drops FILE's page cache before each run, so every run starts
 *   cold).  The time the hog first saw its pressure file's "some" total
 *   move (read every 256 pages) is reported too, as stall_ms, and
 *   death - first stall as from_stall_ms.
 *
 * probe: one psi-style thrash for SECONDS (default 5) with no agent
 *   expected; prints the pressure file's some/full totals before and after,
 *   so a caller can tell whether pressure shows where the agent will read
 *   it.  Exit 0 if the "some" total moved, 3 if not.
 *
 * hog: allocate and touch MB MiB in 1 MiB steps at MB_PER_S (default 10)
 *   in the current cgroup, then hold forever.
 *
 * thrash: the psi hog's page-by-page reads of FILE (a file or a block
 *   device such as /dev/ram0), forever, in the current cgroup; with ANON_MB
 *   it also grows anonymous memory by 1 MiB steps at MB_PER_S (default 1)
 *   up to ANON_MB, so that a memcg smaller than ANON_MB would end in the
 *   kernel's OOM killer.  hog and thrash are for the VM tier, whose cases
 *   place them with a shell.
 *
 * Runs are sequential, GAP_MS (default 500) apart, which should exceed the
 * policy's postActionDelay; before a usage run the memcg's usage must also
 * be below half of BYTES.  A hog not dead TIMEOUT_MS (default 5000) after
 * its start is killed by oomlat and counted as a miss.
 *
 * Output: one line per run
 *   run I latency_ms X [stall_ms Y from_stall_ms Z] usage_mib U
 * and a summary line
 *   oomlat: mode=M label=L runs=N killed=K missed=X median_ms=.. p99_ms=..
 *           min_ms=.. max_ms=.. mean_ms=..
 * median and p99 are nearest-rank: the ceil(q*K)-th smallest of the K
 * latencies (with 20 runs, p99 is the largest).  Exit 0 when every run
 * ended in a kill by someone else, 1 when some run missed, 2 on errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define MIB (1ull << 20)

struct shared {
	volatile uint64_t t_start;	/* ramp / thrash begins, inside the memcg */
	volatile uint64_t t_cross;	/* usage: first reading >= threshold; psi: first stall seen */
	volatile uint64_t cross_usage;
	volatile uint64_t t_cap;	/* usage: the cap was reached (0: not) */
	volatile uint64_t mib;		/* usage: MiB touched so far; psi: passes */
	volatile int err;		/* the hog failed: errno */
	char msg[200];
};

static struct {
	const char *mode, *memcg, *v2, *file, *label;
	uint64_t threshold;
	unsigned cap_mb, rate, runs, gap_ms, timeout_ms, secs, anon_mb;
} o = {
	.label = "-", .cap_mb = 56, .rate = 100, .runs = 20, .gap_ms = 500,
	.timeout_ms = 5000, .secs = 5,
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { .tv_sec = t / 1000000000ull, .tv_nsec = t % 1000000000ull };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void msleep(unsigned ms)
{
	sleep_until(now_ns() + ms * 1000000ull);
}

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "oomlat: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(2);
}

/* Read a whole small file into buf (NUL-terminated).  Bytes or -errno. */
static ssize_t read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	else
		buf[n] = 0;
	close(fd);
	return n;
}

static char usage_path[4096], pressure_path[4096];

static int read_usage(uint64_t *v)
{
	char buf[64];

	if (read_text(usage_path, buf, sizeof(buf)) <= 0)
		return -1;
	*v = strtoull(buf, NULL, 10);
	return 0;
}

/* "some ... total=N" and "full ... total=N" of a pressure file. */
static int read_pressure(uint64_t *some, uint64_t *full)
{
	char buf[256], *p;

	if (read_text(pressure_path, buf, sizeof(buf)) <= 0)
		return -1;
	*some = *full = 0;
	p = strstr(buf, "total=");
	if (!p)
		return -1;
	*some = strtoull(p + 6, NULL, 10);
	p = strstr(p + 6, "total=");
	if (p)
		*full = strtoull(p + 6, NULL, 10);
	return 0;
}

static __attribute__((noreturn)) void hog_fail(struct shared *sh)
{
	fprintf(stderr, "oomlat: hog: %s\n", sh->msg);
	_exit(4);
}

static void join(const char *dir, struct shared *sh)
{
	char path[4200], pid[32];
	int fd, n;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, pid, (size_t)n) != n) {
		sh->err = errno ? errno : EIO;
		snprintf(sh->msg, sizeof(sh->msg), "cannot join %s: %s", dir, strerror(sh->err));
		hog_fail(sh);
	}
	close(fd);
}

/* usage hog: 1 MiB steps at o.rate MiB/s, up to o.cap_mb, then hold. */
static void hog_usage(struct shared *sh)
{
	uint64_t step = 1000000000ull / o.rate, t0, u;
	unsigned i;

	t0 = now_ns();
	sh->t_start = t0;
	for (i = 0; i < o.cap_mb; i++) {
		char *p = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			sh->err = errno;
			snprintf(sh->msg, sizeof(sh->msg), "mmap: %s", strerror(errno));
			hog_fail(sh);
		}
		memset(p, 0x5a, MIB);
		sh->mib = i + 1;
		if (!sh->t_cross && read_usage(&u) == 0 && u >= o.threshold) {
			sh->t_cross = now_ns();
			sh->cross_usage = u;
		}
		sleep_until(t0 + (i + 1) * step);
	}
	sh->t_cap = now_ns();
	for (;;)
		pause();
}

/*
 * psi hog: read one byte per page of FILE, pass after pass.  With
 * o.anon_mb, also grow anonymous memory by 1 MiB steps at o.rate MiB/s up to
 * that size (thrash mode: a workload that would end in an OOM).
 */
static void hog_thrash(struct shared *sh, uint64_t stop_ns)
{
	uint64_t some0 = 0, full0 = 0, s, f, t0, step = 0;
	volatile unsigned char sink = 0;
	long pg = sysconf(_SC_PAGESIZE);
	unsigned anon = 0;
	unsigned char *m;
	size_t off, n = 0, size;
	off_t end;
	int fd;

	fd = open(o.file, O_RDONLY | O_CLOEXEC);
	end = fd < 0 ? -1 : lseek(fd, 0, SEEK_END);	/* block devices too */
	if (end <= 0) {
		sh->err = end == 0 ? EINVAL : errno;
		snprintf(sh->msg, sizeof(sh->msg), "%s: %s", o.file,
			 end == 0 ? "empty" : strerror(errno));
		hog_fail(sh);
	}
	size = (size_t)end;
	m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		sh->err = errno;
		snprintf(sh->msg, sizeof(sh->msg), "mmap %s: %s", o.file, strerror(errno));
		hog_fail(sh);
	}
	if (getenv("OOMLAT_RANDOM"))
		madvise(m, size, MADV_RANDOM);
	read_pressure(&some0, &full0);
	if (o.anon_mb)
		step = 1000000000ull / o.rate;
	t0 = sh->t_start = now_ns();
	for (;;) {
		for (off = 0; off < size; off += (size_t)pg) {
			sink += m[off];
			if (++n % 256)
				continue;
			if (!sh->t_cross && read_pressure(&s, &f) == 0 && s > some0)
				sh->t_cross = now_ns();
			if (stop_ns && now_ns() >= stop_ns)
				_exit(0);
			if (anon < o.anon_mb && now_ns() >= t0 + anon * step) {
				char *a = mmap(NULL, MIB, PROT_READ | PROT_WRITE,
					       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

				if (a != MAP_FAILED) {
					memset(a, 0x5a, MIB);
					anon++;
				}
			}
		}
		sh->mib++;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank: the ceil(q*n)-th smallest (1-based) of sorted v. */
static double rank(const double *v, unsigned n, double q)
{
	unsigned r = (unsigned)ceil(q * n - 1e-9);

	if (r < 1)
		r = 1;
	if (r > n)
		r = n;
	return v[r - 1];
}

static int pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/*
 * Drop FILE's page cache (so a run starts cold and the pages are charged to
 * the hog's memcg, not to whoever read them last).  DONTNEED skips pages
 * that are dirty, under writeback or still in another CPU's LRU batch:
 * flush, then retry until mincore() shows at most 1% resident, 2 s at most.
 * Returns the resident pages left.
 */
static size_t drop_file_cache(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t npages = 0, left = 0, i;
	unsigned char *vec = NULL;
	void *m = MAP_FAILED;
	off_t end;
	int fd, tries;

	fd = open(o.file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("cannot open %s", o.file);
	end = lseek(fd, 0, SEEK_END);
	if (end > 0) {
		npages = ((size_t)end + (size_t)pg - 1) / (size_t)pg;
		m = mmap(NULL, (size_t)end, PROT_READ, MAP_SHARED, fd, 0);
		vec = malloc(npages);
	}
	fdatasync(fd);
	for (tries = 0; tries < 40; tries++) {
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		if (m == MAP_FAILED || !vec || mincore(m, (size_t)end, vec))
			break;
		for (left = 0, i = 0; i < npages; i++)
			left += vec[i] & 1;
		if (left * 100 <= npages)
			break;
		msleep(50);
	}
	if (m != MAP_FAILED)
		munmap(m, (size_t)end);
	free(vec);
	close(fd);
	return left;
}

/* One hog; returns its pid.  probe_ns > 0: a probe thrash that ends then. */
static pid_t spawn(struct shared *sh, uint64_t probe_ns)
{
	pid_t pid;

	memset((void *)sh, 0, sizeof(*sh));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid)
		return pid;
	signal(SIGINT, SIG_DFL);
	join(o.memcg, sh);
	if (o.v2)
		join(o.v2, sh);
	if (!strcmp(o.mode, "usage"))
		hog_usage(sh);
	hog_thrash(sh, probe_ns);
	_exit(0);
}

static int probe(struct shared *sh)
{
	uint64_t s0 = 0, f0 = 0, s1 = 0, f1 = 0;
	int status;
	pid_t pid;

	if (drop_file_cache())
		fprintf(stderr, "oomlat: warning: %s stays partly in the page cache\n", o.file);
	if (read_pressure(&s0, &f0))
		die("cannot read %s", pressure_path);
	pid = spawn(sh, now_ns() + o.secs * 1000000000ull);
	waitpid(pid, &status, 0);
	if (sh->err) {
		fprintf(stderr, "oomlat: hog: %s\n", sh->msg);
		return 2;
	}
	read_pressure(&s1, &f1);
	printf("oomlat: probe pressure=%s seconds=%u passes=%llu some_us=%llu full_us=%llu "
	       "first_stall_ms=%.1f\n", pressure_path, o.secs, (unsigned long long)sh->mib,
	       (unsigned long long)(s1 - s0), (unsigned long long)(f1 - f0),
	       sh->t_cross ? (sh->t_cross - sh->t_start) / 1e6 : -1.0);
	return s1 > s0 ? 0 : 3;
}

static int hog_only(int argc, char **argv)
{
	if (argc < 3)
		die("usage: oomlat hog MB [MB_PER_S]%s", "");
	o.cap_mb = (unsigned)strtoul(argv[2], NULL, 10);
	o.rate = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 10;
	if (!o.cap_mb || !o.rate)
		die("hog: MB and MB_PER_S must be positive%s", "");
	o.threshold = UINT64_MAX;
	usage_path[0] = 0;
	{
		static struct shared sh;

		o.mode = "usage";
		hog_usage(&sh);
	}
	return 0;
}

static int thrash_only(int argc, char **argv)
{
	static struct shared sh;

	if (argc < 3)
		die("usage: oomlat thrash FILE [ANON_MB [MB_PER_S]]%s", "");
	o.file = argv[2];
	o.anon_mb = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 0;
	o.rate = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 1;
	if (!o.rate)
		die("thrash: MB_PER_S must be positive%s", "");
	snprintf(pressure_path, sizeof(pressure_path), "/dev/null");
	hog_thrash(&sh, 0);
	fprintf(stderr, "oomlat: thrash: %s\n", sh.msg);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "memcg", 1, 0, 'm' }, { "v2", 1, 0, '2' }, { "threshold", 1, 0, 't' },
		{ "cap", 1, 0, 'c' }, { "rate", 1, 0, 'r' }, { "file", 1, 0, 'f' },
		{ "runs", 1, 0, 'n' }, { "gap", 1, 0, 'g' }, { "timeout", 1, 0, 'T' },
		{ "label", 1, 0, 'l' }, { "seconds", 1, 0, 's' }, { 0, 0, 0, 0 },
	};
	double *lat, *lst, sum = 0;
	unsigned i, killed = 0, missed = 0, nst = 0;
	struct shared *sh;
	int c, rc = 0;

	if (argc < 2)
		die("usage: oomlat usage|psi|probe|hog|thrash ... (see the comment at the top of oomlat.c)%s", "");
	o.mode = argv[1];
	if (!strcmp(o.mode, "hog"))
		return hog_only(argc, argv);
	if (!strcmp(o.mode, "thrash"))
		return thrash_only(argc, argv);
	if (strcmp(o.mode, "usage") && strcmp(o.mode, "psi") && strcmp(o.mode, "probe"))
		die("unknown mode %s", o.mode);
	optind = 2;
	while ((c = getopt_long(argc, argv, "m:2:t:c:r:f:n:g:T:l:s:", lo, NULL)) != -1) {
		switch (c) {
		case 'm': o.memcg = optarg; break;
		case '2': o.v2 = optarg; break;
		case 't': o.threshold = strtoull(optarg, NULL, 10); break;
		case 'c': o.cap_mb = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'r': o.rate = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'f': o.file = optarg; break;
		case 'n': o.runs = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'g': o.gap_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'T': o.timeout_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'l': o.label = optarg; break;
		case 's': o.secs = (unsigned)strtoul(optarg, NULL, 10); break;
		default: exit(2);
		}
	}
	if (!o.memcg)
		die("-m MEMCG is required%s", "");
	if (!o.runs || !o.rate || !o.cap_mb || !o.secs)
		die("runs, rate, cap and seconds must be positive%s", "");
	snprintf(usage_path, sizeof(usage_path), "%s/memory.usage_in_bytes", o.memcg);
	if (access(usage_path, R_OK))
		snprintf(usage_path, sizeof(usage_path), "%s/memory.current", o.memcg);
	snprintf(pressure_path, sizeof(pressure_path), "%s/memory.pressure", o.v2 ? o.v2 : o.memcg);
	if (!strcmp(o.mode, "usage")) {
		if (!o.threshold)
			die("usage mode needs -t BYTES%s", "");
		if (read_usage(&(uint64_t){ 0 }))
			die("cannot read %s", usage_path);
	} else {
		if (!o.file)
			die("%s mode needs -f FILE", o.mode);
	}
	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(o.mode, "probe"))
		return probe(sh);

	lat = calloc(o.runs, sizeof(*lat));
	lst = calloc(o.runs, sizeof(*lst));
	if (!lat || !lst)
		die("out of memory%s", "");
	for (i = 0; i < o.runs; i++) {
		struct pollfd pfd = { .events = POLLIN };
		uint64_t t_death, deadline, u = 0, t0;
		siginfo_t si;
		int pr;
		pid_t pid;

		msleep(o.gap_ms);
		if (!strcmp(o.mode, "usage")) {
			/* the previous hog's memory must be gone from the memcg */
			t0 = now_ns();
			while (read_usage(&u) == 0 && u >= o.threshold / 2 &&
			       now_ns() - t0 < 5000000000ull)
				msleep(20);
			if (u >= o.threshold / 2)
				fprintf(stderr, "oomlat: warning: usage still %llu bytes before run %u\n",
					(unsigned long long)u, i + 1);
		} else if (drop_file_cache()) {
			fprintf(stderr, "oomlat: warning: %s stays partly in the page cache before run %u\n",
				o.file, i + 1);
		}
		pid = spawn(sh, 0);
		pfd.fd = pidfd_open(pid);
		if (pfd.fd < 0)
			die("pidfd_open: %s", strerror(errno));
		deadline = now_ns() + o.timeout_ms * 1000000ull;
		for (;;) {
			uint64_t now = now_ns();
			int left = now >= deadline ? 0 : (int)((deadline - now) / 1000000ull) + 1;

			pr = poll(&pfd, 1, left);
			if (pr > 0 || (pr == 0 && now_ns() >= deadline))
				break;
			if (pr < 0 && errno != EINTR)
				die("poll: %s", strerror(errno));
		}
		t_death = now_ns();
		if (pr == 0)
			kill(pid, SIGKILL);
		memset(&si, 0, sizeof(si));
		waitid(P_PID, (id_t)pid, &si, WEXITED);
		close(pfd.fd);
		if (sh->err) {
			fprintf(stderr, "oomlat: run %u: hog: %s\n", i + 1, sh->msg);
			return 2;
		}
		if (pr == 0) {
			missed++;
			printf("run %u missed: alive after %u ms (%llu MiB%s)\n", i + 1, o.timeout_ms,
			       (unsigned long long)sh->mib, sh->t_cross ? ", crossed" : ", never crossed");
			continue;
		}
		if (si.si_code != CLD_KILLED || si.si_status != SIGKILL) {
			missed++;
			printf("run %u: hog ended without SIGKILL (code %d status %d)\n", i + 1,
			       si.si_code, si.si_status);
			continue;
		}
		if (!strcmp(o.mode, "usage")) {
			if (!sh->t_cross) {
				missed++;
				printf("run %u: killed before its usage crossed the threshold (%llu MiB)\n",
				       i + 1, (unsigned long long)sh->mib);
				continue;
			}
			lat[killed] = (t_death - sh->t_cross) / 1e6;
			printf("run %u latency_ms %.2f usage_mib %.1f at_cross_mib %.1f%s\n", i + 1,
			       lat[killed], (double)sh->mib, sh->cross_usage / (double)MIB,
			       sh->t_cap ? " (cap reached first)" : "");
		} else {
			lat[killed] = (t_death - sh->t_start) / 1e6;
			printf("run %u latency_ms %.2f stall_ms %.2f from_stall_ms %.2f passes %llu\n",
			       i + 1, lat[killed],
			       sh->t_cross ? (sh->t_cross - sh->t_start) / 1e6 : -1.0,
			       sh->t_cross ? (t_death - sh->t_cross) / 1e6 : -1.0,
			       (unsigned long long)sh->mib);
			if (sh->t_cross)
				lst[nst++] = (t_death - sh->t_cross) / 1e6;
		}
		sum += lat[killed];
		killed++;
		fflush(stdout);
	}
	if (killed) {
		qsort(lat, killed, sizeof(*lat), cmp_double);
		printf("oomlat: mode=%s label=%s runs=%u killed=%u missed=%u median_ms=%.2f p99_ms=%.2f "
		       "min_ms=%.2f max_ms=%.2f mean_ms=%.2f\n", o.mode, o.label, o.runs, killed, missed,
		       rank(lat, killed, 0.5), rank(lat, killed, 0.99), lat[0], lat[killed - 1],
		       sum / killed);
		if (nst) {
			qsort(lst, nst, sizeof(*lst), cmp_double);
			printf("oomlat: mode=%s label=%s-from-stall runs=%u killed=%u median_ms=%.2f "
			       "p99_ms=%.2f min_ms=%.2f max_ms=%.2f\n", o.mode, o.label, o.runs, nst,
			       rank(lst, nst, 0.5), rank(lst, nst, 0.99), lst[0], lst[nst - 1]);
		}
	} else {
		printf("oomlat: mode=%s label=%s runs=%u killed=0 missed=%u\n", o.mode, o.label, o.runs,
		       missed);
	}
	if (missed)
		rc = 1;
	free(lat);
	free(lst);
	return rc;
}
