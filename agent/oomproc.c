/*
 * oomproc.c - the OOM engine's readings and actions outside BPF (see
 * oomproc.h): memcg and PSI files, the processes of a memcg, the victim
 * ranking, pidfd kills and the pre-kill hook.
 *
 * Per-process reads go through one /proc/PID directory fd: every file read
 * through it belongs to the same process (a reused pid gets a new /proc
 * inode), and a process that exits mid-read fails the read with ESRCH or
 * ENOENT, which the callers turn into "skip it".  Kills open a pidfd first
 * and check the identity (start time, process group, cgroup) afterwards: a
 * pid number is only handed out again after its previous owner is gone, so
 * an identity that still matches after the pidfd exists is the process the
 * pidfd refers to.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgns.h"
#include "clock.h"
#include "oomproc.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_process_mrelease
#define SYS_process_mrelease 448
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define PF_KTHREAD_FLAG 0x00200000u
#define PF_EXITING_FLAG 0x00000004u
/* v1 reports "no limit" as PAGE_COUNTER_MAX pages (9223372036854771712 on 4 KiB pages). */
#define V1_UNLIMITED (1ULL << 62)
#define KILL_ROUNDS 50
#define KILL_ROUND_SLEEP_NS 10000000L	/* 10 ms */

extern char **environ;

static int sys_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int sys_pidfd_kill(int pidfd)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
}

static int sys_mrelease(int pidfd)
{
	return (int)syscall(SYS_process_mrelease, pidfd, 0);
}

/* ------------------------------------------------------------ file helpers */

/* Read all of dirfd/name (or name alone with AT_FDCWD) into buf, NUL-terminated.  Bytes or -errno. */
static ssize_t read_small_at(int dirfd, const char *name, char *buf, size_t len)
{
	size_t got = 0;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (got + 1 < len) {
		ssize_t r = read(fd, buf + got, len - 1 - got);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			close(fd);
			return r;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	buf[got] = 0;
	return (ssize_t)got;
}

/* Read a whole file of any size (cgroup.procs).  *out is malloc'd and NUL-terminated. */
static int read_all_at(int dirfd, const char *name, char **out, size_t *outlen)
{
	size_t cap = 4096, got = 0;
	char *buf = malloc(cap);
	int fd;

	if (!buf)
		return -ENOMEM;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = -errno;

		free(buf);
		return e;
	}
	for (;;) {
		ssize_t r;

		if (got + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + got, cap - 1 - got);
		if (r < 0) {
			int e = -errno;

			if (errno == EINTR)
				continue;
			free(buf);
			close(fd);
			return e;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	buf[got] = 0;
	*out = buf;
	if (outlen)
		*outlen = got;
	return 0;
}

/* A removed cgroup's files fail with ENODEV (open fd) or ENOENT (lookup). */
static int gone_errno(int e)
{
	return e == -ENODEV ? -ENOENT : e;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;
	unsigned long long x;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!strncmp(s, "max", 3) && (!s[3] || isspace((unsigned char)s[3]))) {
		*v = UINT64_MAX;
		return 0;
	}
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || (*end && !isspace((unsigned char)*end)))
		return -EINVAL;
	*v = x;
	return 0;
}

/* "key value" lines (memory.events, memory.oom_control): the value of key, or -ENOENT. */
static int keyed_u64(const char *text, const char *key, uint64_t *v)
{
	size_t kl = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, key, kl) && (p[kl] == ' ' || p[kl] == '\t'))
			return parse_u64(p + kl, v);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -ENOENT;
}

/* ------------------------------------------------------------ memcg */

/*
 * One counter file.  Missing optional files leave *v alone; a missing
 * required one is -EOPNOTSUPP while the cgroup itself still exists (no
 * memory controller there), -ENOENT once it is gone.
 */
static int memcg_file(int dfd, const char *name, bool required, uint64_t *v, char *text,
		      size_t textlen)
{
	char buf[256], *b = text ? text : buf;
	size_t bl = text ? textlen : sizeof(buf);
	ssize_t r = read_small_at(dfd, name, b, bl);

	if (r < 0) {
		r = gone_errno((int)r);
		if (r != -ENOENT)
			return (int)r;
		/* the file is missing: is the cgroup? */
		if (faccessat(dfd, "cgroup.procs", F_OK, 0) < 0)
			return -ENOENT;
		return required ? -EOPNOTSUPP : 1;
	}
	if (v && parse_u64(b, v) < 0)
		return -EIO;
	return 0;
}

int oom_memcg_read(const char *dir, bool v1, struct oom_memcg_stat *out)
{
	struct oom_memcg_stat s = { .limit = UINT64_MAX, .swap_limit = UINT64_MAX };
	char text[512];
	uint64_t x;
	int dfd, err;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT || errno == ENODEV ? -ENOENT : -errno;
	if (v1) {
		uint64_t memsw = 0, memsw_limit = UINT64_MAX;
		bool has_memsw;

		err = memcg_file(dfd, "memory.usage_in_bytes", true, &s.usage, NULL, 0);
		if (err < 0)
			goto out;
		err = memcg_file(dfd, "memory.limit_in_bytes", false, &s.limit, NULL, 0);
		if (err < 0)
			goto out;
		if (s.limit >= V1_UNLIMITED)
			s.limit = UINT64_MAX;
		err = memcg_file(dfd, "memory.memsw.usage_in_bytes", false, &memsw, NULL, 0);
		if (err < 0)
			goto out;
		has_memsw = err == 0;
		err = memcg_file(dfd, "memory.memsw.limit_in_bytes", false, &memsw_limit, NULL, 0);
		if (err < 0)
			goto out;
		if (has_memsw)
			s.swap_usage = memsw > s.usage ? memsw - s.usage : 0;
		if (memsw_limit >= V1_UNLIMITED || s.limit == UINT64_MAX)
			s.swap_limit = UINT64_MAX;
		else
			s.swap_limit = memsw_limit > s.limit ? memsw_limit - s.limit : 0;
		err = memcg_file(dfd, "memory.oom_control", false, NULL, text, sizeof(text));
		if (err < 0)
			goto out;
		if (err == 0) {
			if (!keyed_u64(text, "oom_kill_disable", &x))
				s.oom_kill_disable = x != 0;
			if (!keyed_u64(text, "under_oom", &x))
				s.under_oom = x != 0;
			if (!keyed_u64(text, "oom_kill", &x))
				s.oom_kill = x;
		}
	} else {
		err = memcg_file(dfd, "memory.current", true, &s.usage, NULL, 0);
		if (err < 0)
			goto out;
		err = memcg_file(dfd, "memory.max", false, &s.limit, NULL, 0);
		if (err < 0)
			goto out;
		err = memcg_file(dfd, "memory.swap.current", false, &s.swap_usage, NULL, 0);
		if (err < 0)
			goto out;
		err = memcg_file(dfd, "memory.swap.max", false, &s.swap_limit, NULL, 0);
		if (err < 0)
			goto out;
		err = memcg_file(dfd, "memory.events", false, NULL, text, sizeof(text));
		if (err < 0)
			goto out;
		if (err == 0) {
			if (!keyed_u64(text, "oom", &x))
				s.oom = x;
			if (!keyed_u64(text, "oom_kill", &x))
				s.oom_kill = x;
		}
	}
	/* Everything read: was it one live cgroup all along? */
	if (faccessat(dfd, "cgroup.procs", F_OK, 0) < 0) {
		err = -ENOENT;
		goto out;
	}
	err = 0;
	*out = s;
out:
	close(dfd);
	return err;
}

/* ------------------------------------------------------------ meminfo, PSI */

static bool meminfo_field(const char *text, const char *key, uint64_t *bytes)
{
	size_t kl = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, key, kl) && p[kl] == ':') {
			const char *d = p + kl + 1 + strspn(p + kl + 1, " \t");
			unsigned long long kb;
			char *end;

			if (!isdigit((unsigned char)*d))
				return false;
			errno = 0;
			kb = strtoull(d, &end, 10);
			if (errno || kb > UINT64_MAX / 1024)
				return false;
			*bytes = kb * 1024;
			return true;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return false;
}

int oom_meminfo_parse(const char *text, struct oom_meminfo *out)
{
	struct oom_meminfo m = { 0 };

	if (!text || !meminfo_field(text, "MemTotal", &m.total))
		return -EINVAL;
	if (!meminfo_field(text, "MemAvailable", &m.available)) {
		/* kernels before 3.14: estimate as the kernel did */
		uint64_t fr = 0, ca = 0, bu = 0;

		if (!meminfo_field(text, "MemFree", &fr))
			return -EINVAL;
		meminfo_field(text, "Cached", &ca);
		meminfo_field(text, "Buffers", &bu);
		m.available = fr + ca + bu;
	}
	meminfo_field(text, "SwapTotal", &m.swap_total);
	meminfo_field(text, "SwapFree", &m.swap_free);
	*out = m;
	return 0;
}

int oom_meminfo_read(struct oom_meminfo *out)
{
	char buf[8192];
	ssize_t r = read_small_at(AT_FDCWD, "/proc/meminfo", buf, sizeof(buf));

	if (r < 0)
		return (int)r;
	return oom_meminfo_parse(buf, out);
}

/* "avg10=1.23 avg60=... avg300=... total=N" after the "some"/"full" word. */
static int psi_line(const char *p, double *avg10, uint64_t *total)
{
	const char *a = strstr(p, "avg10="), *t = strstr(p, "total=");
	const char *eol = strchr(p, '\n');
	char *end;

	if (!a || !t || (eol && (a > eol || t > eol)))
		return -EINVAL;
	errno = 0;
	*avg10 = strtod(a + 6, &end);
	if (errno || end == a + 6 || *avg10 < 0)
		return -EINVAL;
	if (!isdigit((unsigned char)t[6]))
		return -EINVAL;
	*total = strtoull(t + 6, &end, 10);
	if (errno)
		return -EINVAL;
	return 0;
}

int oom_psi_parse(const char *text, struct oom_psi *out)
{
	struct oom_psi s = { 0 };
	bool some = false;
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, "some ", 5)) {
			if (psi_line(p + 5, &s.some_avg10, &s.some_total_us) < 0)
				return -EINVAL;
			some = true;
		} else if (!strncmp(p, "full ", 5)) {
			if (psi_line(p + 5, &s.full_avg10, &s.full_total_us) < 0)
				return -EINVAL;
			s.has_full = true;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	if (!some)
		return -EINVAL;
	*out = s;
	return 0;
}

int oom_psi_read(const char *path, struct oom_psi *out)
{
	char buf[512];
	ssize_t r = read_small_at(AT_FDCWD, path, buf, sizeof(buf));

	if (r < 0)
		return gone_errno((int)r);
	return oom_psi_parse(buf, out);
}

int oom_psi_trigger_open(const char *path, enum oom_psi_type type, uint64_t stall_us,
			 uint64_t window_us)
{
	char buf[64];
	int fd, n;

	/* The kernel parses "%u %u": larger values would wrap, not be refused. */
	if (!stall_us || !window_us || stall_us > UINT32_MAX || window_us > UINT32_MAX)
		return -EINVAL;
	n = snprintf(buf, sizeof(buf), "%s %llu %llu", type == OOM_PSI_FULL ? "full" : "some",
		     (unsigned long long)stall_us, (unsigned long long)window_us);
	fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/*
	 * With the NUL: psi_write() overwrites the last byte it copies with a
	 * NUL, so without one the window's last digit would be cut off.
	 */
	if (write(fd, buf, (size_t)n + 1) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

/* ------------------------------------------------------------ processes */

static bool is_excluded(pid_t pid, const pid_t *ex, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ex[i] == pid)
			return true;
	return false;
}

static int proc_dir(pid_t pid)
{
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH ? -ESRCH : -errno;
	return fd;
}

/* A per-process file read failing means the process went away (or never was). */
static int proc_errno(int e)
{
	return e == -ENOENT || e == -ESRCH || e == -ENODEV ? -ESRCH : e;
}

struct pstat {
	char state;
	pid_t pgid;
	unsigned int flags;
	uint64_t start;
	char comm[16];
};

/* /proc/PID/stat: comm may hold spaces and parentheses, so fields count from the last ')'. */
static int read_pstat(int pdfd, struct pstat *s)
{
	char buf[1024], *open_p, *close_p, *p, *end;
	unsigned long long v;
	ssize_t r = read_small_at(pdfd, "stat", buf, sizeof(buf));
	size_t cl;
	int field;

	if (r < 0)
		return proc_errno((int)r);
	open_p = strchr(buf, '(');
	close_p = strrchr(buf, ')');
	if (!open_p || !close_p || close_p < open_p || close_p[1] != ' ')
		return -EIO;
	cl = (size_t)(close_p - open_p - 1);
	if (cl >= sizeof(s->comm))
		cl = sizeof(s->comm) - 1;
	memcpy(s->comm, open_p + 1, cl);
	s->comm[cl] = 0;
	p = close_p + 2;
	s->state = *p;
	/* field 3 is the state; walk to fields 5 (pgrp), 9 (flags), 22 (starttime) */
	for (field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -EIO;
		p++;
		if (field + 1 == 5 || field + 1 == 9 || field + 1 == 22) {
			errno = 0;
			v = strtoull(p, &end, 10);
			if (errno || end == p)
				return -EIO;
			if (field + 1 == 5)
				s->pgid = (pid_t)v;
			else if (field + 1 == 9)
				s->flags = (unsigned int)v;
			else
				s->start = v;
		}
	}
	return 0;
}

/* A SIGKILL queued to the whole process (ShdPnd in /proc/PID/status). */
static bool sigkill_pending(const char *status)
{
	const char *p = strstr(status, "\nShdPnd:");
	unsigned long long mask;

	return p && sscanf(p + 8, "%llx", &mask) == 1 && (mask & (1ull << (SIGKILL - 1)));
}

bool oom_process_alive(pid_t pid, uint64_t start)
{
	struct pstat ps;
	int pdfd = proc_dir(pid), err;

	if (pdfd < 0)
		return false;
	err = read_pstat(pdfd, &ps);
	close(pdfd);
	return !err && ps.start == start && ps.state != 'Z' && ps.state != 'X';
}

/* Which line of /proc/PID/cgroup describes a hierarchy: 1 v1 memory, 2 v2, 0 memory else v2. */
static int hier_kind(const char *mount)
{
	struct statfs sf;

	if (!mount || statfs(mount, &sf) < 0)
		return 0;
	if (sf.f_type == CGROUP2_SUPER_MAGIC)
		return 2;
	if (sf.f_type == CGROUP_SUPER_MAGIC)
		return 1;
	return 0;
}

static bool has_memory_ctrl(const char *ctrls, size_t len)
{
	const char *p = ctrls, *e = ctrls + len;

	while (p < e) {
		const char *c = memchr(p, ',', (size_t)(e - p));
		size_t l = c ? (size_t)(c - p) : (size_t)(e - p);

		if (l == 6 && !memcmp(p, "memory", 6))
			return true;
		p += l + 1;
	}
	return false;
}

/* The process's cgroup path as /proc shows it (relative to the reader's cgroup namespace). */
static int read_pcgroup_raw(int pdfd, int kind, char *out, size_t len)
{
	char buf[8192], *line, *save = NULL;
	const char *v2 = NULL, *mem = NULL;
	ssize_t r = read_small_at(pdfd, "cgroup", buf, sizeof(buf));

	if (r < 0)
		return proc_errno((int)r);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2)
			continue;
		if (c2 == c1 + 1 && !strncmp(line, "0:", 2))
			v2 = c2 + 1;
		else if (has_memory_ctrl(c1 + 1, (size_t)(c2 - c1 - 1)))
			mem = c2 + 1;
	}
	if (kind == 1)
		v2 = NULL;
	else if (kind == 2)
		mem = NULL;
	if (!mem && !v2)
		return -ENOENT;
	snprintf(out, len, "%s", mem ? mem : v2);
	return 0;
}

/* ------------------------------------------------------------ cgroup namespaces */

/*
 * A hierarchy as the kills and candidates see it: which /proc/PID/cgroup
 * line (kind, see hier_kind) and where it is mounted (NULL: unknown, paths
 * are then used as read).
 */
struct hier {
	int kind;
	const char *mount;
};

static int cgroup_dir(const char *mount, const char *nrel, char *out, size_t len);

enum ns_state { NS_UNKNOWN, NS_PLAIN, NS_ROOTED, NS_FAILED };

/* What is known of the agent's cgroup namespace root in one hierarchy (see cgns.h). */
struct ns_view {
	char mount[PATH_MAX];
	int kind;
	enum ns_state state;
	char root[PATH_MAX];	/* NS_ROOTED: the namespace root, relative to the mount */
	dev_t dev;		/* and its directory's identity, to notice it replaced */
	ino_t ino;
	uint64_t checked_ns;	/* last check of root (NS_ROOTED) or failed attempt (NS_FAILED) */
	bool logged;
};

#define NS_VIEWS 4
#define NS_RECHECK_NS 1000000000ull	/* NS_ROOTED: stat the root again after 1 s */
#define NS_RETRY_NS 10000000000ull	/* NS_FAILED: look again after 10 s */

static struct ns_view ns_views[NS_VIEWS];
static unsigned long ns_errors;

unsigned long oom_cgns_take_errors(void)
{
	unsigned long n = ns_errors;

	ns_errors = 0;
	return n;
}

static void ns_fail(struct ns_view *v, const char *why)
{
	v->state = NS_FAILED;
	v->checked_ns = clock_ns(CLOCK_MONOTONIC);
	ns_errors++;
	if (!v->logged) {
		fprintf(stderr, "vigil: oom: the agent runs in a private cgroup namespace and its root "
			"could not be found under %s (%s): cgroup paths of processes are used as "
			"/proc shows them, so cgroup checks before kills may fail; mount the "
			"host's cgroup hierarchy and run the agent with the host's cgroup namespace "
			"(or privileged) to avoid this\n", v->mount, why);
		v->logged = true;
	}
}

/* Work out where the namespace root of v's hierarchy is. */
static void ns_resolve(struct ns_view *v)
{
	char self[PATH_MAX], mroot[PATH_MAX], *mi = NULL;
	struct stat st;
	int err, depth, sfd;

	err = read_all_at(AT_FDCWD, "/proc/self/mountinfo", &mi, NULL);
	if (err < 0) {
		ns_fail(v, "/proc/self/mountinfo is unreadable");
		return;
	}
	err = cgns_mount_root(mi, v->mount, mroot, sizeof(mroot));
	free(mi);
	if (err == -ENOENT) {
		v->state = NS_PLAIN;	/* not a mount point of its own: nothing to go by */
		return;
	}
	if (err < 0) {
		ns_fail(v, "its mountinfo line is unreadable");
		return;
	}
	depth = cgns_root_depth(mroot);
	if (depth == 0 || (depth < 0 && strncmp(mroot, "/..", 3))) {
		/* The mount's root is the namespace root, or below it: paths read are the mount's. */
		v->state = NS_PLAIN;
		return;
	}
	if (depth < 0) {
		ns_fail(v, "the mount is not an ancestor of the namespace root");
		return;
	}
	sfd = proc_dir(getpid());
	err = sfd < 0 ? sfd : read_pcgroup_raw(sfd, v->kind, self, sizeof(self));
	if (sfd >= 0)
		close(sfd);
	if (err < 0) {
		ns_fail(v, "the agent's own /proc/self/cgroup has no line for it");
		return;
	}
	err = cgns_find_root(v->mount, depth, self, getpid(), v->root, sizeof(v->root));
	if (err < 0) {
		ns_fail(v, err == -E2BIG ? "too many cgroups to search" :
			err == -ENOTUNIQ ? "the agent is outside its namespace root, and more than "
					   "one cgroup fits" :
			err == -ENOENT ? "no cgroup at the mount root's depth holds the agent" :
			strerror(-err));
		return;
	}
	if (cgroup_dir(v->mount, v->root, self, sizeof(self)) < 0 || stat(self, &st) < 0) {
		ns_fail(v, "the namespace root vanished");
		return;
	}
	v->dev = st.st_dev;
	v->ino = st.st_ino;
	v->checked_ns = clock_ns(CLOCK_MONOTONIC);
	v->state = NS_ROOTED;
}

static struct ns_view *ns_view_of(const char *mount, int kind)
{
	struct ns_view *v = NULL;
	uint64_t now;

	for (int i = 0; i < NS_VIEWS && !v; i++)
		if (ns_views[i].mount[0] && ns_views[i].kind == kind && !strcmp(ns_views[i].mount, mount))
			v = &ns_views[i];
	if (!v) {
		for (int i = 0; i < NS_VIEWS && !v; i++)
			if (!ns_views[i].mount[0])
				v = &ns_views[i];
		if (!v || strlen(mount) >= sizeof(v->mount))
			return NULL;
		memset(v, 0, sizeof(*v));
		strcpy(v->mount, mount);
		v->kind = kind;
	}
	now = clock_ns(CLOCK_MONOTONIC);
	if (v->state == NS_ROOTED && now - v->checked_ns >= NS_RECHECK_NS) {
		char dir[PATH_MAX];
		struct stat st;

		v->checked_ns = now;
		if (cgroup_dir(v->mount, v->root, dir, sizeof(dir)) < 0 || stat(dir, &st) < 0 ||
		    st.st_dev != v->dev || st.st_ino != v->ino)
			v->state = NS_UNKNOWN;	/* removed or replaced: look again */
	}
	if (v->state == NS_FAILED && now - v->checked_ns >= NS_RETRY_NS)
		v->state = NS_UNKNOWN;
	if (v->state == NS_UNKNOWN)
		ns_resolve(v);
	return v;
}

/*
 * The process's cgroup path in hierarchy h, relative to h's mount (as the
 * rest of vigil uses them) also when the agent runs in a private cgroup
 * namespace.  0, -ESRCH, or -ENOENT (no such line).
 */
static int read_pcgroup(int pdfd, const struct hier *h, char *out, size_t len)
{
	char raw[PATH_MAX];
	struct ns_view *v;
	int err = read_pcgroup_raw(pdfd, h->kind, raw, sizeof(raw));

	if (err < 0)
		return err;
	v = h->mount && h->kind ? ns_view_of(h->mount, h->kind) : NULL;
	/* A path outside the mount (or no root known): as read, which matches nothing under it. */
	if (!v || v->state != NS_ROOTED || cgns_join(v->root, raw, out, len) < 0)
		snprintf(out, len, "%s", raw);
	return 0;
}

/* "a/b/", "/a/b" -> "/a/b"; "", "/" -> "/". */
static void norm_rel(const char *rel, char *out, size_t len)
{
	size_t l;

	while (*rel == '/')
		rel++;
	snprintf(out, len, "/%s", rel);
	l = strlen(out);
	while (l > 1 && out[l - 1] == '/')
		out[--l] = 0;
}

static bool in_subtree(const char *path, const char *rel)
{
	size_t l = strlen(rel);

	if (!strcmp(rel, "/"))
		return true;
	return !strncmp(path, rel, l) && (path[l] == 0 || path[l] == '/');
}

/* ------------------------------------------------------------ pid lists */

struct pidvec {
	pid_t *v;
	size_t n, cap;
};

static int pv_push(struct pidvec *p, pid_t pid)
{
	if (p->n == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 64;
		pid_t *nv = realloc(p->v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		p->v = nv;
		p->cap = nc;
	}
	p->v[p->n++] = pid;
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

static void pv_sort_unique(struct pidvec *p)
{
	size_t i, o = 0;

	if (!p->n)
		return;
	qsort(p->v, p->n, sizeof(*p->v), cmp_pid);
	for (i = 0; i < p->n; i++)
		if (!o || p->v[o - 1] != p->v[i])
			p->v[o++] = p->v[i];
	p->n = o;
}

static bool pv_has(const struct pidvec *p, pid_t pid)
{
	return p->n && bsearch(&pid, p->v, p->n, sizeof(*p->v), cmp_pid);
}

/* cgroup.procs of dfd and every directory below; consumes dfd.  Vanished descendants are skipped. */
static int walk_procs(int dfd, struct pidvec *pv, bool top, int depth)
{
	char *text = NULL, *p, *end;
	DIR *d;
	struct dirent *de;
	int err = read_all_at(dfd, "cgroup.procs", &text, NULL);

	if (err < 0) {
		close(dfd);
		err = gone_errno(err);
		return !top && err == -ENOENT ? 0 : err;
	}
	for (p = text; *p; p = end) {
		long v = strtol(p, &end, 10);

		if (end == p) {
			end = p + 1;
			continue;
		}
		if (v > 0 && (err = pv_push(pv, (pid_t)v)) < 0) {
			free(text);
			close(dfd);
			return err;
		}
	}
	free(text);
	if (depth > 128) {	/* bounds the recursion and the fds it holds open */
		close(dfd);
		return 0;
	}
	d = fdopendir(dfd);
	if (!d) {
		err = -errno;
		close(dfd);
		return !top ? 0 : err;
	}
	while ((de = readdir(d))) {
		int sub;

		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sub < 0)
			continue;	/* a file (DT_UNKNOWN), or removed meanwhile */
		err = walk_procs(sub, pv, false, depth + 1);
		if (err < 0) {
			closedir(d);
			return err;
		}
	}
	closedir(d);
	return 0;
}

/*
 * The cgroup path of the directory `dir` within its hierarchy: dir minus
 * the mount point, found as the topmost ancestor on the same filesystem.
 */
static int rel_of_dir(const char *dir, char *out, size_t len, char *mnt, size_t mlen)
{
	char buf[PATH_MAX];
	struct stat st, up;
	size_t root;

	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	if (stat(buf, &st) < 0)
		return errno == ENOENT || errno == ENODEV ? -ENOENT : -errno;
	root = strlen(buf);
	while (root > 1 && buf[root - 1] == '/')
		buf[--root] = 0;
	for (;;) {
		char *slash = strrchr(buf, '/');

		if (!slash || slash == buf)
			break;
		*slash = 0;
		if (stat(buf, &up) < 0 || up.st_dev != st.st_dev) {
			*slash = '/';
			break;
		}
		root = (size_t)(slash - buf);
	}
	norm_rel(dir + root, out, len);
	if (snprintf(mnt, mlen, "%.*s", (int)root, dir) >= (int)mlen)
		return -ENAMETOOLONG;
	return 0;
}

static int cgroup_dir(const char *mount, const char *nrel, char *out, size_t len)
{
	int n = snprintf(out, len, "%s%s", mount, strcmp(nrel, "/") ? nrel : "");

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The pids (sorted, unique) in the cgroup at the absolute directory `dir` and below. */
static int list_cgroup_pids(const char *dir, struct pidvec *pv)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0)
		return errno == ENOENT || errno == ENODEV ? -ENOENT : -errno;
	int err = walk_procs(dfd, pv, true, 0);

	if (err < 0)
		return err;
	pv_sort_unique(pv);
	return 0;
}

static int list_all_pids(struct pidvec *pv)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int err = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		long v = strtol(de->d_name, &end, 10);

		if (*end || end == de->d_name || v <= 0)
			continue;
		if ((err = pv_push(pv, (pid_t)v)) < 0)
			break;
	}
	closedir(d);
	if (!err)
		pv_sort_unique(pv);
	return err;
}

/* rel NULL: every process; else the subtree of mount/rel. */
static int list_scope_pids(const char *mount, const char *rel, struct pidvec *pv)
{
	char nrel[PATH_MAX], dir[PATH_MAX];
	int err;

	if (!rel)
		return list_all_pids(pv);
	if (!mount)
		return -EINVAL;
	norm_rel(rel, nrel, sizeof(nrel));
	if ((err = cgroup_dir(mount, nrel, dir, sizeof(dir))) < 0)
		return err;
	return list_cgroup_pids(dir, pv);
}

/* ------------------------------------------------------------ candidates */

static uint64_t status_kb(const char *text, const char *key)
{
	size_t kl = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, key, kl) && p[kl] == ':') {
			unsigned long long kb = strtoull(p + kl + 1, NULL, 10);

			return kb > UINT64_MAX / 1024 ? UINT64_MAX : kb * 1024;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return 0;
}

/*
 * Fill c from /proc/PID through pdfd.  want_start != 0: the identity to
 * insist on.  -ESRCH: gone, reused, a kernel thread or without memory
 * (zombie).
 */
static int read_candidate(int pdfd, pid_t pid, uint64_t want_start, const struct hier *h,
			  struct oom_candidate *c)
{
	struct pstat ps;
	char buf[4096], adj[32];
	ssize_t r;
	int err;

	if ((err = read_pstat(pdfd, &ps)) < 0)
		return err;
	if (want_start && ps.start != want_start)
		return -ESRCH;
	/* Exiting already (a victim on its way out): its memory is being freed. */
	if ((ps.flags & (PF_KTHREAD_FLAG | PF_EXITING_FLAG)) || ps.state == 'Z' || ps.state == 'X')
		return -ESRCH;
	r = read_small_at(pdfd, "status", buf, sizeof(buf));
	if (r < 0)
		return proc_errno((int)r);
	if (!strstr(buf, "\nRssAnon:"))
		return -ESRCH;	/* no mm: exiting, or a kernel thread */
	if (sigkill_pending(buf))
		return -ESRCH;	/* killed, not yet exiting: the same */
	c->pid = pid;
	c->start_ticks = ps.start;
	c->pgid = ps.pgid;
	c->rss_anon = status_kb(buf, "RssAnon");
	c->rss_file = status_kb(buf, "RssFile");
	c->rss_shmem = status_kb(buf, "RssShmem");
	c->swap = status_kb(buf, "VmSwap");
	r = read_small_at(pdfd, "oom_score_adj", adj, sizeof(adj));
	if (r < 0)
		return proc_errno((int)r);
	c->oom_score_adj = atoi(adj);
	snprintf(c->comm, sizeof(c->comm), "%s", ps.comm);
	r = readlinkat(pdfd, "exe", c->binary, sizeof(c->binary) - 1);
	c->binary[r > 0 ? r : 0] = 0;
	if (h) {
		if (read_pcgroup(pdfd, h, c->cgroup, sizeof(c->cgroup)) == -ESRCH)
			return -ESRCH;
	}
	return 0;
}

int oom_candidates_collect(const char *mount, const char *rel, const pid_t *exclude,
			   size_t n_exclude, struct oom_candidate **out, size_t *n)
{
	struct pidvec pv = { 0 };
	struct oom_candidate *v = NULL;
	size_t nv = 0, cap = 0, i;
	struct hier h = { hier_kind(mount), mount };
	int err;

	*out = NULL;
	*n = 0;
	err = list_scope_pids(mount, rel, &pv);
	if (err < 0)
		goto fail;
	for (i = 0; i < pv.n && nv < OOM_CANDIDATES_MAX; i++) {
		pid_t pid = pv.v[i];
		int pdfd;

		if (pid <= 1 || is_excluded(pid, exclude, n_exclude))
			continue;
		if (nv == cap) {
			size_t nc = cap ? cap * 2 : 32;
			struct oom_candidate *nb;

			if (nc > OOM_CANDIDATES_MAX)
				nc = OOM_CANDIDATES_MAX;
			nb = realloc(v, nc * sizeof(*nb));
			if (!nb) {
				err = -ENOMEM;
				goto fail;
			}
			v = nb;
			cap = nc;
		}
		pdfd = proc_dir(pid);
		if (pdfd < 0)
			continue;
		memset(&v[nv], 0, sizeof(v[nv]));
		err = read_candidate(pdfd, pid, 0, &h, &v[nv]);
		close(pdfd);
		if (err == -ESRCH)
			continue;
		if (err < 0)
			goto fail;
		nv++;
	}
	free(pv.v);
	if (!nv) {
		free(v);
		v = NULL;
	}
	*out = v;
	*n = nv;
	return 0;
fail:
	free(pv.v);
	free(v);
	return err;
}

int oom_candidate_refresh(struct oom_candidate *c)
{
	struct oom_candidate t = *c;
	int pdfd = proc_dir(c->pid), err;

	if (pdfd < 0)
		return pdfd;
	err = read_candidate(pdfd, c->pid, c->start_ticks, NULL, &t);
	close(pdfd);
	if (err < 0)
		return err;
	*c = t;		/* growth, cgroup, tier and score are the caller's */
	return 0;
}

/* ------------------------------------------------------------ ranking */

static double rss_of(const struct oom_candidate *c)
{
	return (double)c->rss_anon + (double)c->rss_file + (double)c->rss_shmem + (double)c->swap;
}

static double rss_score(const struct oom_candidate *c, const struct oom_rank_opts *o)
{
	double s = rss_of(c);

	if (o->oom_score_adj)
		s += (double)c->oom_score_adj * (double)o->total_bytes / 1000.0;
	return s;
}

static void subject_of(const struct oom_candidate *c, const struct oom_rank_opts *o,
		       struct sel_subject *x)
{
	memset(x, 0, sizeof(*x));
	if (o->subject)
		o->subject(o->ctx, c, x);
	if (!x->binary || !*x->binary)
		x->binary = c->binary;
	if (!x->comm || !*x->comm)
		x->comm = c->comm;
	if (!x->cgroup || !*x->cgroup)
		x->cgroup = c->cgroup;
	if (!x->container_id)
		x->container_id = "";
	if (!x->pod_uid)
		x->pod_uid = "";
	if (!x->pod_namespace)
		x->pod_namespace = "";
	if (!x->pod_name)
		x->pod_name = "";
}

/* Is a a better victim than b?  Both eligible. */
static bool better(const struct oom_candidate *a, const struct oom_candidate *b,
		   const struct oom_rank_opts *o)
{
	double ra, rb;

	if (a->tier != b->tier)
		return a->tier < b->tier;
	if (a->score != b->score)
		return a->score > b->score;
	if (o->strategy == OOM_VICTIM_FASTEST_GROWTH) {
		ra = rss_score(a, o);
		rb = rss_score(b, o);
		if (ra != rb)
			return ra > rb;
	}
	ra = rss_of(a);
	rb = rss_of(b);
	if (ra != rb)
		return ra > rb;
	return a->pid < b->pid;
}

int oom_rank(struct oom_candidate *c, size_t n, const struct oom_rank_opts *o)
{
	int best = -1;

	for (size_t i = 0; i < n; i++) {
		struct oom_candidate *x = &c[i];
		struct sel_subject sx;

		if (o->strategy == OOM_VICTIM_FASTEST_GROWTH) {
			x->score = x->growth;
			if (o->oom_score_adj)
				x->score *= 1.0 + (double)x->oom_score_adj / 1000.0;
		} else {
			x->score = rss_score(x, o);
		}
		x->tier = 1;
		if (x->oom_score_adj <= -1000) {
			x->tier = -1;
		} else if (o->avoid || o->prefer) {
			subject_of(x, o, &sx);
			if (o->avoid && selector_match(o->avoid, &sx))
				x->tier = 2;
			else if (o->prefer && selector_match(o->prefer, &sx))
				x->tier = 0;
		}
		if (x->tier < 0)
			continue;
		if (best < 0 || better(x, &c[best], o))
			best = (int)i;
	}
	return best;
}

/* ------------------------------------------------------------ kills */

/*
 * A pidfd for pid, then its identity checked through /proc: the start time
 * (want_start != 0), the process group (want_pgid > 0), the cgroup subtree
 * (nrel != NULL).  -ESRCH: gone, reused, or not (any more) what was asked.
 */
static int open_checked(pid_t pid, uint64_t want_start, pid_t want_pgid, const struct hier *h,
			const char *nrel, int *pidfd, uint64_t *start)
{
	struct pstat ps;
	int pfd = sys_pidfd_open(pid), pdfd, err;

	if (pfd < 0)
		return errno == ESRCH || errno == ENOENT ? -ESRCH : -errno;
	pdfd = proc_dir(pid);
	if (pdfd < 0) {
		close(pfd);
		return pdfd;
	}
	err = read_pstat(pdfd, &ps);
	if (!err && ((want_start && ps.start != want_start) || (want_pgid > 0 && ps.pgid != want_pgid) ||
		     (ps.flags & PF_KTHREAD_FLAG)))
		err = -ESRCH;
	if (!err && nrel) {
		char cg[PATH_MAX];

		err = read_pcgroup(pdfd, h, cg, sizeof(cg));
		if (err == -ENOENT || (!err && !in_subtree(cg, nrel)))
			err = -ESRCH;
	}
	close(pdfd);
	if (err < 0) {
		close(pfd);
		return err;
	}
	*pidfd = pfd;
	if (start)
		*start = ps.start;
	return 0;
}

static int pidfd_kill(int pfd)
{
	if (sys_pidfd_kill(pfd) < 0)
		return errno == ESRCH ? -ESRCH : -errno;
	return 0;
}

int oom_kill_process(const struct oom_candidate *v, struct oom_kill_result *r)
{
	int pfd = -1, err;

	memset(r, 0, sizeof(*r));
	err = open_checked(v->pid, v->start_ticks, 0, NULL, NULL, &pfd, NULL);
	if (!err)
		err = pidfd_kill(pfd);
	if (!err) {
		r->signalled = 1;
		/* after the signal: process_mrelease() only reaps a dying process */
		r->mreleased = sys_mrelease(pfd) == 0;
	}
	if (pfd >= 0)
		close(pfd);
	r->err = err;
	return err;
}

int oom_kill_pgrp(const char *mount, const char *rel, const struct oom_candidate *v,
		  const pid_t *exclude, size_t n_exclude, struct oom_kill_result *r)
{
	struct pidvec pv = { 0 };
	char nrel[PATH_MAX];
	struct hier h = { hier_kind(mount), mount };
	int vfd = -1, err;

	memset(r, 0, sizeof(*r));
	if (rel)
		norm_rel(rel, nrel, sizeof(nrel));
	err = list_scope_pids(mount, rel, &pv);
	if (err < 0)
		goto out;
	/* The victim first: if it is gone, the situation changed; the caller decides again. */
	err = open_checked(v->pid, v->start_ticks, 0, NULL, NULL, &vfd, NULL);
	if (!err)
		err = pidfd_kill(vfd);
	if (err < 0)
		goto out;
	r->signalled = 1;
	for (size_t i = 0; v->pgid > 0 && i < pv.n; i++) {
		pid_t pid = pv.v[i];
		int pfd;

		if (pid == v->pid || pid <= 1 || is_excluded(pid, exclude, n_exclude))
			continue;
		if (open_checked(pid, 0, v->pgid, &h, rel ? nrel : NULL, &pfd, NULL) < 0)
			continue;
		if (!pidfd_kill(pfd))
			r->signalled++;
		close(pfd);
	}
	r->mreleased = sys_mrelease(vfd) == 0;
out:
	if (vfd >= 0)
		close(vfd);
	free(pv.v);
	r->err = err;
	return err;
}

/* Any excluded pid inside the subtree (listed there, or its own cgroup file says so)? */
static bool excluded_inside(const struct pidvec *pv, const struct hier *h, const char *nrel,
			    const pid_t *exclude, size_t n_exclude)
{
	for (size_t i = 0; i < n_exclude; i++) {
		char cg[PATH_MAX];
		int pdfd;

		if (pv_has(pv, exclude[i]))
			return true;
		if (!nrel)
			continue;
		pdfd = proc_dir(exclude[i]);
		if (pdfd < 0)
			continue;
		if (!read_pcgroup(pdfd, h, cg, sizeof(cg)) && in_subtree(cg, nrel)) {
			close(pdfd);
			return true;
		}
		close(pdfd);
	}
	return false;
}

struct killed {
	pid_t pid;
	uint64_t start;
};

static bool was_killed(const struct killed *k, size_t n, pid_t pid, uint64_t start)
{
	for (size_t i = 0; i < n; i++)
		if (k[i].pid == pid && k[i].start == start)
			return true;
	return false;
}

/* SIGKILL through pidfds until the subtree at dir is empty. */
static int kill_loop(const char *dir, const struct hier *h, const char *nrel, const pid_t *exclude,
		     size_t n_exclude, struct oom_kill_result *r)
{
	struct killed *k = NULL;
	size_t nk = 0, capk = 0;
	bool fresh = true;	/* the last listing held a process not signalled before */
	int err = 0;

	for (int round = 0; round < KILL_ROUNDS; round++) {
		struct pidvec pv = { 0 };

		err = list_cgroup_pids(dir, &pv);
		if (err < 0) {
			free(pv.v);
			break;
		}
		if (!pv.n) {
			free(pv.v);
			fresh = false;
			break;
		}
		fresh = false;
		for (size_t i = 0; i < pv.n; i++) {
			uint64_t start;
			int pfd;

			if (is_excluded(pv.v[i], exclude, n_exclude))
				continue;	/* moved in after the check: never kill vigil */
			if (open_checked(pv.v[i], 0, 0, h, nrel, &pfd, &start) < 0)
				continue;
			if (was_killed(k, nk, pv.v[i], start)) {
				close(pfd);
				continue;	/* dying already */
			}
			fresh = true;
			if (!pidfd_kill(pfd)) {
				if (nk == capk) {
					size_t nc = capk ? capk * 2 : 32;
					struct killed *nb = realloc(k, nc * sizeof(*nb));

					if (!nb) {
						close(pfd);
						free(pv.v);
						free(k);
						return -ENOMEM;
					}
					k = nb;
					capk = nc;
				}
				k[nk++] = (struct killed){ pv.v[i], start };
				r->signalled++;
			}
			close(pfd);
		}
		free(pv.v);
		nanosleep(&(struct timespec){ 0, KILL_ROUND_SLEEP_NS }, NULL);
	}
	free(k);
	if (err == -ENOENT && r->signalled)
		err = 0;	/* removed once emptied: that is done, too */
	if (!err && fresh)
		err = -EAGAIN;
	return err;
}

int oom_kill_cgroup(const char *mount, const char *rel, const char *v2_dir, const pid_t *exclude,
		    size_t n_exclude, struct oom_kill_result *r)
{
	struct pidvec pv1 = { 0 }, pv2 = { 0 };
	char nrel[PATH_MAX], dir[PATH_MAX], v2rel[PATH_MAX];
	char v2mount[PATH_MAX];
	struct hier h = { hier_kind(mount), mount }, h2 = { 2, v2mount };
	int err = 0, fd;
	bool have_rel = mount && rel;

	memset(r, 0, sizeof(*r));
	if (!have_rel && !v2_dir) {
		err = -EINVAL;
		goto out;
	}
	if (have_rel) {
		norm_rel(rel, nrel, sizeof(nrel));
		if (!strcmp(nrel, "/")) {
			err = -EINVAL;	/* never the whole hierarchy */
			goto out;
		}
		if ((err = cgroup_dir(mount, nrel, dir, sizeof(dir))) < 0)
			goto out;
		if ((err = list_cgroup_pids(dir, &pv1)) < 0)
			goto out;
		if (excluded_inside(&pv1, &h, nrel, exclude, n_exclude)) {
			err = -EPERM;
			goto out;
		}
	}
	if (v2_dir) {
		if ((err = rel_of_dir(v2_dir, v2rel, sizeof(v2rel), v2mount, sizeof(v2mount))) < 0)
			goto out;
		if (!strcmp(v2rel, "/")) {
			err = -EINVAL;
			goto out;
		}
		if ((err = list_cgroup_pids(v2_dir, &pv2)) < 0)
			goto out;
		if (excluded_inside(&pv2, &h2, v2rel, exclude, n_exclude)) {
			err = -EPERM;
			goto out;
		}
		fd = openat(AT_FDCWD, v2_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			int kfd = openat(fd, "cgroup.kill", O_WRONLY | O_CLOEXEC);

			close(fd);
			if (kfd >= 0) {
				ssize_t w = write(kfd, "1", 1);

				err = w < 0 ? gone_errno(-errno) : 0;
				close(kfd);
				if (!err)
					r->signalled = (uint32_t)pv2.n;
				goto out;
			}
			if (errno != ENOENT) {
				err = -errno;
				goto out;
			}
			/* no cgroup.kill (before 5.14): the pidfd loop below */
		} else {
			err = errno == ENOENT ? -ENOENT : -errno;
			goto out;
		}
	}
	if (have_rel)
		err = kill_loop(dir, &h, nrel, exclude, n_exclude, r);
	else
		err = kill_loop(v2_dir, &h2, v2rel, exclude, n_exclude, r);
out:
	free(pv1.v);
	free(pv2.v);
	r->err = err;
	return err;
}

/* ------------------------------------------------------------ pre-kill hook */

static size_t env_key_len(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq ? (size_t)(eq - kv) : strlen(kv);
}

int oom_hook_spawn(const char *command, char *const envp[], pid_t *pid, int *pidfd)
{
	size_t ne = 0, na = 0, o = 0;
	char **env;
	char *argv[] = { "sh", "-c", (char *)command, NULL };
	pid_t child;
	int pfd, e;

	if (!command || !*command)
		return -EINVAL;
	for (char **p = environ; p && *p; p++)
		ne++;
	for (char *const *p = envp; p && *p; p++)
		na++;
	/* Built before fork(): the child may only do async-signal-safe things. */
	env = calloc(ne + na + 1, sizeof(*env));
	if (!env)
		return -ENOMEM;
	for (size_t i = 0; i < ne; i++) {
		size_t kl = env_key_len(environ[i]);
		bool overridden = false;

		for (size_t j = 0; j < na && !overridden; j++)
			overridden = env_key_len(envp[j]) == kl && !strncmp(envp[j], environ[i], kl);
		if (!overridden)
			env[o++] = environ[i];
	}
	for (size_t j = 0; j < na; j++)
		env[o++] = envp[j];
	env[o] = NULL;

	child = fork();
	if (child < 0) {
		e = -errno;
		free(env);
		return e;
	}
	if (child == 0) {
		struct sigaction sa = { .sa_handler = SIG_DFL };
		sigset_t none;
		int nfd;

		setpgid(0, 0);
		for (int s = 1; s < NSIG; s++)
			sigaction(s, &sa, NULL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		nfd = open("/dev/null", O_RDONLY);
		if (nfd >= 0 && nfd != 0) {
			dup2(nfd, 0);
			close(nfd);
		}
		dup2(2, 1);
		if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
			for (int fd = 3; fd < 1024; fd++)
				close(fd);
		execve("/bin/sh", argv, env);
		_exit(127);
	}
	free(env);
	setpgid(child, child);	/* both sides: the group exists before either returns */
	pfd = sys_pidfd_open(child);
	if (pfd < 0) {
		e = -errno;
		kill(-child, SIGKILL);
		kill(child, SIGKILL);
		while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
			;
		return e;
	}
	*pid = child;
	*pidfd = pfd;
	return 0;
}

static int reap(pid_t pid)
{
	int st, rc;

	while ((rc = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	return rc < 0 ? -errno : st;
}

int oom_hook_reap(pid_t pid, int pidfd)
{
	return reap(pid);
}

int oom_hook_kill(pid_t pid, int pidfd)
{
	/* Unreaped, the leader holds its pid and process group: neither can be reused yet. */
	if (pidfd >= 0)
		sys_pidfd_kill(pidfd);
	kill(-pid, SIGKILL);
	return reap(pid);
}
