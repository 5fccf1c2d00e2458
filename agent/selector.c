/*
 * selector.c - does a workload selector cover a process?  Pure matching over
 * what the agent already knows (struct sel_subject); nothing here reads
 * /proc, allocates, or prints.  Parsing selectors from YAML is policy.c's job.
 *
 * An unknown value ("" or NULL) never matches a field that is set: a rule
 * that names namespaces must not fire for a process whose namespace we could
 * not learn, or a deny rule would hit processes it was never written for.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "selector.h"

static bool known(const char *v)
{
	return v && *v;
}

static bool is_prefix(const char *entry, const char *v)
{
	return !strncmp(v, entry, strlen(entry));
}

static bool is_equal(const char *entry, const char *v)
{
	return !strcmp(v, entry);
}

/* Flags 0: '*' crosses '/', so one cgroup glob covers the whole subtree below it. */
static bool is_glob_match(const char *entry, const char *v)
{
	return !fnmatch(entry, v, 0);
}

/* An unset field matches everything; a set one needs a known value and any entry to match. */
static bool match_list(const struct strlist *l, const char *v,
		       bool (*hit)(const char *entry, const char *v))
{
	if (!l->set)
		return true;
	if (!known(v))
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (hit(l->v[i], v))
			return true;
	return false;
}

bool selector_has_cgroup_fields(const struct selector *s)
{
	return s->container_ids.set || s->pod_uids.set || s->namespaces.set || s->pods.set ||
	       s->cgroups.set;
}

bool selector_has_process_fields(const struct selector *s)
{
	return s->binaries.set || s->comms.set;
}

bool selector_match_scope(const struct selector *s, bool in_container)
{
	switch (s->scope) {
	case SEL_SCOPE_HOST:
		return !in_container;
	case SEL_SCOPE_CONTAINERS:
		return in_container;
	default:
		return true;
	}
}

bool selector_match_cgroup(const struct selector *s, const struct sel_subject *x)
{
	return match_list(&s->container_ids, x->container_id, is_prefix) &&
	       match_list(&s->pod_uids, x->pod_uid, is_equal) &&
	       match_list(&s->namespaces, x->pod_namespace, is_glob_match) &&
	       match_list(&s->pods, x->pod_name, is_glob_match) &&
	       match_list(&s->cgroups, x->cgroup, is_glob_match);
}

bool selector_match_process(const struct selector *s, const struct sel_subject *x)
{
	return match_list(&s->binaries, x->binary, is_glob_match) &&
	       match_list(&s->comms, x->comm, is_equal);
}

bool selector_match(const struct selector *s, const struct sel_subject *x)
{
	return selector_match_scope(s, x->in_container) && selector_match_cgroup(s, x) &&
	       selector_match_process(s, x);
}

void strlist_free(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void selector_free(struct selector *s)
{
	strlist_free(&s->container_ids);
	strlist_free(&s->pod_uids);
	strlist_free(&s->namespaces);
	strlist_free(&s->pods);
	strlist_free(&s->cgroups);
	strlist_free(&s->binaries);
	strlist_free(&s->comms);
	s->scope = SEL_SCOPE_ANY;
}
