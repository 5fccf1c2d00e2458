/*
 * reload.h - keeping the active policy set in step with the policy
 * directory: the first load, SIGHUP, and inotify on the directory.
 *
 * A reload reads and validates the whole directory, then hands the set to
 * the engines; any error keeps the previous set active.  Every attempt is
 * reported through the agent's sink (a policy_reload event) and counted.
 * Nothing here prints.
 */
#ifndef VIGIL_RELOAD_H
#define VIGIL_RELOAD_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "metrics.h"
#include "policy.h"

struct event_base;
struct event;
struct vigil_sigpolicy;
struct vigil_trust_engine;
struct vigil_oom_engine;
struct vigil_leak_engine;

/* What one reload attempt did; handed to the sink. */
struct vigil_reload_info {
	uint64_t time_ns;		/* CLOCK_REALTIME */
	const char *trigger;		/* "start", "sighup", "inotify" */
	const char *dir;
	const char *dir_state;		/* policy_dir_state_name() */
	bool ok;			/* the new set is active (or nothing had to change) */
	uint32_t generation;		/* active generation after the attempt */
	size_t documents, rules, files;	/* of the active set */
	const struct policy_diags *diags;	/* errors and warnings of the attempt */
	const char *error;		/* why it failed beyond diags (engine errors), or NULL */
};

typedef void (*vigil_reload_fn)(void *ctx, const struct vigil_reload_info *r);

#define RELOAD_MAX_DIRTY 32

struct vigil_reloader {
	char dir[PATH_MAX];
	bool required;			/* policy_required: a dir with no usable set is an error */
	struct vigil_sigpolicy *sp;
	struct vigil_trust_engine *trust;	/* NULL: no trust engine */
	struct vigil_oom_engine *oom;		/* NULL: no OOM policy engine */
	struct vigil_leak_engine *leak;		/* NULL: no leak scorer */
	vigil_reload_fn report;
	void *report_ctx;
	struct event_base *base;
	int ifd;			/* inotify, -1 if unavailable */
	int wd;				/* watch on dir, -1 while it does not exist */
	struct event *ev_ino, *ev_settle, *ev_rewatch;
	/* Files with writes not yet closed: reloading now could read half a file. */
	char dirty[RELOAD_MAX_DIRTY][NAME_MAX + 1];
	unsigned n_dirty;
	uint64_t settle_started_ns;	/* CLOCK_MONOTONIC of the first event of this burst */
	uint64_t signature;		/* of the files last loaded successfully */
	size_t documents, rules, files;	/* of the active set */
	struct vigil_metric_series *reloads_ok, *reloads_failed, *errors, *generation,
		*active_documents, *last_success;
};

int reloader_init(struct vigil_reloader *r, struct event_base *base, const char *dir,
		  bool required, struct vigil_sigpolicy *sp, struct vigil_metrics *m,
		  vigil_reload_fn report, void *report_ctx, char *why, size_t whylen);
/*
 * Load now.  Returns 0 if the directory's set is active (or there was
 * nothing to load and that is allowed), -EINVAL if it was refused.
 */
int reloader_run(struct vigil_reloader *r, const char *trigger);
void reloader_free(struct vigil_reloader *r);

/* Signature of the policy files in dir (names, sizes, mtimes, inodes); 0 if none. */
uint64_t reload_dir_signature(const char *dir);

#endif
