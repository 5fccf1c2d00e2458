/*
 * trustpolicy.c - which trust mode applies to a workload: the first
 * TrustPolicy rule, in load order, that matches it (see trustpolicy.h).
 *
 * Load order is the set's document order (the loader appends documents as
 * it reads files in name order) and each document's rule order.  Pure: the
 * answers point into the set and stay valid while it lives.
 */
#include <stddef.h>

#include "trustpolicy.h"

typedef bool (*trust_match_fn)(const struct selector *s, const struct sel_subject *x);

/* Host processes: the kernel knows them only as "not in a container". */
static bool match_host(const struct selector *s, const struct sel_subject *x)
{
	return selector_match_scope(s, false) && !selector_has_cgroup_fields(s);
}

/* A container not classified yet: nothing known but that it is one. */
static bool match_container_default(const struct selector *s, const struct sel_subject *x)
{
	return selector_match_scope(s, true) && !selector_has_cgroup_fields(s);
}

static bool match_container(const struct selector *s, const struct sel_subject *x)
{
	return selector_match_scope(s, true) && selector_match_cgroup(s, x);
}

static void resolve(const struct policy_set *s, trust_match_fn match,
		    const struct sel_subject *x, struct trust_effective *out)
{
	*out = (struct trust_effective){ .mode = TRUST_MODE_OFF, .policy = "", .rule = "" };
	if (!s)
		return;
	for (size_t i = 0; i < s->n_docs; i++) {
		const struct policy_doc *d = &s->docs[i];

		if (d->kind != POLICY_KIND_TRUST)
			continue;
		for (size_t j = 0; j < d->n_trust_rules; j++) {
			const struct trust_rule *r = &d->trust_rules[j];

			if (!match(&r->selector, x))
				continue;
			out->mode = r->mode;
			out->libraries = r->libraries;
			out->modules = r->modules;
			out->policy = d->name;
			out->rule = r->name;
			return;
		}
	}
}

void trust_resolve_host(const struct policy_set *s, struct trust_effective *out)
{
	resolve(s, match_host, NULL, out);
}

void trust_resolve_container_default(const struct policy_set *s, struct trust_effective *out)
{
	resolve(s, match_container_default, NULL, out);
}

/* Without a subject nothing about the container is known: the default's answer. */
void trust_resolve_container(const struct policy_set *s, const struct sel_subject *x,
			     struct trust_effective *out)
{
	resolve(s, x ? match_container : match_container_default, x, out);
}

size_t trust_policy_count(const struct policy_set *s)
{
	size_t n = 0;

	for (size_t i = 0; s && i < s->n_docs; i++)
		n += s->docs[i].kind == POLICY_KIND_TRUST;
	return n;
}
