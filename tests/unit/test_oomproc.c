/*
 * test_oomproc.c - agent/oomproc.c: the meminfo and PSI parsers and the
 * victim ranking as pure functions; then, against this machine's kernel,
 * memcg readings, candidate collection, pidfd kills (process, process
 * group, cgroup: cgroup.kill and the pidfd loop), the exclude refusal,
 * PSI triggers and the pre-kill hook.
 *
 * The live tests need root, the v1 memory controller at
 * /sys/fs/cgroup/memory and (for cgroup.kill and memory.pressure) the
 * unified hierarchy at /sys/fs/cgroup/unified or /sys/fs/cgroup.  Without
 * them they are skipped loudly, never passed silently.  Every cgroup they
 * make is named vigil-test-oomproc-PID and removed by the suite's fini,
 * failed test or not.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/magic.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "oomproc.h"

#define MiB (1024ull * 1024)

/*
 * Criterion lists skips only with --verbose: say it on stderr too, so an
 * untested path never looks green.
 */
#define LOUD_SKIP(...) do {						\
		char _m[512];						\
		snprintf(_m, sizeof(_m), __VA_ARGS__);			\
		fprintf(stderr, "[SKIP] %s::%s: %s\n",			\
			criterion_current_test->category,		\
			criterion_current_test->name, _m);		\
		cr_skip_test("%s", _m);					\
	} while (0)

TestSuite(oom_parse, .timeout = 10);
TestSuite(oom_rank, .timeout = 10);

/* ---- parsers ---------------------------------------------------------------- */

static const char MEMINFO[] =
	"MemTotal:       16314060 kB\n"
	"MemFree:         8123456 kB\n"
	"MemAvailable:   12000000 kB\n"
	"Buffers:          200000 kB\n"
	"Cached:          3000000 kB\n"
	"SwapCached:            0 kB\n"
	"SwapTotal:       2097148 kB\n"
	"SwapFree:        1048576 kB\n"
	"HugePages_Total:       0\n";

Test(oom_parse, meminfo_fields_are_bytes)
{
	struct oom_meminfo m;

	cr_assert_eq(oom_meminfo_parse(MEMINFO, &m), 0);
	cr_expect_eq(m.total, 16314060ull * 1024);
	cr_expect_eq(m.available, 12000000ull * 1024);
	cr_expect_eq(m.swap_total, 2097148ull * 1024);
	cr_expect_eq(m.swap_free, 1048576ull * 1024);
}

Test(oom_parse, meminfo_without_memavailable_estimates_it_and_without_memtotal_is_refused)
{
	struct oom_meminfo m;

	cr_assert_eq(oom_meminfo_parse("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\n"
				       "Cached: 200 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n", &m), 0);
	cr_expect_eq(m.available, 310ull * 1024);
	cr_expect_eq(m.swap_total, 0);
	cr_expect_eq(oom_meminfo_parse("MemFree: 100 kB\n", &m), -EINVAL);
	cr_expect_eq(oom_meminfo_parse("", &m), -EINVAL);
	cr_expect_eq(oom_meminfo_parse("MemTotal: lots kB\n", &m), -EINVAL);
	/* "MemTotalX" is not MemTotal */
	cr_expect_eq(oom_meminfo_parse("MemTotalX: 5 kB\nMemFree: 1 kB\n", &m), -EINVAL);
}

Test(oom_parse, meminfo_of_this_machine)
{
	struct oom_meminfo m;

	cr_assert_eq(oom_meminfo_read(&m), 0);
	cr_expect_gt(m.total, 0);
	cr_expect_leq(m.available, m.total);
	cr_expect_leq(m.swap_free, m.swap_total);
}

Test(oom_parse, psi_some_and_full)
{
	struct oom_psi p;

	cr_assert_eq(oom_psi_parse("some avg10=12.34 avg60=5.00 avg300=1.00 total=123456789\n"
				   "full avg10=1.50 avg60=0.20 avg300=0.00 total=42\n", &p), 0);
	cr_expect_float_eq(p.some_avg10, 12.34, 1e-9);
	cr_expect_eq(p.some_total_us, 123456789ull);
	cr_expect(p.has_full);
	cr_expect_float_eq(p.full_avg10, 1.50, 1e-9);
	cr_expect_eq(p.full_total_us, 42ull);
}

Test(oom_parse, psi_without_full_and_malformed)
{
	struct oom_psi p;

	memset(&p, 0x5a, sizeof(p));
	cr_assert_eq(oom_psi_parse("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", &p), 0);
	cr_expect(!p.has_full);
	cr_expect_eq(p.full_total_us, 0);
	cr_expect_float_eq(p.full_avg10, 0.0, 1e-12);
	cr_expect_eq(oom_psi_parse("", &p), -EINVAL);
	cr_expect_eq(oom_psi_parse("full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", &p), -EINVAL);
	cr_expect_eq(oom_psi_parse("some avg10=x avg60=0.00 avg300=0.00 total=0\n", &p), -EINVAL);
	cr_expect_eq(oom_psi_parse("some avg10=1.00 avg60=0.00 avg300=0.00\n"
				   "full avg10=1.00 avg60=0.00 avg300=0.00 total=5\n", &p), -EINVAL,
		     "total= of another line must not be taken");
}

Test(oom_parse, psi_of_this_machine)
{
	struct oom_psi p;
	int err = oom_psi_read("/proc/pressure/memory", &p);

	if (err == -ENOENT || err == -EOPNOTSUPP)
		LOUD_SKIP("no PSI on this kernel (/proc/pressure/memory: %s)", strerror(-err));
	cr_assert_eq(err, 0, "%s", strerror(-err));
	cr_expect(p.has_full);
	cr_expect_eq(oom_psi_read("/proc/pressure/does-not-exist", &p), -ENOENT);
}

/* ---- ranking ---------------------------------------------------------------- */

#define LIST(...) \
	((struct strlist){ .v = (char *[]){ __VA_ARGS__ }, \
			   .n = sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *), .set = true })

static struct oom_candidate cand(pid_t pid, const char *comm, uint64_t rss_mib, int adj)
{
	struct oom_candidate c = { .pid = pid, .start_ticks = 100, .pgid = pid,
				   .oom_score_adj = adj, .rss_anon = rss_mib * MiB };

	snprintf(c.comm, sizeof(c.comm), "%s", comm);
	snprintf(c.binary, sizeof(c.binary), "/usr/bin/%s", comm);
	snprintf(c.cgroup, sizeof(c.cgroup), "/batch/%s", comm);
	return c;
}

static struct oom_rank_opts rss_opts(bool adj, uint64_t total)
{
	return (struct oom_rank_opts){ .strategy = OOM_VICTIM_LARGEST_RSS, .oom_score_adj = adj,
				       .total_bytes = total };
}

Test(oom_rank, empty_list_has_no_victim)
{
	struct oom_rank_opts o = rss_opts(true, 1000 * MiB);

	cr_expect_eq(oom_rank(NULL, 0, &o), -1);
}

Test(oom_rank, largest_rss_counts_anon_file_shmem_and_swap)
{
	struct oom_candidate c[3] = { cand(10, "a", 100, 0), cand(11, "b", 0, 0), cand(12, "c", 120, 0) };
	struct oom_rank_opts o = rss_opts(false, 0);

	/* b: 40 + 30 + 20 + 40 = 130 MiB, more than c's 120 of anon alone */
	c[1].rss_anon = 40 * MiB;
	c[1].rss_file = 30 * MiB;
	c[1].rss_shmem = 20 * MiB;
	c[1].swap = 40 * MiB;
	cr_expect_eq(oom_rank(c, 3, &o), 1);
	cr_expect_float_eq(c[1].score, (double)(130 * MiB), 1);
	cr_expect_float_eq(c[0].score, (double)(100 * MiB), 1);
	for (int i = 0; i < 3; i++)
		cr_expect_eq(c[i].tier, 1);
}

Test(oom_rank, adj_minus_1000_is_never_chosen)
{
	struct oom_candidate c[2] = { cand(10, "huge", 5000, -1000), cand(11, "small", 1, 0) };
	struct oom_rank_opts o = rss_opts(true, 1000 * MiB);

	cr_expect_eq(oom_rank(c, 2, &o), 1);
	cr_expect_eq(c[0].tier, -1);
	/* not even with the weighting off, or with a preference for it */
	o.oom_score_adj = false;
	cr_expect_eq(oom_rank(c, 2, &o), 1);
	c[1].oom_score_adj = -1000;
	cr_expect_eq(oom_rank(c, 2, &o), -1, "only unkillable processes: no victim");
	cr_expect_eq(c[1].tier, -1);
}

Test(oom_rank, adj_scales_with_total_bytes)
{
	/* a: 500 MiB, adj 0 -> 500; b: 200 MiB, adj 500 of 1000 MiB -> 700 */
	struct oom_candidate c[2] = { cand(10, "a", 500, 0), cand(11, "b", 200, 500) };
	struct oom_rank_opts o = rss_opts(true, 1000 * MiB);

	cr_expect_eq(oom_rank(c, 2, &o), 1);
	cr_expect_float_eq(c[1].score, 700.0 * MiB, 1);
	o.oom_score_adj = false;
	cr_expect_eq(oom_rank(c, 2, &o), 0, "adj ignored when the option is off");
	/* a negative adj protects: b 600 MiB, adj -500 -> 100 < a's 500 */
	c[1] = cand(11, "b", 600, -500);
	o.oom_score_adj = true;
	cr_expect_eq(oom_rank(c, 2, &o), 0);
	cr_expect_float_eq(c[1].score, 100.0 * MiB, 1);
}

Test(oom_rank, fastest_growth_ranks_by_growth_weighted_by_adj)
{
	struct oom_candidate c[3] = { cand(10, "big", 900, 0), cand(11, "grow", 10, 0),
				      cand(12, "adj", 10, 1000) };
	struct oom_rank_opts o = { .strategy = OOM_VICTIM_FASTEST_GROWTH, .oom_score_adj = true,
				   .total_bytes = 1000 * MiB };

	c[0].growth = 1.0 * MiB;
	c[1].growth = 10.0 * MiB;
	c[2].growth = 6.0 * MiB;	/* times (1 + 1000/1000) = 12 MiB/s */
	cr_expect_eq(oom_rank(c, 3, &o), 2);
	cr_expect_float_eq(c[2].score, 12.0 * MiB, 1);
	o.oom_score_adj = false;
	cr_expect_eq(oom_rank(c, 3, &o), 1);
	cr_expect_float_eq(c[2].score, 6.0 * MiB, 1);
}

Test(oom_rank, fastest_growth_without_growth_data_falls_back_to_rss)
{
	struct oom_candidate c[3] = { cand(10, "a", 100, 0), cand(11, "b", 300, 0), cand(12, "c", 200, 0) };
	struct oom_rank_opts o = { .strategy = OOM_VICTIM_FASTEST_GROWTH, .oom_score_adj = true,
				   .total_bytes = 1000 * MiB };

	cr_expect_eq(oom_rank(c, 3, &o), 1);
	/* the fallback is the largest_rss score, adj included: c 200 + 200 = 400 > b 300 */
	c[2].oom_score_adj = 200;
	cr_expect_eq(oom_rank(c, 3, &o), 2);
	/* equal growth ties fall back the same way */
	for (int i = 0; i < 3; i++)
		c[i].growth = 5.0 * MiB;
	c[2].oom_score_adj = 0;
	cr_expect_eq(oom_rank(c, 3, &o), 1);
}

Test(oom_rank, ties_go_to_larger_rss_then_lower_pid)
{
	/* equal scores: a 300 MiB adj 0; b 200 MiB adj 100 of 1000 MiB: both 300 MiB */
	struct oom_candidate c[3] = { cand(30, "b", 200, 100), cand(20, "a", 300, 0), cand(10, "z", 1, 0) };
	struct oom_rank_opts o = rss_opts(true, 1000 * MiB);

	cr_expect_eq(oom_rank(c, 3, &o), 1, "equal score: the larger rss");
	cr_expect_float_eq(c[0].score, c[1].score, 0);
	/* all equal: the lower pid, wherever it sits in the array */
	struct oom_candidate d[3] = { cand(30, "x", 50, 0), cand(12, "y", 50, 0), cand(20, "z", 50, 0) };

	cr_expect_eq(oom_rank(d, 3, &o), 1);
}

Test(oom_rank, prefer_beats_size_and_avoid_is_last_resort)
{
	struct oom_candidate c[3] = { cand(10, "db", 4000, 0), cand(11, "batch", 10, 0),
				      cand(12, "web", 500, 0) };
	struct selector prefer = { .comms = LIST("batch") };
	struct selector avoid = { .binaries = LIST("/usr/bin/db") };
	struct oom_rank_opts o = rss_opts(true, 8000 * MiB);

	o.prefer = &prefer;
	cr_expect_eq(oom_rank(c, 3, &o), 1);
	cr_expect_eq(c[1].tier, 0);
	cr_expect_eq(c[0].tier, 1);
	o.prefer = NULL;
	o.avoid = &avoid;
	cr_expect_eq(oom_rank(c, 3, &o), 2, "the avoided db, though largest, is spared");
	cr_expect_eq(c[0].tier, 2);
	/* nothing else left: the avoided one is still chosen */
	c[1].oom_score_adj = -1000;
	c[2].oom_score_adj = -1000;
	cr_expect_eq(oom_rank(c, 3, &o), 0);
}

Test(oom_rank, prefer_and_avoid_on_the_same_process_avoid_wins)
{
	struct oom_candidate c[2] = { cand(10, "both", 4000, 0), cand(11, "other", 10, 0) };
	struct selector prefer = { .comms = LIST("both") };
	struct selector avoid = { .cgroups = LIST("/batch/b*") };
	struct oom_rank_opts o = rss_opts(false, 0);

	o.prefer = &prefer;
	o.avoid = &avoid;
	cr_expect_eq(oom_rank(c, 2, &o), 1);
	cr_expect_eq(c[0].tier, 2);
	cr_expect_eq(c[1].tier, 1);
}

struct subj_ctx {
	int calls;
};

/* The container id by pid; binary left NULL (filled from the candidate); cgroup overridden for pid 11. */
static void subject_cb(void *ctx, const struct oom_candidate *c, struct sel_subject *x)
{
	((struct subj_ctx *)ctx)->calls++;
	x->in_container = c->pid != 12;
	x->container_id = c->pid == 10 ? "4f2a9c0d1e3b5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
				       : "97c3a7b1b1526c2c23f3f2f38251e57daf8c7f5041a869b5fa2ae2c9ac89736f";
	if (c->pid == 11)
		x->cgroup = "/kubepods/pod1/x";
	x->comm = "";	/* empty: the candidate's comm is used */
}

Test(oom_rank, subject_callback_fills_first_and_the_candidate_completes_it)
{
	struct oom_candidate c[3] = { cand(10, "a", 10, 0), cand(11, "b", 20, 0), cand(12, "c", 30, 0) };
	struct selector prefer = { .container_ids = LIST("4f2a9c0d1e3b"), .binaries = LIST("/usr/bin/a") };
	struct selector avoid = { .cgroups = LIST("/kubepods/*") };
	struct subj_ctx ctx = { 0 };
	struct oom_rank_opts o = rss_opts(false, 0);

	o.prefer = &prefer;
	o.avoid = &avoid;
	o.subject = subject_cb;
	o.ctx = &ctx;
	cr_expect_eq(oom_rank(c, 3, &o), 0, "pid 10: its container (callback) and binary (candidate)");
	cr_expect_eq(c[0].tier, 0);
	cr_expect_eq(c[1].tier, 2, "the callback's cgroup replaces the candidate's");
	cr_expect_eq(c[2].tier, 1);
	cr_expect_geq(ctx.calls, 3);
	/* a scope: containers selector sees in_container from the callback */
	struct selector host_only = { .scope = SEL_SCOPE_HOST, .comms = LIST("c", "b") };

	o.prefer = &host_only;
	o.avoid = NULL;
	cr_expect_eq(oom_rank(c, 3, &o), 2);
	cr_expect_eq(c[1].tier, 1);
}

/* ---- live: helpers -------------------------------------------------------------- */

#define V1_MOUNT "/sys/fs/cgroup/memory"

static char v1_rel[128], v1_dir[256], v2_mount[64], v2_dir[256];
static bool made_v1, made_v2;
static pid_t kids[32];
static int n_kids;

static bool is_fs(const char *path, long magic)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && sf.f_type == magic;
}

static void write_file(const char *dir, const char *name, const char *val)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, val, strlen(val)), (ssize_t)strlen(val), "write %s to %s: %s", val,
		     path, strerror(errno));
	close(fd);
}

static void need_root(void)
{
	if (geteuid() != 0)
		LOUD_SKIP("not root: the live OOM tests make memory cgroups and kill processes; "
			  "run the unit tests as root");
}

/* The test's own v1 memcg, with a limit, and (with sub) a child cgroup "sub". */
static void need_v1(uint64_t limit, bool sub)
{
	char buf[64];

	need_root();
	if (!is_fs(V1_MOUNT, CGROUP_SUPER_MAGIC) || access(V1_MOUNT "/memory.limit_in_bytes", F_OK))
		LOUD_SKIP("no cgroup v1 memory controller at " V1_MOUNT);
	snprintf(v1_rel, sizeof(v1_rel), "/vigil-test-oomproc-%d", (int)getpid());
	snprintf(v1_dir, sizeof(v1_dir), V1_MOUNT "%s", v1_rel);
	cr_assert_eq(mkdir(v1_dir, 0755), 0, "mkdir %s: %s", v1_dir, strerror(errno));
	made_v1 = true;
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)limit);
	write_file(v1_dir, "memory.limit_in_bytes", buf);
	if (sub) {
		char s[300];

		snprintf(s, sizeof(s), "%s/sub", v1_dir);
		cr_assert_eq(mkdir(s, 0755), 0, "mkdir %s: %s", s, strerror(errno));
	}
}

/* A v2 cgroup with cgroup.kill (and "sub" below it). */
static void need_v2(bool sub)
{
	char path[300];

	need_root();
	if (is_fs("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC))
		snprintf(v2_mount, sizeof(v2_mount), "/sys/fs/cgroup/unified");
	else if (is_fs("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC))
		snprintf(v2_mount, sizeof(v2_mount), "/sys/fs/cgroup");
	else
		LOUD_SKIP("no cgroup v2 hierarchy at /sys/fs/cgroup/unified or /sys/fs/cgroup");
	snprintf(v2_dir, sizeof(v2_dir), "%s/vigil-test-oomproc-%d", v2_mount, (int)getpid());
	cr_assert_eq(mkdir(v2_dir, 0755), 0, "mkdir %s: %s", v2_dir, strerror(errno));
	made_v2 = true;
	snprintf(path, sizeof(path), "%s/cgroup.kill", v2_dir);
	if (access(path, F_OK))
		LOUD_SKIP("%s: no cgroup.kill (kernel before 5.14)", v2_dir);
	if (sub) {
		snprintf(path, sizeof(path), "%s/sub", v2_dir);
		cr_assert_eq(mkdir(path, 0755), 0, "mkdir %s: %s", path, strerror(errno));
	}
}

static void child_join(const char *dir)
{
	char path[512], buf[32];
	int fd, n;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	n = snprintf(buf, sizeof(buf), "%d", (int)getpid());
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, buf, (size_t)n) != n)
		_exit(90);
	close(fd);
}

struct kid_opts {
	const char *v1;		/* cgroup directory to join, or NULL */
	const char *v2;
	pid_t pgid;		/* -1: keep the test's group; 0: a new one; else join it */
	size_t touch_mib;
	int adj;
	const char *name;	/* comm, or NULL */
	bool forker;		/* keep forking children that sleep */
};

/*
 * A child that joins its cgroups, then touches memory, then says it is
 * ready and sleeps.  Returns its pid once ready.
 */
static pid_t kid(const struct kid_opts *o)
{
	int p[2];
	char c;
	pid_t pid;
	struct pollfd pfd;

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(p[0]);
		if (o->pgid >= 0 && setpgid(0, o->pgid))
			_exit(91);
		if (o->v1)
			child_join(o->v1);
		if (o->v2)
			child_join(o->v2);
		if (o->name)
			prctl(PR_SET_NAME, o->name);
		if (o->adj) {
			char b[16];
			int fd = open("/proc/self/oom_score_adj", O_WRONLY), n;

			n = snprintf(b, sizeof(b), "%d", o->adj);
			if (fd < 0 || write(fd, b, (size_t)n) != n)
				_exit(92);
			close(fd);
		}
		if (o->touch_mib) {
			size_t len = o->touch_mib * MiB;
			char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (m == MAP_FAILED)
				_exit(93);
			memset(m, 0x5a, len);
		}
		if (write(p[1], "r", 1) != 1)
			_exit(94);
		for (;;) {
			if (o->forker && fork() == 0) {
				for (;;)
					pause();
			}
			if (o->forker)
				usleep(2000);
			else
				pause();
		}
	}
	close(p[1]);
	if (o->pgid >= 0)
		setpgid(pid, o->pgid ? o->pgid : pid);	/* either side may win the race */
	cr_assert_lt(n_kids, 32);
	kids[n_kids++] = pid;
	pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
	cr_assert_eq(poll(&pfd, 1, 5000), 1, "child %d did not get ready", (int)pid);
	cr_assert_eq(read(p[0], &c, 1), 1, "child %d died before it was ready", (int)pid);
	close(p[0]);
	return pid;
}

/* Our child: alive (1), killed by SIGKILL and reaped (0), or something else (-1). */
static int kid_state(pid_t pid, int wait_ms)
{
	int st;

	for (int i = 0; i <= wait_ms; i += 5) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid) {
			for (int k = 0; k < n_kids; k++)
				if (kids[k] == pid)
					kids[k] = 0;
			return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? 0 : -1;
		}
		if (r < 0)
			return -1;
		if (wait_ms)
			usleep(5000);
	}
	return 1;
}

static bool dead_soon(pid_t pid)
{
	return kid_state(pid, 3000) == 0;
}

static bool alive(pid_t pid)
{
	return kid_state(pid, 0) == 1;
}

static struct oom_candidate *find(struct oom_candidate *c, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (c[i].pid == pid)
			return &c[i];
	return NULL;
}

static struct oom_candidate victim_of(pid_t pid)
{
	struct oom_candidate *c = NULL, *f, v;
	size_t n = 0;
	int err = oom_candidates_collect(NULL, NULL, NULL, 0, &c, &n);

	cr_assert_eq(err, 0, "collect: %s", strerror(-err));
	f = find(c, n, pid);
	cr_assert_not_null(f, "pid %d not collected", (int)pid);
	v = *f;
	free(c);
	return v;
}

static size_t procs_in(const char *dir)
{
	char path[512], line[64];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

static void kill_procs_in(const char *dir)
{
	char path[512];
	long pid;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fscanf(f, "%ld", &pid) == 1)
		if (pid > 1 && pid != getpid())
			kill((pid_t)pid, SIGKILL);
	fclose(f);
}

static int empty_dir(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag == FTW_DP) {
		kill_procs_in(path);
		for (int i = 0; i < 200 && procs_in(path); i++) {
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
			kill_procs_in(path);
			usleep(10000);
		}
		if (rmdir(path))
			fprintf(stderr, "test_oomproc: cleanup: rmdir %s: %s\n", path, strerror(errno));
	}
	return 0;
}

static void cleanup(void)
{
	for (int i = 0; i < n_kids; i++)
		if (kids[i] > 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
		}
	n_kids = 0;
	if (made_v2)
		nftw(v2_dir, empty_dir, 8, FTW_DEPTH | FTW_PHYS);
	if (made_v1)
		nftw(v1_dir, empty_dir, 8, FTW_DEPTH | FTW_PHYS);
	made_v1 = made_v2 = false;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

TestSuite(oom_live, .fini = cleanup, .timeout = 30);

/* ---- live: readings and candidates ------------------------------------------------ */

Test(oom_live, memcg_read_v1)
{
	struct oom_memcg_stat s;
	char sub[300];
	int err;

	need_v1(256 * MiB, true);
	kid(&(struct kid_opts){ .v1 = v1_dir, .pgid = -1, .touch_mib = 32 });
	err = oom_memcg_read(v1_dir, true, &s);
	cr_assert_eq(err, 0, "%s", strerror(-err));
	cr_expect_geq(s.usage, 32 * MiB, "usage %llu", (unsigned long long)s.usage);
	cr_expect_eq(s.limit, 256 * MiB);
	cr_expect(!s.under_oom);
	cr_expect(!s.oom_kill_disable);
	cr_expect_eq(s.oom_kill, 0);
	cr_expect_eq(s.oom, 0);
	/* unlimited below: UINT64_MAX, not 9223372036854771712 */
	snprintf(sub, sizeof(sub), "%s/sub", v1_dir);
	cr_assert_eq(oom_memcg_read(sub, true, &s), 0);
	cr_expect_eq(s.limit, UINT64_MAX, "limit %llu", (unsigned long long)s.limit);
	cr_expect_eq(s.swap_limit, UINT64_MAX);
	cr_expect_eq(s.usage, 0);
	/* gone: -ENOENT, and *out untouched */
	cr_assert_eq(rmdir(sub), 0);
	memset(&s, 0x5a, sizeof(s));
	cr_expect_eq(oom_memcg_read(sub, true, &s), -ENOENT);
	cr_expect_eq(s.usage, 0x5a5a5a5a5a5a5a5aull);
}

Test(oom_live, memcg_read_v1_swap_limit)
{
	struct oom_memcg_stat s;

	need_v1(256 * MiB, false);
	if (access(V1_MOUNT "/memory.memsw.limit_in_bytes", F_OK))
		LOUD_SKIP("no swap accounting (memory.memsw.*) on this kernel");
	write_file(v1_dir, "memory.memsw.limit_in_bytes", "402653184");	/* 384 MiB */
	cr_assert_eq(oom_memcg_read(v1_dir, true, &s), 0);
	cr_expect_eq(s.limit, 256 * MiB);
	cr_expect_eq(s.swap_limit, 128 * MiB);
	cr_expect_eq(s.swap_usage, 0);
}

Test(oom_live, memcg_read_v2_without_the_memory_controller)
{
	struct oom_memcg_stat s;

	need_v2(false);
	if (!access("/sys/fs/cgroup/unified/cgroup.controllers", F_OK)) {
		char ctl[256] = "";
		FILE *f = fopen("/sys/fs/cgroup/unified/cgroup.controllers", "re");

		if (f) {
			if (!fgets(ctl, sizeof(ctl), f))
				ctl[0] = 0;
			fclose(f);
		}
		if (strstr(ctl, "memory"))
			LOUD_SKIP("the unified hierarchy has the memory controller here");
	}
	cr_expect_eq(oom_memcg_read(v2_dir, false, &s), -EOPNOTSUPP);
	cr_expect_eq(oom_memcg_read("/sys/fs/cgroup/unified/vigil-test-oomproc-none", false, &s), -ENOENT);
}

Test(oom_live, collect_finds_the_child_with_its_memory)
{
	struct oom_candidate *c = NULL, *k;
	size_t n = 0;
	char exe[256];
	ssize_t el;
	pid_t a, b, self = getpid();
	int err;

	need_v1(256 * MiB, true);
	a = kid(&(struct kid_opts){ .v1 = v1_dir, .pgid = 0, .touch_mib = 48, .adj = 300,
				    .name = "vigil-kid" });
	char sub[300];

	snprintf(sub, sizeof(sub), "%s/sub", v1_dir);
	/* a comm that trips naive /proc/PID/stat parsing */
	b = kid(&(struct kid_opts){ .v1 = sub, .pgid = -1, .touch_mib = 1, .name = "a) 1 2 (x" });
	err = oom_candidates_collect(V1_MOUNT, v1_rel, &self, 1, &c, &n);
	cr_assert_eq(err, 0, "%s", strerror(-err));
	cr_assert_eq(n, 2, "%zu candidates", n);
	k = find(c, n, a);
	cr_assert_not_null(k);
	cr_expect_geq(k->rss_anon, 48 * MiB, "rss_anon %llu", (unsigned long long)k->rss_anon);
	cr_expect_eq(k->oom_score_adj, 300);
	cr_expect_eq(k->pgid, a);
	cr_expect_gt(k->start_ticks, 0);
	cr_expect_str_eq(k->comm, "vigil-kid");
	cr_expect_str_eq(k->cgroup, v1_rel);
	el = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	cr_assert_gt(el, 0);
	exe[el] = 0;
	cr_expect_str_eq(k->binary, exe);
	cr_expect_float_eq(k->growth, 0.0, 0);
	k = find(c, n, b);
	cr_assert_not_null(k);
	cr_expect_str_eq(k->comm, "a) 1 2 (x");
	cr_expect_eq(k->pgid, getpgid(0), "pgid %d: the comm confused the stat parser", (int)k->pgid);
	cr_expect_str_eq(k->cgroup, strcat(strcpy((char[160]){ 0 }, v1_rel), "/sub"));

	/* refresh: the same process again; a wrong start time is -ESRCH and leaves it alone */
	struct oom_candidate r = *find(c, n, a), bad;

	r.rss_anon = 0;
	r.growth = 7;
	cr_expect_eq(oom_candidate_refresh(&r), 0);
	cr_expect_geq(r.rss_anon, 48 * MiB);
	cr_expect_float_eq(r.growth, 7.0, 0);
	bad = r;
	bad.start_ticks++;
	cr_expect_eq(oom_candidate_refresh(&bad), -ESRCH);
	cr_expect_eq(bad.start_ticks, r.start_ticks + 1);
	free(c);

	/* excluded pids are left out; an empty result is NULL */
	pid_t ex[3] = { self, a, b };

	c = (void *)1;
	cr_assert_eq(oom_candidates_collect(V1_MOUNT, v1_rel, ex, 3, &c, &n), 0);
	cr_expect_eq(n, 0);
	cr_expect_null(c);
	cr_expect_eq(oom_candidates_collect(V1_MOUNT, "/vigil-test-oomproc-none", NULL, 0, &c, &n),
		     -ENOENT);
}

Test(oom_live, collect_node_wide_leaves_out_init_and_kernel_threads)
{
	struct oom_candidate *c = NULL;
	size_t n = 0;
	int err;

	need_root();
	err = oom_candidates_collect(NULL, NULL, NULL, 0, &c, &n);
	cr_assert_eq(err, 0, "%s", strerror(-err));
	cr_expect_not_null(find(c, n, getpid()));
	cr_expect_null(find(c, n, 1), "pid 1 is never a candidate");
	for (size_t i = 0; i < n; i++) {
		cr_expect_gt(c[i].pid, 1);
		cr_expect_neq(c[i].comm[0], 0);
		cr_expect(strncmp(c[i].comm, "kworker", 7), "kernel thread %d (%s) collected",
			  (int)c[i].pid, c[i].comm);
	}
	free(c);
}

/* ---- live: kills ------------------------------------------------------------------ */

Test(oom_live, kill_process_checks_identity_first)
{
	struct oom_kill_result r;
	struct oom_candidate v, stale;
	pid_t a;

	need_v1(256 * MiB, false);
	a = kid(&(struct kid_opts){ .v1 = v1_dir, .pgid = -1, .touch_mib = 64 });
	v = victim_of(a);
	stale = v;
	stale.start_ticks--;
	cr_expect_eq(oom_kill_process(&stale, &r), -ESRCH);
	cr_expect_eq(r.err, -ESRCH);
	cr_expect_eq(r.signalled, 0);
	cr_expect(alive(a), "a stale start time must not kill");
	cr_expect_eq(oom_kill_process(&v, &r), 0);
	cr_expect_eq(r.err, 0);
	cr_expect_eq(r.signalled, 1);
	cr_expect(dead_soon(a));
	fprintf(stderr, "test_oomproc: process_mrelease after SIGKILL: %s\n",
		r.mreleased ? "freed the memory" : "did not (tolerated)");
	/* gone (reaped): -ESRCH */
	cr_expect_eq(oom_kill_process(&v, &r), -ESRCH);
}

Test(oom_live, kill_pgrp_stays_inside_the_memcg)
{
	struct oom_kill_result r;
	struct oom_candidate v, stale;
	char sub[300];
	pid_t a, b, outside, other, self = getpid();

	need_v1(256 * MiB, true);
	snprintf(sub, sizeof(sub), "%s/sub", v1_dir);
	a = kid(&(struct kid_opts){ .v1 = v1_dir, .pgid = 0 });
	b = kid(&(struct kid_opts){ .v1 = sub, .pgid = a });
	outside = kid(&(struct kid_opts){ .pgid = a });		/* same group, not in the memcg */
	other = kid(&(struct kid_opts){ .v1 = v1_dir, .pgid = 0 });	/* in the memcg, another group */
	v = victim_of(a);
	cr_assert_eq(v.pgid, a);

	/* the victim gone first: nothing else is touched */
	stale = v;
	stale.start_ticks++;
	cr_expect_eq(oom_kill_pgrp(V1_MOUNT, v1_rel, &stale, &self, 1, &r), -ESRCH);
	cr_expect_eq(r.signalled, 0);
	cr_expect(alive(a) && alive(b));

	cr_expect_eq(oom_kill_pgrp(V1_MOUNT, v1_rel, &v, &self, 1, &r), 0);
	cr_expect_eq(r.err, 0);
	cr_expect_eq(r.signalled, 2);
	cr_expect(dead_soon(a));
	cr_expect(dead_soon(b));
	cr_expect(alive(outside), "the group member outside the memcg must survive");
	cr_expect(alive(other), "another group in the memcg must survive");
}

/* What the "agent" child of cgroupns_paths_are_translated saw and did. */
struct ns_report {
	int stage;		/* how far it got: 4 = all done */
	int collect_err, pgrp_err, cgroup_err;
	unsigned int pgrp_signalled, cgroup_signalled;
	char self[256];		/* its own /proc/self/cgroup memory line */
	char cgroup[512];	/* the first kid's cgroup as collected */
};

/*
 * The agent in a private cgroup namespace rooted 3 levels down (v1_dir/ns/deep):
 * /proc/PID/cgroup of the kids reads "/../../work"; the engine must still see
 * v1_rel/work, and its process-group and cgroup kills must find the kids inside.
 */
Test(oom_live, cgroupns_paths_are_translated)
{
	struct ns_report rep;
	char work[300], ns[300], deep[300], wrel[300];
	pid_t a, b, c, agent;
	int p[2], st;

	need_v1(256 * MiB, false);
	snprintf(work, sizeof(work), "%s/work", v1_dir);
	snprintf(ns, sizeof(ns), "%s/ns", v1_dir);
	snprintf(deep, sizeof(deep), "%s/ns/deep", v1_dir);
	snprintf(wrel, sizeof(wrel), "%s/work", v1_rel);
	cr_assert_eq(mkdir(work, 0755), 0);
	cr_assert_eq(mkdir(ns, 0755), 0);
	cr_assert_eq(mkdir(deep, 0755), 0);
	a = kid(&(struct kid_opts){ .v1 = work, .pgid = 0, .touch_mib = 4 });
	b = kid(&(struct kid_opts){ .v1 = work, .pgid = a });
	c = kid(&(struct kid_opts){ .v1 = work, .pgid = 0 });	/* another group: the cgroup kill's */

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	agent = fork();
	cr_assert_geq(agent, 0);
	if (agent == 0) {
		struct oom_candidate *cv = NULL, *va;
		struct oom_kill_result r;
		char buf[4096], *m;
		pid_t self = getpid();
		size_t n = 0;
		int fd;

		memset(&rep, 0, sizeof(rep));
		close(p[0]);
		child_join(deep);
		if (unshare(CLONE_NEWCGROUP))
			_exit(95);
		rep.stage = 1;
		fd = open("/proc/self/cgroup", O_RDONLY);
		if (fd >= 0) {
			ssize_t got = read(fd, buf, sizeof(buf) - 1);

			buf[got > 0 ? got : 0] = 0;
			close(fd);
			if ((m = strstr(buf, ":memory:")))
				snprintf(rep.self, sizeof(rep.self), "%.*s", (int)strcspn(m, "\n"), m);
		}
		rep.collect_err = oom_candidates_collect(V1_MOUNT, wrel, &self, 1, &cv, &n);
		va = rep.collect_err ? NULL : find(cv, n, a);
		if (va) {
			rep.stage = 2;
			snprintf(rep.cgroup, sizeof(rep.cgroup), "%s", va->cgroup);
			rep.pgrp_err = oom_kill_pgrp(V1_MOUNT, wrel, va, &self, 1, &r);
			rep.pgrp_signalled = r.signalled;
			rep.stage = 3;
			rep.cgroup_err = oom_kill_cgroup(V1_MOUNT, wrel, NULL, &self, 1, &r);
			rep.cgroup_signalled = r.signalled;
			rep.stage = 4;
		}
		free(cv);
		_exit(write(p[1], &rep, sizeof(rep)) == (ssize_t)sizeof(rep) ? 0 : 96);
	}
	close(p[1]);
	memset(&rep, 0, sizeof(rep));
	cr_assert_eq(read(p[0], &rep, sizeof(rep)), (ssize_t)sizeof(rep), "the agent child reported nothing");
	close(p[0]);
	cr_assert_eq(waitpid(agent, &st, 0), agent);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "agent child status %d", st);
	cr_expect_str_eq(rep.self, ":memory:/", "the agent is not at its namespace root: %s", rep.self);
	cr_assert_eq(rep.collect_err, 0, "collect: %s", strerror(-rep.collect_err));
	cr_assert_eq(rep.stage, 4, "the first kid was not collected (stage %d)", rep.stage);
	cr_expect_str_eq(rep.cgroup, wrel);
	cr_expect_eq(rep.pgrp_err, 0, "pgrp kill: %s", strerror(-rep.pgrp_err));
	cr_expect_eq(rep.pgrp_signalled, 2);
	cr_expect(dead_soon(a));
	cr_expect(dead_soon(b), "the group-mate inside the memcg must die with the victim");
	cr_expect_eq(rep.cgroup_err, 0, "cgroup kill: %s", strerror(-rep.cgroup_err));
	cr_expect_geq(rep.cgroup_signalled, 1);
	cr_expect(dead_soon(c), "the cgroup kill must reach the other group");
}

Test(oom_live, kill_cgroup_v1_pidfd_loop_catches_forks)
{
	struct oom_kill_result r;
	char sub[300];
	pid_t a, b, self = getpid();
	int err;

	need_v1(256 * MiB, true);
	prctl(PR_SET_CHILD_SUBREAPER, 1);	/* the forker's orphans come back to us for reaping */
	snprintf(sub, sizeof(sub), "%s/sub", v1_dir);
	a = kid(&(struct kid_opts){ .v1 = v1_dir, .pgid = -1, .touch_mib = 8 });
	b = kid(&(struct kid_opts){ .v1 = sub, .pgid = -1, .forker = true });
	usleep(20000);	/* let it fork a few */
	cr_assert_gt(procs_in(sub), 1);
	err = oom_kill_cgroup(V1_MOUNT, v1_rel, NULL, &self, 1, &r);
	cr_expect_eq(err, 0, "%s", strerror(-err));
	cr_expect_eq(r.err, err);
	cr_expect_geq(r.signalled, 3, "signalled %u", r.signalled);
	cr_expect(dead_soon(a));
	cr_expect(dead_soon(b));
	cr_expect_eq(procs_in(v1_dir) + procs_in(sub), 0);
	fprintf(stderr, "test_oomproc: the pidfd loop signalled %u processes\n", r.signalled);
}

Test(oom_live, kill_cgroup_v2_cgroup_kill)
{
	struct oom_kill_result r;
	char sub[300];
	pid_t a, b, self = getpid();
	int err;

	need_v1(256 * MiB, false);
	need_v2(true);
	snprintf(sub, sizeof(sub), "%s/sub", v2_dir);
	a = kid(&(struct kid_opts){ .v1 = v1_dir, .v2 = v2_dir, .pgid = -1 });
	b = kid(&(struct kid_opts){ .v1 = v1_dir, .v2 = sub, .pgid = -1 });
	err = oom_kill_cgroup(V1_MOUNT, v1_rel, v2_dir, &self, 1, &r);
	cr_expect_eq(err, 0, "%s", strerror(-err));
	cr_expect_eq(r.signalled, 2);
	cr_expect(dead_soon(a));
	cr_expect(dead_soon(b));

	/* v2 alone (mount and rel NULL) */
	a = kid(&(struct kid_opts){ .v2 = sub, .pgid = -1 });
	err = oom_kill_cgroup(NULL, NULL, v2_dir, &self, 1, &r);
	cr_expect_eq(err, 0, "%s", strerror(-err));
	cr_expect_eq(r.signalled, 1);
	cr_expect(dead_soon(a));
}

Test(oom_live, kill_cgroup_refuses_when_vigil_is_inside)
{
	struct oom_kill_result r;
	pid_t a, ex[2];

	need_v1(256 * MiB, false);
	need_v2(false);
	a = kid(&(struct kid_opts){ .v1 = v1_dir, .v2 = v2_dir, .pgid = -1 });
	ex[0] = getpid();
	ex[1] = a;	/* stands in for vigil */
	cr_expect_eq(oom_kill_cgroup(V1_MOUNT, v1_rel, NULL, ex, 2, &r), -EPERM);
	cr_expect_eq(r.err, -EPERM);
	cr_expect_eq(oom_kill_cgroup(V1_MOUNT, v1_rel, v2_dir, ex, 2, &r), -EPERM);
	cr_expect_eq(oom_kill_cgroup(NULL, NULL, v2_dir, ex, 2, &r), -EPERM);
	cr_expect_eq(r.signalled, 0);
	cr_expect(alive(a));
	/* never the whole hierarchy; a cgroup that is gone */
	cr_expect_eq(oom_kill_cgroup(V1_MOUNT, "/", NULL, ex, 1, &r), -EINVAL);
	cr_expect_eq(oom_kill_cgroup(NULL, NULL, v2_mount, ex, 1, &r), -EINVAL);
	cr_expect_eq(oom_kill_cgroup(V1_MOUNT, "/vigil-test-oomproc-none", NULL, ex, 1, &r), -ENOENT);
	cr_expect(alive(a));
}

/* ---- live: PSI triggers ----------------------------------------------------------- */

/* Without CAP_SYS_RESOURCE (even as root) the kernel takes only whole 2 s windows. */
static bool have_cap_sys_resource(void)
{
	char line[256];
	unsigned long long eff = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return eff & (1ull << 24);	/* CAP_SYS_RESOURCE */
}

Test(oom_live, psi_trigger_node_and_cgroup)
{
	struct pollfd p;
	char path[300];
	bool cap = have_cap_sys_resource();
	uint64_t w = cap ? 1000000 : 2000000;	/* a window the kernel takes from us */
	int fd, fd2;

	need_root();
	if (access("/proc/pressure/memory", F_OK))
		LOUD_SKIP("no /proc/pressure/memory (PSI off: psi=0 or CONFIG_PSI unset)");
	fprintf(stderr, "test_oomproc: CAP_SYS_RESOURCE %s: PSI windows %s\n", cap ? "held" : "NOT held",
		cap ? "500ms..10s" : "whole 2s multiples only");
	fd = oom_psi_trigger_open("/proc/pressure/memory", OOM_PSI_SOME, 150000, w);
	cr_assert_geq(fd, 0, "%s", strerror(-fd));
	p = (struct pollfd){ .fd = fd, .events = POLLPRI };
	cr_expect_geq(poll(&p, 1, 0), 0);
	cr_expect(!(p.revents & (POLLERR | POLLNVAL)));
	/* one trigger per open file: a second write on it is refused by the kernel, not here */
	fd2 = oom_psi_trigger_open("/proc/pressure/memory", OOM_PSI_FULL, w / 2, w);
	cr_expect_geq(fd2, 0, "%s", strerror(-fd2));
	close(fd2);
	close(fd);
	/* the kernel's limits: window 500ms..10s, 0 < stall <= window; 2 s multiples without the cap */
	fd = oom_psi_trigger_open("/proc/pressure/memory", OOM_PSI_SOME, 150000, 1000000);
	if (cap)
		cr_expect_geq(fd, 0, "a 1 s window with CAP_SYS_RESOURCE: %s", strerror(-fd));
	else
		cr_expect_eq(fd, -EINVAL, "a 1 s window without CAP_SYS_RESOURCE");
	if (fd >= 0)
		close(fd);
	cr_expect_eq(oom_psi_trigger_open("/proc/pressure/memory", OOM_PSI_SOME, 50000, 100000), -EINVAL);
	cr_expect_eq(oom_psi_trigger_open("/proc/pressure/memory", OOM_PSI_SOME, 150000, 20000000),
		     -EINVAL);
	cr_expect_eq(oom_psi_trigger_open("/proc/pressure/memory", OOM_PSI_SOME, 3000000, 2000000),
		     -EINVAL);
	cr_expect_eq(oom_psi_trigger_open("/proc/pressure/memory", OOM_PSI_SOME, 0, w), -EINVAL);
	cr_expect_eq(oom_psi_trigger_open("/proc/pressure/memory", OOM_PSI_SOME, 1, 1ull << 33),
		     -EINVAL);
	/*
	 * The window's last digit matters (the kernel eats the last byte
	 * written): without the NUL, 500000 would be read as 50000 (refused),
	 * 2000000 as 200000 (not a 2 s multiple, refused).
	 */
	fd = oom_psi_trigger_open("/proc/pressure/memory", OOM_PSI_SOME, 100000, cap ? 500000 : 2000000);
	cr_expect_geq(fd, 0, "the window must be read whole: %s", strerror(-fd));
	if (fd >= 0)
		close(fd);
	cr_expect_eq(oom_psi_trigger_open("/proc/pressure/nothing", OOM_PSI_SOME, 1, 1000000), -ENOENT);

	/* a cgroup's memory.pressure; removing the cgroup wakes the poller with POLLERR */
	need_v2(false);
	snprintf(path, sizeof(path), "%s/memory.pressure", v2_dir);
	if (access(path, F_OK))
		LOUD_SKIP("%s missing", path);
	fd = oom_psi_trigger_open(path, OOM_PSI_FULL, 150000, w);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(-fd));
	cr_assert_eq(rmdir(v2_dir), 0, "rmdir %s: %s", v2_dir, strerror(errno));
	made_v2 = false;
	p = (struct pollfd){ .fd = fd, .events = POLLPRI };
	cr_expect_eq(poll(&p, 1, 1000), 1);
	fprintf(stderr, "test_oomproc: PSI trigger on a removed cgroup: revents 0x%x\n", p.revents);
	cr_expect(p.revents & POLLERR, "revents 0x%x", p.revents);
	close(fd);
}

/* ---- the pre-kill hook ------------------------------------------------------------ */

TestSuite(oom_hook, .fini = cleanup, .timeout = 30);

static int hook_run(const char *cmd, char *const envp[])
{
	struct pollfd p;
	pid_t pid;
	int pfd, err, st;

	err = oom_hook_spawn(cmd, envp, &pid, &pfd);
	cr_assert_eq(err, 0, "spawn: %s", strerror(-err));
	p = (struct pollfd){ .fd = pfd, .events = POLLIN };
	cr_assert_eq(poll(&p, 1, 5000), 1, "the hook did not finish: %s", cmd);
	st = oom_hook_reap(pid, pfd);
	cr_assert_geq(st, 0, "reap: %s", strerror(-st));
	cr_expect_eq(fcntl(pfd, F_GETFD), FD_CLOEXEC, "the pidfd stays the caller's to close");
	close(pfd);
	cr_assert(WIFEXITED(st), "status 0x%x", st);
	return WEXITSTATUS(st);
}

Test(oom_hook, exit_status_environment_and_fds)
{
	char *env[] = { "VIGIL_OOM_TEST=hello there", "VIGIL_OOM_OVR=new", NULL };
	char cmd[512];
	int pp[2];

	cr_expect_eq(hook_run("exit 3", NULL), 3);
	setenv("VIGIL_OOM_OVR", "old", 1);
	setenv("VIGIL_OOM_KEEP", "kept", 1);
	cr_expect_eq(hook_run("[ \"$VIGIL_OOM_TEST\" = 'hello there' ] && [ \"$VIGIL_OOM_OVR\" = new ] "
			      "&& [ \"$VIGIL_OOM_KEEP\" = kept ] && [ $(env | grep -c ^VIGIL_OOM_OVR=) = 1 ]",
			      env), 0, "environment");
	/* stdin /dev/null, stdout = stderr, its own process group, no inherited fds */
	cr_assert_eq(pipe(pp), 0);
	snprintf(cmd, sizeof(cmd),
		 "[ \"$(readlink /proc/$$/fd/0)\" = /dev/null ] || exit 10; "
		 "[ \"$(readlink /proc/$$/fd/1)\" = \"$(readlink /proc/$$/fd/2)\" ] || exit 11; "
		 "[ \"$(cut -d' ' -f5 /proc/$$/stat)\" = $$ ] || exit 12; "
		 "[ ! -e /proc/$$/fd/%d ] && [ ! -e /proc/$$/fd/%d ] || exit 13", pp[0], pp[1]);
	cr_expect_eq(hook_run(cmd, NULL), 0);
	close(pp[0]);
	close(pp[1]);
	cr_expect_eq(hook_run("exec 2>/dev/null; /nonexistent/hook", NULL), 127);
}

Test(oom_hook, timeout_kills_the_whole_group)
{
	char file[64], buf[32] = "";
	pid_t pid, gc = 0;
	int pfd, err, st;

	prctl(PR_SET_CHILD_SUBREAPER, 1);	/* the hook's orphaned child comes back to us */
	snprintf(file, sizeof(file), "/tmp/vigil-test-oomproc-%d.pid", (int)getpid());
	unlink(file);
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "sleep 60 & echo $! > %s.tmp; mv %s.tmp %s; wait", file, file, file);
	err = oom_hook_spawn(cmd, NULL, &pid, &pfd);
	cr_assert_eq(err, 0, "%s", strerror(-err));
	for (int i = 0; i < 400 && !gc; i++) {
		FILE *f = fopen(file, "re");

		if (f) {
			if (fgets(buf, sizeof(buf), f))
				gc = (pid_t)atoi(buf);
			fclose(f);
		}
		if (!gc)
			usleep(5000);
	}
	unlink(file);
	cr_assert_gt(gc, 0, "the hook never started its child");
	cr_expect_eq(getpgid(gc), pid, "the hook's child is in the hook's group");
	st = oom_hook_kill(pid, pfd);
	close(pfd);
	cr_assert_geq(st, 0, "%s", strerror(-st));
	cr_expect(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status 0x%x", st);
	/* the orphan is ours now (subreaper): it must die of SIGKILL too */
	kids[n_kids++] = gc;
	cr_expect(dead_soon(gc), "the hook's child survived the timeout kill");
}
