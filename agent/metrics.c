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
#include "strbuf.h"

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

static struct vigil_metric_series *find(struct vigil_metric_family *f, uint64_t h,
					 const char *const *values)
{
	for (struct vigil_metric_series *s = f->buckets[h & (f->nbuckets - 1)]; s; s = s->hnext)
		if (s->hash == h && same_values(s, values, f->nlabels))
			return s;
	return NULL;
}

/*
 * Label values must be UTF-8 in the exposition format.  Repair them here,
 * before lookup, so that two values differing only in invalid bytes are one
 * series, not two series that would render identically.  Returns v, or a
 * repaired copy in *owned (freed by the caller).
 */
static const char *valid_utf8(const char *v, char **owned)
{
	const unsigned char *u = (const unsigned char *)v;
	struct strbuf b = { 0 };
	size_t n = strlen(v), i = 0, k;
	bool clean = true;

	*owned = NULL;
	for (i = 0; i < n && clean; i += k ? k : 1)
		clean = (k = u[i] < 0x80 ? 1 : utf8_seq(u + i, n - i)) != 0;
	if (clean)
		return v;
	for (i = 0; i < n; i += k ? k : 1) {
		k = u[i] < 0x80 ? 1 : utf8_seq(u + i, n - i);
		if (k)
			strbuf_put(&b, v + i, k);
		else
			strbuf_put(&b, "\xef\xbf\xbd", 3);
	}
	if (b.oom) {
		strbuf_free(&b);
		return v;
	}
	*owned = strbuf_detach(&b, NULL);
	return *owned;
}

struct vigil_metric_series *metrics_series(struct vigil_metric_family *f,
					   const char *const *values)
{
	const char *vals[VIGIL_METRIC_MAX_LABELS], *over[VIGIL_METRIC_MAX_LABELS];
	char *owned[VIGIL_METRIC_MAX_LABELS] = { 0 };
	struct vigil_metric_series *s;
	uint64_t h;

	if (!f)
		return NULL;
	for (unsigned i = 0; i < f->nlabels; i++)
		vals[i] = valid_utf8(values && values[i] ? values[i] : "", &owned[i]);
	h = hash_values(vals, f->nlabels);
	s = find(f, h, vals);
	/* The cap counts ordinary series; the overflow series is one more. */
	if (!s && f->max_series && f->nseries - (f->overflow != NULL) >= f->max_series) {
		f->overflowed++;
		if (!f->overflow) {
			for (unsigned i = 0; i < f->nlabels; i++)
				over[i] = VIGIL_METRIC_OVERFLOW;
			h = hash_values(over, f->nlabels);
			/* A real series may already carry those labels: share it. */
			f->overflow = find(f, h, over);
			if (!f->overflow)
				f->overflow = new_series(f, h, over);
		}
		s = f->overflow;
	} else if (!s) {
		s = new_series(f, h, vals);
	}
	for (unsigned i = 0; i < f->nlabels; i++)
		free(owned[i]);
	return s;
}

struct vigil_metric_series *metrics_single(struct vigil_metrics *m, const char *name,
					   const char *help, enum vigil_metric_type type)
{
	return metrics_series(metrics_family(m, name, help, type, NULL, 0), NULL);
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
