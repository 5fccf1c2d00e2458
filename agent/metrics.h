/*
 * metrics.h - the metrics registry every module reports through.
 *
 * A module registers its families once at start-up and keeps the series
 * pointers it updates on the hot path (a fixed label set is one lookup at
 * start-up, then a plain add).  Families with open-ended labels (per
 * container) get a series cap: past it, updates land in one overflow series
 * whose label values are all "_overflow", so cardinality stays bounded
 * whatever the node runs.  Collectors registered with metrics_on_collect()
 * refresh gauges just before each render.
 *
 * Nothing here formats text: exporters/prometheus.c renders the registry.
 * The registry is single-threaded: it is used from the agent's event loop
 * only (the HTTP server runs in that loop too).
 */
#ifndef VIGIL_METRICS_H
#define VIGIL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIGIL_METRIC_MAX_LABELS 8
#define VIGIL_METRIC_OVERFLOW "_overflow"

enum vigil_metric_type {
	VIGIL_METRIC_COUNTER,
	VIGIL_METRIC_GAUGE,
};

struct vigil_metric_series {
	struct vigil_metric_series *next;	/* in family order (creation order) */
	struct vigil_metric_series *hnext;	/* hash chain */
	uint64_t hash;
	double value;
	char *labels[VIGIL_METRIC_MAX_LABELS];	/* owned copies, as given */
};

struct vigil_metric_family {
	struct vigil_metric_family *next;	/* in registration order */
	char *name;
	char *help;
	enum vigil_metric_type type;
	unsigned nlabels;
	char *label_names[VIGIL_METRIC_MAX_LABELS];
	unsigned max_series;		/* 0 = no cap */
	unsigned nseries;		/* including the overflow series, if made */
	struct vigil_metric_series *series, *series_tail;
	struct vigil_metric_series **buckets;	/* hash table of series */
	unsigned nbuckets;		/* power of two */
	struct vigil_metric_series *overflow;
	uint64_t overflowed;		/* updates that went to the overflow series */
};

typedef void (*vigil_collect_fn)(void *ctx);

struct vigil_metrics {
	struct vigil_metric_family *families, *families_tail;
	unsigned nfamilies;
	struct {
		vigil_collect_fn fn;
		void *ctx;
	} collectors[16];
	unsigned ncollectors;
};

void metrics_init(struct vigil_metrics *m);
void metrics_free(struct vigil_metrics *m);

/*
 * Register a family.  `labels` is NULL or a NULL-terminated list of label
 * names (at most VIGIL_METRIC_MAX_LABELS).  Names must match the Prometheus
 * grammar ([a-zA-Z_:][a-zA-Z0-9_:]* for metrics, [a-zA-Z_][a-zA-Z0-9_]* for
 * labels, not starting with "__"); returns NULL for a bad name, a duplicate
 * family, or allocation failure.
 */
struct vigil_metric_family *metrics_family(struct vigil_metrics *m, const char *name,
					   const char *help, enum vigil_metric_type type,
					   const char *const *labels, unsigned max_series);

/* A family without labels and its only series, in one call; NULL on failure. */
struct vigil_metric_series *metrics_single(struct vigil_metrics *m, const char *name,
					   const char *help, enum vigil_metric_type type);

/*
 * The series for these label values (one per label name, in order; NULL for
 * a family without labels), created on first use.  Past the family's cap,
 * returns the overflow series.  NULL only on allocation failure.
 */
struct vigil_metric_series *metrics_series(struct vigil_metric_family *f,
					   const char *const *values);

static inline void metrics_add(struct vigil_metric_series *s, double v)
{
	if (s)
		s->value += v;
}

static inline void metrics_set(struct vigil_metric_series *s, double v)
{
	if (s)
		s->value = v;
}

/* Remove one series (e.g. a container that went away); s is freed. */
void metrics_series_remove(struct vigil_metric_family *f, struct vigil_metric_series *s);
/* Drop every series of a family (for gauges rebuilt by a collector). */
void metrics_family_clear(struct vigil_metric_family *f);

/* Run fn(ctx) before each render.  0 or -ENOSPC. */
int metrics_on_collect(struct vigil_metrics *m, vigil_collect_fn fn, void *ctx);
void metrics_collect(struct vigil_metrics *m);

/* Shared by exporters: valid metric/label name? */
bool metrics_valid_name(const char *name, bool label);

#endif
