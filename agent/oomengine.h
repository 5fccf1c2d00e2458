/*
 * oomengine.h - the user-space OOM policy (OomPolicy documents).
 *
 * Each policy covers units: memory cgroups matched by its scope (the
 * outermost match of each subtree), or the whole node.  Every
 * `interval_ms` the engine reads each unit's usage, swap and pressure and
 * evaluates the policy's detectors; PSI stall detectors use kernel PSI
 * triggers.  When one detector has held for `duration`, the engine picks
 * a victim (oomproc.c), reports an oom_pre_kill event, runs the pre-kill
 * hook, kills, and reports an oom_kill event with source "vigil".
 *
 * Handoff (cgroup v1): the unit's memory.oom_control gets
 * oom_kill_disable=1 and an eventfd; every OOM there is resolved by the
 * policy at once.  A watchdog process (forked, not the agent) gives the
 * OOM back to the kernel (oom_kill_disable=0) if the agent dies or does
 * not resolve it within handoffDeadline.  See docs/OOM.md.
 */
#ifndef VIGIL_OOMENGINE_H
#define VIGIL_OOMENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "events.h"
#include "metrics.h"
#include "policy.h"

struct event_base;
struct event;

struct vigil_oom_settings {
	uint32_t interval_ms;		/* detector readings; config oom.interval_ms */
	uint32_t rescan_ms;		/* scope rediscovery; config oom.rescan_ms */
	char mem_mount[256];		/* the memory controller's hierarchy */
	bool mem_v1;			/* it is a v1 hierarchy */
	char v2_mount[256];		/* the unified hierarchy ("" none): cgroup.kill, memory.pressure */
};

typedef void (*vigil_oom_emit_fn)(void *ctx, const struct vigil_event_view *v);

struct oom_unit;
struct oom_pol;

struct vigil_oom_engine {
	struct vigil_oom_settings s;
	struct event_base *base;
	struct vigil_enricher *en;
	vigil_oom_emit_fn emit;
	void *emit_ctx;
	struct oom_pol *pols;		/* one per OomPolicy document of the active set */
	size_t n_pols;
	struct event *ev_tick, *ev_rescan, *ev_wd;
	int epfd;			/* epoll set of PSI trigger fds (EPOLLPRI), read by each tick */
	/* the handoff watchdog */
	pid_t wd_pid;
	int wd_fd;			/* socketpair end; -1 while no watchdog runs */
	char wd_buf[1024];
	size_t wd_len;
	/*
	 * fastest_growth's fallback for a candidate the engine has not sampled
	 * twice yet: the leak scorer's slope (bytes/s); optional.
	 */
	bool (*slope_of)(void *ctx, uint32_t pid, double *slope);
	void *slope_ctx;
	/* metrics */
	struct vigil_metrics *m;
	struct vigil_metric_family *actions, *pressure, *watched, *errors;
	struct vigil_metric_series *handoff_cgroups, *wd_fallbacks, *ticks;
};

int oom_engine_init(struct vigil_oom_engine *e, struct event_base *base, struct vigil_enricher *en,
		    struct vigil_metrics *m, const struct vigil_oom_settings *s,
		    vigil_oom_emit_fn emit, void *emit_ctx, char *why, size_t whylen);
/*
 * Can this set run here?  Refuses what the kernel cannot do (handoff
 * without the v1 memory controller).  Pure: call before applying anything.
 * 0 or -EINVAL with why filled.
 */
int oom_engine_check(const struct vigil_oom_engine *e, const struct policy_set *set, char *why,
		     size_t whylen);
/*
 * Make the set's OomPolicies the active ones.  The set must outlive the
 * next apply (the reloader passes the active slot).  Units of policies
 * that stay keep their state; handoff is set up or undone to match.
 */
void oom_engine_apply(struct vigil_oom_engine *e, const struct policy_set *set);
/* Undo handoff everywhere, stop the watchdog, free everything. */
void oom_engine_close(struct vigil_oom_engine *e);

/* The watchdog's main loop (runs in the forked child; exposed for tests). */
int oom_watchdog_main(int fd);

#endif
