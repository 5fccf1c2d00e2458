/*
 * containers.c - cgroup id cache (see containers.h).
 *
 * Entries are never revalidated: a kernfs id is not reused while the
 * cgroup exists, and ids only grow, so a stale entry can only describe a
 * cgroup that is gone.  The cache is cleared wholesale when it reaches
 * CTR_CACHE_MAX entries, which bounds memory on nodes that churn through
 * many short-lived cgroups; the cost is one re-resolution per live cgroup.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "containers.h"

#define CTR_CACHE_MAX 16384

int ctr_cache_init(struct vigil_ctr_cache *c, const char *mount)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->mount, sizeof(c->mount), "%s", mount ? mount : "");
	c->unknown.info.runtime = VIGIL_RT_UNKNOWN;
	return idmap_init(&c->map, 256);
}

static void free_one(uint64_t key, void *val, void *ctx)
{
	free(val);
}

void ctr_cache_free(struct vigil_ctr_cache *c)
{
	idmap_each(&c->map, free_one, NULL);
	idmap_free(&c->map);
}

const struct vigil_ctr *ctr_lookup(struct vigil_ctr_cache *c, uint64_t cgroup_id)
{
	struct vigil_ctr *e = idmap_get(&c->map, cgroup_id);

	if (e)
		return e;
	c->misses++;
	if (!c->mount[0])
		goto fail;
	e = calloc(1, sizeof(*e));
	if (!e)
		goto fail;
	e->cgroup_id = cgroup_id;
	if (cgroup_path_from_id(c->mount, cgroup_id, e->cgroup, sizeof(e->cgroup)) < 0) {
		free(e);
		goto fail;
	}
	e->resolved = true;
	cgroup_parse_path(e->cgroup, &e->info);
	if (c->map.len >= CTR_CACHE_MAX) {
		idmap_each(&c->map, free_one, NULL);
		idmap_free(&c->map);
		if (idmap_init(&c->map, 256) < 0) {
			free(e);
			goto fail;
		}
	}
	if (idmap_put(&c->map, cgroup_id, e) < 0) {
		free(e);
		goto fail;
	}
	return e;
fail:
	c->failures++;
	c->unknown.cgroup_id = cgroup_id;
	return &c->unknown;
}

static void count_one(uint64_t key, void *val, void *ctx)
{
	const struct vigil_ctr *e = val;

	if (e->info.runtime != VIGIL_RT_HOST && e->info.id[0])
		++*(unsigned long *)ctx;
}

unsigned long ctr_cache_containers(const struct vigil_ctr_cache *c)
{
	unsigned long n = 0;

	idmap_each(&c->map, count_one, &n);
	return n;
}
