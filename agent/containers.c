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
 *
 * A container's cgroup also gets its pod's names when it enters the cache,
 * from the runtime's bundle (podmeta.c), before the on_new hooks run, so
 * policy engines classify it with them.  The names are kept once per
 * container id, shared by all its cached cgroups, and freed with the last
 * of them.  A bundle not there yet is looked for again on later lookups,
 * at most once per CTR_POD_RETRY_NS doubling up to a minute.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "containers.h"

#define CTR_CACHE_MAX 16384

static uint64_t mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

int ctr_cache_set_state_dirs(struct vigil_ctr_cache *c, const char *const *dirs, size_t n)
{
	if (n > PODMETA_MAX_DIRS)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!dirs[i] || dirs[i][0] != '/' || strlen(dirs[i]) >= PODMETA_DIR_LEN)
			return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		snprintf(c->pods.dir[i], sizeof(c->pods.dir[i]), "%s", dirs[i]);
		c->pods.dirs[i] = c->pods.dir[i];
	}
	c->pods.ndirs = n;
	return 0;
}

int ctr_cache_init(struct vigil_ctr_cache *c, const char *mount)
{
	int err;

	memset(c, 0, sizeof(*c));
	snprintf(c->mount, sizeof(c->mount), "%s", mount ? mount : "");
	c->unknown.info.runtime = VIGIL_RT_UNKNOWN;
	c->pods.now_ns = mono_ns;
	ctr_cache_set_state_dirs(c, podmeta_default_dirs, podmeta_default_ndirs);
	err = idmap_init(&c->pods.by_id, 64);
	return err ? err : idmap_init(&c->map, 256);
}

/* The by-id key: container ids are 64 random hex digits; the first 16 will do. */
static uint64_t pod_key(const char *id)
{
	char head[17];
	size_t n = strnlen(id, 16);

	memcpy(head, id, n);
	head[n] = '\0';
	return strtoull(head, NULL, 16);
}

static void pod_unref(struct vigil_ctr_cache *c, struct ctr_pod *p)
{
	if (!p || --p->refs)
		return;
	if (p->indexed)
		idmap_del(&c->pods.by_id, pod_key(p->id));
	free(p);
}

static void ctr_free(struct vigil_ctr_cache *c, struct vigil_ctr *e)
{
	if (e)
		pod_unref(c, e->pod_entry);
	free(e);
}

static void free_one(uint64_t key, void *val, void *ctx)
{
	ctr_free(ctx, val);
}

/* Look p's container up in the runtime state; schedule a retry unless that decided. */
static void pod_lookup(struct vigil_ctr_cache *c, struct ctr_pod *p, uint64_t now)
{
	enum podmeta_result r;
	uint64_t delay;

	r = podmeta_lookup(c->pods.dirs, c->pods.ndirs, p->id, &p->meta);
	c->pods.results[r]++;
	if (r == PODMETA_FOUND || r == PODMETA_NOT_KUBERNETES) {
		p->found = r == PODMETA_FOUND;
		p->done = true;
		return;
	}
	/* Missing, unreadable or garbled (perhaps half-written): later. */
	delay = p->tries < 6 ? CTR_POD_RETRY_NS << p->tries : CTR_POD_RETRY_MAX_NS;
	if (delay > CTR_POD_RETRY_MAX_NS)
		delay = CTR_POD_RETRY_MAX_NS;
	p->tries++;
	p->retry_ns = now + delay;
}

/* e's names as its container's entry has them now, after a due retry. */
static void pod_refresh(struct vigil_ctr_cache *c, struct vigil_ctr *e)
{
	struct ctr_pod *p = e->pod_entry;
	uint64_t now;

	if (!p->done && (now = c->pods.now_ns()) >= p->retry_ns)
		pod_lookup(c, p, now);
	e->pod = p->found ? &p->meta : NULL;
}

/* A new entry: its container's shared names, looked up the first time it is seen. */
static void pod_first(struct vigil_ctr_cache *c, struct vigil_ctr *e)
{
	uint64_t key = pod_key(e->info.id);
	struct ctr_pod *p;

	e->pod = NULL;
	e->pod_entry = NULL;
	if (!e->info.id[0] || !c->pods.ndirs)
		return;
	p = idmap_get(&c->pods.by_id, key);
	if (p && strcmp(p->id, e->info.id))
		p = NULL;	/* another container with the same key: a private entry */
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return;
		snprintf(p->id, sizeof(p->id), "%s", e->info.id);
		p->indexed = !idmap_get(&c->pods.by_id, key) && idmap_put(&c->pods.by_id, key, p) == 0;
	}
	p->refs++;
	e->pod_entry = p;
	pod_refresh(c, e);
}

void ctr_cache_free(struct vigil_ctr_cache *c)
{
	idmap_each(&c->map, free_one, c);
	idmap_free(&c->map);
	idmap_free(&c->pods.by_id);
}

/* Takes e (its id and cgroup path set); 0 or -ENOMEM (e freed). */
static int insert(struct vigil_ctr_cache *c, struct vigil_ctr *e)
{
	e->resolved = true;
	cgroup_parse_path(e->cgroup, &e->info);
	ctr_free(c, idmap_del(&c->map, e->cgroup_id));
	if (c->map.len >= CTR_CACHE_MAX) {
		idmap_each(&c->map, free_one, c);
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
	pod_first(c, e);
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
	ctr_free(c, e);
}

const struct vigil_ctr *ctr_lookup(struct vigil_ctr_cache *c, uint64_t cgroup_id)
{
	struct vigil_ctr *e = idmap_get(&c->map, cgroup_id);

	if (e) {
		if (e->pod_entry && !e->pod)
			pod_refresh(c, e);
		return e;
	}
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
	x->pod_namespace = c->pod ? c->pod->pod_namespace : "";
	x->pod_name = c->pod ? c->pod->pod_name : "";
	x->cgroup = c->cgroup;
	x->binary = "";
	x->comm = "";
}

const struct vigil_pod_meta *ctr_cache_pod_of(const struct vigil_ctr_cache *c, const char *id)
{
	const struct ctr_pod *p;

	if (!id[0])
		return NULL;
	p = idmap_get(&c->pods.by_id, pod_key(id));
	return p && p->found && !strcmp(p->id, id) ? &p->meta : NULL;
}
