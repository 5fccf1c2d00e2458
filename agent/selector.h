/*
 * selector.h - the workload selector every policy kind shares.
 *
 * A selector says which processes a rule covers.  Every field that is set
 * must match (AND); within a list, any entry may match (OR).  An absent
 * field matches everything; an empty list matches nothing (the loader
 * rejects it as a selector that can never match).
 *
 * The fields split in two by who can evaluate them, which matters to the
 * kernel side of enforcement:
 *   - scope (host / containers / any) is evaluated in the kernel itself;
 *   - cgroup-level fields (container ids, pod UIDs, namespaces, pod names,
 *     cgroup globs) depend only on the process's cgroup;
 *   - process-level fields (binaries, comms) depend on the process image.
 * The agent evaluates the last two groups and pushes the results into BPF
 * maps, keyed by cgroup id and by pid respectively.
 *
 * Nothing here allocates except selector_free()'s counterpart in the loader;
 * matching is pure and has no side effects.
 */
#ifndef VIGIL_SELECTOR_H
#define VIGIL_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sel_scope {
	SEL_SCOPE_ANY = 0,		/* host and container processes */
	SEL_SCOPE_HOST = 1,		/* only processes outside any container */
	SEL_SCOPE_CONTAINERS = 2,	/* only processes inside some container */
};

struct strlist {
	char **v;
	size_t n;
	bool set;	/* the key was present (an empty list is set but has n == 0) */
};

struct selector {
	enum sel_scope scope;
	struct strlist container_ids;	/* 12..64 lower-case hex: an id or an id prefix */
	struct strlist pod_uids;	/* dashed UUIDs, exact */
	struct strlist namespaces;	/* fnmatch(3) globs on the pod's namespace */
	struct strlist pods;		/* fnmatch(3) globs on the pod's name */
	struct strlist cgroups;		/* fnmatch(3) globs on the cgroup path ('*' crosses '/') */
	struct strlist binaries;	/* fnmatch(3) globs on the absolute binary path */
	struct strlist comms;		/* exact comm (at most 15 bytes) */
};

/* What the agent knows about a process when it classifies it. */
struct sel_subject {
	bool in_container;		/* from container attribution */
	const char *container_id;	/* "" for host processes */
	const char *pod_uid;		/* "" when not in a pod */
	const char *pod_namespace;	/* "" when unknown */
	const char *pod_name;		/* "" when unknown */
	const char *cgroup;		/* path relative to the hierarchy root, "" if unknown */
	const char *binary;		/* "" if unknown */
	const char *comm;
};

/* The selector constrains the cgroup-level / process-level fields at all. */
bool selector_has_cgroup_fields(const struct selector *s);
bool selector_has_process_fields(const struct selector *s);

/* Scope only (what the kernel checks). */
bool selector_match_scope(const struct selector *s, bool in_container);
/* The cgroup-level fields only (scope and process fields ignored). */
bool selector_match_cgroup(const struct selector *s, const struct sel_subject *x);
/* The process-level fields only. */
bool selector_match_process(const struct selector *s, const struct sel_subject *x);
/* All of it. */
bool selector_match(const struct selector *s, const struct sel_subject *x);

void selector_free(struct selector *s);
void strlist_free(struct strlist *l);

#endif
