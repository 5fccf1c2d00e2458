/*
 * containers.h - cgroup id -> (cgroup path, container attribution) cache.
 * A miss resolves the id through the cgroup filesystem once; hits are O(1).
 */
#ifndef VIGIL_CONTAINERS_H
#define VIGIL_CONTAINERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "cgroup.h"
#include "idmap.h"
#include "podmeta.h"
#include "selector.h"

struct vigil_ctr {
	uint64_t cgroup_id;
	bool resolved;		/* false: the cgroup could not be found (already removed?) */
	char cgroup[512];	/* path relative to the hierarchy root, "" if unresolved */
	struct vigil_container info;
	/*
	 * The container's Kubernetes names, from the runtime's state
	 * (podmeta.h); NULL while unknown.  They belong to the container, not
	 * to the cgroup: every cached cgroup of one container id shares one
	 * entry (pod_entry), looked up once and freed with its last cgroup.
	 */
	const struct vigil_pod_meta *pod;
	struct ctr_pod *pod_entry;	/* NULL: not a container, or no lookups */
};

/*
 * One container id's pod names and lookup state.  A lookup that found no
 * config.json (or a bad one) is retried, with a growing delay, on later
 * lookups of any of its cgroups until one decides (done).
 */
struct ctr_pod {
	char id[VIGIL_CONTAINER_ID_LEN + 1];
	unsigned refs;		/* cached cgroups of this container */
	bool indexed;		/* in the cache's by-id map (false: a key collision) */
	bool found, done;
	uint32_t tries;
	uint64_t retry_ns;	/* CLOCK_MONOTONIC: no new lookup before this */
	struct vigil_pod_meta meta;
};

struct vigil_ctr_cache {
	struct vigil_idmap map;	/* cgroup id -> struct vigil_ctr * */
	char mount[256];	/* hierarchy the ids come from; "" = none */
	struct vigil_ctr unknown;	/* returned for ids that cannot be resolved */
	uint64_t misses;	/* resolutions attempted */
	uint64_t failures;	/* resolutions that failed */
	/*
	 * Engines that keep per-cgroup state (signal policy, trust): on_new is
	 * called once for every cgroup that enters the cache (learnt or
	 * resolved), on_gone when one is removed (rmdir), before its entry is
	 * freed.  Registered with ctr_cache_hook().
	 */
	struct ctr_hook {
		void (*on_new)(void *ctx, const struct vigil_ctr *c);
		void (*on_gone)(void *ctx, const struct vigil_ctr *c);
		void *ctx;
	} hooks[4];
	unsigned nhooks;
	/* Where container ids are looked up for pod names (podmeta.h). */
	struct {
		struct vigil_idmap by_id;	/* container id's first 16 hex digits -> struct ctr_pod * */
		char dir[PODMETA_MAX_DIRS][PODMETA_DIR_LEN];
		const char *dirs[PODMETA_MAX_DIRS];
		size_t ndirs;		/* 0: no lookups */
		uint64_t results[PODMETA__N];	/* lookups, by outcome */
		uint64_t (*now_ns)(void);	/* CLOCK_MONOTONIC; tests replace it */
	} pods;
};

/* First retry of a failed pod lookup after this, doubling up to the max. */
#define CTR_POD_RETRY_NS	1000000000ull
#define CTR_POD_RETRY_MAX_NS	60000000000ull

/* Add (on != NULL) or remove (on == NULL: every hook with this ctx) hooks. -ENOSPC if full. */
int ctr_cache_hook(struct vigil_ctr_cache *c, void (*on_new)(void *, const struct vigil_ctr *),
		   void (*on_gone)(void *, const struct vigil_ctr *), void *ctx);

/* Starts with podmeta_default_dirs. */
int ctr_cache_init(struct vigil_ctr_cache *c, const char *mount);
/* Replace the runtime state directories (n == 0: no pod lookups). 0 or -EINVAL. */
int ctr_cache_set_state_dirs(struct vigil_ctr_cache *c, const char *const *dirs, size_t n);
void ctr_cache_free(struct vigil_ctr_cache *c);
/* Never NULL.  Failed resolutions are not cached, so a later event retries. */
const struct vigil_ctr *ctr_lookup(struct vigil_ctr_cache *c, uint64_t cgroup_id);
/* A cgroup was created (path relative to the hierarchy root) / removed. */
int ctr_cache_learn(struct vigil_ctr_cache *c, uint64_t cgroup_id, const char *path);
void ctr_cache_forget(struct vigil_ctr_cache *c, uint64_t cgroup_id);
/*
 * A container's root cgroup is the one whose last path segment names its
 * id ("/docker/<id>", ".../cri-containerd-<id>.scope"); cgroups below it
 * (systemd in a container, init.scope) belong to the same container.
 */
bool ctr_is_root(const struct vigil_ctr *c);
/* The container's root cgroup path (c's path cut after the id's segment). */
void ctr_root_path(const struct vigil_ctr *c, char *buf, size_t len);
/* Call fn for every cached cgroup. */
void ctr_cache_each(const struct vigil_ctr_cache *c,
		    void (*fn)(void *ctx, const struct vigil_ctr *e), void *ctx);
/* A cgroup as policy selectors see it (no process-level fields; pod names "" while unknown). */
void ctr_subject(const struct vigil_ctr *c, struct sel_subject *x);
/* Pod names of container id as its cached cgroups have them, or NULL. */
const struct vigil_pod_meta *ctr_cache_pod_of(const struct vigil_ctr_cache *c, const char *id);
/* Number of containers whose root cgroup is cached. */
unsigned long ctr_cache_containers(const struct vigil_ctr_cache *c);

#endif
