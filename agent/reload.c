/*
 * reload.c - policy directory reloads (see reload.h).
 *
 * inotify events are not acted on one by one: an editor's save or a
 * ConfigMap update is a burst of creates, writes and renames.  Each event
 * (re)arms a short settle timer; when it fires, files that were opened for
 * writing and not yet closed hold the reload back (up to RELOAD_WAIT_MAX_MS,
 * for writers that never close), so a file is read whole or not at
 * all.  The loader's own before/after stat check catches what slips past.
 * If nothing about the policy files changed since the last good load (a
 * swap file came and went), the burst is ignored.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "leak.h"
#include "oomengine.h"
#include "reload.h"
#include "trustengine.h"
#include "sigpolicy.h"

#define RELOAD_SETTLE_MS 200
#define RELOAD_WAIT_MAX_MS 5000
#define RELOAD_REWATCH_MS 2000

static struct timeval ms_tv(unsigned ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	return tv;
}

/* FNV-1a over (name, size, mtime, inode) of every policy file. */
uint64_t reload_dir_signature(const char *dir)
{
	uint64_t h = 1469598103934665603ull;
	struct dirent **names = NULL;
	char path[PATH_MAX];
	struct stat st;
	int n;

	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return 0;
	for (int i = 0; i < n; i++) {
		uint64_t fields[4];
		const unsigned char *p;

		if (policy_file_name_ok(names[i]->d_name) &&
		    snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) < (int)sizeof(path) &&
		    stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			fields[0] = st.st_size;
			fields[1] = st.st_mtim.tv_sec * 1000000000ull + st.st_mtim.tv_nsec;
			fields[2] = st.st_ino;
			fields[3] = st.st_ctim.tv_sec * 1000000000ull + st.st_ctim.tv_nsec;
			for (p = (const unsigned char *)names[i]->d_name; *p; p++)
				h = (h ^ *p) * 1099511628211ull;
			for (p = (const unsigned char *)fields; p < (const unsigned char *)(fields + 4); p++)
				h = (h ^ *p) * 1099511628211ull;
		}
		free(names[i]);
	}
	free(names);
	return h;
}

static void count_set(const struct policy_set *s, size_t *docs, size_t *rules)
{
	*docs = s->n_docs;
	*rules = 0;
	for (size_t i = 0; i < s->n_docs; i++)
		*rules += s->docs[i].n_rules + s->docs[i].n_trust_rules;
}

int reloader_run(struct vigil_reloader *r, const char *trigger)
{
	struct vigil_reload_info info = { .trigger = trigger, .dir = r->dir };
	struct policy_diags d = { 0 };
	struct policy_set set = { 0 };
	enum policy_dir_state st = policy_dir_state(r->dir);
	char *paths[1] = { r->dir };
	char why[PATH_MAX + 128] = "";
	uint64_t sig = reload_dir_signature(r->dir);
	size_t docs = 0, rules = 0, files = 0;
	int err = 0;

	info.dir_state = policy_dir_state_name(st);
	switch (st) {
	case POLICY_DIR_OK:
		err = policy_load_paths(&set, paths, 1, &d);
		if (err < 0)
			snprintf(why, sizeof(why), "loading policies: %s", strerror(-err));
		else if (err > 0)
			err = -EINVAL;
		break;
	case POLICY_DIR_MISSING:
	case POLICY_DIR_EMPTY:
		/* No policies is a valid state (all files removed), unless required. */
		if (r->required) {
			snprintf(why, sizeof(why), "policy_required is set and %s is %s",
				 r->dir, info.dir_state);
			err = -EINVAL;
		}
		break;
	default:
		snprintf(why, sizeof(why), "%s is %s", r->dir, info.dir_state);
		err = -EINVAL;
		break;
	}
	if (!err && r->required && !set.n_docs) {
		snprintf(why, sizeof(why), "policy_required is set and %s holds no policy documents",
			 r->dir);
		err = -EINVAL;
	}
	if (!err && r->oom)
		err = oom_engine_check(r->oom, &set, why, sizeof(why));
	if (!err) {
		count_set(&set, &docs, &rules);
		files = set.n_files;
		/* Trust first: it is the part that can fail on something outside the set (the store). */
		if (r->trust)
			err = trust_engine_apply(r->trust, &set, r->sp->gen + 1, why, sizeof(why));
		if (!err) {
			err = sigpolicy_apply(r->sp, &set, why, sizeof(why));
			if (r->trust && !err) {
				trust_engine_rebind(r->trust, &r->sp->slots[r->sp->active].set);
			} else if (r->trust) {
				char why2[256];

				trust_engine_apply(r->trust, &r->sp->slots[r->sp->active].set,
						   r->sp->gen, why2, sizeof(why2));
			}
		}
	}
	if (r->oom && !err)
		oom_engine_apply(r->oom, &r->sp->slots[r->sp->active].set);
	if (r->leak && !err)
		leak_engine_apply(r->leak, &r->sp->slots[r->sp->active].set);
	if (!err) {
		r->documents = docs;
		r->rules = rules;
		r->files = files;
		r->signature = sig;
		metrics_add(r->reloads_ok, 1);
		metrics_set(r->last_success, clock_ns(CLOCK_REALTIME) / 1e9);
	} else {
		metrics_add(r->reloads_failed, 1);
		metrics_add(r->errors, 1);
	}
	policy_set_free(&set);
	metrics_set(r->generation, r->sp->gen);
	metrics_set(r->active_documents, (double)r->documents);

	info.time_ns = clock_ns(CLOCK_REALTIME);
	info.ok = !err;
	info.generation = r->sp->gen;
	info.documents = r->documents;
	info.rules = r->rules;
	info.files = r->files;
	info.diags = &d;
	info.error = why[0] ? why : NULL;
	if (r->report)
		r->report(r->report_ctx, &info);
	policy_diags_free(&d);
	return err ? -EINVAL : 0;
}

/* ---------------------------------------------------------------- inotify */

static void add_watch(struct vigil_reloader *r)
{
	if (r->ifd < 0 || r->wd >= 0)
		return;
	r->wd = inotify_add_watch(r->ifd, r->dir,
				  IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
				  IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF |
				  IN_MOVE_SELF | IN_ONLYDIR);
}

static void mark_dirty(struct vigil_reloader *r, const char *name, bool dirty)
{
	unsigned i;

	for (i = 0; i < r->n_dirty; i++)
		if (!strcmp(r->dirty[i], name))
			break;
	if (dirty && i == r->n_dirty && r->n_dirty < RELOAD_MAX_DIRTY)
		snprintf(r->dirty[r->n_dirty++], sizeof(r->dirty[0]), "%s", name);
	else if (!dirty && i < r->n_dirty)
		memmove(r->dirty[i], r->dirty[i + 1], (--r->n_dirty - i) * sizeof(r->dirty[0]));
}

static void arm_settle(struct vigil_reloader *r)
{
	struct timeval tv = ms_tv(RELOAD_SETTLE_MS);

	if (!r->settle_started_ns)
		r->settle_started_ns = clock_ns(CLOCK_MONOTONIC);
	evtimer_add(r->ev_settle, &tv);	/* re-adding restarts the timer */
}

static void on_inotify(evutil_socket_t fd, short what, void *arg)
{
	struct vigil_reloader *r = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	bool relevant = false;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
				/* The directory went away: its watch is gone too. */
				r->wd = -1;
				relevant = true;
				continue;
			}
			if (ev->len && (ev->mask & IN_MODIFY))
				mark_dirty(r, ev->name, true);
			if (ev->len && (ev->mask & (IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM)))
				mark_dirty(r, ev->name, false);
			relevant = true;
		}
	}
	if (relevant)
		arm_settle(r);
}

static void on_settle(evutil_socket_t fd, short what, void *arg)
{
	struct vigil_reloader *r = arg;
	uint64_t waited = (clock_ns(CLOCK_MONOTONIC) - r->settle_started_ns) / 1000000;
	struct timeval tv = ms_tv(RELOAD_SETTLE_MS);

	if (r->n_dirty && waited < RELOAD_WAIT_MAX_MS) {
		evtimer_add(r->ev_settle, &tv);	/* a writer still has a file open */
		return;
	}
	r->n_dirty = 0;
	r->settle_started_ns = 0;
	if (r->wd < 0)
		add_watch(r);
	if (reload_dir_signature(r->dir) == r->signature)
		return;		/* nothing a policy file is made of changed */
	reloader_run(r, "inotify");
}

/* While the directory does not exist, look for it now and then. */
static void on_rewatch(evutil_socket_t fd, short what, void *arg)
{
	struct vigil_reloader *r = arg;

	if (r->wd >= 0)
		return;
	add_watch(r);
	if (r->wd >= 0)
		arm_settle(r);
}

int reloader_init(struct vigil_reloader *r, struct event_base *base, const char *dir,
		  bool required, struct vigil_sigpolicy *sp, struct vigil_metrics *m,
		  vigil_reload_fn report, void *report_ctx, char *why, size_t whylen)
{
	struct timeval rewatch = ms_tv(RELOAD_REWATCH_MS);
	static const char *const result[] = { "result", NULL };
	struct vigil_metric_family *reloads;

	memset(r, 0, sizeof(*r));
	r->ifd = -1;
	snprintf(r->dir, sizeof(r->dir), "%s", dir);
	r->required = required;
	r->sp = sp;
	r->report = report;
	r->report_ctx = report_ctx;
	r->base = base;
	r->wd = -1;

	reloads = metrics_family(m, "vigil_policy_reloads_total",
				 "Policy directory loads, by result (ok: the set is active; error: "
				 "refused, the previous set stays).", VIGIL_METRIC_COUNTER, result, 0);
	r->reloads_ok = metrics_series(reloads, (const char *const[]){ "ok" });
	r->reloads_failed = metrics_series(reloads, (const char *const[]){ "error" });
	r->errors = metrics_single(m, "vigil_policy_reload_errors_total",
				   "Policy loads refused because of an error; the previous set stayed active.",
				   VIGIL_METRIC_COUNTER);
	r->generation = metrics_single(m, "vigil_policy_generation",
				       "Generation number of the active policy set.", VIGIL_METRIC_GAUGE);
	r->active_documents = metrics_single(m, "vigil_policy_documents",
					     "Policy documents in the active set.", VIGIL_METRIC_GAUGE);
	r->last_success = metrics_single(m, "vigil_policy_last_reload_success_timestamp_seconds",
					 "When the active policy set was loaded.", VIGIL_METRIC_GAUGE);
	if (!r->reloads_ok || !r->reloads_failed || !r->errors || !r->generation ||
	    !r->active_documents || !r->last_success) {
		snprintf(why, whylen, "registering policy metrics: out of memory");
		return -ENOMEM;
	}

	r->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (r->ifd < 0) {
		snprintf(why, whylen, "inotify: %s", strerror(errno));
		return -errno;
	}
	add_watch(r);
	r->ev_ino = event_new(base, r->ifd, EV_READ | EV_PERSIST, on_inotify, r);
	r->ev_settle = evtimer_new(base, on_settle, r);
	r->ev_rewatch = event_new(base, -1, EV_PERSIST, on_rewatch, r);
	if (!r->ev_ino || !r->ev_settle || !r->ev_rewatch || event_add(r->ev_ino, NULL) ||
	    event_add(r->ev_rewatch, &rewatch)) {
		snprintf(why, whylen, "setting up policy reloads: out of memory");
		return -ENOMEM;
	}
	return 0;
}

void reloader_free(struct vigil_reloader *r)
{
	struct event **evs[] = { &r->ev_ino, &r->ev_settle, &r->ev_rewatch };

	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		if (*evs[i])
			event_free(*evs[i]);
		*evs[i] = NULL;
	}
	if (r->ifd >= 0)
		close(r->ifd);
	r->ifd = -1;
}
