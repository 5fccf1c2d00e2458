/*
 * telemetry.h - the agent's own metric families: events, losses, tracked
 * processes and containers, per-container event counts (capped), BPF
 * program run time, and the standard process_* families.  Registered once;
 * hot-path updates are a pointer add.
 */
#ifndef VIGIL_TELEMETRY_H
#define VIGIL_TELEMETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "events.h"
#include "idmap.h"
#include "metrics.h"

struct vigil_agent;

struct vigil_telemetry {
	struct vigil_metrics *m;
	struct vigil_agent *agent;
	struct vigil_metric_series *events[VIGIL_EV__MAX];
	struct vigil_metric_series *lost_ringbuf[VIGIL_EV__MAX];
	struct vigil_metric_series *lost_output;
	struct vigil_metric_series *processes, *containers;
	struct vigil_metric_family *container_events;
	struct vigil_idmap ctr_slots;	/* container id hash -> struct ctr_slot */
	unsigned max_containers;
	struct vigil_metric_series *ctr_overflow[VIGIL_EV__MAX];
	struct vigil_metric_family *prog_seconds, *prog_runs;
	struct vigil_metric_family *oom_kills;	/* vigil_oom_kills_total{source,scope} */
	struct vigil_metric_series *pod_lookups[PODMETA__N];	/* vigil_pod_metadata_lookups_total{result} */
	struct vigil_metric_series *cpu, *rss, *vms, *start, *fds, *max_fds;
	const uint64_t *output_errors;	/* the sink's failed writes, read at collect time */
	double start_time;		/* process start, seconds since the epoch */
};

int telemetry_init(struct vigil_telemetry *t, struct vigil_metrics *m, struct vigil_agent *a,
		   unsigned max_containers, const uint64_t *output_errors);
/* Per event decoded. */
void telemetry_event(struct vigil_telemetry *t, const struct vigil_event_view *v);
/* A container went away: its series end and its slot is free again. */
void telemetry_container_gone(void *t, const struct vigil_ctr *c);
void telemetry_free(struct vigil_telemetry *t);

#endif
