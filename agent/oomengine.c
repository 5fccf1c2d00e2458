// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * oomengine.c - the user-space OOM policy: units, detectors, actions,
 * handoff and its watchdog.  See oomengine.h and docs/OOM.md.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "cgroup.h"
#include "containers.h"
#include "oomengine.h"
#include "oomproc.h"

#define GROWTH_SAMPLES 8
#define GROWTH_SAMPLE_MS 1000
#define GROWTH_MAX_PROCS 4096
#define WALK_MAX_DEPTH 16
#define WALK_MAX_DIRS 65536

struct oom_growth {
	pid_t pid;
	uint64_t start;
	unsigned n, head;
	uint64_t t[GROWTH_SAMPLES];	/* ms */
	uint64_t rss[GROWTH_SAMPLES];
	bool seen;
};

/*
 * The stall total sampled every window/8, so the stall within the last
 * window can be read without a PSI trigger (or when a wakeup is missed).
 */
#define PSI_HIST 9
struct psi_hist {
	uint64_t t[PSI_HIST], total[PSI_HIST];
	unsigned head, n;
};

struct oom_trig {
	struct oom_unit *u;
	int idx;
	int fd;
};

struct oom_unit {
	struct vigil_oom_engine *e;
	struct oom_pol *pol;
	char *rel;			/* memcg path; NULL = the node */
	char *psi_path;			/* pressure file for psi detectors */
	bool psi_node_wide;		/* a v1 memcg without a v2 twin: node pressure */
	bool unreadable_logged;		/* its usage could not be read (reported once) */
	bool trig_logged;		/* a PSI trigger could not be armed (reported once) */
	/*
	 * The cheap reading: the usage file kept open and read with pread(),
	 * the rest of the counters (limit...) as of the last rescan.
	 */
	int usage_fd;
	struct oom_memcg_stat cached;
	bool cached_ok;
	bool seen;
	uint64_t hold_since[POLICY_MAX_OOM_DETECTORS];	/* ns, 0 = not holding */
	double value[POLICY_MAX_OOM_DETECTORS];
	struct oom_trig trig[POLICY_MAX_OOM_DETECTORS];	/* fd -1: none */
	uint64_t trig_last_ns[POLICY_MAX_OOM_DETECTORS];
	struct psi_hist *psi_hist;	/* per detector, psi stall detectors only (lazily) */
	uint64_t last_action_ns;
	/* an action waiting for its pre-kill hook */
	bool busy;
	pid_t hook_pid;
	int hook_pidfd;
	struct event *ev_hook;		/* the hook's pidfd, with its timeout */
	struct oom_candidate victim;
	int fired_det;
	double fired_value;
	uint64_t fired_ns;
	bool fired_handoff;
	/* handoff */
	bool ho_on;
	int ho_efd, ho_cfd;
	struct event *ev_ho;
	struct event *ev_ho_again;	/* re-check after an action (zero timeout) */
	bool ho_pending;		/* an OOM notification came while busy */
	pid_t ho_killed_pid;		/* the last handed-off OOM's victim ... */
	uint64_t ho_killed_start;	/* ... and its start time, while it may be dying */
	/* growth samples, fastest_growth only */
	struct oom_growth *g;
	size_t n_g;
	uint64_t last_sample_ns;
	struct oom_unit *next;
};

struct oom_pol {
	const struct policy_doc *doc;
	const struct oom_policy *p;
	struct oom_unit *units;
	size_t n_units;
	bool missing_reported;
	struct vigil_metric_series *watched;
};

static const char *unit_name(const struct oom_unit *u)
{
	return u->rel ? u->rel : "(node)";
}

static void count_error(struct vigil_oom_engine *e, const char *reason)
{
	const char *v[] = { reason };

	metrics_add(metrics_series(e->errors, v), 1);
}

static void count_action(struct vigil_oom_engine *e, const struct oom_pol *p, const char *action,
			 const char *result)
{
	const char *v[] = { p->doc->name, action, result };

	metrics_add(metrics_series(e->actions, v), 1);
}

/* ------------------------------------------------------------ watchdog */

/*
 * The watchdog: a forked child holding the list of handed-off memcgs.  It
 * reads "add DIR DEADLINE_MS" / "del DIR" / "acted DIR" lines from the
 * agent (acted: it resolved an OOM there, the deadline restarts); on EOF (the
 * agent is gone, however it died) it writes oom_kill_disable=0 everywhere
 * and exits.  For each memcg it listens on its own OOM eventfd; an OOM still
 * pending after the deadline is handed back to the kernel (and re-armed
 * once the memcg is out of OOM), and reported as "fallback DIR".
 */
struct wd_cg {
	char dir[512];
	uint64_t deadline_ms;
	int efd, cfd;
	uint64_t due_ns;		/* OOM seen: act at this time; 0 = idle */
	bool given_back;		/* oom_kill_disable is 0 until the OOM ends */
	bool used;
};

#define WD_MAX 256

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[640];
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* Register an eventfd for the memcg's OOM notifications.  0 or -errno. */
static int oom_notify_open(const char *dir, int *efd, int *cfd)
{
	char path[640], line[64];
	int err;

	*efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (*efd < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/memory.oom_control", dir);
	*cfd = open(path, O_RDONLY | O_CLOEXEC);
	if (*cfd < 0) {
		err = -errno;
		close(*efd);
		*efd = -1;
		return err;
	}
	snprintf(line, sizeof(line), "%d %d", *efd, *cfd);
	err = write_file(dir, "cgroup.event_control", line);
	if (err) {
		close(*efd);
		close(*cfd);
		*efd = *cfd = -1;
	}
	return err;
}

static bool under_oom(const char *dir)
{
	struct oom_memcg_stat st;

	return oom_memcg_read(dir, true, &st) == 0 && st.under_oom;
}

static void wd_drop(struct wd_cg *c, bool restore)
{
	if (restore)
		write_file(c->dir, "memory.oom_control", "0");
	if (c->efd >= 0)
		close(c->efd);
	if (c->cfd >= 0)
		close(c->cfd);
	memset(c, 0, sizeof(*c));
	c->efd = c->cfd = -1;
}

static void wd_report(int fd, const char *what, const char *dir)
{
	char line[600];
	int n = snprintf(line, sizeof(line), "%s %s\n", what, dir);

	if (write(fd, line, (size_t)n) < 0) {
		/* the agent is gone: EOF on the next read ends us */
	}
}

static void wd_command(struct wd_cg *cgs, char *line)
{
	char dir[512];
	unsigned long long ms;
	int i, free_i = -1;

	if (sscanf(line, "add %511s %llu", dir, &ms) == 2) {
		for (i = 0; i < WD_MAX; i++) {
			if (cgs[i].used && !strcmp(cgs[i].dir, dir)) {
				cgs[i].deadline_ms = ms;
				return;
			}
			if (!cgs[i].used && free_i < 0)
				free_i = i;
		}
		if (free_i < 0)
			return;
		snprintf(cgs[free_i].dir, sizeof(cgs[free_i].dir), "%s", dir);
		cgs[free_i].deadline_ms = ms;
		cgs[free_i].used = true;
		if (oom_notify_open(dir, &cgs[free_i].efd, &cgs[free_i].cfd))
			cgs[free_i].efd = cgs[free_i].cfd = -1;
		return;
	}
	/*
	 * The agent resolved an OOM it was handed: the deadline restarts.  If
	 * the memcg is (still or again) under OOM, that is an OOM of its own
	 * with a full deadline - the one whose notification may have come
	 * while the last deadline ran and was not counted.
	 */
	if (sscanf(line, "acted %511s", dir) == 1) {
		for (i = 0; i < WD_MAX; i++)
			if (cgs[i].used && !cgs[i].given_back && !strcmp(cgs[i].dir, dir))
				cgs[i].due_ns = under_oom(dir) ? clock_ns(CLOCK_MONOTONIC) +
						cgs[i].deadline_ms * 1000000ull : 0;
		return;
	}
	if (sscanf(line, "del %511s", dir) == 1) {
		for (i = 0; i < WD_MAX; i++)
			if (cgs[i].used && !strcmp(cgs[i].dir, dir))
				wd_drop(&cgs[i], true);
	}
}

int oom_watchdog_main(int fd)
{
	static struct wd_cg cgs[WD_MAX];
	char buf[4096];
	size_t len = 0;
	int i;

	for (i = 0; i < WD_MAX; i++) {
		memset(&cgs[i], 0, sizeof(cgs[i]));
		cgs[i].efd = cgs[i].cfd = -1;
	}
	for (;;) {
		struct pollfd pfd[WD_MAX + 1];
		int map[WD_MAX + 1], n = 0, timeout = -1;
		uint64_t now = clock_ns(CLOCK_MONOTONIC);
		ssize_t r;

		pfd[n].fd = fd;
		pfd[n].events = POLLIN;
		map[n++] = -1;
		for (i = 0; i < WD_MAX; i++) {
			struct wd_cg *c = &cgs[i];

			if (!c->used)
				continue;
			if (c->efd >= 0) {
				pfd[n].fd = c->efd;
				pfd[n].events = POLLIN;
				map[n++] = i;
			}
			if (c->due_ns || c->given_back) {
				int ms = c->given_back ? 100 :
					 c->due_ns > now ? (int)((c->due_ns - now) / 1000000) + 1 : 0;

				if (timeout < 0 || ms < timeout)
					timeout = ms;
			}
		}
		if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR)
			break;
		now = clock_ns(CLOCK_MONOTONIC);
		for (i = 1; i < n; i++) {
			uint64_t cnt;

			if (!(pfd[i].revents & POLLIN))
				continue;
			if (read(pfd[i].fd, &cnt, sizeof(cnt)) == sizeof(cnt) && !cgs[map[i]].due_ns &&
			    !cgs[map[i]].given_back)
				cgs[map[i]].due_ns = now + cgs[map[i]].deadline_ms * 1000000ull;
		}
		for (i = 0; i < WD_MAX; i++) {
			struct wd_cg *c = &cgs[i];

			if (!c->used)
				continue;
			if (c->given_back) {
				if (!under_oom(c->dir)) {
					write_file(c->dir, "memory.oom_control", "1");
					c->given_back = false;
					c->due_ns = 0;
					wd_report(fd, "rearmed", c->dir);
				}
			} else if (c->due_ns && now >= c->due_ns) {
				c->due_ns = 0;
				if (under_oom(c->dir)) {
					write_file(c->dir, "memory.oom_control", "0");
					c->given_back = true;
					wd_report(fd, "fallback", c->dir);
				}
			}
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			char *nl;

			r = read(fd, buf + len, sizeof(buf) - 1 - len);
			if (r <= 0) {
				if (r < 0 && errno == EINTR)
					continue;
				break;	/* the agent is gone */
			}
			len += (size_t)r;
			buf[len] = 0;
			while ((nl = strchr(buf, '\n'))) {
				*nl = 0;
				if (!strcmp(buf, "quit")) {
					len = 0;
					goto out;
				}
				wd_command(cgs, buf);
				len -= (size_t)(nl + 1 - buf);
				memmove(buf, nl + 1, len);
				buf[len] = 0;
			}
			if (len == sizeof(buf) - 1)
				len = 0;
		}
	}
out:
	for (i = 0; i < WD_MAX; i++)
		if (cgs[i].used)
			wd_drop(&cgs[i], true);
	return 0;
}

static void on_wd(evutil_socket_t fd, short what, void *arg);

static int wd_start(struct vigil_oom_engine *e)
{
	int sv[2];
	pid_t pid;

	if (e->wd_fd >= 0)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(sv[0]);
		close(sv[1]);
		return err;
	}
	if (pid == 0) {
		int adj = open("/proc/self/oom_score_adj", O_WRONLY);

		if (adj >= 0) {
			if (write(adj, "-1000", 5) < 0) {
				/* best effort */
			}
			close(adj);
		}
		prctl(PR_SET_NAME, "vigil-oomwd");
		prctl(PR_SET_PDEATHSIG, 0);
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		{
			sigset_t all;

			sigemptyset(&all);
			sigprocmask(SIG_SETMASK, &all, NULL);
		}
		if (dup2(sv[1], 3) < 0)
			_exit(1);
		for (int fd = 4; fd < 1024; fd++)
			close(fd);
		_exit(oom_watchdog_main(3));
	}
	close(sv[1]);
	e->wd_pid = pid;
	e->wd_fd = sv[0];
	fcntl(e->wd_fd, F_SETFL, O_NONBLOCK);
	e->ev_wd = event_new(e->base, e->wd_fd, EV_READ | EV_PERSIST, on_wd, e);
	if (e->ev_wd)
		event_add(e->ev_wd, NULL);
	return 0;
}

static void wd_send(struct vigil_oom_engine *e, const char *fmt, const char *dir, uint64_t ms)
{
	char line[700];
	int n;

	if (e->wd_fd < 0)
		return;
	n = snprintf(line, sizeof(line), fmt, dir, (unsigned long long)ms);
	if (write(e->wd_fd, line, (size_t)n) != n)
		fprintf(stderr, "vigil: oom: telling the handoff watchdog about %s failed: %s\n", dir,
			strerror(errno));
}

static void on_wd(evutil_socket_t fd, short what, void *arg)
{
	struct vigil_oom_engine *e = arg;
	ssize_t r;
	char *nl;

	r = read(e->wd_fd, e->wd_buf + e->wd_len, sizeof(e->wd_buf) - 1 - e->wd_len);
	if (r <= 0) {
		if (r < 0 && errno == EAGAIN)
			return;
		fprintf(stderr, "vigil: oom: the handoff watchdog (pid %d) is gone; handoff memcgs "
			"will be handed back to the kernel\n", (int)e->wd_pid);
		count_error(e, "watchdog_lost");
		event_del(e->ev_wd);
		close(e->wd_fd);
		e->wd_fd = -1;
		return;
	}
	e->wd_len += (size_t)r;
	e->wd_buf[e->wd_len] = 0;
	while ((nl = strchr(e->wd_buf, '\n'))) {
		*nl = 0;
		if (!strncmp(e->wd_buf, "fallback ", 9)) {
			fprintf(stderr, "vigil: oom: handoff deadline passed for %s: the kernel's OOM "
				"killer resolves this OOM\n", e->wd_buf + 9);
			metrics_add(e->wd_fallbacks, 1);
			count_error(e, "handoff_deadline");
		}
		e->wd_len -= (size_t)(nl + 1 - e->wd_buf);
		memmove(e->wd_buf, nl + 1, e->wd_len + 1);
	}
}

/* ------------------------------------------------------------ units */

/* BASE + REL as a directory; the root's REL "/" (and the node's NULL) adds nothing. */
static const char *rel_suffix(const char *rel)
{
	return rel && strcmp(rel, "/") ? rel : "";
}

static void unit_dir(const struct vigil_oom_engine *e, const struct oom_unit *u, char *buf,
		     size_t len)
{
	snprintf(buf, len, "%s%s", e->s.mem_mount, rel_suffix(u->rel));
}

static void handoff_off(struct oom_unit *u)
{
	char dir[PATH_MAX];

	if (!u->ho_on)
		return;
	unit_dir(u->e, u, dir, sizeof(dir));
	if (u->ev_ho) {
		event_free(u->ev_ho);
		u->ev_ho = NULL;
	}
	if (u->ev_ho_again) {
		event_free(u->ev_ho_again);
		u->ev_ho_again = NULL;
	}
	u->ho_pending = false;
	u->ho_killed_pid = 0;
	if (u->ho_efd >= 0)
		close(u->ho_efd);
	if (u->ho_cfd >= 0)
		close(u->ho_cfd);
	u->ho_efd = u->ho_cfd = -1;
	write_file(dir, "memory.oom_control", "0");
	wd_send(u->e, "del %s\n", dir, 0);
	u->ho_on = false;
	metrics_add(u->e->handoff_cgroups, -1);
}

static void trig_close(struct oom_unit *u, int i)
{
	if (u->trig[i].fd >= 0) {
		epoll_ctl(u->e->epfd, EPOLL_CTL_DEL, u->trig[i].fd, NULL);
		close(u->trig[i].fd);
	}
	u->trig[i].fd = -1;
}

static void hook_clear(struct oom_unit *u)
{
	if (u->ev_hook)
		event_free(u->ev_hook);
	u->ev_hook = NULL;
	if (u->hook_pidfd >= 0)
		close(u->hook_pidfd);
	u->hook_pidfd = -1;
	u->hook_pid = 0;
	u->busy = false;
}

static void unit_free(struct oom_unit *u)
{
	int i;

	handoff_off(u);
	for (i = 0; i < POLICY_MAX_OOM_DETECTORS; i++)
		trig_close(u, i);
	if (u->busy && u->hook_pid > 0)
		oom_hook_kill(u->hook_pid, u->hook_pidfd);
	hook_clear(u);
	free(u->g);
	free(u->psi_hist);
	u->psi_hist = NULL;
	if (u->usage_fd >= 0)
		close(u->usage_fd);
	free(u->rel);
	free(u->psi_path);
	free(u);
}

static void reset_detectors(struct oom_unit *u)
{
	int i;

	for (i = 0; i < POLICY_MAX_OOM_DETECTORS; i++) {
		trig_close(u, i);
		u->hold_since[i] = 0;
		u->value[i] = 0;
		u->trig_last_ns[i] = 0;
	}
	free(u->psi_hist);
	u->psi_hist = NULL;
}

static void on_handoff(evutil_socket_t fd, short what, void *arg);
static void on_handoff_again(evutil_socket_t fd, short what, void *arg);

static void handoff_on(struct oom_unit *u)
{
	struct vigil_oom_engine *e = u->e;
	char dir[PATH_MAX];
	int err;

	if (u->ho_on || !u->rel)
		return;
	unit_dir(e, u, dir, sizeof(dir));
	err = wd_start(e);
	if (err) {
		fprintf(stderr, "vigil: oom: %s: no handoff: cannot start the watchdog: %s\n", dir,
			strerror(-err));
		count_error(e, "handoff_setup");
		return;
	}
	err = oom_notify_open(dir, &u->ho_efd, &u->ho_cfd);
	if (!err)
		err = write_file(dir, "memory.oom_control", "1");
	if (err) {
		fprintf(stderr, "vigil: oom: %s: no handoff (memory.oom_control): %s\n", dir,
			strerror(-err));
		count_error(e, "handoff_setup");
		if (u->ho_efd >= 0)
			close(u->ho_efd);
		if (u->ho_cfd >= 0)
			close(u->ho_cfd);
		u->ho_efd = u->ho_cfd = -1;
		return;
	}
	u->ev_ho = event_new(e->base, u->ho_efd, EV_READ | EV_PERSIST, on_handoff, u);
	if (u->ev_ho)
		event_add(u->ev_ho, NULL);
	u->ev_ho_again = evtimer_new(e->base, on_handoff_again, u);
	/* The watchdog learns it only after the agent's own hook is in place. */
	wd_send(e, "add %s %llu\n", dir, u->pol->p->handoff_deadline_ms);
	u->ho_on = true;
	metrics_add(e->handoff_cgroups, 1);
}

/* Where a unit's memory pressure is read and PSI triggers are armed. */
static void unit_psi_path(struct vigil_oom_engine *e, struct oom_unit *u)
{
	char path[PATH_MAX];
	struct stat st;

	if (!u->rel) {
		u->psi_path = strdup("/proc/pressure/memory");
		return;
	}
	if (!e->s.mem_v1) {
		snprintf(path, sizeof(path), "%s%s/memory.pressure", e->s.mem_mount,
			 rel_suffix(u->rel));
		u->psi_path = strdup(path);
		return;
	}
	/* cgroup v1 memcgs have no pressure file; a hybrid node's v2 twin does. */
	if (e->s.v2_mount[0]) {
		snprintf(path, sizeof(path), "%s%s/memory.pressure", e->s.v2_mount,
			 rel_suffix(u->rel));
		if (stat(path, &st) == 0) {
			u->psi_path = strdup(path);
			return;
		}
	}
	u->psi_path = strdup("/proc/pressure/memory");
	u->psi_node_wide = true;
}

static void arm_triggers(struct oom_unit *u)
{
	const struct oom_policy *p = u->pol->p;
	size_t i;

	for (i = 0; i < p->n_detectors; i++) {
		const struct oom_detector *d = &p->detectors[i];
		struct epoll_event ev = { .events = EPOLLPRI };
		int fd;

		if (d->kind != OOM_DET_PSI || !d->stall_us || u->trig[i].fd >= 0)
			continue;
		fd = oom_psi_trigger_open(u->psi_path, d->psi_type, d->stall_us, d->window_us);
		if (fd < 0 && u->trig_logged)
			continue;
		if (fd < 0) {
			u->trig_logged = true;
			fprintf(stderr, "vigil: oom: OomPolicy %s, %s: no PSI trigger on %s (%s%s); "
				"polling the stall total every interval instead\n",
				u->pol->doc->name, unit_name(u), u->psi_path, strerror(-fd),
				fd == -EINVAL && d->window_us % 2000000 ?
				": without CAP_SYS_RESOURCE the kernel takes only windows that "
				"are multiples of 2s" : "");
			count_error(u->e, "psi_trigger");
			continue;
		}
		u->trig[i].u = u;
		u->trig[i].idx = (int)i;
		u->trig[i].fd = fd;
		ev.data.ptr = &u->trig[i];
		if (epoll_ctl(u->e->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			u->trig[i].fd = -1;
		}
	}
}

static struct oom_unit *unit_new(struct vigil_oom_engine *e, struct oom_pol *pol, const char *rel)
{
	struct oom_unit *u = calloc(1, sizeof(*u));
	int i;

	if (!u)
		return NULL;
	u->e = e;
	u->pol = pol;
	u->ho_efd = u->ho_cfd = u->hook_pidfd = -1;
	u->usage_fd = -1;
	for (i = 0; i < POLICY_MAX_OOM_DETECTORS; i++)
		u->trig[i].fd = -1;
	if (rel && !(u->rel = strdup(rel))) {
		free(u);
		return NULL;
	}
	unit_psi_path(e, u);
	if (u->psi_node_wide && pol->p->n_detectors) {
		for (size_t k = 0; k < pol->p->n_detectors; k++)
			if (pol->p->detectors[k].kind == OOM_DET_PSI) {
				fprintf(stderr, "vigil: oom: OomPolicy %s: %s is a cgroup v1 memcg with "
					"no cgroup v2 twin: its psi detectors read the node's memory "
					"pressure\n", pol->doc->name, rel);
				break;
			}
	}
	arm_triggers(u);
	if (pol->p->handoff)
		handoff_on(u);
	u->next = pol->units;
	pol->units = u;
	pol->n_units++;
	return u;
}

static void unit_remove(struct oom_pol *pol, struct oom_unit *u)
{
	struct oom_unit **pp;

	for (pp = &pol->units; *pp; pp = &(*pp)->next)
		if (*pp == u) {
			*pp = u->next;
			pol->n_units--;
			break;
		}
	unit_free(u);
}

static struct oom_unit *unit_find(struct oom_pol *pol, const char *rel)
{
	struct oom_unit *u;

	for (u = pol->units; u; u = u->next)
		if ((!rel && !u->rel) || (rel && u->rel && !strcmp(rel, u->rel)))
			return u;
	return NULL;
}

/* Full reading of the unit's counters, kept for the cheap path; the usage file opened once. */
static int unit_refresh(struct oom_unit *u)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	int err;

	unit_dir(u->e, u, dir, sizeof(dir));
	err = oom_memcg_read(dir, u->e->s.mem_v1, &u->cached);
	u->cached_ok = !err;
	if (!err && u->usage_fd < 0) {
		snprintf(path, sizeof(path), "%s/%s", dir,
			 u->e->s.mem_v1 ? "memory.usage_in_bytes" : "memory.current");
		u->usage_fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	return err;
}

/* Usage through the open fd; false when that does not work (then read it all). */
static bool unit_read_usage(struct oom_unit *u, uint64_t *usage)
{
	char buf[32];
	ssize_t n;
	char *end;

	if (u->usage_fd < 0 || !u->cached_ok)
		return false;
	n = pread(u->usage_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return false;
	buf[n] = 0;
	*usage = strtoull(buf, &end, 10);
	return end != buf;
}

/* ------------------------------------------------------------ scope discovery */

/*
 * The selector subject of a memcg path: the container and pod it belongs
 * to are parsed from the path itself, so it works in whichever hierarchy
 * the memory controller is.  tmp holds the strings x points to.
 */
static void path_subject(const char *rel, const struct vigil_ctr_cache *pods,
			 struct vigil_ctr *tmp, struct sel_subject *x)
{
	memset(tmp, 0, sizeof(*tmp));
	tmp->resolved = true;
	snprintf(tmp->cgroup, sizeof(tmp->cgroup), "%s", rel);
	cgroup_parse_path(rel, &tmp->info);
	/* Pod names: the container's, as the event cache knows them (only when a selector asks). */
	if (pods && tmp->info.id[0])
		tmp->pod = ctr_cache_pod_of(pods, tmp->info.id);
	ctr_subject(tmp, x);
}

/* The cache to take pod names from, when selector s needs them. */
static const struct vigil_ctr_cache *pods_for(const struct vigil_oom_engine *e,
					      const struct selector *s)
{
	return e->en && (s->namespaces.set || s->pods.set) ? &e->en->ctrs : NULL;
}

static bool scope_match(const struct vigil_oom_engine *e, const struct oom_policy *p,
			const char *rel)
{
	struct vigil_ctr tmp;
	struct sel_subject x;

	path_subject(rel, pods_for(e, &p->scope), &tmp, &x);
	return selector_match_cgroup(&p->scope, &x);
}

struct walk {
	struct vigil_oom_engine *e;
	struct oom_pol *pol;
	unsigned dirs;
};

/* Depth-first; the outermost match of each subtree becomes a unit. */
static void walk_dir(struct walk *w, char *rel, size_t rlen, int depth)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (++w->dirs > WALK_MAX_DIRS)
		return;
	if (scope_match(w->e, w->pol->p, rlen ? rel : "/")) {
		const char *r = rlen ? rel : "/";
		struct oom_unit *u = unit_find(w->pol, r);

		if (!u)
			u = unit_new(w->e, w->pol, r);
		if (u) {
			u->seen = true;
			unit_refresh(u);	/* limits and swap counters, once per rescan */
		}
		return;
	}
	if (depth >= WALK_MAX_DEPTH)
		return;
	snprintf(path, sizeof(path), "%s%s", w->e->s.mem_mount, rel);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t n;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		n = strlen(de->d_name);
		if (rlen + 1 + n >= 511)
			continue;
		rel[rlen] = '/';
		memcpy(rel + rlen + 1, de->d_name, n + 1);
		walk_dir(w, rel, rlen + 1 + n, depth + 1);
		rel[rlen] = 0;
	}
	closedir(d);
}

static void rescan_pol(struct vigil_oom_engine *e, struct oom_pol *pol)
{
	struct oom_unit *u, *next;
	char rel[512] = "";
	struct walk w = { e, pol, 0 };

	if (pol->p->node) {
		if (!pol->units)
			unit_new(e, pol, NULL);
		metrics_set(pol->watched, (double)pol->n_units);
		return;
	}
	for (u = pol->units; u; u = u->next)
		u->seen = false;
	walk_dir(&w, rel, 0, 0);
	for (u = pol->units; u; u = next) {
		next = u->next;
		if (!u->seen && !u->busy)
			unit_remove(pol, u);
	}
	if (!pol->n_units && !pol->missing_reported) {
		fprintf(stderr, "vigil: oom: OomPolicy %s: no memory cgroup under %s matches its scope "
			"yet; watching for one\n", pol->doc->name, e->s.mem_mount);
		count_error(e, "no_matching_cgroup");
		pol->missing_reported = true;
	} else if (pol->n_units) {
		pol->missing_reported = false;
	}
	metrics_set(pol->watched, (double)pol->n_units);
}

/* ------------------------------------------------------------ growth samples */

static void growth_sample(struct oom_unit *u, uint64_t now)
{
	struct vigil_oom_engine *e = u->e;
	struct oom_candidate *c = NULL;
	pid_t ex[2] = { getpid(), e->wd_pid };
	size_t n = 0, i, j;

	if (now - u->last_sample_ns < GROWTH_SAMPLE_MS * 1000000ull)
		return;
	u->last_sample_ns = now;
	if (oom_candidates_collect(e->s.mem_mount, u->rel, ex, e->wd_pid ? 2 : 1, &c, &n))
		return;
	for (j = 0; j < u->n_g; j++)
		u->g[j].seen = false;
	for (i = 0; i < n; i++) {
		struct oom_growth *g = NULL;

		for (j = 0; j < u->n_g; j++)
			if (u->g[j].pid == c[i].pid && u->g[j].start == c[i].start_ticks) {
				g = &u->g[j];
				break;
			}
		if (!g) {
			if (u->n_g >= GROWTH_MAX_PROCS)
				continue;
			struct oom_growth *ng = realloc(u->g, (u->n_g + 1) * sizeof(*ng));

			if (!ng)
				continue;
			u->g = ng;
			g = &u->g[u->n_g++];
			memset(g, 0, sizeof(*g));
			g->pid = c[i].pid;
			g->start = c[i].start_ticks;
		}
		g->seen = true;
		g->t[g->head] = now / 1000000;
		g->rss[g->head] = c[i].rss_anon + c[i].rss_file + c[i].rss_shmem + c[i].swap;
		g->head = (g->head + 1) % GROWTH_SAMPLES;
		if (g->n < GROWTH_SAMPLES)
			g->n++;
	}
	for (j = 0; j < u->n_g;) {
		if (!u->g[j].seen)
			u->g[j] = u->g[--u->n_g];
		else
			j++;
	}
	free(c);
}

/* Least-squares slope of the samples, bytes/s; 0 with fewer than two. */
static double growth_of(const struct oom_unit *u, const struct oom_candidate *c)
{
	size_t j;

	for (j = 0; j < u->n_g; j++) {
		const struct oom_growth *g = &u->g[j];
		double st = 0, sr = 0, stt = 0, str = 0, n = g->n, t0;
		unsigned k;

		if (g->pid != c->pid || g->start != c->start_ticks)
			continue;
		if (g->n < 2)
			return 0;
		t0 = (double)g->t[(g->head + GROWTH_SAMPLES - g->n) % GROWTH_SAMPLES];
		for (k = 0; k < g->n; k++) {
			unsigned idx = (g->head + GROWTH_SAMPLES - g->n + k) % GROWTH_SAMPLES;
			double t = ((double)g->t[idx] - t0) / 1000.0, r = (double)g->rss[idx];

			st += t;
			sr += r;
			stt += t * t;
			str += t * r;
		}
		if (n * stt - st * st <= 0)
			return 0;
		return (n * str - st * sr) / (n * stt - st * st);
	}
	return 0;
}

/* ------------------------------------------------------------ actions */

struct subject_ctx {
	struct vigil_ctr tmp;
	const struct vigil_ctr_cache *pods;	/* NULL: prefer/avoid name no pods */
};

static void subject_of(void *ctx, const struct oom_candidate *c, struct sel_subject *x)
{
	struct subject_ctx *sc = ctx;

	path_subject(c->cgroup, sc->pods, &sc->tmp, x);
	x->binary = c->binary;
	x->comm = c->comm;
}

static void detail_of(const struct oom_policy *p, int d, char *buf, size_t len)
{
	const struct oom_detector *det;
	double dur = (double)p->duration_ms / 1000.0;

	if (d < 0) {
		snprintf(buf, len, "handoff: the kernel reported an OOM (oom_kill_disable=1)");
		return;
	}
	det = &p->detectors[d];
	switch (det->kind) {
	case OOM_DET_USAGE:
	case OOM_DET_SWAP:
		snprintf(buf, len, "%s >= %g%% of %s for %gs", oom_detector_name(det->kind),
			 det->percent, det->of == OOM_OF_NODE ? "node" : "limit", dur);
		break;
	case OOM_DET_PSI:
		if (det->stall_us)
			snprintf(buf, len, "psi %s stall >= %gms in %gms for %gs",
				 det->psi_type == OOM_PSI_FULL ? "full" : "some",
				 (double)det->stall_us / 1000.0, (double)det->window_us / 1000.0, dur);
		else
			snprintf(buf, len, "psi %s avg10 >= %g%% for %gs",
				 det->psi_type == OOM_PSI_FULL ? "full" : "some", det->avg10, dur);
		break;
	}
}

static double threshold_of(const struct oom_policy *p, int d)
{
	const struct oom_detector *det;

	if (d < 0)
		return 100;
	det = &p->detectors[d];
	if (det->kind == OOM_DET_PSI)
		return det->stall_us ? 100.0 * (double)det->stall_us / (double)det->window_us :
				       det->avg10;
	return det->percent;
}

static uint64_t cgroup_ino(const struct vigil_oom_engine *e, const char *rel)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s", e->s.mem_mount, rel_suffix(rel));
	return stat(path, &st) ? 0 : (uint64_t)st.st_ino;
}

static void emit_oom(struct oom_unit *u, uint32_t type, const struct oom_candidate *v,
		     uint32_t killed, const char *hook, int hook_status, uint64_t latency_ns)
{
	struct vigil_oom_engine *e = u->e;
	const struct oom_policy *p = u->pol->p;
	struct vigil_oom_event raw;
	struct vigil_oom_info info;
	struct vigil_event_view view;
	struct oom_memcg_stat st;
	struct oom_meminfo mi;
	char dir[PATH_MAX], detail[160];

	memset(&raw, 0, sizeof(raw));
	raw.hdr.type = type;
	raw.hdr.ts_ns = clock_ns(CLOCK_MONOTONIC);
	raw.victim.pid = (uint32_t)v->pid;
	raw.victim.tid = (uint32_t)v->pid;
	raw.victim.cgroup_id = cgroup_ino(e, v->cgroup[0] ? v->cgroup : "/");
	memcpy(raw.victim.comm, v->comm, sizeof(raw.victim.comm));
	raw.victim.comm[sizeof(raw.victim.comm) - 1] = 0;
	raw.rss_anon = v->rss_anon;
	raw.rss_file = v->rss_file;
	raw.rss_shmem = v->rss_shmem;
	raw.swap = v->swap;
	raw.oom_score_adj = v->oom_score_adj;
	raw.flags = VIGIL_OOM_BY_VIGIL;
	raw.victim_memcg_id = raw.victim.cgroup_id;
	if (u->rel) {
		unit_dir(e, u, dir, sizeof(dir));
		raw.memcg_id = cgroup_ino(e, u->rel);
		if (oom_memcg_read(dir, e->s.mem_v1, &st) == 0) {
			raw.memcg_usage = st.usage;
			raw.memcg_limit = st.limit == UINT64_MAX ? 0 : st.limit;
		}
	} else {
		raw.flags |= VIGIL_OOM_GLOBAL;
		if (oom_meminfo_read(&mi) == 0) {
			raw.memcg_usage = mi.total - mi.available;
			raw.memcg_limit = mi.total;
		}
	}
	memset(&info, 0, sizeof(info));
	info.source = "vigil";
	info.scope = oom_kill_scope_name(p->kill);
	info.memcg_path = u->rel ? u->rel : "";
	info.policy = u->pol->doc->name;
	info.detector = u->fired_handoff ? "handoff" :
			oom_detector_name(p->detectors[u->fired_det].kind);
	detail_of(p, u->fired_handoff ? -1 : u->fired_det, detail, sizeof(detail));
	info.detail = detail;
	info.value = u->fired_value;
	info.threshold = threshold_of(p, u->fired_handoff ? -1 : u->fired_det);
	info.strategy = oom_strategy_name(p->strategy);
	info.growth_bytes_per_s = v->growth;
	info.dry_run = p->dry_run;
	info.killed = killed;
	info.hook = hook;
	info.hook_status = hook_status;
	info.latency_ns = latency_ns;
	if (enrich_synthetic(e->en, type, &raw, &info, &view) == 0 && e->emit)
		e->emit(e->emit_ctx, &view);
}

static const char *kill_result(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case -ESRCH:
		return "victim_exited";
	case -ENOENT:
		return "cgroup_vanished";
	default:
		return "failed";
	}
}

static void kill_victim(struct oom_unit *u, const char *hook, int hook_status)
{
	struct vigil_oom_engine *e = u->e;
	const struct oom_policy *p = u->pol->p;
	struct oom_kill_result r;
	pid_t ex[2] = { getpid(), e->wd_pid };
	char dir[PATH_MAX + 32], v2dir[PATH_MAX];
	const char *v2 = NULL;
	struct stat st;
	int err;

	memset(&r, 0, sizeof(r));
	u->last_action_ns = clock_ns(CLOCK_MONOTONIC);
	if (u->fired_handoff && u->rel) {
		unit_dir(e, u, dir, sizeof(dir));
		if (!under_oom(dir)) {
			/* The watchdog's deadline passed and the kernel resolved it meanwhile. */
			count_action(e, u->pol, "kill", "resolved_by_kernel");
			return;
		}
	}
	err = 0;
	if (u->rel) {
		unit_dir(e, u, dir, sizeof(dir));
		if (access(dir, F_OK))
			err = -ENOENT;	/* the cgroup vanished while the hook ran */
	}
	if (!err)
		err = oom_candidate_refresh(&u->victim);
	if (!err) {
		switch (p->kill) {
		case OOM_KILL_PROCESS:
			err = oom_kill_process(&u->victim, &r);
			break;
		case OOM_KILL_PROCESS_GROUP:
			err = oom_kill_pgrp(e->s.mem_mount, u->rel, &u->victim, ex, e->wd_pid ? 2 : 1,
					    &r);
			break;
		case OOM_KILL_CGROUP:
			if (!u->rel) {
				err = oom_kill_process(&u->victim, &r);
				break;
			}
			if (e->s.v2_mount[0]) {
				snprintf(v2dir, sizeof(v2dir), "%s%s",
					 e->s.mem_v1 ? e->s.v2_mount : e->s.mem_mount,
					 rel_suffix(u->rel));
				snprintf(dir, sizeof(dir), "%s/cgroup.kill", v2dir);
				if (stat(dir, &st) == 0)
					v2 = v2dir;
			}
			err = oom_kill_cgroup(e->s.mem_mount, u->rel, v2, ex, e->wd_pid ? 2 : 1, &r);
			break;
		}
	}
	if (!err && r.err)
		err = r.err;
	count_action(e, u->pol, "kill", kill_result(err));
	if (err) {
		fprintf(stderr, "vigil: oom: OomPolicy %s, %s: killing pid %d (%s) failed: %s\n",
			u->pol->doc->name, unit_name(u), (int)u->victim.pid, u->victim.comm,
			err == -ESRCH ? "it exited first" :
			err == -ENOENT ? "the cgroup vanished" : strerror(-err));
		count_error(e, err == -ESRCH ? "victim_exited" :
			       err == -ENOENT ? "cgroup_vanished" : "kill_failed");
		return;	/* no oom_kill event: vigil killed nothing */
	}
	emit_oom(u, VIGIL_EV_OOM_KILL, &u->victim, r.signalled, hook, hook_status,
		 clock_ns(CLOCK_MONOTONIC) - u->fired_ns);
	if (u->fired_handoff && u->rel) {
		u->ho_killed_pid = u->victim.pid;
		u->ho_killed_start = u->victim.start_ticks;
		unit_dir(e, u, dir, sizeof(dir));
		wd_send(e, "acted %s\n", dir, 0);
	}
	reset_detectors(u);
	arm_triggers(u);
}

/*
 * Kill the chosen victim.  For a handed-off OOM, an OOM notification that
 * came while the hook ran is looked at again once this is over.
 */
static void do_kill(struct oom_unit *u, const char *hook, int hook_status)
{
	static const struct timeval now = { 0, 0 };

	kill_victim(u, hook, hook_status);
	if (u->fired_handoff && u->ho_pending && u->ev_ho_again)
		evtimer_add(u->ev_ho_again, &now);
}

static void on_hook_done(evutil_socket_t fd, short what, void *arg)
{
	struct oom_unit *u = arg;
	int st;
	const char *res;

	if (what & EV_TIMEOUT) {
		st = oom_hook_kill(u->hook_pid, u->hook_pidfd);
		res = "timeout";
		fprintf(stderr, "vigil: oom: OomPolicy %s, %s: the pre-kill hook timed out after "
			"%llums; killed it, killing the victim anyway\n", u->pol->doc->name,
			unit_name(u), (unsigned long long)u->pol->p->hook_timeout_ms);
		count_error(u->e, "hook_timeout");
		count_action(u->e, u->pol, "hook", "timeout");
	} else {
		st = oom_hook_reap(u->hook_pid, u->hook_pidfd);
		res = st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "ok" : "failed";
		if (strcmp(res, "ok")) {
			fprintf(stderr, "vigil: oom: OomPolicy %s, %s: the pre-kill hook failed "
				"(status %d); killing the victim anyway\n", u->pol->doc->name,
				unit_name(u), st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1);
			count_error(u->e, "hook_failed");
		}
		count_action(u->e, u->pol, "hook", res);
	}
	hook_clear(u);
	do_kill(u, res, st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

static void act(struct oom_unit *u, int det, double value, uint64_t fired_ns, bool handoff)
{
	struct vigil_oom_engine *e = u->e;
	const struct oom_policy *p = u->pol->p;
	struct oom_candidate *c = NULL;
	pid_t ex[2] = { getpid(), e->wd_pid };
	struct oom_rank_opts ro;
	struct subject_ctx sc;
	struct oom_memcg_stat st;
	struct oom_meminfo mi;
	char dir[PATH_MAX];
	size_t n = 0, i;
	int err, vi;

	u->fired_det = det;
	u->fired_value = value;
	u->fired_ns = fired_ns;
	u->fired_handoff = handoff;
	u->last_action_ns = clock_ns(CLOCK_MONOTONIC);
	err = oom_candidates_collect(e->s.mem_mount, u->rel, ex, e->wd_pid ? 2 : 1, &c, &n);
	if (err) {
		fprintf(stderr, "vigil: oom: OomPolicy %s, %s: listing its processes failed: %s\n",
			u->pol->doc->name, unit_name(u),
			err == -ENOENT ? "the cgroup vanished" : strerror(-err));
		count_error(e, err == -ENOENT ? "cgroup_vanished" : "list_failed");
		count_action(e, u->pol, p->dry_run ? "dry_run" : "kill", kill_result(err));
		return;
	}
	if (p->strategy == OOM_VICTIM_FASTEST_GROWTH)
		for (i = 0; i < n; i++) {
			c[i].growth = growth_of(u, &c[i]);
			/* Not sampled long enough here: the leak scorer's slope, if it has one. */
			if (c[i].growth == 0 && e->slope_of)
				e->slope_of(e->slope_ctx, c[i].pid, &c[i].growth);
		}
	memset(&ro, 0, sizeof(ro));
	ro.strategy = p->strategy;
	ro.oom_score_adj = p->oom_score_adj;
	ro.prefer = p->has_prefer ? &p->prefer : NULL;
	ro.avoid = p->has_avoid ? &p->avoid : NULL;
	ro.subject = subject_of;
	sc.pods = p->has_prefer ? pods_for(e, &p->prefer) : NULL;
	if (!sc.pods && p->has_avoid)
		sc.pods = pods_for(e, &p->avoid);
	ro.ctx = &sc;
	ro.total_bytes = 0;
	if (u->rel) {
		unit_dir(e, u, dir, sizeof(dir));
		if (oom_memcg_read(dir, e->s.mem_v1, &st) == 0 && st.limit != UINT64_MAX)
			ro.total_bytes = st.limit;
	}
	if (!ro.total_bytes && oom_meminfo_read(&mi) == 0)
		ro.total_bytes = mi.total;
	vi = oom_rank(c, n, &ro);
	if (vi < 0) {
		fprintf(stderr, "vigil: oom: OomPolicy %s, %s: %s fired but no process may be "
			"killed (%zu processes, all excluded or oom_score_adj -1000)\n",
			u->pol->doc->name, unit_name(u), handoff ? "handoff" :
			oom_detector_name(p->detectors[det].kind), n);
		count_action(e, u->pol, p->dry_run ? "dry_run" : "kill", "no_candidate");
		free(c);
		return;
	}
	u->victim = c[vi];
	free(c);
	emit_oom(u, VIGIL_EV_OOM_PRE_KILL, &u->victim, 0, p->hook[0] ? "pending" : "none", 0, 0);
	if (p->dry_run) {
		count_action(e, u->pol, "dry_run", "ok");
		return;
	}
	if (p->hook[0]) {
		char env[6][600];
		char *envp[7];
		struct timeval to;

		snprintf(env[0], sizeof(env[0]), "VIGIL_OOM_POLICY=%s", u->pol->doc->name);
		snprintf(env[1], sizeof(env[1]), "VIGIL_OOM_VICTIM_PID=%d", (int)u->victim.pid);
		snprintf(env[2], sizeof(env[2]), "VIGIL_OOM_VICTIM_COMM=%s", u->victim.comm);
		snprintf(env[3], sizeof(env[3]), "VIGIL_OOM_CGROUP=%s", u->rel ? u->rel : "");
		snprintf(env[4], sizeof(env[4]), "VIGIL_OOM_DETECTOR=%s", handoff ? "handoff" :
			 oom_detector_name(p->detectors[det].kind));
		snprintf(env[5], sizeof(env[5]), "VIGIL_OOM_KILL_SCOPE=%s",
			 oom_kill_scope_name(p->kill));
		for (i = 0; i < 6; i++)
			envp[i] = env[i];
		envp[6] = NULL;
		err = oom_hook_spawn(p->hook, envp, &u->hook_pid, &u->hook_pidfd);
		if (err) {
			fprintf(stderr, "vigil: oom: OomPolicy %s: starting the pre-kill hook failed: "
				"%s; killing without it\n", u->pol->doc->name, strerror(-err));
			count_error(e, "hook_failed");
			count_action(e, u->pol, "hook", "failed");
			do_kill(u, "failed", -1);
			return;
		}
		u->busy = true;
		u->ev_hook = event_new(e->base, u->hook_pidfd, EV_READ, on_hook_done, u);
		to.tv_sec = (time_t)(p->hook_timeout_ms / 1000);
		to.tv_usec = (suseconds_t)(p->hook_timeout_ms % 1000) * 1000;
		if (u->ev_hook)
			event_add(u->ev_hook, &to);
		return;
	}
	do_kill(u, "none", 0);
}

/*
 * A handed-off OOM: choose and kill, unless the last victim is still on
 * its way out.  Its memory is freed when it exits, which wakes the tasks
 * the kernel parked; if they still do not fit, that is a new OOM and a new
 * notification.  Killing a second process meanwhile would be one too many
 * (the kernel's OOM killer waits for its victim the same way).
 */
static void handoff_act(struct oom_unit *u)
{
	if (u->ho_killed_pid && oom_process_alive(u->ho_killed_pid, u->ho_killed_start))
		return;
	u->ho_killed_pid = 0;
	act(u, -1, 100, clock_ns(CLOCK_MONOTONIC), true);
}

static void on_handoff(evutil_socket_t fd, short what, void *arg)
{
	struct oom_unit *u = arg;
	uint64_t cnt;

	if (read(u->ho_efd, &cnt, sizeof(cnt)) != sizeof(cnt))
		return;
	if (u->busy) {
		/* Looked at again once this action is over (do_kill). */
		u->ho_pending = true;
		return;
	}
	handoff_act(u);
}

static void on_handoff_again(evutil_socket_t fd, short what, void *arg)
{
	struct oom_unit *u = arg;
	char dir[PATH_MAX];

	if (u->busy || !u->ho_on)
		return;
	u->ho_pending = false;
	unit_dir(u->e, u, dir, sizeof(dir));
	if (under_oom(dir))
		handoff_act(u);
}

/* ------------------------------------------------------------ detectors */

/* Stall (us) in about the last window, from samples of the total. */
static bool psi_stall_polled(struct oom_unit *u, int i, const struct oom_detector *d,
			     const struct oom_psi *psi, uint64_t now)
{
	uint64_t total = d->psi_type == OOM_PSI_FULL ? psi->full_total_us : psi->some_total_us;
	uint64_t step = d->window_us * 1000ull / (PSI_HIST - 1), from;
	struct psi_hist *h;
	unsigned k, idx;

	if (!u->psi_hist) {
		u->psi_hist = calloc(POLICY_MAX_OOM_DETECTORS, sizeof(*u->psi_hist));
		if (!u->psi_hist)
			return false;
	}
	h = &u->psi_hist[i];
	if (!h->n || now - h->t[(h->head + PSI_HIST - 1) % PSI_HIST] >= step) {
		h->t[h->head] = now;
		h->total[h->head] = total;
		h->head = (h->head + 1) % PSI_HIST;
		if (h->n < PSI_HIST)
			h->n++;
	}
	/* The oldest sample still inside the window: a conservative reading. */
	from = total;
	for (k = 0; k < h->n; k++) {
		idx = (h->head + PSI_HIST - h->n + k) % PSI_HIST;
		if (now - h->t[idx] <= d->window_us * 1000ull) {
			from = h->total[idx];
			break;
		}
	}
	return total - from >= d->stall_us;
}

static void maybe_fire(struct oom_unit *u, uint64_t now)
{
	const struct oom_policy *p = u->pol->p;
	size_t i;

	if (u->busy)
		return;
	if (u->last_action_ns && now - u->last_action_ns < p->post_action_delay_ms * 1000000ull)
		return;
	for (i = 0; i < p->n_detectors; i++) {
		if (!u->hold_since[i] || now - u->hold_since[i] < p->duration_ms * 1000000ull)
			continue;
		act(u, (int)i, u->value[i], now, false);
		return;
	}
}

/* Swap detectors need the swap counters every time; usage and psi need only usage. */
static bool needs_full_read(const struct oom_policy *p)
{
	for (size_t i = 0; i < p->n_detectors; i++)
		if (p->detectors[i].kind == OOM_DET_SWAP)
			return true;
	return false;
}

static void eval_unit(struct vigil_oom_engine *e, struct oom_pol *pol, struct oom_unit *u,
		      uint64_t now, double *maxv)
{
	const struct oom_policy *p = pol->p;
	struct oom_memcg_stat st;
	struct oom_meminfo mi;
	struct oom_psi psi;
	bool have_mi = false, have_psi = false;
	char dir[PATH_MAX];
	size_t i;

	if (u->busy)
		return;
	memset(&st, 0, sizeof(st));
	if (u->rel && !needs_full_read(p) && unit_read_usage(u, &st.usage)) {
		uint64_t usage = st.usage;

		st = u->cached;
		st.usage = usage;
	} else if (u->rel) {
		int err;

		unit_dir(e, u, dir, sizeof(dir));
		err = oom_memcg_read(dir, e->s.mem_v1, &st);
		if (err == -ENOENT) {
			u->seen = false;	/* gone: the next rescan drops it */
			return;
		}
		if (err) {
			if (!u->unreadable_logged) {
				fprintf(stderr, "vigil: oom: OomPolicy %s: cannot read the memory usage "
					"of %s: %s%s\n", pol->doc->name, dir, strerror(-err),
					err == -EOPNOTSUPP ? " (is the memory controller enabled for "
					"it?)" : "");
				count_error(e, "unreadable_cgroup");
				u->unreadable_logged = true;
			}
			return;
		}
	}
	for (i = 0; i < p->n_detectors; i++) {
		const struct oom_detector *d = &p->detectors[i];
		bool hold = false;
		double v = 0, base;

		switch (d->kind) {
		case OOM_DET_USAGE:
			if (!u->rel || d->of == OOM_OF_NODE || st.limit == UINT64_MAX) {
				if (!have_mi && oom_meminfo_read(&mi) == 0)
					have_mi = true;
				if (!have_mi || !mi.total)
					break;
			}
			if (!u->rel)
				v = 100.0 * (double)(mi.total - mi.available) / (double)mi.total;
			else {
				base = d->of == OOM_OF_NODE || st.limit == UINT64_MAX ?
				       (double)mi.total : (double)st.limit;
				v = base > 0 ? 100.0 * (double)st.usage / base : 0;
			}
			hold = v >= d->percent;
			break;
		case OOM_DET_SWAP:
			if (!have_mi && oom_meminfo_read(&mi) == 0)
				have_mi = true;
			if (u->rel && d->of == OOM_OF_LIMIT && st.swap_limit != UINT64_MAX &&
			    st.swap_limit)
				v = 100.0 * (double)st.swap_usage / (double)st.swap_limit;
			else if (have_mi && mi.swap_total)
				v = 100.0 * (double)(u->rel && d->of == OOM_OF_LIMIT ? st.swap_usage :
					     mi.swap_total - mi.swap_free) / (double)mi.swap_total;
			hold = v >= d->percent && v > 0;
			break;
		case OOM_DET_PSI:
			if (!have_psi && oom_psi_read(u->psi_path, &psi) == 0)
				have_psi = true;
			if (!have_psi)
				break;
			v = d->psi_type == OOM_PSI_FULL ? psi.full_avg10 : psi.some_avg10;
			if (!d->stall_us)
				hold = v >= d->avg10;
			else
				/*
				 * The trigger wakes us early; the stall total, read every
				 * interval anyway, is the backstop if a wakeup is missed.
				 */
				hold = psi_stall_polled(u, (int)i, d, &psi, now) ||
				       (u->trig[i].fd >= 0 && u->trig_last_ns[i] &&
					now - u->trig_last_ns[i] < d->window_us * 1500ull);
			break;
		}
		u->value[i] = v;
		if (v > maxv[i])
			maxv[i] = v;
		if (!hold)
			u->hold_since[i] = 0;
		else if (!u->hold_since[i])
			u->hold_since[i] = now;
	}
	if (p->strategy == OOM_VICTIM_FASTEST_GROWTH)
		growth_sample(u, now);
	maybe_fire(u, now);
}

static void publish_pressure(struct vigil_oom_engine *e, struct oom_pol *pol, const double *maxv)
{
	size_t i;

	for (i = 0; i < pol->p->n_detectors; i++) {
		char idx[24];
		const char *v[] = { pol->doc->name, idx,
				    oom_detector_name(pol->p->detectors[i].kind) };

		snprintf(idx, sizeof(idx), "%zu", i);
		metrics_set(metrics_series(e->pressure, v), maxv[i]);
	}
}

static void on_psi(evutil_socket_t fd, short what, void *arg);

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct vigil_oom_engine *e = arg;
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	unsigned long cgns_errs;
	size_t k;

	metrics_add(e->ticks, 1);
	cgns_errs = oom_cgns_take_errors();
	if (cgns_errs) {
		const char *v[] = { "cgroupns" };

		metrics_add(metrics_series(e->errors, v), (double)cgns_errs);
	}
	on_psi(e->epfd, EV_READ, e);	/* PSI trigger events since the last tick */
	for (k = 0; k < e->n_pols; k++) {
		struct oom_pol *pol = &e->pols[k];
		double maxv[POLICY_MAX_OOM_DETECTORS] = { 0 };
		struct oom_unit *u;

		for (u = pol->units; u; u = u->next)
			eval_unit(e, pol, u, now, maxv);
		publish_pressure(e, pol, maxv);
	}
}

static void on_psi(evutil_socket_t fd, short what, void *arg)
{
	struct vigil_oom_engine *e = arg;
	struct epoll_event evs[32];
	int n, i;

	n = epoll_wait(e->epfd, evs, 32, 0);
	for (i = 0; i < n; i++) {
		struct oom_trig *t = evs[i].data.ptr;
		struct oom_unit *u = t->u;
		uint64_t now = clock_ns(CLOCK_MONOTONIC);

		if (evs[i].events & EPOLLERR) {
			trig_close(u, t->idx);	/* the cgroup went away */
			continue;
		}
		u->trig_last_ns[t->idx] = now;
		if (!u->hold_since[t->idx])
			u->hold_since[t->idx] = now;
		u->value[t->idx] = 100.0 * (double)u->pol->p->detectors[t->idx].stall_us /
				   (double)u->pol->p->detectors[t->idx].window_us;
		maybe_fire(u, now);
	}
}

static void on_rescan(evutil_socket_t fd, short what, void *arg)
{
	struct vigil_oom_engine *e = arg;
	size_t k;

	for (k = 0; k < e->n_pols; k++)
		rescan_pol(e, &e->pols[k]);
}

/* ------------------------------------------------------------ lifecycle */

int oom_engine_init(struct vigil_oom_engine *e, struct event_base *base, struct vigil_enricher *en,
		    struct vigil_metrics *m, const struct vigil_oom_settings *s,
		    vigil_oom_emit_fn emit, void *emit_ctx, char *why, size_t whylen)
{
	static const char *const alabels[] = { "policy", "action", "result", NULL };
	static const char *const plabels[] = { "policy", "index", "detector", NULL };
	static const char *const wlabels[] = { "policy", NULL };
	static const char *const elabels[] = { "reason", NULL };
	struct timeval tv;

	memset(e, 0, sizeof(*e));
	e->s = *s;
	if (!e->s.interval_ms)
		e->s.interval_ms = 50;
	if (!e->s.rescan_ms)
		e->s.rescan_ms = 2000;
	e->base = base;
	e->en = en;
	e->emit = emit;
	e->emit_ctx = emit_ctx;
	e->m = m;
	e->wd_fd = -1;
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (e->epfd < 0) {
		snprintf(why, whylen, "oom engine: epoll_create1: %s", strerror(errno));
		return -errno;
	}
	e->actions = metrics_family(m, "vigil_oom_policy_actions_total",
				    "OOM policy actions by policy, action (kill, dry_run, hook) "
				    "and result", VIGIL_METRIC_COUNTER, alabels, 0);
	e->pressure = metrics_family(m, "vigil_oom_pressure_percent",
				     "Each OomPolicy detector's reading, the highest across the "
				     "policy's memory cgroups, in percent", VIGIL_METRIC_GAUGE, plabels,
				     0);
	e->watched = metrics_family(m, "vigil_oom_watched_cgroups",
				    "Memory cgroups (or the node: 1) each OomPolicy watches",
				    VIGIL_METRIC_GAUGE, wlabels, 0);
	e->errors = metrics_family(m, "vigil_oom_errors_total",
				   "OOM policy problems by reason (cgroup_vanished, victim_exited, "
				   "hook_timeout, ...)", VIGIL_METRIC_COUNTER, elabels, 0);
	e->handoff_cgroups = metrics_single(m, "vigil_oom_handoff_cgroups",
					    "Memory cgroups whose OOMs are handed off to vigil "
					    "(oom_kill_disable=1)", VIGIL_METRIC_GAUGE);
	e->wd_fallbacks = metrics_single(m, "vigil_oom_handoff_fallbacks_total",
					 "Handed-off OOMs the watchdog gave back to the kernel "
					 "after the deadline", VIGIL_METRIC_COUNTER);
	e->ticks = metrics_single(m, "vigil_oom_evaluations_total",
				  "OOM detector evaluation rounds", VIGIL_METRIC_COUNTER);
	e->ev_tick = event_new(base, -1, EV_PERSIST, on_tick, e);
	e->ev_rescan = event_new(base, -1, EV_PERSIST, on_rescan, e);
	/*
	 * The trigger set (epfd) is read by the tick, never waited on through
	 * libevent: polling a PSI trigger consumes its event, so an outer epoll
	 * watching this epoll fd would eat the wakeups (measured: every one).
	 */
	if (!e->ev_tick || !e->ev_rescan) {
		snprintf(why, whylen, "oom engine: out of memory");
		return -ENOMEM;
	}
	tv.tv_sec = e->s.interval_ms / 1000;
	tv.tv_usec = (e->s.interval_ms % 1000) * 1000;
	event_add(e->ev_tick, &tv);
	tv.tv_sec = e->s.rescan_ms / 1000;
	tv.tv_usec = (e->s.rescan_ms % 1000) * 1000;
	event_add(e->ev_rescan, &tv);
	return 0;
}

int oom_engine_check(const struct vigil_oom_engine *e, const struct policy_set *set, char *why,
		     size_t whylen)
{
	size_t i;

	for (i = 0; i < set->n_docs; i++) {
		const struct policy_doc *d = &set->docs[i];

		if (d->kind != POLICY_KIND_OOM || !d->oom || !d->oom->handoff)
			continue;
		if (!e->s.mem_v1) {
			snprintf(why, whylen, "%s:%d: OomPolicy %s: handoff needs the cgroup v1 "
				 "memory controller (memory.oom_control); this node's memory "
				 "controller is on cgroup v2: use detectors instead", d->file, d->line,
				 d->name);
			return -EINVAL;
		}
	}
	return 0;
}

void oom_engine_apply(struct vigil_oom_engine *e, const struct policy_set *set)
{
	struct oom_pol *old = e->pols, *pols;
	size_t n_old = e->n_pols, n = 0, i, k;

	for (i = 0; i < set->n_docs; i++)
		if (set->docs[i].kind == POLICY_KIND_OOM && set->docs[i].oom)
			n++;
	pols = n ? calloc(n, sizeof(*pols)) : NULL;
	if (n && !pols) {
		fprintf(stderr, "vigil: oom: out of memory applying policies\n");
		return;
	}
	n = 0;
	for (i = 0; i < set->n_docs; i++) {
		const struct policy_doc *d = &set->docs[i];
		struct oom_pol *p;
		const char *wl[2];

		if (d->kind != POLICY_KIND_OOM || !d->oom)
			continue;
		p = &pols[n++];
		p->doc = d;
		p->p = d->oom;
		wl[0] = d->name;
		wl[1] = NULL;
		p->watched = metrics_series(e->watched, wl);
		/* Units of a policy that stays keep their hold timers' history and quiet time. */
		for (k = 0; k < n_old; k++) {
			struct oom_unit *u, *next;

			if (!old[k].doc || strcmp(old[k].doc->name, d->name))
				continue;
			for (u = old[k].units; u; u = next) {
				next = u->next;
				u->pol = p;
				reset_detectors(u);
				if (!p->p->handoff)
					handoff_off(u);
				u->next = p->units;
				p->units = u;
				p->n_units++;
			}
			old[k].units = NULL;
			old[k].n_units = 0;
			old[k].doc = NULL;
			break;
		}
	}
	/* Policies that went away: their units go, and their handoff is undone. */
	for (k = 0; k < n_old; k++) {
		struct oom_unit *u, *next;

		for (u = old[k].units; u; u = next) {
			next = u->next;
			unit_free(u);
		}
		if (old[k].doc) {
			const char *wl[] = { old[k].doc->name, NULL };

			metrics_set(metrics_series(e->watched, wl), 0);
		}
	}
	free(old);
	e->pols = pols;
	e->n_pols = n;
	metrics_family_clear(e->pressure);
	for (k = 0; k < n; k++) {
		struct oom_unit *u;

		for (u = pols[k].units; u; u = u->next) {
			arm_triggers(u);
			if (pols[k].p->handoff)
				handoff_on(u);
		}
		rescan_pol(e, &pols[k]);
	}
}

void oom_engine_close(struct vigil_oom_engine *e)
{
	size_t k;

	for (k = 0; k < e->n_pols; k++) {
		struct oom_unit *u, *next;

		for (u = e->pols[k].units; u; u = next) {
			next = u->next;
			unit_free(u);
		}
	}
	free(e->pols);
	e->pols = NULL;
	e->n_pols = 0;
	if (e->wd_fd >= 0) {
		int st;

		if (write(e->wd_fd, "quit\n", 5) < 0) {
			/* it is gone already */
		}
		close(e->wd_fd);
		e->wd_fd = -1;
		if (e->wd_pid > 0)
			waitpid(e->wd_pid, &st, 0);
	}
	if (e->ev_wd)
		event_free(e->ev_wd);
	if (e->ev_tick)
		event_free(e->ev_tick);
	if (e->ev_rescan)
		event_free(e->ev_rescan);
	e->ev_wd = e->ev_tick = e->ev_rescan = NULL;
	if (e->epfd >= 0)
		close(e->epfd);
	e->epfd = -1;
}
