/*
 * leaktrace.c - `vigil leaks --trace PID` (contract: leaktrace.h).
 *
 * Steps, each checked, in this order:
 *   1. pin the process (pidfd) and find its allocator: the libc it maps, or
 *      malloc/free in its executable (allocator linked in statically);
 *   2. resolve the allocator functions to file offsets (libelf) and open the
 *      symbolizer while the process is alive (symbolize.c);
 *   3. load bpf/leaktrace.bpf.c and attach it to those offsets, for this
 *      process only;
 *   4. wait for the duration, the process's exit or a signal;
 *   5. detach, read what is still outstanding, group it by stack, keep the
 *      allocations at least min_age old, and report the top stacks.
 *
 * Nothing here calls exit(); leaktrace_run returns the exit code and says
 * why on o->err.  The report goes to o->out.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "clock.h"
#include "leaktrace.h"
#include "../bpf/leaktrace.h"
#include "leaktrace.skel.h"
#include "symbolize.h"

#define EXIT_USAGE 2
#define DEFAULT_DURATION_S 10.0
#define DEFAULT_TOP 10
#define MAX_MIN_AGE_DEFAULT_S 5.0

/* ---- the process and its allocator ----------------------------------- */

struct lt_target {
	pid_t pid;
	char comm[32];
	char file[PATH_MAX + 32];	/* what we open and attach to (under /proc/PID/) */
	char shown[PATH_MAX];		/* the same file as the process names it */
	bool in_exe;			/* allocator linked into the executable */
	uint64_t lo, hi;		/* where the allocator's library is mapped */
};

/*
 * A C library by its file name: glibc's libc.so.6 (and old libc-2.NN.so),
 * musl's libc.so or ld-musl-ARCH.so.1 (musl's loader is its libc).
 * "libc-" must be followed by a digit, so libc-client.so is not taken.
 */
static bool is_libc_name(const char *base)
{
	return !strncmp(base, "libc.so", 7) ||
	       (!strncmp(base, "libc-", 5) && isdigit((unsigned char)base[5])) ||
	       !strncmp(base, "ld-musl-", 8);
}

static void read_comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(buf, len, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/* The state letter from /proc/PID/stat ('Z' zombie), or 0. */
static char proc_state(pid_t pid)
{
	char path[64], line[512], *p, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fgets(line, sizeof(line), f) && (p = strrchr(line, ')')) && p[1] == ' ')
		st = p[2];
	fclose(f);
	return st;
}

/* The process a thread id belongs to (Tgid in /proc/ID/status), or 0. */
static pid_t proc_tgid(pid_t id)
{
	char path[64], line[256];
	int tgid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)id);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

/*
 * The libc mapped by pid: its path (as the process sees it) and the range
 * of all its mappings.  0, -ENOENT if none is mapped, or -errno.
 */
static int find_libc(struct lt_target *t)
{
	char path[64], *line = NULL, *p;
	size_t cap = 0, n;
	unsigned long lo, hi;
	int pos, err = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)t->pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		pos = 0;
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &pos) < 2 || !pos)
			continue;
		p = line + pos;
		p[strcspn(p, "\n")] = '\0';
		n = strlen(p);
		if (n > 10 && !strcmp(p + n - 10, " (deleted)"))
			p[n - 10] = '\0';
		if (p[0] != '/' || !is_libc_name(basename(p)))
			continue;
		if (err == -ENOENT) {
			snprintf(t->shown, sizeof(t->shown), "%s", p);
			t->lo = lo;
			t->hi = hi;
			err = 0;
		} else if (!strcmp(t->shown, p)) {
			t->lo = lo < t->lo ? lo : t->lo;
			t->hi = hi > t->hi ? hi : t->hi;
		}
	}
	free(line);
	fclose(f);
	if (!err)
		snprintf(t->file, sizeof(t->file), "/proc/%d/root%s", (int)t->pid, t->shown);
	return err;
}

/* ---- probes ------------------------------------------------------------ */

struct lt_probe {
	const char *func;
	bool required;
};

/* The order of these and of probe_progs() below match. */
static const struct lt_probe probes[] = {
	{ "malloc", true },
	{ "free", true },
	{ "calloc", false },
	{ "realloc", false },
	{ "posix_memalign", false },
	{ "aligned_alloc", false },
	{ "memalign", false },
	{ "valloc", false },
	{ "pvalloc", false },
	{ "mmap", false },
	{ "munmap", false },
};
#define NPROBES (sizeof(probes) / sizeof(probes[0]))

static void probe_progs(struct leaktrace_bpf *s, size_t i, struct bpf_program **entry,
			struct bpf_program **ret)
{
	struct bpf_program *e[NPROBES] = {
		s->progs.lt_malloc, s->progs.lt_free, s->progs.lt_calloc, s->progs.lt_realloc,
		s->progs.lt_posix_memalign, s->progs.lt_aligned_alloc, s->progs.lt_aligned_alloc,
		s->progs.lt_valloc, s->progs.lt_valloc, s->progs.lt_mmap, s->progs.lt_munmap,
	};
	struct bpf_program *r[NPROBES] = {
		s->progs.lt_malloc_ret, NULL, s->progs.lt_calloc_ret, s->progs.lt_realloc_ret,
		s->progs.lt_posix_memalign_ret, s->progs.lt_aligned_alloc_ret,
		s->progs.lt_aligned_alloc_ret, s->progs.lt_aligned_alloc_ret,
		s->progs.lt_aligned_alloc_ret, s->progs.lt_mmap_ret, NULL,
	};

	*entry = e[i];
	*ret = r[i];
}

struct lt_state {
	const struct leaktrace_opts *o;
	struct lt_target t;
	struct leaktrace_bpf *skel;
	struct bpf_link *links[2 * NPROBES];
	int nlinks;
	/* Which functions are probed; skipped ones say why (or alias another). */
	bool probed[NPROBES];
	char skipped_why[NPROBES][96];
	struct symbolizer *sym;
	char sym_why[256];
	uint64_t t_start, t_end;	/* CLOCK_MONOTONIC ns, as bpf_ktime_get_ns() */
	bool exited, interrupted;
};

static int attach_all(struct lt_state *st)
{
	const struct leaktrace_opts *o = st->o;
	const char *names[NPROBES];
	uint64_t offs[NPROBES];
	size_t i, j;
	int err;

	for (i = 0; i < NPROBES; i++)
		names[i] = probes[i].func;
	err = symbolize_func_offsets(st->t.file, names, NPROBES, offs);
	if (err) {
		fprintf(o->err, "vigil: reading symbols of %s: %s\n", st->t.shown, strerror(-err));
		return 1;
	}
	for (i = 0; i < NPROBES; i++) {
		struct bpf_program *entry, *ret;
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = true);
		struct bpf_link *l;

		if (!offs[i]) {
			if (probes[i].required) {
				fprintf(o->err, "vigil: %s defines no %s function: cannot trace its "
					"allocations\n", st->t.shown, probes[i].func);
				return 1;
			}
			snprintf(st->skipped_why[i], sizeof(st->skipped_why[i]), "not defined");
			continue;
		}
		/* Aliases (glibc's memalign is aligned_alloc): one probe per address. */
		for (j = 0; j < i; j++)
			if (offs[j] == offs[i])
				break;
		if (j < i) {
			snprintf(st->skipped_why[i], sizeof(st->skipped_why[i]), "alias of %s",
				 probes[j].func);
			continue;
		}
		probe_progs(st->skel, i, &entry, &ret);
		l = bpf_program__attach_uprobe_opts(entry, st->t.pid, st->t.file, offs[i], NULL);
		if (!l)
			goto fail;
		st->links[st->nlinks++] = l;
		if (ret) {
			l = bpf_program__attach_uprobe_opts(ret, st->t.pid, st->t.file, offs[i], &uo);
			if (!l)
				goto fail;
			st->links[st->nlinks++] = l;
		}
		st->probed[i] = true;
		continue;
fail:
		err = -errno;
		if (err == -ESRCH || proc_state(st->t.pid) == 0) {
			fprintf(o->err, "vigil: pid %d (%s) exited before the trace began\n",
				(int)st->t.pid, st->t.comm);
			return 1;
		}
		if (probes[i].required) {
			fprintf(o->err, "vigil: attaching a uprobe to %s in %s: %s\n", probes[i].func,
				st->t.shown, strerror(-err));
			return 1;
		}
		snprintf(st->skipped_why[i], sizeof(st->skipped_why[i]), "attach failed: %s",
			 strerror(-err));
	}
	return 0;
}

/*
 * Each uprobe removal waits for a grace period under a lock that all perf
 * trace events share (about 0.1 s each here, one after another: 2 s for the
 * 20 links), so this runs after the report has been written.
 */
static void detach_all(struct lt_state *st)
{
	while (st->nlinks > 0)
		bpf_link__destroy(st->links[--st->nlinks]);
}

/* ---- waiting ------------------------------------------------------------ */

/*
 * SIGINT and SIGTERM are taken through a signalfd from before the probes
 * are attached until the report is written and the probes are removed (2 s,
 * see detach_all): a signal ends the wait, and one that comes later is
 * swallowed, so it can neither cut the report short nor leave it unwritten.
 */
static int signals_take(sigset_t *old)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, old);
	return signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void signals_release(int sfd, const sigset_t *old)
{
	struct signalfd_siginfo si;

	if (sfd >= 0) {
		while (read(sfd, &si, sizeof(si)) > 0)
			;
		close(sfd);
	}
	sigprocmask(SIG_SETMASK, old, NULL);
}

/*
 * Until the duration is up, the process exits (its pidfd turns readable;
 * without pidfds, a kill(pid, 0) poll) or a signal arrives on sfd.
 */
static void wait_trace(struct lt_state *st, int pidfd, int sfd)
{
	uint64_t deadline = st->t_start + (uint64_t)(st->o->duration_s * 1e9);
	struct pollfd pf[2];
	int nfd, timeout;

	for (;;) {
		uint64_t now = clock_ns(CLOCK_MONOTONIC);

		if (now >= deadline)
			break;
		timeout = (int)((deadline - now + 999999) / 1000000);
		nfd = 0;
		if (sfd >= 0)
			pf[nfd++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		if (pidfd >= 0)
			pf[nfd++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		else if (timeout > 200)
			timeout = 200;
		if (poll(pf, nfd, timeout) < 0 && errno != EINTR)
			break;
		if (sfd >= 0 && (pf[0].revents & POLLIN)) {
			st->interrupted = true;
			break;
		}
		if (pidfd >= 0 ? (pf[nfd - 1].revents & (POLLIN | POLLHUP)) != 0
			       : (kill(st->t.pid, 0) < 0 && errno == ESRCH)) {
			st->exited = true;
			break;
		}
	}
	st->skel->bss->tracing_on = false;
	st->t_end = clock_ns(CLOCK_MONOTONIC);
}

/* ---- reading and grouping ------------------------------------------------ */

struct lt_entry {
	int64_t stack_id;
	uint64_t size;
	uint64_t ts_ns;
};

struct lt_group {
	int64_t stack_id;
	uint64_t bytes, count;	/* sampled, not yet scaled */
	uint64_t oldest_ns;	/* smallest timestamp */
};

struct lt_result {
	uint64_t counters[LT_CTR__COUNT];
	uint64_t all_bytes, all_count;		/* every outstanding sampled allocation */
	uint64_t old_bytes, old_count;		/* at least min_age old */
	struct lt_group *groups;
	size_t ngroups;
};

static int read_counters(struct lt_state *st, struct lt_result *r)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(st->skel->maps.counters);
	uint64_t *vals;
	uint32_t k;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (k = 0; k < LT_CTR__COUNT; k++) {
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			r->counters[k] += vals[c];
	}
	free(vals);
	return 0;
}

static int cmp_entry_stack(const void *a, const void *b)
{
	const struct lt_entry *x = a, *y = b;

	return x->stack_id < y->stack_id ? -1 : x->stack_id > y->stack_id;
}

static int cmp_group_bytes(const void *a, const void *b)
{
	const struct lt_group *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->stack_id < y->stack_id ? -1 : x->stack_id > y->stack_id;
}

/* Everything still outstanding, kept if at least min_age old, by stack. */
static int read_allocs(struct lt_state *st, struct lt_result *r)
{
	int fd = bpf_map__fd(st->skel->maps.allocs);
	uint64_t min_age_ns = (uint64_t)(st->o->min_age_s * 1e9);
	struct lt_entry *v = NULL, *nv;
	size_t n = 0, cap = 0, i;
	uint64_t key, next, *prev = NULL;
	struct lt_alloc a;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &a))
			continue;
		r->all_bytes += a.size;
		r->all_count++;
		if (a.ts_ns > st->t_end || st->t_end - a.ts_ns < min_age_ns)
			continue;
		r->old_bytes += a.size;
		r->old_count++;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = (struct lt_entry){ .stack_id = a.stack_id, .size = a.size, .ts_ns = a.ts_ns };
	}
	qsort(v, n, sizeof(*v), cmp_entry_stack);
	r->groups = calloc(n ? n : 1, sizeof(*r->groups));
	if (!r->groups) {
		free(v);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		struct lt_group *g = r->ngroups ? &r->groups[r->ngroups - 1] : NULL;

		if (!g || g->stack_id != v[i].stack_id) {
			g = &r->groups[r->ngroups++];
			*g = (struct lt_group){ .stack_id = v[i].stack_id, .oldest_ns = v[i].ts_ns };
		}
		g->bytes += v[i].size;
		g->count++;
		if (v[i].ts_ns < g->oldest_ns)
			g->oldest_ns = v[i].ts_ns;
	}
	free(v);
	qsort(r->groups, r->ngroups, sizeof(*r->groups), cmp_group_bytes);
	return 0;
}

/* The frames of a stack id; returns how many (0 for a failed walk). */
static int stack_frames(struct lt_state *st, int64_t id, uint64_t ips[LT_STACK_DEPTH])
{
	uint32_t key = (uint32_t)id;
	int n = 0;

	if (id < 0 || bpf_map_lookup_elem(bpf_map__fd(st->skel->maps.stacks), &key, ips))
		return 0;
	while (n < LT_STACK_DEPTH && ips[n])
		n++;
	return n;
}

/* ---- report --------------------------------------------------------------- */

static const char *const counter_names[LT_CTR__COUNT] = {
	[LT_CTR_CALLS] = "calls",
	[LT_CTR_RECORDED] = "recorded",
	[LT_CTR_FREED] = "freed",
	[LT_CTR_MAP_FULL] = "map_full",
	[LT_CTR_STACK_LOST] = "stack_lost",
	[LT_CTR_STACK_COLLISION] = "stack_collisions",
	[LT_CTR_PENDING_FULL] = "pending_full",
	[LT_CTR_MISSED_RETURN] = "missed_returns",
	[LT_CTR_NESTED] = "nested",
	[LT_CTR_RETURN_UNSEEN] = "returns_unseen",
	[LT_CTR_FAILED] = "failed",
	[LT_CTR_MMAP_ALLOCATOR] = "mmap_in_allocator",
	[LT_CTR_MMAP_FILE] = "mmap_file",
};

/* 1234567 -> "1,234,567" */
static const char *fmt_count(uint64_t v, char *buf, size_t len)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v), i, o = 0;

	for (i = 0; i < n && o + 2 < (int)len; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}

static const char *fmt_bytes(double b, char *buf, size_t len)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	int u = -1;

	if (b < 1024) {
		snprintf(buf, len, "%.0f B", b);
		return buf;
	}
	while (b >= 1024 && u < 3) {
		b /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", b, unit[u]);
	return buf;
}

static double secs(uint64_t ns)
{
	return (double)ns / 1e9;
}

static void text_frame(FILE *out, const struct sym_frame *f)
{
	if (f->function[0])
		fprintf(out, "    %s+0x%llx", f->function, (unsigned long long)f->offset);
	else if (f->module[0])
		fprintf(out, "    %s+0x%llx", f->module, (unsigned long long)f->offset);
	else
		fprintf(out, "    0x%llx", (unsigned long long)f->address);
	if (f->file[0])
		fprintf(out, " (%s:%d)", basename(f->file), f->line);
	fprintf(out, "  [%s]\n", f->module[0] ? f->module : "?");
}

static const char *stack_error(int64_t id)
{
	if (id >= 0)
		return NULL;
	return id == -EEXIST ? "stack hash collision (another stack holds its slot)"
			     : id == -ENOMEM ? "stack map full"
			     : id == -EFAULT ? "stack walk failed (unreadable frame)"
			     : "stack walk failed";
}

static void report_text(struct lt_state *st, const struct lt_result *r)
{
	const struct leaktrace_opts *o = st->o;
	FILE *out = o->out;
	uint64_t N = o->sample_every, ips[LT_STACK_DEPTH];
	double dur = secs(st->t_end - st->t_start);
	char b1[32], b2[32], c1[32], c2[32];
	size_t i;
	int k, n;

	fprintf(out, "pid %d (%s): allocator in %s; traced %.1f s, ", (int)st->t.pid,
		st->t.comm, st->t.shown, dur);
	if (N > 1)
		fprintf(out, "about 1 allocation in %llu (bytes and counts scaled by %llu)\n",
			(unsigned long long)N, (unsigned long long)N);
	else
		fputs("every allocation\n", out);
	if (st->exited)
		fprintf(out, "pid %d exited after %.1f s; allocations still outstanding at exit:\n",
			(int)st->t.pid, dur);
	else if (st->interrupted)
		fprintf(out, "interrupted after %.1f s\n", dur);
	fprintf(out, "outstanding: %s in %s allocations; at least %.1f s old: %s in %s "
		"allocations, %zu stacks\n",
		fmt_bytes((double)(r->all_bytes * N), b1, sizeof(b1)),
		fmt_count(r->all_count * N, c1, sizeof(c1)), o->min_age_s,
		fmt_bytes((double)(r->old_bytes * N), b2, sizeof(b2)),
		fmt_count(r->old_count * N, c2, sizeof(c2)), r->ngroups);
	for (i = 0; i < r->ngroups && i < o->top; i++) {
		const struct lt_group *g = &r->groups[i];

		fprintf(out, "\n#%zu  %s in %s allocations (oldest %.1f s)\n", i + 1,
			fmt_bytes((double)(g->bytes * N), b1, sizeof(b1)),
			fmt_count(g->count * N, c1, sizeof(c1)), secs(st->t_end - g->oldest_ns));
		n = stack_frames(st, g->stack_id, ips);
		if (!n)
			fprintf(out, "    (no stack: %s)\n",
				g->stack_id < 0 ? stack_error(g->stack_id) : "stack no longer in the map");
		for (k = 0; k < n; k++) {
			struct sym_frame f;

			symbolizer_frame(st->sym, ips[k], true, &f);
			text_frame(out, &f);
		}
	}
	if (r->ngroups > o->top)
		fprintf(out, "\n(%zu more stacks; --top N shows more)\n", r->ngroups - o->top);
	fputs("\ncounters:", out);
	for (k = 0; k < LT_CTR__COUNT; k++)
		fprintf(out, " %s=%llu", counter_names[k], (unsigned long long)r->counters[k]);
	fputc('\n', out);
	for (i = 0; i < NPROBES; i++)
		if (!st->probed[i])
			fprintf(out, "not probed: %s (%s)\n", probes[i].func, st->skipped_why[i]);
	if (!st->sym)
		fprintf(out, "no symbols: %s\n", st->sym_why);
}

static json_object *json_str_or_null(const char *s)
{
	return s && s[0] ? json_object_new_string(s) : NULL;
}

static void report_json(struct lt_state *st, const struct lt_result *r)
{
	const struct leaktrace_opts *o = st->o;
	uint64_t N = o->sample_every, ips[LT_STACK_DEPTH];
	json_object *root = json_object_new_object(), *ctr = json_object_new_object();
	json_object *stacks = json_object_new_array(), *skipped = json_object_new_array();
	json_object *probed = json_object_new_array();
	double dur = secs(st->t_end - st->t_start);
	size_t i;
	int k, n;

	json_object_object_add(root, "pid", json_object_new_int(st->t.pid));
	json_object_object_add(root, "comm", json_object_new_string(st->t.comm));
	json_object_object_add(root, "allocator", json_object_new_string(st->t.shown));
	json_object_object_add(root, "duration_s", json_object_new_double(dur));
	json_object_object_add(root, "exited", json_object_new_boolean(st->exited));
	json_object_object_add(root, "interrupted", json_object_new_boolean(st->interrupted));
	json_object_object_add(root, "min_age_s", json_object_new_double(o->min_age_s));
	json_object_object_add(root, "sample_every", json_object_new_int64((int64_t)N));
	for (k = 0; k < LT_CTR__COUNT; k++)
		json_object_object_add(ctr, counter_names[k],
				       json_object_new_int64((int64_t)r->counters[k]));
	json_object_object_add(root, "counters", ctr);
	for (i = 0; i < NPROBES; i++) {
		if (st->probed[i]) {
			json_object_array_add(probed, json_object_new_string(probes[i].func));
		} else {
			json_object *s = json_object_new_object();

			json_object_object_add(s, "function", json_object_new_string(probes[i].func));
			json_object_object_add(s, "why", json_object_new_string(st->skipped_why[i]));
			json_object_array_add(skipped, s);
		}
	}
	json_object_object_add(root, "probed", probed);
	json_object_object_add(root, "not_probed", skipped);
	json_object_object_add(root, "outstanding_bytes",
			       json_object_new_int64((int64_t)(r->all_bytes * N)));
	json_object_object_add(root, "outstanding_allocations",
			       json_object_new_int64((int64_t)(r->all_count * N)));
	json_object_object_add(root, "reported_bytes", json_object_new_int64((int64_t)(r->old_bytes * N)));
	json_object_object_add(root, "reported_allocations",
			       json_object_new_int64((int64_t)(r->old_count * N)));
	json_object_object_add(root, "stacks_total", json_object_new_int64((int64_t)r->ngroups));
	if (!st->sym)
		json_object_object_add(root, "symbolizer_error", json_object_new_string(st->sym_why));

	for (i = 0; i < r->ngroups && i < o->top; i++) {
		const struct lt_group *g = &r->groups[i];
		json_object *s = json_object_new_object(), *frames = json_object_new_array();

		json_object_object_add(s, "bytes", json_object_new_int64((int64_t)(g->bytes * N)));
		json_object_object_add(s, "allocations", json_object_new_int64((int64_t)(g->count * N)));
		json_object_object_add(s, "oldest_s", json_object_new_double(secs(st->t_end - g->oldest_ns)));
		if (g->stack_id < 0)
			json_object_object_add(s, "stack_error",
					       json_object_new_string(stack_error(g->stack_id)));
		n = stack_frames(st, g->stack_id, ips);
		for (k = 0; k < n; k++) {
			json_object *fr = json_object_new_object();
			struct sym_frame f;

			symbolizer_frame(st->sym, ips[k], true, &f);
			json_object_object_add(fr, "address", json_object_new_uint64(f.address));
			json_object_object_add(fr, "function", json_str_or_null(f.function));
			json_object_object_add(fr, "offset", json_object_new_uint64(f.offset));
			json_object_object_add(fr, "file", json_str_or_null(f.file));
			json_object_object_add(fr, "line", f.line ? json_object_new_int(f.line) : NULL);
			json_object_object_add(fr, "module", json_str_or_null(f.module));
			json_object_array_add(frames, fr);
		}
		json_object_object_add(s, "frames", frames);
		json_object_array_add(stacks, s);
	}
	json_object_object_add(root, "stacks", stacks);
	fprintf(o->out, "%s\n", json_object_to_json_string_ext(root,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
}

/* ---- the run ---------------------------------------------------------------- */

static int pidfd_open_(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	errno = ENOSYS;
	return -1;
#endif
}

/* Step 1: the process, pinned, and its allocator.  0 or an exit code. */
static int find_target(struct lt_state *st, int *pidfd)
{
	const struct leaktrace_opts *o = st->o;
	struct lt_target *t = &st->t;
	const char *names[2] = { "malloc", "free" };
	uint64_t offs[2];
	char path[64];
	ssize_t n;
	int err;

	t->pid = o->pid;
	*pidfd = pidfd_open_(o->pid);
	if (*pidfd < 0 && errno != ENOSYS) {
		int e = errno;
		/* A thread id: EINVAL before Linux 6.9, ENOENT since. */
		pid_t tgid = (e == EINVAL || e == ENOENT) ? proc_tgid(o->pid) : 0;

		if (tgid > 0 && tgid != o->pid) {
			read_comm(tgid, t->comm, sizeof(t->comm));
			fprintf(o->err, "vigil: %d is a thread of process %d (%s): trace %d\n",
				(int)o->pid, (int)tgid, t->comm, (int)tgid);
			return EXIT_USAGE;
		}
		if (e == ESRCH || e == ENOENT || e == EINVAL) {
			fprintf(o->err, "vigil: no process with pid %d\n", (int)o->pid);
			return EXIT_USAGE;
		}
		fprintf(o->err, "vigil: pidfd_open(%d): %s\n", (int)o->pid, strerror(e));
		return 1;
	}
	if (*pidfd < 0 && kill(o->pid, 0) < 0 && errno == ESRCH) {
		fprintf(o->err, "vigil: no process with pid %d\n", (int)o->pid);
		return EXIT_USAGE;
	}
	read_comm(o->pid, t->comm, sizeof(t->comm));
	if (o->pid == getpid()) {
		fprintf(o->err, "vigil: pid %d is vigil itself\n", (int)o->pid);
		return EXIT_USAGE;
	}
	if (proc_state(o->pid) == 'Z') {
		fprintf(o->err, "vigil: pid %d (%s) has exited (a zombie): nothing to trace\n",
			(int)o->pid, t->comm);
		return 1;
	}

	err = find_libc(t);
	if (err == 0)
		return 0;
	if (err != -ENOENT) {
		fprintf(o->err, "vigil: reading /proc/%d/maps: %s%s\n", (int)o->pid, strerror(-err),
			err == -EACCES || err == -EPERM ? " (run as root)" : "");
		return 1;
	}
	/* No libc: an allocator linked into the executable, or nothing to probe. */
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)o->pid);
	n = readlink(path, t->shown, sizeof(t->shown) - 1);
	if (n < 0) {
		fprintf(o->err, "vigil: pid %d (%s) has no executable (%s): a kernel thread cannot "
			"be traced\n", (int)o->pid, t->comm, strerror(errno));
		return 1;
	}
	t->shown[n] = '\0';
	snprintf(t->file, sizeof(t->file), "%s", path);
	t->in_exe = true;
	t->lo = t->hi = 0;
	err = symbolize_func_offsets(t->file, names, 2, offs);
	if (err || !offs[0] || !offs[1]) {
		fprintf(o->err, "vigil: pid %d (%s) maps no libc and its executable has no malloc "
			"symbol: a static binary without libc cannot be traced\n", (int)o->pid, t->comm);
		return 1;
	}
	return 0;
}

int leaktrace_run(const struct leaktrace_opts *opts)
{
	struct leaktrace_opts o = *opts;
	struct lt_state st = { .o = &o };
	struct lt_result r = { 0 };
	int pidfd = -1, sfd = -1, rc, err;
	bool sig_taken = false;
	sigset_t oldmask;

	if (o.duration_s <= 0)
		o.duration_s = DEFAULT_DURATION_S;
	if (o.min_age_s < 0)
		o.min_age_s = o.duration_s / 2 < MAX_MIN_AGE_DEFAULT_S ? o.duration_s / 2
								 : MAX_MIN_AGE_DEFAULT_S;
	if (!o.sample_every)
		o.sample_every = 1;
	if (!o.top)
		o.top = DEFAULT_TOP;
	if (!o.out)
		o.out = stdout;
	if (!o.err)
		o.err = stderr;

	rc = find_target(&st, &pidfd);
	if (rc)
		goto out;

	/* Before the probes: the process may exit while we trace it. */
	err = symbolizer_open(&st.sym, o.pid, st.sym_why, sizeof(st.sym_why));
	if (err)
		fprintf(o.err, "vigil: warning: %s; stacks will show addresses only\n", st.sym_why);

	rc = 1;
	st.skel = leaktrace_bpf__open();
	if (!st.skel) {
		fprintf(o.err, "vigil: opening the allocation tracer: %s\n", strerror(errno));
		goto out;
	}
	st.skel->rodata->targ_tgid = (uint32_t)o.pid;
	st.skel->rodata->sample_every = o.sample_every;
	st.skel->rodata->allocator_lo = st.t.in_exe ? 0 : st.t.lo;
	st.skel->rodata->allocator_hi = st.t.in_exe ? 0 : st.t.hi;
	err = leaktrace_bpf__load(st.skel);
	if (err) {
		fprintf(o.err, "vigil: loading the allocation tracer: %s%s\n", strerror(-err),
			err == -EPERM ? " (run as root, or with CAP_BPF and CAP_PERFMON)" : "");
		goto out;
	}
	sfd = signals_take(&oldmask);
	sig_taken = true;
	if (attach_all(&st))
		goto out;

	st.skel->bss->tracing_on = true;
	st.t_start = clock_ns(CLOCK_MONOTONIC);
	fprintf(o.err, "vigil: tracing allocations of pid %d (%s) in %s for %.1f s%s "
		"(Ctrl-C to stop and report)\n", (int)o.pid, st.t.comm, st.t.shown, o.duration_s,
		o.sample_every > 1 ? ", sampled" : "");
	fflush(o.err);
	wait_trace(&st, pidfd, sfd);
	if (st.exited)
		fprintf(o.err, "vigil: pid %d exited after %.1f s\n", (int)o.pid,
			secs(st.t_end - st.t_start));

	err = read_counters(&st, &r);
	if (!err)
		err = read_allocs(&st, &r);
	if (err) {
		fprintf(o.err, "vigil: reading the tracer's maps: %s\n", strerror(-err));
		goto out;
	}
	if (o.json)
		report_json(&st, &r);
	else
		report_text(&st, &r);
	fflush(o.out);
	rc = 0;
out:
	detach_all(&st);
	leaktrace_bpf__destroy(st.skel);
	symbolizer_close(st.sym);
	free(r.groups);
	if (pidfd >= 0)
		close(pidfd);
	if (sig_taken)
		signals_release(sfd, &oldmask);
	return rc;
}

/* ---- command line ------------------------------------------------------------ */

static const char trace_usage[] =
	"Usage: vigil leaks --trace PID [OPTIONS]\n"
	"\n"
	"Which call stacks hold process PID's memory.  Uprobes on the allocator of\n"
	"the libc it maps (malloc, calloc, realloc, free, posix_memalign,\n"
	"aligned_alloc, memalign, valloc, pvalloc, mmap, munmap) record every\n"
	"allocation still outstanding with its user stack.  At the end, those at\n"
	"least --min-age old are grouped by stack, and the top stacks by bytes are\n"
	"printed with function, file:line and module.\n"
	"\n"
	"Options:\n"
	"      --trace PID       the process to trace (required)\n"
	"  -d, --duration SECS   trace for SECS seconds (default 10; fractions allowed)\n"
	"      --min-age SECS    report allocations at least this old at the end\n"
	"                        (default: half the duration, at most 5)\n"
	"      --sample N        track about 1 allocation in N (default 1: all);\n"
	"                        bytes and counts are scaled by N\n"
	"      --top N           stacks to print (default 10)\n"
	"  -j, --json            one JSON object instead of text\n"
	"  -h, --help            this help\n"
	"\n"
	"The trace ends early when PID exits (what it still held is reported) or\n"
	"on Ctrl-C/SIGTERM (reported too).  Stacks are walked by frame pointer:\n"
	"code built without them stops the walk.  Exit status: 0 reported, 1 the\n"
	"trace failed (e.g. a static binary without libc), 2 usage error or no\n"
	"such process.  See docs/LEAKS.md.\n"
	"\n"
	"Examples:\n"
	"  sudo vigil leaks --trace 1234                  # 10 s, top 10 stacks\n"
	"  sudo vigil leaks --trace 1234 -d 60 --min-age 30\n"
	"  sudo vigil leaks --trace 1234 --sample 16      # busy process: less overhead\n"
	"  sudo vigil leaks --trace 1234 --json | jq '.stacks[0].frames[].function'\n";

bool leaktrace_wanted(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return false;
		if (!strcmp(argv[i], "--trace") || !strncmp(argv[i], "--trace=", 8))
			return true;
	}
	return false;
}

static int usage_error(FILE *err, const char *fmt, const char *arg)
{
	fputs("vigil: ", err);
	fprintf(err, fmt, arg);
	fputc('\n', err);
	fprintf(err, "%.*s", (int)(strchr(trace_usage, '\n') - trace_usage + 1), trace_usage);
	fputs("Try --help for more.\n", err);
	return EXIT_USAGE;
}

static bool parse_secs(const char *s, double min_excl, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= min_excl || v > 7 * 86400.0)
		return false;
	*out = v;
	return true;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < 1 || v > max)
		return false;
	*out = v;
	return true;
}

enum { OPT_TRACE = 0x200, OPT_MIN_AGE, OPT_SAMPLE, OPT_TOP };

int leaktrace_cli(int argc, char **argv, FILE *out, FILE *err)
{
	static const struct option opts[] = {
		{ "trace", required_argument, NULL, OPT_TRACE },
		{ "duration", required_argument, NULL, 'd' },
		{ "min-age", required_argument, NULL, OPT_MIN_AGE },
		{ "sample", required_argument, NULL, OPT_SAMPLE },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct leaktrace_opts o = {
		.duration_s = DEFAULT_DURATION_S, .min_age_s = -1, .sample_every = 1,
		.top = DEFAULT_TOP, .out = out, .err = err,
	};
	unsigned long v;
	int c;

	/* `vigil leaks --trace --help`: help wins over a missing PID. */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(trace_usage, out);
			return 0;
		}
	optind = 0;	/* GNU getopt: start over, whatever parsed before */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:jh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_TRACE:
			if (!parse_uint(optarg, INT_MAX, &v))
				return usage_error(err, "--trace wants a process id, got '%s'", optarg);
			o.pid = (pid_t)v;
			break;
		case 'd':
			if (!parse_secs(optarg, 0, &o.duration_s))
				return usage_error(err, "--duration wants seconds > 0 (at most a week), "
						   "got '%s'", optarg);
			break;
		case OPT_MIN_AGE:
			if (!parse_secs(optarg, -1e-9, &o.min_age_s))
				return usage_error(err, "--min-age wants seconds >= 0, got '%s'", optarg);
			break;
		case OPT_SAMPLE:
			if (!parse_uint(optarg, 1u << 20, &v))
				return usage_error(err, "--sample wants N from 1 to 1048576, got '%s'",
						   optarg);
			o.sample_every = (uint32_t)v;
			break;
		case OPT_TOP:
			if (!parse_uint(optarg, 100000, &v))
				return usage_error(err, "--top wants a positive number, got '%s'", optarg);
			o.top = (uint32_t)v;
			break;
		case 'j':
			o.json = true;
			break;
		case 'h':
			fputs(trace_usage, out);
			return 0;
		case ':':
			return usage_error(err, "%s needs a value", argv[optind - 1]);
		default:
			return usage_error(err, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error(err, "unexpected argument '%s'", argv[optind]);
	if (!o.pid)
		return usage_error(err, "%s", "--trace PID is required");
	return leaktrace_run(&o);
}
