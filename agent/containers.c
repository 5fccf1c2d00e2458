/*
 * containers.c - cgroup id cache (see containers.h).
 *
 * Two ways in.  Cgroups created while the agent runs are learnt from the
 * cgroup_mkdir tracepoint, whose record reaches us through the ring buffer
 * before any event of a process inside that cgroup, so even a container
 * that lives for a millisecond is attributed.  Cgroups that predate the
 * agent are resolved on first sight through the filesystem
 * (cgroup_path_from_id), which can fail only if the cgroup is already gone.
 * cgroup_rmdir evicts, which keeps the cache the size of the live cgroup
 * tree; CTR_CACHE_MAX is a backstop should rmdir records be lost.
 */
#include <errno.h>
#include <stddef.h>
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

/* Takes e (its id and cgroup path set); 0 or -ENOMEM (e freed). */
static int insert(struct vigil_ctr_cache *c, struct vigil_ctr *e)
{
	e->resolved = true;
	cgroup_parse_path(e->cgroup, &e->info);
	free(idmap_del(&c->map, e->cgroup_id));
	if (c->map.len >= CTR_CACHE_MAX) {
		idmap_each(&c->map, free_one, NULL);
		idmap_free(&c->map);
		if (idmap_init(&c->map, 256) < 0) {
			free(e);
			return -ENOMEM;
		}
	}
	if (idmap_put(&c->map, e->cgroup_id, e) < 0) {
		free(e);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < c->nhooks; i++)
		if (c->hooks[i].on_new)
			c->hooks[i].on_new(c->hooks[i].ctx, e);
	return 0;
}

int ctr_cache_learn(struct vigil_ctr_cache *c, uint64_t cgroup_id, const char *path)
{
	struct vigil_ctr *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	e->cgroup_id = cgroup_id;
	snprintf(e->cgroup, sizeof(e->cgroup), "%s", path[0] ? path : "/");
	return insert(c, e);
}

void ctr_cache_forget(struct vigil_ctr_cache *c, uint64_t cgroup_id)
{
	struct vigil_ctr *e = idmap_del(&c->map, cgroup_id);

	for (unsigned i = 0; e && i < c->nhooks; i++)
		if (c->hooks[i].on_gone)
			c->hooks[i].on_gone(c->hooks[i].ctx, e);
	free(e);
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
	if (insert(c, e) < 0)
		goto fail;
	return e;
fail:
	c->failures++;
	c->unknown.cgroup_id = cgroup_id;
	return &c->unknown;
}

/* Where the segment naming the container id ends, or NULL. */
static const char *id_segment_end(const struct vigil_ctr *c)
{
	const char *at;

	if (!c->resolved || !c->info.id[0])
		return NULL;
	at = strstr(c->cgroup, c->info.id);
	return at ? at + strcspn(at, "/") : NULL;
}

bool ctr_is_root(const struct vigil_ctr *c)
{
	const char *end = id_segment_end(c);

	return end && *end == '\0';
}

void ctr_root_path(const struct vigil_ctr *c, char *buf, size_t len)
{
	const char *end = id_segment_end(c);

	snprintf(buf, len, "%.*s", (int)(end ? end - c->cgroup : (ptrdiff_t)strlen(c->cgroup)),
		 c->cgroup);
}

struct each_ctx {
	void (*fn)(void *ctx, const struct vigil_ctr *e);
	void *ctx;
};

static void each_one(uint64_t key, void *val, void *ctx)
{
	struct each_ctx *x = ctx;

	x->fn(x->ctx, val);
}

void ctr_cache_each(const struct vigil_ctr_cache *c,
		    void (*fn)(void *ctx, const struct vigil_ctr *e), void *ctx)
{
	struct each_ctx x = { fn, ctx };

	idmap_each(&c->map, each_one, &x);
}

static void count_one(uint64_t key, void *val, void *ctx)
{
	if (ctr_is_root(val))
		++*(unsigned long *)ctx;
}

unsigned long ctr_cache_containers(const struct vigil_ctr_cache *c)
{
	unsigned long n = 0;

	idmap_each(&c->map, count_one, &n);
	return n;
}

int ctr_cache_hook(struct vigil_ctr_cache *c, void (*on_new)(void *, const struct vigil_ctr *),
		   void (*on_gone)(void *, const struct vigil_ctr *), void *ctx)
{
	unsigned j = 0;

	if (!on_new && !on_gone) {
		for (unsigned i = 0; i < c->nhooks; i++)
			if (c->hooks[i].ctx != ctx)
				c->hooks[j++] = c->hooks[i];
		c->nhooks = j;
		return 0;
	}
	if (c->nhooks == sizeof(c->hooks) / sizeof(c->hooks[0]))
		return -ENOSPC;
	c->hooks[c->nhooks++] = (struct ctr_hook){ on_new, on_gone, ctx };
	return 0;
}

void ctr_subject(const struct vigil_ctr *c, struct sel_subject *x)
{
	memset(x, 0, sizeof(*x));
	x->in_container = c->info.id[0] != 0;
	x->container_id = c->info.id;
	x->pod_uid = c->info.pod_uid;
	x->pod_namespace = "";
	x->pod_name = "";
	x->cgroup = c->cgroup;
	x->binary = "";
	x->comm = "";
}
