/*
 * metrics.c - the metrics registry (see metrics.h).
 *
 * Families are a linked list in registration order (render order); each
 * family keeps its series both in creation order (for stable output) and in
 * a chained hash table keyed by a hash of the label values, so a series
 * lookup with open-ended labels is O(1) expected.  The table doubles when
 * the average chain exceeds one.  Memory is bounded by the per-family cap
 * for open-ended families and by the code for fixed ones.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

void metrics_init(struct vigil_metrics *m)
{
	memset(m, 0, sizeof(*m));
}

static void free_series(struct vigil_metric_series *s, unsigned nlabels)
{
	for (unsigned i = 0; i < nlabels; i++)
		free(s->labels[i]);
	free(s);
}

void metrics_family_clear(struct vigil_metric_family *f)
{
	struct vigil_metric_series *s, *n;

	for (s = f->series; s; s = n) {
		n = s->next;
		free_series(s, f->nlabels);
	}
	f->series = f->series_tail = f->overflow = NULL;
	f->nseries = 0;
	if (f->buckets)
		memset(f->buckets, 0, f->nbuckets * sizeof(*f->buckets));
}

void metrics_free(struct vigil_metrics *m)
{
	struct vigil_metric_family *f, *n;

	for (f = m->families; f; f = n) {
		n = f->next;
		metrics_family_clear(f);
		free(f->buckets);
		for (unsigned i = 0; i < f->nlabels; i++)
			free(f->label_names[i]);
		free(f->name);
		free(f->help);
		free(f);
	}
	memset(m, 0, sizeof(*m));
}

bool metrics_valid_name(const char *name, bool label)
{
	if (!name || !*name)
		return false;
	if (label && name[0] == '_' && name[1] == '_')
		return false;	/* reserved for Prometheus itself */
	for (const char *p = name; *p; p++) {
		bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
			     (!label && *p == ':');

		if (!alpha && (p == name || !(*p >= '0' && *p <= '9')))
			return false;
	}
	return true;
}

struct vigil_metric_family *metrics_family(struct vigil_metrics *m, const char *name,
					   const char *help, enum vigil_metric_type type,
					   const char *const *labels, unsigned max_series)
{
	struct vigil_metric_family *f;
	unsigned n = 0;

	if (!metrics_valid_name(name, false))
		return NULL;
	for (f = m->families; f; f = f->next)
		if (!strcmp(f->name, name))
			return NULL;
	while (labels && labels[n]) {
		if (n >= VIGIL_METRIC_MAX_LABELS || !metrics_valid_name(labels[n], true))
			return NULL;
		n++;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->name = strdup(name);
	f->help = strdup(help ? help : "");
	f->type = type;
	f->max_series = max_series;
	f->nbuckets = 16;
	f->buckets = calloc(f->nbuckets, sizeof(*f->buckets));
	if (!f->name || !f->help || !f->buckets)
		goto fail;
	for (f->nlabels = 0; f->nlabels < n; f->nlabels++) {
		f->label_names[f->nlabels] = strdup(labels[f->nlabels]);
		if (!f->label_names[f->nlabels])
			goto fail;
	}
	if (m->families_tail)
		m->families_tail->next = f;
	else
		m->families = f;
	m->families_tail = f;
	m->nfamilies++;
	return f;
fail:
	for (unsigned i = 0; i < f->nlabels; i++)
		free(f->label_names[i]);
	free(f->buckets);
	free(f->name);
	free(f->help);
	free(f);
	return NULL;
}

static uint64_t hash_values(const char *const *values, unsigned n)
{
	uint64_t h = 0xcbf29ce484222325ull;	/* FNV-1a */

	for (unsigned i = 0; i < n; i++) {
		for (const unsigned char *p = (const unsigned char *)values[i]; *p; p++)
			h = (h ^ *p) * 0x100000001b3ull;
		h = (h ^ 0xff) * 0x100000001b3ull;	/* separator: ("a","b") != ("ab","") */
	}
	return h;
}

static bool same_values(const struct vigil_metric_series *s, const char *const *values,
			unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(s->labels[i], values[i]))
			return false;
	return true;
}

static void rehash(struct vigil_metric_family *f)
{
	unsigned nb = f->nbuckets * 2;
	struct vigil_metric_series **b = calloc(nb, sizeof(*b));

	if (!b)
		return;	/* keep the old table: slower, still correct */
	for (struct vigil_metric_series *s = f->series; s; s = s->next) {
		s->hnext = b[s->hash & (nb - 1)];
		b[s->hash & (nb - 1)] = s;
	}
	free(f->buckets);
	f->buckets = b;
	f->nbuckets = nb;
}

static struct vigil_metric_series *new_series(struct vigil_metric_family *f, uint64_t h,
					      const char *const *values)
{
	struct vigil_metric_series *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	for (unsigned i = 0; i < f->nlabels; i++) {
		s->labels[i] = strdup(values[i] ? values[i] : "");
		if (!s->labels[i]) {
			free_series(s, i);
			return NULL;
		}
	}
	s->hash = h;
	if (f->series_tail)
		f->series_tail->next = s;
	else
		f->series = s;
	f->series_tail = s;
	s->hnext = f->buckets[h & (f->nbuckets - 1)];
	f->buckets[h & (f->nbuckets - 1)] = s;
	f->nseries++;
	if (f->nseries > f->nbuckets)
		rehash(f);
	return s;
}

struct vigil_metric_series *metrics_series(struct vigil_metric_family *f,
					   const char *const *values)
{
	static const char *const none[VIGIL_METRIC_MAX_LABELS] = { "" };
	const char *over[VIGIL_METRIC_MAX_LABELS];
	struct vigil_metric_series *s;
	uint64_t h;

	if (!f)
		return NULL;
	if (!values)
		values = none;
	h = hash_values(values, f->nlabels);
	for (s = f->buckets[h & (f->nbuckets - 1)]; s; s = s->hnext)
		if (s->hash == h && same_values(s, values, f->nlabels))
			return s;
	/* The cap counts ordinary series; the overflow series is one more. */
	if (f->max_series && f->nseries - (f->overflow != NULL) >= f->max_series) {
		f->overflowed++;
		if (!f->overflow) {
			for (unsigned i = 0; i < f->nlabels; i++)
				over[i] = VIGIL_METRIC_OVERFLOW;
			f->overflow = new_series(f, hash_values(over, f->nlabels), over);
		}
		return f->overflow;
	}
	return new_series(f, h, values);
}

void metrics_series_remove(struct vigil_metric_family *f, struct vigil_metric_series *s)
{
	struct vigil_metric_series **pp, *prev = NULL;

	if (!s)
		return;
	for (pp = &f->buckets[s->hash & (f->nbuckets - 1)]; *pp; pp = &(*pp)->hnext)
		if (*pp == s) {
			*pp = s->hnext;
			break;
		}
	for (pp = &f->series; *pp; prev = *pp, pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			if (f->series_tail == s)
				f->series_tail = prev;
			break;
		}
	if (f->overflow == s)
		f->overflow = NULL;
	f->nseries--;
	free_series(s, f->nlabels);
}

int metrics_on_collect(struct vigil_metrics *m, vigil_collect_fn fn, void *ctx)
{
	if (m->ncollectors >= sizeof(m->collectors) / sizeof(m->collectors[0]))
		return -ENOSPC;
	m->collectors[m->ncollectors].fn = fn;
	m->collectors[m->ncollectors].ctx = ctx;
	m->ncollectors++;
	return 0;
}

void metrics_collect(struct vigil_metrics *m)
{
	for (unsigned i = 0; i < m->ncollectors; i++)
		m->collectors[i].fn(m->collectors[i].ctx);
}
